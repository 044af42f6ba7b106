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

/// Decompresses a stream of compressed input, block by block as it is read.
public protocol StreamDecoder: AnyObject {
    func decompress(_ input: UnsafeRawBufferPointer, into output: inout [UInt8]) throws
    /// - Throws: when the input ended inside a member or frame (a truncated file).
    func finish() throws
}

extension GzipMemberEncoder: ChunkEncoder {}
extension GzipStreamDecoder: StreamDecoder {}
