import MaskCore

extension OutputCodec {
    /// A compressor for one worker thread (compressors are not thread-safe). `members` says how
    /// gzip output is framed; zstd ignores it (every zstd reader reads all frames).
    public func makeEncoder(level: Int, members: GzipMembers) -> any ChunkEncoder {
        switch (self, members) {
        case (.gzip, .perChunk): return GzipMemberEncoder(level: level)
        case (.gzip, .single): return GzipSpanEncoder(level: level)
        case (.zstd, _): return ZstdFrameEncoder(level: level)
        }
    }
}

/// Compresses one buffer into one self-contained unit appended to `output`.
public protocol ChunkEncoder: AnyObject {
    func compress(_ input: UnsafeRawBufferPointer, appendingTo output: inout [UInt8])
}

/// Decompresses a stream of compressed input, block by block as it is read, into memory the
/// caller provides: the reader fills a chunk in place, so decoded bytes are written once.
public protocol StreamDecoder: AnyObject {
    /// Decodes from `input` into `output` until the output is full, or the input is used up and
    /// nothing decoded is left inside the decoder. Called with empty input, it hands out what the
    /// decoder still holds.
    /// - Returns: the input bytes used and the output bytes written.
    func decompress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws -> (consumed: Int, produced: Int)
    /// - Throws: when the input ended inside a member or frame (a truncated file).
    func finish() throws
}

extension StreamDecoder {
    /// Decodes all of `input` and appends it to `output` (whole-file readers: bench, tests).
    public func decompress(_ input: UnsafeRawBufferPointer, appendingTo output: inout [UInt8]) throws {
        var used = 0
        while true {
            let start = output.count
            let room = max(256 * 1024, input.count - used)
            var step = (consumed: 0, produced: 0)
            output.append(contentsOf: repeatElement(0, count: room))
            try output.withUnsafeMutableBytes { buffer in
                step = try decompress(UnsafeRawBufferPointer(rebasing: input[used...]), into: UnsafeMutableRawBufferPointer(rebasing: buffer[start...]))
            }
            output.removeSubrange((start + step.produced)...)
            used += step.consumed
            if step.produced < room && used == input.count { return }
            if step.consumed == 0 && step.produced == 0 { return }
        }
    }
}

extension GzipMemberEncoder: ChunkEncoder {}
extension GzipStreamDecoder: StreamDecoder {}
