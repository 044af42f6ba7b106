internal import CDeflate

/// libdeflate's whole-buffer deflate at one level (gzip levels 4...9), as a gzip member or raw.
///
/// - Important: not `Sendable`; a libdeflate compressor is not thread-safe.
final class LibdeflateCompressor {
    enum Container { case gzipMember, rawDeflate }
    private let compressor: OpaquePointer

    init(level: Int) {
        compressor = libdeflate_alloc_compressor(Int32(level))!
    }

    deinit {
        libdeflate_free_compressor(compressor)
    }

    /// Appends `input` compressed into `container`; returns where it starts in `output`.
    @discardableResult
    func compress(_ input: UnsafeRawBufferPointer, into container: Container, appendingTo output: inout [UInt8]) -> Int {
        let gzip = container == .gzipMember
        let bound = gzip ? libdeflate_gzip_compress_bound(compressor, input.count) : libdeflate_deflate_compress_bound(compressor, input.count)
        let start = output.count
        output.append(contentsOf: repeatElement(0, count: bound))
        let written = output.withUnsafeMutableBytes { buffer in
            gzip
                ? libdeflate_gzip_compress(compressor, input.baseAddress, input.count, buffer.baseAddress! + start, bound)
                : libdeflate_deflate_compress(compressor, input.baseAddress, input.count, buffer.baseAddress! + start, bound)
        }
        // The bound is a guaranteed upper bound, so 0 ("did not fit") cannot happen.
        precondition(written > 0, "libdeflate exceeded its own bound")
        output.removeLast(bound - written)
        return start
    }
}

/// Compresses one buffer into one complete gzip member: levels 1...3 through ISA-L (the fast
/// levels), 4...9 through libdeflate.
///
/// - Important: not `Sendable`; compressors are not thread-safe. Create one per worker thread
///   and reuse it for every chunk that worker handles.
public final class GzipMemberEncoder {
    private let compressor: LibdeflateCompressor?
    private let fast: ISALDeflater?
    public let level: Int

    /// - Parameter level: 1 (fastest) to 9.
    public init(level: Int) {
        precondition((1...9).contains(level), "gzip level must be 1...9")
        self.level = level
        fast = level <= 3 ? ISALDeflater(level: level) : nil
        compressor = level <= 3 ? nil : LibdeflateCompressor(level: level)
    }

    /// Appends the gzip member for `input` to `output`.
    public func compress(_ input: UnsafeRawBufferPointer, appendingTo output: inout [UInt8]) {
        if let fast {
            fast.compress(input, ending: .gzipMember, appendingTo: &output)
        } else {
            compressor!.compress(input, into: .gzipMember, appendingTo: &output)
        }
    }
}

/// CRC-32 as gzip uses it, from libdeflate's fast implementation.
public enum CRC32 {
    public static func checksum(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        libdeflate_crc32(crc, bytes.baseAddress, bytes.count)
    }
}
