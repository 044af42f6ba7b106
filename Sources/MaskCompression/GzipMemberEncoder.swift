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

/// Which library deflates at a gzip level: the one place that decides it. Levels 1...3 are
/// ISA-L's (the fast levels), 4...9 libdeflate's.
enum GzipEngine {
    case isal(ISALDeflater)
    case libdeflate(LibdeflateCompressor)

    init(level: Int) {
        precondition((1...9).contains(level), "gzip level must be 1...9")
        self = level <= 3 ? .isal(ISALDeflater(level: level)) : .libdeflate(LibdeflateCompressor(level: Self.libdeflateLevel(forGzipLevel: level)))
    }

    /// The libdeflate level that gives what gzip's level promises, its ratio, fastest.
    ///
    /// A gzip level is a ratio people expect (`gzip -6`, `pigz -6`), not a library's internal
    /// setting, and libdeflate compresses more than zlib at the same number: its level 5 already
    /// writes what zlib's 6 writes, in 15-25% less time. So 6 (the default) is libdeflate's 5 and
    /// 7 its 6; 4 and 5 have no faster libdeflate level as small, and 8 and 9 stay libdeflate's
    /// own, for those who want the smallest output. Measured on the masked benchmark extracts in
    /// 2 MiB chunks (`benchmarks/compression_levels.c`, README "Compression levels"): zlib -6
    /// against libdeflate 5, CSV 18.51 vs 18.4 MB, JSONL 14.21 vs 14.3 MB (first 60 MB).
    static func libdeflateLevel(forGzipLevel level: Int) -> Int {
        switch level {
        case 6: return 5
        case 7: return 6
        default: return level
        }
    }
}

/// Compresses one buffer into one complete gzip member (`GzipEngine` picks the library).
///
/// - Important: not `Sendable`; compressors are not thread-safe. Create one per worker thread
///   and reuse it for every chunk that worker handles.
public final class GzipMemberEncoder {
    private let engine: GzipEngine
    public let level: Int

    /// - Parameter level: 1 (fastest) to 9.
    public init(level: Int) {
        self.level = level
        engine = GzipEngine(level: level)
    }

    /// Appends the gzip member for `input` to `output`.
    public func compress(_ input: UnsafeRawBufferPointer, appendingTo output: inout [UInt8]) {
        switch engine {
        case .isal(let deflater): deflater.compress(input, ending: .gzipMember, appendingTo: &output)
        case .libdeflate(let compressor): compressor.compress(input, into: .gzipMember, appendingTo: &output)
        }
    }
}

/// CRC-32 as gzip uses it, from libdeflate's fast implementation.
public enum CRC32 {
    public static func checksum(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        libdeflate_crc32(crc, bytes.baseAddress, bytes.count)
    }
}
