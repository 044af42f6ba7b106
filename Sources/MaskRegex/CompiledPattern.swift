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

    /// - Throws: `PatternError` with PCRE2's message and offset.
    public init(_ pattern: String) throws {
        var errorCode: Int32 = 0
        var errorOffset: Int = 0
        let options = UInt32(PCRE2_UTF) | UInt32(PCRE2_MATCH_INVALID_UTF)
        let compiled = pattern.utf8CString.withUnsafeBufferPointer { buffer -> OpaquePointer? in
            buffer.baseAddress!.withMemoryRebound(to: UInt8.self, capacity: buffer.count) { pointer in
                pcre2_compile_8(pointer, buffer.count - 1, options, &errorCode, &errorOffset, nil)
            }
        }
        guard let compiled else {
            throw PatternError(message: Self.message(for: errorCode), offset: errorOffset)
        }
        code = compiled
        source = pattern
        isJITCompiled = pcre2_jit_compile_8(compiled, UInt32(PCRE2_JIT_COMPLETE)) == 0
    }

    deinit {
        pcre2_code_free_8(code)
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
        while offset <= subject.count {
            let result: Int32
            if isJITCompiled {
                result = pcre2_jit_match_8(code, pointer, subject.count, offset, 0, scratch.matchData, nil)
            } else {
                result = pcre2_match_8(code, pointer, subject.count, offset, 0, scratch.matchData, nil)
            }
            guard result > 0 else { return nil }
            let ovector = pcre2_get_ovector_pointer_8(scratch.matchData)!
            let lower = ovector[0]
            let upper = ovector[1]
            if upper > lower { return lower..<upper }
            offset = lower + 1
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
