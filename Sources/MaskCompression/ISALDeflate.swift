internal import CISAL

/// ISA-L's deflate: the fast levels (`--level 1...3`).
///
/// ISA-L's SIMD deflate runs at 4–5 times libdeflate's level-6 speed on our extracts, for 9–16%
/// more bytes (benchmarks/README.md, "Levels"), where libdeflate's own levels 1–3 are only about
/// twice as fast for 6–7% more. Its levels are 0...3; mask's 1...3 map to ISA-L's 1...3 (level 0,
/// Huffman-only on hashes, gives a third more bytes than level 1 and is not offered).
///
/// - Important: not `Sendable`; the stream state and level buffer are one worker's.
final class ISALDeflater {
    /// How the deflate stream of one call ends.
    enum Ending {
        /// A complete gzip member (header, final block, CRC-32 and length): ISA-L writes it all.
        case gzipMember
        /// Raw deflate ending in a sync flush: non-final blocks, then an empty stored block that
        /// ends on a byte boundary, so another span can follow (a single-member part).
        case syncFlushed
    }

    private let stream: UnsafeMutablePointer<isal_zstream>
    private let levelBuffer: UnsafeMutableRawBufferPointer
    let level: Int

    init(level: Int) {
        precondition((1...3).contains(level), "ISA-L levels are 1...3")
        self.level = level
        stream = .allocate(capacity: 1)
        let size = Int(cisal_level_buffer_size(Int32(level)))
        levelBuffer = .allocate(byteCount: size, alignment: 64)
    }

    deinit {
        stream.deallocate()
        levelBuffer.deallocate()
    }

    /// Appends `input` deflated and ended as `ending` says.
    func compress(_ input: UnsafeRawBufferPointer, ending: Ending, appendingTo output: inout [UInt8]) {
        isal_deflate_init(stream)
        stream.pointee.level = UInt32(level)
        stream.pointee.level_buf = levelBuffer.baseAddress!.assumingMemoryBound(to: UInt8.self)
        stream.pointee.level_buf_size = UInt32(levelBuffer.count)
        switch ending {
        case .gzipMember:
            stream.pointee.gzip_flag = UInt16(IGZIP_GZIP)
            stream.pointee.end_of_stream = 1
            stream.pointee.flush = UInt16(NO_FLUSH)
        case .syncFlushed:
            stream.pointee.gzip_flag = UInt16(IGZIP_DEFLATE)
            stream.pointee.end_of_stream = 0
            stream.pointee.flush = UInt16(SYNC_FLUSH)
        }
        stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: UInt8.self))
        stream.pointee.avail_in = UInt32(input.count)
        // Stored blocks bound deflate's expansion at 5 bytes per 64 KiB; the header, trailer and
        // flush need a few more. Should ISA-L still need room, the loop appends more.
        var room = input.count + input.count / 64 + 1024
        while true {
            let start = output.count
            output.append(contentsOf: repeatElement(0, count: room))
            let status = output.withUnsafeMutableBytes { buffer -> Int32 in
                stream.pointee.next_out = buffer.baseAddress!.assumingMemoryBound(to: UInt8.self) + start
                stream.pointee.avail_out = UInt32(room)
                return isal_deflate(stream)
            }
            // Only a bad parameter fails, and every parameter is set above.
            precondition(status == COMP_OK, "isal_deflate failed: \(status)")
            output.removeLast(Int(stream.pointee.avail_out))
            if stream.pointee.avail_in == 0 && isDone(ending) { return }
            room = max(room / 2, 64 * 1024)
        }
    }

    /// Everything asked for is in the output: the member's trailer, or the sync flush's marker
    /// (igzip_lib.h: `internal_state.state == ZSTATE_NEW_HDR` "is sufficient to guarantee all
    /// input has been flushed").
    private func isDone(_ ending: Ending) -> Bool {
        let state = stream.pointee.internal_state.state
        switch ending {
        case .gzipMember: return state == ZSTATE_END
        case .syncFlushed: return state == ZSTATE_NEW_HDR
        }
    }
}
