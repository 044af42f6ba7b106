internal import CISAL

/// A problem in gzip input.
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

/// Streaming gunzip of a possibly multi-member gzip stream, through ISA-L's inflate.
///
/// Feed compressed bytes with `decompress(_:into:)`, then call `finish()` to check that the
/// stream did not end in the middle of a member. ISA-L rather than zlib: the reader thread that
/// inflates is the one serial stage of a run, and ISA-L's SIMD inflate is about three times as
/// fast as zlib's on the same input (benchmarks/README.md), which is what keeps a `.gz` input as
/// fast to mask as a plain one. Each member's header is parsed and its CRC-32 and length checked
/// by ISA-L (`ISAL_GZIP`).
public final class GzipStreamDecoder {
    /// ISA-L's state is large (the Huffman tables): one allocation, reset between members.
    private let state: UnsafeMutablePointer<inflate_state>
    private var memberOpen = false
    private var consumed = 0
    private var window = [UInt8](repeating: 0, count: 256 * 1024)

    public init() throws {
        state = .allocate(capacity: 1)
        isal_inflate_init(state)
        state.pointee.crc_flag = UInt32(ISAL_GZIP)
    }

    deinit {
        state.deallocate()
    }

    /// Decompresses all of `input`, appending the output.
    public func decompress(_ input: UnsafeRawBufferPointer, into output: inout [UInt8]) throws {
        guard let base = input.baseAddress, input.count > 0 else { return }
        var offset = 0
        while offset < input.count {
            if !memberOpen {
                // After a member only another member may follow. Anything else (garbage, a
                // second file appended by mistake, even tape-style zero padding) is refused: bytes
                // that are silently dropped are records that silently vanish. A wrong second
                // magic byte or a bad header after 0x1F fails in inflate below.
                if input[offset] != 0x1F {
                    throw CompressionError(message: "trailing data", compressedOffset: consumed, trailingData: true)
                }
                memberOpen = true
            }
            let chunk = min(input.count - offset, Int(UInt32.max))
            state.pointee.next_in = UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: UInt8.self) + offset)
            state.pointee.avail_in = UInt32(chunk)
            var finished = false
            // Until this input is used up, or the member ends; a full window may hide more output.
            repeat {
                let status = window.withUnsafeMutableBytes { buffer -> Int32 in
                    state.pointee.next_out = buffer.baseAddress!.assumingMemoryBound(to: UInt8.self)
                    state.pointee.avail_out = UInt32(buffer.count)
                    return isal_inflate(state)
                }
                let produced = window.count - Int(state.pointee.avail_out)
                if produced > 0 { output.append(contentsOf: window[0..<produced]) }
                guard status == ISAL_DECOMP_OK else {
                    let used = chunk - Int(state.pointee.avail_in)
                    throw CompressionError(message: Self.describe(status), compressedOffset: consumed + used)
                }
                finished = state.pointee.block_state == ISAL_BLOCK_FINISH
            } while !finished && (state.pointee.avail_in > 0 || state.pointee.avail_out == 0)
            let used = chunk - Int(state.pointee.avail_in)
            offset += used
            consumed += used
            if finished {
                memberOpen = false
                isal_inflate_reset(state)
                state.pointee.crc_flag = UInt32(ISAL_GZIP)
            }
        }
    }

    /// - Throws: when the input ended inside a gzip member (a truncated file).
    public func finish() throws {
        if memberOpen {
            throw CompressionError(message: "truncated gzip stream", compressedOffset: consumed)
        }
    }

    private static func describe(_ status: Int32) -> String {
        switch status {
        case ISAL_INVALID_BLOCK: return "invalid deflate block"
        case ISAL_INVALID_SYMBOL: return "invalid deflate symbol"
        case ISAL_INVALID_LOOKBACK: return "invalid distance too far back"
        case ISAL_INVALID_WRAPPER: return "incorrect header check"
        case ISAL_UNSUPPORTED_METHOD: return "unknown compression method"
        case ISAL_INCORRECT_CHECKSUM: return "incorrect data check (CRC-32 or length)"
        case ISAL_NEED_DICT: return "a preset dictionary is needed"
        default: return "inflate error \(status)"
        }
    }
}
