internal import CZstd

/// Compresses one buffer into one complete zstd frame, with its content size and a checksum in
/// the frame header and trailer (RFC 8878): frames concatenate into a valid stream, which every
/// zstd reader (the CLI, DuckDB, Spark, ClickHouse, Snowflake) reads as one.
///
/// - Important: not `Sendable`; a compression context is not thread-safe. One per worker.
public final class ZstdFrameEncoder {
    private let context: OpaquePointer
    public let level: Int

    public init(level: Int) {
        precondition((1...19).contains(level), "zstd level must be 1...19")
        self.level = level
        context = ZSTD_createCCtx()!
        ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, Int32(level))
        ZSTD_CCtx_setParameter(context, ZSTD_c_contentSizeFlag, 1)
        ZSTD_CCtx_setParameter(context, ZSTD_c_checksumFlag, 1)
    }

    deinit {
        ZSTD_freeCCtx(context)
    }

    /// Appends the frame for `input` to `output`.
    public func compress(_ input: UnsafeRawBufferPointer, appendingTo output: inout [UInt8]) {
        let bound = ZSTD_compressBound(input.count)
        let start = output.count
        output.append(contentsOf: repeatElement(0, count: bound))
        let written = output.withUnsafeMutableBytes { buffer in
            ZSTD_compress2(context, buffer.baseAddress! + start, bound, input.baseAddress, input.count)
        }
        // The bound is zstd's guaranteed upper bound: an error here is a bug, not bad data.
        precondition(ZSTD_isError(written) == 0, "ZSTD_compress2 failed: \(String(cString: ZSTD_getErrorName(written)))")
        output.removeLast(bound - written)
    }
}

extension ZstdFrameEncoder: ChunkEncoder {}

/// Streaming decompression of concatenated zstd frames (what `mask --compress zstd` writes, and
/// any `.zst` file), each frame's checksum verified when it has one.
public final class ZstdStreamDecoder: StreamDecoder {
    private let context: OpaquePointer
    private var window = [UInt8](repeating: 0, count: 256 * 1024)
    private var consumed = 0
    /// Between frames (or before the first): 0 from the last call means a frame ended there.
    private var frameOpen = false

    public init() {
        context = ZSTD_createDCtx()!
    }

    deinit {
        ZSTD_freeDCtx(context)
    }

    public func decompress(_ input: UnsafeRawBufferPointer, into output: inout [UInt8]) throws {
        guard let base = input.baseAddress, input.count > 0 else { return }
        var source = ZSTD_inBuffer(src: base, size: input.count, pos: 0)
        var produced = 0
        // Until the input is used up and the last call did not fill the window (a full window
        // may leave decoded bytes inside the context).
        repeat {
            let result = window.withUnsafeMutableBytes { buffer -> Int in
                var destination = ZSTD_outBuffer(dst: buffer.baseAddress, size: buffer.count, pos: 0)
                let result = ZSTD_decompressStream(context, &destination, &source)
                produced = destination.pos
                return result
            }
            if ZSTD_isError(result) != 0 {
                throw CompressionError(message: String(cString: ZSTD_getErrorName(result)), compressedOffset: consumed + source.pos)
            }
            if produced > 0 { output.append(contentsOf: window[0..<produced]) }
            // 0: a frame just ended and its checksum matched; else more of it is expected.
            frameOpen = result != 0
        } while source.pos < source.size || produced == window.count
        consumed += source.size
    }

    public func finish() throws {
        if frameOpen {
            throw CompressionError(message: "truncated zstd stream", compressedOffset: consumed)
        }
    }
}
