internal import CDeflate
internal import CZlib

/// The frame of a gzip member whose body is many deflate spans compressed apart (pigz's layout):
/// the 10-byte header first, then the spans, then an empty final block and the trailer, whose
/// CRC-32 and length are combined from each span's.
///
/// Why: every reader that follows RFC 1952 reads a file of many members (what `--gzip-members
/// per-chunk` writes), but some readers stop at the end of the first member and report success
/// (a known class of bug: Trino before 2023, MonetDB, importers built on one `inflate` stream),
/// silently loading a fraction of the file. A single member is read whole by every reader.
public struct GzipMemberFrame: Sendable {
    /// Deflate, no flags, no time stamp (output is byte-identical run to run), OS "unknown".
    public static let header: [UInt8] = [0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 0xFF]

    private var crc: UInt32 = 0
    private var length: UInt64 = 0

    public init() {}

    /// Counts a span that decompresses to `length` bytes with CRC-32 `crc`.
    public mutating func add(crc spanCRC: UInt32, length spanLength: Int) {
        guard spanLength > 0 else { return }
        crc = CRC32.combine(crc, spanCRC, secondLength: spanLength)
        length += UInt64(spanLength)
    }

    /// The end of the member: an empty final fixed-Huffman block (`03 00`), CRC-32 and ISIZE
    /// (the length modulo 2³², RFC 1952 §2.3.1), little-endian.
    public var trailer: [UInt8] {
        var bytes: [UInt8] = [0x03, 0x00]
        for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: crc >> UInt32(shift))) }
        let size = UInt32(truncatingIfNeeded: length)
        for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: size >> UInt32(shift))) }
        return bytes
    }
}

/// Compresses one buffer into a deflate span that another span can follow in the same member:
/// non-final blocks ending on a byte boundary. `GzipMemberFrame` puts the spans in one member.
///
/// Levels 1...3 are ISA-L's, which ends a span with a sync flush itself. Levels 4...9 are
/// libdeflate's, which always ends its output with a final block (it has no flush): the span is
/// made by finding that last block, clearing its BFINAL bit and appending an empty stored block
/// (`00 00 FF FF` after the alignment bits), the technique of zlib's own `examples/gzappend.c`.
/// Finding it means walking the span's blocks, which zlib's inflate does with `Z_BLOCK` (it stops
/// at each block boundary and says how many bits of the last byte are unused); no faster library
/// reports block boundaries. The walk costs about a quarter of libdeflate's level-6 time
/// (benchmarks/README.md, "One gzip member"), and still beats zlib's own deflate by a wide margin.
///
/// - Important: not `Sendable`; one per worker.
public final class GzipSpanEncoder: ChunkEncoder {
    public let level: Int
    private let fast: ISALDeflater?
    private let compressor: OpaquePointer?
    private var walker: UnsafeMutablePointer<z_stream>?
    private var discard = [UInt8](repeating: 0, count: 256 * 1024)

    public init(level: Int) {
        precondition((1...9).contains(level), "gzip level must be 1...9")
        self.level = level
        if level <= 3 {
            fast = ISALDeflater(level: level)
            compressor = nil
        } else {
            fast = nil
            compressor = libdeflate_alloc_compressor(Int32(level))!
            let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
            stream.initialize(to: z_stream())
            precondition(czlib_inflate_init_raw(stream) == Z_OK, "zlib inflateInit2 failed")
            walker = stream
        }
    }

    deinit {
        if let compressor { libdeflate_free_compressor(compressor) }
        if let walker {
            inflateEnd(walker)
            walker.deallocate()
        }
    }

    /// Appends the span for `input` (nothing for an empty input: an empty span adds nothing).
    public func compress(_ input: UnsafeRawBufferPointer, appendingTo output: inout [UInt8]) {
        guard input.count > 0 else { return }
        if let fast {
            fast.compress(input, ending: .syncFlushed, appendingTo: &output)
            return
        }
        let bound = libdeflate_deflate_compress_bound(compressor, input.count)
        let start = output.count
        output.append(contentsOf: repeatElement(0, count: bound))
        let written = output.withUnsafeMutableBytes { buffer in
            libdeflate_deflate_compress(compressor, input.baseAddress, input.count, buffer.baseAddress! + start, bound)
        }
        precondition(written > 0, "libdeflate_deflate_compress exceeded its own bound")
        output.removeLast(bound - written)
        let end = output.withUnsafeMutableBytes { buffer in
            unfinalize(UnsafeMutableRawBufferPointer(rebasing: buffer[start...]))
        }
        // After the last block's end-of-block code: the stored block's three header bits (zero)
        // fit in the unused bits of the last byte or spill into a new one; then alignment, LEN 0
        // and NLEN 0xFFFF.
        if end.unusedBits < 3 { output.append(0) }
        output.append(contentsOf: [0x00, 0x00, 0xFF, 0xFF])
    }

    /// Clears the BFINAL bit of the last block of the deflate stream in `span` and the padding
    /// bits after its end; returns how many bits of the last byte the stream leaves unused.
    private func unfinalize(_ span: UnsafeMutableRawBufferPointer) -> (unusedBits: Int, Void) {
        let stream = walker!
        precondition(inflateReset(stream) == Z_OK)
        let base = span.baseAddress!.assumingMemoryBound(to: UInt8.self)
        stream.pointee.next_in = base
        stream.pointee.avail_in = UInt32(span.count)
        // The header of the block being decoded: the first starts at bit 0.
        var headerBit = 0
        while true {
            let status = discard.withUnsafeMutableBytes { buffer -> Int32 in
                stream.pointee.next_out = buffer.baseAddress!.assumingMemoryBound(to: UInt8.self)
                stream.pointee.avail_out = UInt32(buffer.count)
                return inflate(stream, Z_BLOCK)
            }
            // libdeflate's own output, just written: anything else is a bug, not bad data.
            precondition(status == Z_OK, "walking libdeflate's output failed: zlib status \(status)")
            let dataType = Int(stream.pointee.data_type)
            guard dataType & 128 != 0 else { continue }  // the discard buffer filled, mid-block
            let consumed = base.distance(to: stream.pointee.next_in)
            let bit = consumed * 8 - (dataType & 7)
            if dataType & 64 != 0 {
                // The block that just ended was the last: clear its BFINAL bit and the padding.
                let finalBit = UInt8(1) << UInt8(headerBit & 7)
                precondition(base[headerBit >> 3] & finalBit != 0, "the last block's BFINAL bit is not where the walk found it")
                base[headerBit >> 3] &= ~finalBit
                precondition(consumed == span.count, "libdeflate output has bytes after its last block")
                let unused = dataType & 7
                if unused > 0 { base[span.count - 1] &= UInt8((1 << (8 - unused)) - 1) }
                return (unused, ())
            }
            headerBit = bit
        }
    }
}

extension CRC32 {
    /// The CRC-32 of two spans back to back, from each one's CRC-32 and the second's length.
    public static func combine(_ first: UInt32, _ second: UInt32, secondLength: Int) -> UInt32 {
        UInt32(truncatingIfNeeded: crc32_combine(UInt(first), UInt(second), .init(secondLength)))
    }
}
