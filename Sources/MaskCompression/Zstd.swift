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
    private var consumed = 0
    /// Between frames (or before the first): 0 from the last call means a frame ended there.
    private var frameOpen = false

    public init() {
        context = ZSTD_createDCtx()!
    }

    deinit {
        ZSTD_freeDCtx(context)
    }

    /// Decodes straight into `output` (the context keeps the window between calls), until the
    /// output is full or the input is used up.
    public func decompress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws -> (consumed: Int, produced: Int) {
        guard let destinationBase = output.baseAddress, output.count > 0 else { return (0, 0) }
        var source = ZSTD_inBuffer(src: input.baseAddress ?? UnsafeRawPointer(destinationBase), size: input.count, pos: 0)
        var destination = ZSTD_outBuffer(dst: destinationBase, size: output.count, pos: 0)
        while destination.pos < destination.size {
            let before = (source.pos, destination.pos)
            let result = ZSTD_decompressStream(context, &destination, &source)
            if ZSTD_isError(result) != 0 {
                throw CompressionError(message: String(cString: ZSTD_getErrorName(result)), compressedOffset: consumed + source.pos)
            }
            // No progress: the input is used up and nothing is left to flush. Only a call that
            // did something says where a frame stands (between frames, an empty call returns
            // the size of the next header).
            if source.pos == before.0 && destination.pos == before.1 { break }
            // 0: a frame just ended and its checksum matched; else more of it is expected.
            frameOpen = result != 0
            if source.pos == source.size && frameOpen && destination.pos < destination.size { break }
        }
        consumed += source.pos
        return (source.pos, destination.pos)
    }

    public func finish() throws {
        if frameOpen {
            throw CompressionError(message: "truncated zstd stream", compressedOffset: consumed)
        }
    }
}
