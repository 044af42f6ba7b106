internal import CDeflate

/// Compresses one buffer into one complete gzip member: levels 1...3 through ISA-L (the fast
/// levels), 4...9 through libdeflate.
///
/// - Important: not `Sendable`; compressors are not thread-safe. Create one per worker thread
///   and reuse it for every chunk that worker handles.
public final class GzipMemberEncoder {
    private let compressor: OpaquePointer?
    private let fast: ISALDeflater?
    public let level: Int

    /// - Parameter level: 1 (fastest) to 9.
    public init(level: Int) {
        precondition((1...9).contains(level), "gzip level must be 1...9")
        self.level = level
        if level <= 3 {
            fast = ISALDeflater(level: level)
            compressor = nil
        } else {
            fast = nil
            compressor = libdeflate_alloc_compressor(Int32(level))!
        }
    }

    deinit {
        if let compressor { libdeflate_free_compressor(compressor) }
    }

    /// Appends the gzip member for `input` to `output`.
    public func compress(_ input: UnsafeRawBufferPointer, appendingTo output: inout [UInt8]) {
        if let fast {
            fast.compress(input, ending: .gzipMember, appendingTo: &output)
            return
        }
        let bound = libdeflate_gzip_compress_bound(compressor, input.count)
        let start = output.count
        output.append(contentsOf: repeatElement(0, count: bound))
        let written = output.withUnsafeMutableBytes { buffer in
            libdeflate_gzip_compress(compressor, input.baseAddress, input.count, buffer.baseAddress! + start, bound)
        }
        // The bound is a guaranteed upper bound, so 0 ("did not fit") cannot happen.
        precondition(written > 0, "libdeflate_gzip_compress exceeded its own bound")
        output.removeLast(bound - written)
    }
}

/// CRC-32 as gzip uses it, from libdeflate's fast implementation.
public enum CRC32 {
    public static func checksum(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        libdeflate_crc32(crc, bytes.baseAddress, bytes.count)
    }
}
