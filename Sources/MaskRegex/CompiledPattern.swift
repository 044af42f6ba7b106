/*!
 MaskRegex: PCRE2 behind two Swift types, the only place that imports `CPCRE2`.

 `CompiledPattern` is compiled (and JIT-compiled) once per rules load and shared by every worker;
 `MatchScratch` holds the per-thread match data. Patterns are compiled with `PCRE2_UTF |
 PCRE2_MATCH_INVALID_UTF`, so they match raw UTF-8 bytes and invalid sequences are skipped
 over rather than rejected: invalid UTF-8 in a record can neither crash the stage nor make the
 scan give up on the rest of a value.
 */
internal import CPCRE2

/// A pattern that failed to compile, with PCRE2's own message and the offset it points at.
public struct PatternError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    /// Byte offset in the pattern where PCRE2 stopped.
    public var offset: Int

    public var description: String { "\(message) at pattern offset \(offset)" }
}

/// An immutable compiled PCRE2 pattern, JIT-compiled when the platform allows.
///
/// - Important: `@unchecked Sendable` is sound because a compiled pattern (and its JIT code) is
///   read-only during matching; PCRE2 documents that one `pcre2_code` may be used by many
///   threads at once as long as each has its own match data and JIT stack (pcre2api(3),
///   "MULTITHREADING"; pcre2jit(3)). Those per-thread parts live in `MatchScratch`.
public final class CompiledPattern: @unchecked Sendable {
    private let code: OpaquePointer
    public let source: String
    public let isJITCompiled: Bool
    /// The same pattern compiled with `PCRE2_ANCHORED`, tried at the positions `startFilter`
    /// accepts; both are nil when the pattern has no start filter (or no JIT).
    private let anchoredCode: OpaquePointer?
    private let startFilter: StartFilter?

    /// Whether matching tries only the start positions a `StartFilter` accepts (`mask bench` and
    /// tests compare both ways).
    public var usesStartFilter: Bool { anchoredCode != nil }

    /// - Parameter startFilter: false to always let PCRE2 search every position itself.
    /// - Throws: `PatternError` with PCRE2's message and offset.
    public init(_ pattern: String, startFilter useStartFilter: Bool = true) throws {
        var errorCode: Int32 = 0
        var errorOffset: Int = 0
        let options = UInt32(PCRE2_UTF) | UInt32(PCRE2_MATCH_INVALID_UTF)
        func compile(_ options: UInt32) -> OpaquePointer? {
            pattern.utf8CString.withUnsafeBufferPointer { buffer -> OpaquePointer? in
                buffer.baseAddress!.withMemoryRebound(to: UInt8.self, capacity: buffer.count) { pointer in
                    pcre2_compile_8(pointer, buffer.count - 1, options, &errorCode, &errorOffset, nil)
                }
            }
        }
        guard let compiled = compile(options) else {
            throw PatternError(message: Self.message(for: errorCode), offset: errorOffset)
        }
        code = compiled
        source = pattern
        isJITCompiled = pcre2_jit_compile_8(compiled, UInt32(PCRE2_JIT_COMPLETE)) == 0
        var filter: StartFilter?
        var anchored: OpaquePointer?
        var bitmap: UnsafePointer<UInt8>?
        if useStartFilter && isJITCompiled && pcre2_pattern_info_8(compiled, UInt32(PCRE2_INFO_FIRSTBITMAP), &bitmap) == 0,
            let bitmap, let built = StartFilter(pattern: pattern, firstBytes: Array(UnsafeBufferPointer(start: bitmap, count: 32))),
            let anchoredCompiled = compile(options | UInt32(PCRE2_ANCHORED))
        {
            if pcre2_jit_compile_8(anchoredCompiled, UInt32(PCRE2_JIT_COMPLETE)) == 0 {
                filter = built
                anchored = anchoredCompiled
            } else {
                pcre2_code_free_8(anchoredCompiled)
            }
        }
        startFilter = filter
        anchoredCode = anchored
    }

    deinit {
        pcre2_code_free_8(code)
        if let anchoredCode { pcre2_code_free_8(anchoredCode) }
    }

    static func message(for errorCode: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 256)
        let length = pcre2_get_error_message_8(errorCode, &buffer, buffer.count)
        guard length > 0 else { return "PCRE2 error \(errorCode)" }
        return String(decoding: buffer[0..<Int(length)], as: UTF8.self)
    }

    /// Finds the first non-empty match at or after `start`.
    /// - Returns: the matched byte range, or `nil`. An empty match is skipped (the search goes on
    ///   one byte later), so callers can never loop on it.
    @inline(__always)
    public func firstMatch(in subject: UnsafeRawBufferPointer, from start: Int, scratch: MatchScratch) -> Range<Int>? {
        var offset = start
        // PCRE2 needs a non-null subject pointer even for an empty subject.
        let pointer = subject.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? UnsafePointer(scratch.emptySubject)
        if let anchoredCode, let startFilter {
            return startFilter.flags.withUnsafeBufferPointer { flags in
                filteredMatch(anchoredCode, filter: startFilter, flags: flags, pointer, subject.count, from: start, scratch: scratch)
            }
        }
        while offset <= subject.count {
            let result: Int32
            if isJITCompiled {
                result = pcre2_jit_match_8(code, pointer, subject.count, offset, 0, scratch.matchData, nil)
            } else {
                result = pcre2_match_8(code, pointer, subject.count, offset, 0, scratch.matchData, nil)
            }
            guard result > 0 else {
                if result != PCRE2_ERROR_NOMATCH { scratch.failure = result }
                return nil
            }
            let ovector = pcre2_get_ovector_pointer_8(scratch.matchData)!
            let lower = ovector[0]
            let upper = ovector[1]
            if upper > lower { return lower..<upper }
            offset = lower + 1
        }
        return nil
    }

    /// `firstMatch` through the start filter: an anchored attempt at each accepted position, in
    /// order. The first attempt that matches is the match an unanchored search finds, since that
    /// search makes the same attempts in the same order and the others cannot match. With a
    /// `StartSkip`, windows of eight bytes without a start byte are passed over in one test.
    @inline(__always)
    private func filteredMatch(
        _ anchored: OpaquePointer, filter: StartFilter, flags: UnsafeBufferPointer<UInt8>, _ pointer: UnsafePointer<UInt8>, _ count: Int,
        from start: Int, scratch: MatchScratch
    ) -> Range<Int>? {
        @inline(__always) func attempt(at position: Int) -> Range<Int>? {
            // Flags of the two bytes before (0 before the subject: nothing blocks there).
            let previous: UInt8 = position > 0 ? flags[Int(pointer[position - 1])] : 0
            let beforePrevious: UInt8 = position > 1 ? flags[Int(pointer[position - 2])] : 0
            guard previous & StartFilter.singleBit == 0
                && ((beforePrevious & StartFilter.firstClassBits) << 1) & previous & StartFilter.secondClassBits == 0
            else { return nil }
            let result = pcre2_jit_match_8(anchored, pointer, count, position, 0, scratch.matchData, nil)
            guard result > 0 else {
                if result != PCRE2_ERROR_NOMATCH { scratch.failure = result }
                return nil
            }
            let ovector = pcre2_get_ovector_pointer_8(scratch.matchData)!
            return ovector[1] > ovector[0] ? ovector[0]..<ovector[1] : nil
        }
        var position = start
        if let skip = filter.skip {
            while position + 8 <= count {
                var hits = skip.hits(UInt64(littleEndian: UnsafeRawPointer(pointer + position).loadUnaligned(as: UInt64.self)))
                while hits != 0 {
                    if let found = attempt(at: position + hits.trailingZeroBitCount >> 3) { return found }
                    hits &= hits &- 1
                }
                position += 8
            }
        }
        while position < count {
            if flags[Int(pointer[position])] & StartFilter.startBit != 0, let found = attempt(at: position) { return found }
            position += 1
        }
        return nil
    }

    /// Whether the pattern matches the empty subject (such patterns are refused by the loader).
    public var matchesEmptyString: Bool {
        let scratch = MatchScratch()
        let pointer = UnsafePointer(scratch.emptySubject)
        return pcre2_match_8(code, pointer, 0, 0, 0, scratch.matchData, nil) >= 0
    }

}

/// Per-thread state for matching: PCRE2 match data, which must never be shared between threads.
///
/// One scratch serves every pattern: it is created with room for the largest capture count.
/// - Important: not `Sendable`. Create one per worker (per chunk is cheap enough).
public final class MatchScratch {
    fileprivate let matchData: OpaquePointer
    fileprivate let emptySubject: UnsafeMutablePointer<UInt8>
    /// The PCRE2 error of the last search that gave up (match, depth or heap limit, JIT stack):
    /// a search that gave up proved nothing, so callers must not read it as "no match".
    /// Zero when none; cleared by `takeFailure`.
    public fileprivate(set) var failure: Int32 = 0

    /// The failure since the last call, if any, and clears it.
    @inline(__always)
    public func takeFailure() -> Int32? {
        guard failure != 0 else { return nil }
        defer { failure = 0 }
        return failure
    }

    public init(capacity: Int = 32) {
        matchData = pcre2_match_data_create_8(UInt32(capacity), nil)
        emptySubject = .allocate(capacity: 1)
        emptySubject.initialize(to: 0)
    }

    deinit {
        pcre2_match_data_free_8(matchData)
        emptySubject.deallocate()
    }
}
