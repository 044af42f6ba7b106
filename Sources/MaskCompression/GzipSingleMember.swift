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
/// made by finding that last block (`DeflateBlockWalker`), clearing its BFINAL bit and appending
/// an empty stored block (`00 00 FF FF` after the alignment bits), the technique of zlib's own
/// `examples/gzappend.c`.
///
/// - Important: not `Sendable`; one per worker.
public final class GzipSpanEncoder: ChunkEncoder {
    public let level: Int
    private let engine: GzipEngine
    /// Only libdeflate's output needs its final block found.
    private lazy var walker = DeflateBlockWalker()

    public init(level: Int) {
        self.level = level
        engine = GzipEngine(level: level)
    }

    /// Appends the span for `input` (nothing for an empty input: an empty span adds nothing).
    public func compress(_ input: UnsafeRawBufferPointer, appendingTo output: inout [UInt8]) {
        guard input.count > 0 else { return }
        let start: Int
        switch engine {
        case .isal(let deflater):
            deflater.compress(input, ending: .syncFlushed, appendingTo: &output)
            return
        case .libdeflate(let compressor):
            start = compressor.compress(input, into: .rawDeflate, appendingTo: &output)
        }
        let unusedBits = output.withUnsafeMutableBytes { buffer in
            unfinalize(UnsafeMutableRawBufferPointer(rebasing: buffer[start...]))
        }
        // After the last block's end-of-block code: the stored block's three header bits (zero)
        // fit in the unused bits of the last byte or spill into a new one; then alignment, LEN 0
        // and NLEN 0xFFFF.
        if unusedBits < 3 { output.append(0) }
        output.append(contentsOf: [0x00, 0x00, 0xFF, 0xFF])
    }

    /// Clears the BFINAL bit of the last block of the deflate stream in `span` and the padding
    /// bits after its end; returns how many bits of the last byte the stream leaves unused.
    private func unfinalize(_ span: UnsafeMutableRawBufferPointer) -> Int {
        // libdeflate's own output, just written: a stream the walk cannot follow is a bug, and
        // stopping is the one safe answer (a wrong bit would corrupt the member).
        guard let (headerBit, endBit) = walker.finalBlock(in: UnsafeRawBufferPointer(span)), (endBit + 7) / 8 == span.count else {
            preconditionFailure("walking libdeflate's output failed")
        }
        let finalBit = UInt8(1) << UInt8(headerBit & 7)
        precondition(span[headerBit >> 3] & finalBit != 0, "the last block's BFINAL bit is not where the walk found it")
        span[headerBit >> 3] &= ~finalBit
        let unused = (8 - (endBit & 7)) & 7
        if unused > 0 { span[span.count - 1] &= UInt8((1 << (8 - unused)) - 1) }
        return unused
    }
}

extension CRC32 {
    /// The CRC-32 of two spans back to back, from each one's CRC-32 and the second's length.
    public static func combine(_ first: UInt32, _ second: UInt32, secondLength: Int) -> UInt32 {
        UInt32(truncatingIfNeeded: crc32_combine(UInt(first), UInt(second), .init(secondLength)))
    }
}
