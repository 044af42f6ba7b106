internal import CZlib

/// An error from zlib while reading compressed input.
public struct CompressionError: Error, Sendable, CustomStringConvertible {
    public var message: String
    /// Offset in the compressed stream where the problem was found.
    public var compressedOffset: Int
    /// Bytes after the end of a member that do not start another one.
    public var trailingData = false
    public var description: String {
        trailingData
            ? "trailing data after gzip member at compressed offset \(compressedOffset)"
            : "corrupt gzip input at compressed byte \(compressedOffset): \(message)"
    }
}

/// Streaming gunzip of a possibly multi-member gzip stream.
///
/// Feed compressed bytes with `decompress(_:into:)`, then call `finish()` to check that the
/// stream did not end in the middle of a member.
public final class GzipStreamDecoder {
    private var stream = z_stream()
    private var memberOpen = false
    private var consumed = 0

    public init() throws {
        let status = CZlib_inflateInit2(&stream, 16 + MAX_WBITS)
        guard status == Z_OK else {
            throw CompressionError(message: "inflateInit2 failed (\(status))", compressedOffset: 0)
        }
    }

    deinit {
        inflateEnd(&stream)
    }

    /// Decompresses all of `input`, appending the output.
    public func decompress(_ input: UnsafeRawBufferPointer, into output: inout [UInt8]) throws {
        guard let base = input.baseAddress, input.count > 0 else { return }
        var offset = 0
        var window = [UInt8](repeating: 0, count: 256 * 1024)
        while offset < input.count {
            if !memberOpen {
                // After a member only another member may follow. Anything else (garbage, a
                // second file appended by mistake, even tape-style zero padding) is refused: bytes
                // that are silently dropped are records that silently vanish. A wrong second
                // magic byte or a bad header after 0x1F fails in inflate below.
                if input[offset] != 0x1F {
                    throw CompressionError(message: "trailing data", compressedOffset: consumed, trailingData: true)
                }
            }
            stream.next_in = UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: UInt8.self) + offset)
            stream.avail_in = UInt32(min(input.count - offset, Int(UInt32.max)))
            let before = Int(stream.avail_in)
            let status = window.withUnsafeMutableBytes { buffer -> Int32 in
                stream.next_out = buffer.baseAddress!.assumingMemoryBound(to: UInt8.self)
                stream.avail_out = UInt32(buffer.count)
                return inflate(&stream, Z_NO_FLUSH)
            }
            let produced = window.count - Int(stream.avail_out)
            output.append(contentsOf: window[0..<produced])
            let used = before - Int(stream.avail_in)
            offset += used
            consumed += used
            switch status {
            case Z_OK, Z_BUF_ERROR:
                memberOpen = true
                if used == 0 && produced == 0 { return }
            case Z_STREAM_END:
                memberOpen = false
                inflateReset(&stream)
            default:
                let message = stream.msg.map { String(cString: $0) } ?? "inflate error \(status)"
                throw CompressionError(message: message, compressedOffset: consumed)
            }
        }
    }

    /// - Throws: when the input ended inside a gzip member (a truncated file).
    public func finish() throws {
        if memberOpen {
            throw CompressionError(message: "truncated gzip stream", compressedOffset: consumed)
        }
    }
}
