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
/// Feed compressed bytes with `decompress(_:into:)`, which inflates straight into the caller's
/// memory (the chunk being filled: no window to copy out of), then call `finish()` to check that
/// the stream did not end in the middle of a member. ISA-L keeps the last 32 KiB of history
/// inside its state between calls, so every call may write to a different buffer. ISA-L rather
/// than zlib: the reader thread that inflates is the one serial stage of a run, and ISA-L's SIMD
/// inflate is about three times as fast as zlib's on the same input (benchmarks/README.md), which
/// is what keeps a `.gz` input as fast to mask as a plain one. Each member's header is parsed and
/// its CRC-32 and length checked by ISA-L (`ISAL_GZIP`).
public final class GzipStreamDecoder {
    /// ISA-L's state is large (the Huffman tables): one allocation, reset between members.
    private let state: UnsafeMutablePointer<inflate_state>
    private var memberOpen = false
    private var consumed = 0

    public init() throws {
        state = .allocate(capacity: 1)
        isal_inflate_init(state)
        state.pointee.crc_flag = UInt32(ISAL_GZIP)
    }

    deinit {
        state.deallocate()
    }

    /// Inflates from `input` into `output` until the output is full, or the input is used up and
    /// nothing decoded is left inside the state.
    /// - Returns: the input bytes used and the output bytes written; neither is 0 unless the
    ///   input was empty (then `produced` may still be the rest of what the state held).
    public func decompress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws -> (consumed: Int, produced: Int) {
        guard let destination = output.baseAddress, output.count > 0 else { return (0, 0) }
        var used = 0
        var produced = 0
        // ISA-L reads nothing when avail_in is 0, but next_in must still be a pointer.
        let source = input.baseAddress ?? UnsafeRawPointer(destination)
        while produced < output.count {
            if !memberOpen {
                // After a member only another member may follow. Anything else (garbage, a
                // second file appended by mistake, even tape-style zero padding) is refused: bytes
                // that are silently dropped are records that silently vanish. A wrong second
                // magic byte or a bad header after 0x1F fails in inflate below.
                guard used < input.count else { break }
                if input[used] != 0x1F {
                    throw CompressionError(message: "trailing data", compressedOffset: consumed, trailingData: true)
                }
                memberOpen = true
            }
            let offered = min(input.count - used, Int(UInt32.max))
            let room = min(output.count - produced, Int(UInt32.max))
            state.pointee.next_in = UnsafeMutablePointer(mutating: source.assumingMemoryBound(to: UInt8.self) + used)
            state.pointee.avail_in = UInt32(offered)
            state.pointee.next_out = (destination + produced).assumingMemoryBound(to: UInt8.self)
            state.pointee.avail_out = UInt32(room)
            let status = isal_inflate(state)
            let read = offered - Int(state.pointee.avail_in)
            let wrote = room - Int(state.pointee.avail_out)
            used += read
            produced += wrote
            consumed += read
            guard status == ISAL_DECOMP_OK else {
                throw CompressionError(message: Self.describe(status), compressedOffset: consumed)
            }
            if state.pointee.block_state == ISAL_BLOCK_FINISH {
                memberOpen = false
                isal_inflate_reset(state)
                state.pointee.crc_flag = UInt32(ISAL_GZIP)
            } else if read == 0 && wrote == 0 {
                break  // the input is used up and the state holds nothing more
            }
        }
        return (used, produced)
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
