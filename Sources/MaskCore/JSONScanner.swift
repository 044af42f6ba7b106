/// Why a line is not one valid JSON value, and where (0-based byte offset within the line).
///
/// - Important: never holds input bytes, so it can be printed and logged.
public struct JSONSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Reason: String, Sendable {
        case truncated = "the line ends before the value is complete"
        case unterminatedString = "unterminated string"
        case expectedValue = "expected a value"
        case expectedKey = "expected a string key or '}'"
        case expectedColon = "expected ':' after a key"
        case expectedCommaOrObjectEnd = "expected ',' or '}'"
        case expectedCommaOrArrayEnd = "expected ',' or ']'"
        case trailingCharacters = "characters after the top-level value"
        case topLevelScalar = "the top-level value is not an object or an array"
        case invalidEscape = "invalid escape sequence"
        case loneSurrogate = "unpaired UTF-16 surrogate in a \\u escape"
        case controlCharacter = "unescaped control character in a string"
        case invalidNumber = "invalid number"
        case invalidLiteral = "invalid literal (expected true, false or null)"
        case tooDeep = "nesting deeper than 64 objects and arrays"
        /// Not a syntax error: the masker's refusal of a string under `default: error`.
        case unreviewedField = "a string value at a path no rule names"
    }

    public var reason: Reason
    /// Offset of the offending byte from the first byte of the line.
    public var offset: Int

    public init(_ reason: Reason, at offset: Int) {
        self.reason = reason
        self.offset = offset
    }

    public var description: String { "\(reason.rawValue) at byte \(offset) of the line" }
}

/// A strict, byte-level pull scanner over one JSON text (one JSONL line).
///
/// It never builds a tree and never re-serialises: each `next()` reports one token as a span of
/// the caller's buffer (`tokenStart..<tokenEnd`, strings with their quotes), so a caller can copy
/// everything it does not change verbatim and splice replacements in between. Commas, colons
/// and whitespace are not tokens; they stay in the spans between tokens.
///
/// Validation is complete and RFC 8259-strict: the grammar, numbers
/// (`-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`), literals, escapes (`\"` `\\` `\/` `\b`
/// `\f` `\n` `\r` `\t` and `\uXXXX` with surrogates in pairs), no raw control characters in
/// strings, nothing after the top-level value, and at most `maximumDepth` nested containers.
/// The first problem ends the scan with `.error` and `error` set. Bytes 0x80 and above are not
/// checked for UTF-8 validity: they are string content like any other, and whatever policy
/// applies to the string sees them.
///
/// The top-level value must be an object or an array: a JSONL record is a document, and a bare
/// scalar line is treated as a malformed record rather than guessed at.
///
/// Containers are tracked in a 64-bit stack (one bit per level: object or array), so the scanner
/// allocates nothing. String contents are scanned eight bytes at a time for `"`, `\` and control
/// characters.
public struct JSONScanner {
    /// Deepest nesting of objects and arrays accepted (the top-level container is depth 1).
    public static let maximumDepth = 64

    public enum Token: UInt8, Sendable {
        case objectStart, objectEnd, arrayStart, arrayEnd
        /// An object key (a string, quotes included in the span).
        case key
        case string, number, trueLiteral, falseLiteral, nullLiteral
        /// The top-level value is complete and only whitespace follows.
        case end
        /// Malformed input; see `error`.
        case error
    }

    enum State: UInt8 {
        case start, done
        /// After `:` in an object or `,` in an array.
        case value
        /// After `[`.
        case valueOrArrayEnd
        /// After `{`.
        case keyOrObjectEnd
        /// After `,` in an object.
        case key
        /// After a key.
        case colon
        /// After a value inside a container.
        case commaOrEnd
    }

    let base: UnsafePointer<UInt8>
    public let lineStart: Int
    public let lineEnd: Int
    var position: Int
    var state = State.start
    /// Bit `d - 1` is set when the container at depth `d` is an object.
    var containers: UInt64 = 0
    /// Containers open around the scan position (after an `objectStart`/`arrayStart` token, it
    /// counts the container just opened; after an `objectEnd`/`arrayEnd`, no longer the closed one).
    public private(set) var depth = 0
    public private(set) var tokenStart = 0
    public private(set) var tokenEnd = 0
    /// The last string or key token contains at least one backslash escape.
    public private(set) var tokenHasEscapes = false
    public private(set) var error: JSONSyntaxError?

    /// - Parameters:
    ///   - buffer: the bytes holding the line; spans are offsets into it.
    ///   - start: first byte of the line.
    ///   - end: end of the line, line feed excluded (a CR before it is whitespace).
    public init(_ buffer: UnsafeRawBufferPointer, start: Int, end: Int) {
        precondition(start >= 0 && start <= end && end <= buffer.count)
        base = buffer.baseAddress.map { $0.assumingMemoryBound(to: UInt8.self) }
            ?? UnsafePointer(bitPattern: 0x10)!  // never read: an empty buffer means start == end
        lineStart = start
        lineEnd = end
        position = start
    }

    /// The container holding the scan position is an object (false at the top level).
    public var inObject: Bool { depth > 0 && (containers >> UInt64(depth - 1)) & 1 == 1 }

    /// The next token; `.end` once the line is complete, `.error` (with `error`) when it is not.
    /// After `.end` or `.error` it keeps returning the same token.
    public mutating func next() -> Token {
        if error != nil { return .error }
        while true {
            // Skip whitespace (space, tab, CR; LF never occurs inside a line).
            while position < lineEnd {
                let byte = base[position]
                guard byte == 0x20 || byte == 0x09 || byte == 0x0D || byte == 0x0A else { break }
                position += 1
            }
            guard position < lineEnd else {
                if state == .done { return .end }
                return fail(state == .start ? .expectedValue : .truncated, at: lineEnd)
            }
            let byte = base[position]
            switch state {
            case .start:
                if byte == 0x7B { return open(object: true) }
                if byte == 0x5B { return open(object: false) }
                if byte == 0x22 || byte == 0x2D || (byte &- 0x30) < 10 || byte == 0x74 || byte == 0x66 || byte == 0x6E {
                    return fail(.topLevelScalar, at: position)
                }
                return fail(.expectedValue, at: position)
            case .done:
                return fail(.trailingCharacters, at: position)
            case .value:
                return value(byte)
            case .valueOrArrayEnd:
                if byte == 0x5D { return close(object: false) }
                return value(byte)
            case .keyOrObjectEnd, .key:
                if byte == 0x22 {
                    guard scanString() else { return .error }
                    state = .colon
                    return .key
                }
                if byte == 0x7D && state == .keyOrObjectEnd { return close(object: true) }
                return fail(.expectedKey, at: position)
            case .colon:
                guard byte == 0x3A else { return fail(.expectedColon, at: position) }
                position += 1
                state = .value
            case .commaOrEnd:
                let object = inObject
                if byte == 0x2C {
                    position += 1
                    state = object ? .key : .value
                } else if byte == (object ? 0x7D : 0x5D) {
                    return close(object: object)
                } else {
                    return fail(object ? .expectedCommaOrObjectEnd : .expectedCommaOrArrayEnd, at: position)
                }
            }
        }
    }

    private mutating func fail(_ reason: JSONSyntaxError.Reason, at offset: Int) -> Token {
        error = JSONSyntaxError(reason, at: offset - lineStart)
        return .error
    }

    private mutating func open(object: Bool) -> Token {
        guard depth < Self.maximumDepth else { return fail(.tooDeep, at: position) }
        if object { containers |= 1 << UInt64(depth) } else { containers &= ~(1 << UInt64(depth)) }
        depth += 1
        tokenStart = position
        position += 1
        tokenEnd = position
        state = object ? .keyOrObjectEnd : .valueOrArrayEnd
        return object ? .objectStart : .arrayStart
    }

    private mutating func close(object: Bool) -> Token {
        depth -= 1
        tokenStart = position
        position += 1
        tokenEnd = position
        state = depth == 0 ? .done : .commaOrEnd
        return object ? .objectEnd : .arrayEnd
    }

    private mutating func value(_ byte: UInt8) -> Token {
        switch byte {
        case 0x7B: return open(object: true)
        case 0x5B: return open(object: false)
        case 0x22:
            guard scanString() else { return .error }
            state = .commaOrEnd
            return .string
        case 0x2D, 0x30...0x39:
            return scanNumber()
        case 0x74: return literal("true", .trueLiteral)
        case 0x66: return literal("false", .falseLiteral)
        case 0x6E: return literal("null", .nullLiteral)
        default: return fail(.expectedValue, at: position)
        }
    }

    private mutating func literal(_ spelling: StaticString, _ token: Token) -> Token {
        let length = spelling.utf8CodeUnitCount
        let expected = spelling.utf8Start
        var index = 0
        while index < length {
            guard position + index < lineEnd, base[position + index] == expected[index] else {
                return fail(.invalidLiteral, at: position)
            }
            index += 1
        }
        tokenStart = position
        position += length
        tokenEnd = position
        state = .commaOrEnd
        return token
    }

    private mutating func scanNumber() -> Token {
        var cursor = position
        @inline(__always) func isDigit(_ at: Int) -> Bool { at < lineEnd && (base[at] &- 0x30) < 10 }
        if base[cursor] == 0x2D { cursor += 1 }
        guard isDigit(cursor) else { return fail(.invalidNumber, at: position) }
        if base[cursor] == 0x30 {
            cursor += 1
        } else {
            while isDigit(cursor) { cursor += 1 }
        }
        if cursor < lineEnd && base[cursor] == 0x2E {
            cursor += 1
            guard isDigit(cursor) else { return fail(.invalidNumber, at: position) }
            while isDigit(cursor) { cursor += 1 }
        }
        if cursor < lineEnd && (base[cursor] | 0x20) == 0x65 {
            cursor += 1
            if cursor < lineEnd && (base[cursor] == 0x2B || base[cursor] == 0x2D) { cursor += 1 }
            guard isDigit(cursor) else { return fail(.invalidNumber, at: position) }
            while isDigit(cursor) { cursor += 1 }
        }
        // `01`, `1.2.3`, `1e5e5`: a number directly followed by more number characters.
        if cursor < lineEnd {
            let after = base[cursor]
            if (after &- 0x30) < 10 || after == 0x2E || after == 0x2D || after == 0x2B || (after | 0x20) == 0x65 {
                return fail(.invalidNumber, at: position)
            }
        }
        tokenStart = position
        position = cursor
        tokenEnd = cursor
        state = .commaOrEnd
        return .number
    }

    /// Scans the string whose opening quote is at `position`; on success the token span covers
    /// both quotes and `position` is just past the closing one.
    private mutating func scanString() -> Bool {
        var cursor = position + 1
        var escapes = false
        let end = lineEnd
        while true {
            // Eight bytes at a time to the first `"`, `\` or byte below 0x20 (SWAR: a byte equal
            // to c makes x ^ c*0x0101.. zero there; `(v - 0x0101..) & ~v & 0x8080..` flags zero
            // bytes, `(x - 0x2020..) & ~x & 0x8080..` bytes below 0x20; the lowest flag of each is
            // exact, so the lowest set bit of the union is the first byte to look at).
            if cursor + 8 <= end {
                let word = UInt64(littleEndian: UnsafeRawPointer(base + cursor).loadUnaligned(as: UInt64.self))
                let quotes = word ^ 0x2222_2222_2222_2222
                let slashes = word ^ 0x5C5C_5C5C_5C5C_5C5C
                let hits = (((quotes &- 0x0101_0101_0101_0101) & ~quotes)
                    | ((slashes &- 0x0101_0101_0101_0101) & ~slashes)
                    | ((word &- 0x2020_2020_2020_2020) & ~word)) & 0x8080_8080_8080_8080
                if hits == 0 {
                    cursor += 8
                    continue
                }
                cursor += hits.trailingZeroBitCount >> 3
            } else {
                while cursor < end {
                    let byte = base[cursor]
                    if byte == 0x22 || byte == 0x5C || byte < 0x20 { break }
                    cursor += 1
                }
                guard cursor < end else {
                    _ = fail(.unterminatedString, at: end)
                    return false
                }
            }
            let byte = base[cursor]
            if byte == 0x22 {
                tokenStart = position
                tokenEnd = cursor + 1
                tokenHasEscapes = escapes
                position = cursor + 1
                return true
            }
            if byte < 0x20 {
                _ = fail(.controlCharacter, at: cursor)
                return false
            }
            // A backslash escape.
            escapes = true
            guard cursor + 1 < end else {
                _ = fail(.unterminatedString, at: end)
                return false
            }
            switch base[cursor + 1] {
            case 0x22, 0x5C, 0x2F, 0x62, 0x66, 0x6E, 0x72, 0x74:
                cursor += 2
            case 0x75:
                guard let unit = hex4(at: cursor + 2) else {
                    _ = fail(.invalidEscape, at: cursor)
                    return false
                }
                if unit >= 0xDC00 && unit <= 0xDFFF {
                    _ = fail(.loneSurrogate, at: cursor)
                    return false
                }
                if unit >= 0xD800 && unit <= 0xDBFF {
                    guard cursor + 7 < end, base[cursor + 6] == 0x5C, base[cursor + 7] == 0x75,
                        let low = hex4(at: cursor + 8), low >= 0xDC00 && low <= 0xDFFF
                    else {
                        _ = fail(.loneSurrogate, at: cursor)
                        return false
                    }
                    cursor += 12
                } else {
                    cursor += 6
                }
            default:
                _ = fail(.invalidEscape, at: cursor)
                return false
            }
        }
    }

    /// The value of four hex digits at `offset`, or nil.
    private func hex4(at offset: Int) -> UInt32? {
        guard offset + 4 <= lineEnd else { return nil }
        var value: UInt32 = 0
        for index in offset..<(offset + 4) {
            guard let digit = Self.hexValue(base[index]) else { return nil }
            value = value << 4 | UInt32(digit)
        }
        return value
    }

    @inline(__always)
    static func hexValue(_ byte: UInt8) -> UInt8? {
        if (byte &- 0x30) < 10 { return byte &- 0x30 }
        let lower = byte | 0x20
        if (lower &- 0x61) < 6 { return lower &- 0x61 + 10 }
        return nil
    }
}

/// JSON string contents: decoding escapes, and encoding a value as a JSON string.
public enum JSONString {
    /// Appends the decoded text of a string's contents (the bytes between its quotes), which the
    /// scanner has validated: escapes become the bytes they stand for, `\uXXXX` (and surrogate
    /// pairs) become UTF-8. Runs without escapes are copied in bulk.
    public static func decode(_ content: UnsafeRawBufferPointer, into output: inout [UInt8]) {
        let count = content.count
        var runStart = 0
        var index = 0
        while index < count {
            guard content[index] == 0x5C else {
                index += 1
                continue
            }
            if index > runStart {
                output.append(contentsOf: UnsafeRawBufferPointer(rebasing: content[runStart..<index]))
            }
            let escape = content[index + 1]
            switch escape {
            case 0x62: output.append(0x08)
            case 0x66: output.append(0x0C)
            case 0x6E: output.append(0x0A)
            case 0x72: output.append(0x0D)
            case 0x74: output.append(0x09)
            case 0x75:
                var scalar = hex4(content, index + 2)
                index += 6
                if scalar >= 0xD800 && scalar <= 0xDBFF && index + 6 <= count && content[index] == 0x5C {
                    let low = hex4(content, index + 2)
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    index += 6
                }
                appendUTF8(scalar, to: &output)
                runStart = index
                continue
            default: output.append(escape)  // \" \\ \/
            }
            index += 2
            runStart = index
        }
        if count > runStart { output.append(contentsOf: UnsafeRawBufferPointer(rebasing: content[runStart..<count])) }
    }

    /// Appends `line` (any bytes: a malformed record) with the escapes that hide text decoded, so
    /// that a scan finds `bob\u0040example.com` as it would in a valid line: `\uXXXX` (and valid
    /// surrogate pairs) that stand for a character other than `"`, `\` or a control character
    /// become UTF-8, `\/` becomes `/`; every other byte, and every escape that would change the
    /// line's structure, is kept as it is.
    public static func decodeForScanning(_ line: UnsafeRawBufferPointer, into output: inout [UInt8]) {
        let count = line.count
        var index = 0
        func scalar(at offset: Int) -> UInt32? {
            guard offset + 6 <= count, line[offset] == 0x5C, line[offset + 1] == 0x75 else { return nil }
            var value: UInt32 = 0
            for position in (offset + 2)..<(offset + 6) {
                guard let digit = JSONScanner.hexValue(line[position]) else { return nil }
                value = value << 4 | UInt32(digit)
            }
            return value
        }
        while index < count {
            let byte = line[index]
            guard byte == 0x5C, index + 1 < count else {
                output.append(byte)
                index += 1
                continue
            }
            if line[index + 1] == 0x2F {
                output.append(0x2F)
                index += 2
                continue
            }
            if line[index + 1] == 0x5C || line[index + 1] == 0x22 {
                // An escaped backslash or quote stays escaped (and is not the start of another escape).
                output.append(contentsOf: UnsafeRawBufferPointer(rebasing: line[index..<(index + 2)]))
                index += 2
                continue
            }
            if var value = scalar(at: index) {
                var length = 6
                if value >= 0xD800 && value <= 0xDBFF, let low = scalar(at: index + 6), low >= 0xDC00 && low <= 0xDFFF {
                    value = 0x10000 + ((value - 0xD800) << 10) + (low - 0xDC00)
                    length = 12
                }
                let structural = value < 0x20 || value == 0x22 || value == 0x5C || (value >= 0xD800 && value <= 0xDFFF)
                if !structural {
                    appendUTF8(value, to: &output)
                    index += length
                    continue
                }
            }
            output.append(byte)
            index += 1
        }
    }

    private static func hex4(_ content: UnsafeRawBufferPointer, _ offset: Int) -> UInt32 {
        var value: UInt32 = 0
        for index in offset..<(offset + 4) {
            value = value << 4 | UInt32(JSONScanner.hexValue(content[index]) ?? 0)
        }
        return value
    }

    private static func appendUTF8(_ scalar: UInt32, to output: inout [UInt8]) {
        switch scalar {
        case 0..<0x80:
            output.append(UInt8(scalar))
        case 0x80..<0x800:
            output.append(UInt8(0xC0 | scalar >> 6))
            output.append(UInt8(0x80 | scalar & 0x3F))
        case 0x800..<0x10000:
            output.append(UInt8(0xE0 | scalar >> 12))
            output.append(UInt8(0x80 | (scalar >> 6) & 0x3F))
            output.append(UInt8(0x80 | scalar & 0x3F))
        default:
            output.append(UInt8(0xF0 | scalar >> 18))
            output.append(UInt8(0x80 | (scalar >> 12) & 0x3F))
            output.append(UInt8(0x80 | (scalar >> 6) & 0x3F))
            output.append(UInt8(0x80 | scalar & 0x3F))
        }
    }

    /// Appends `value` as a JSON string, quotes included: `"` and `\` are escaped, control
    /// characters become `\n`, `\t`, … or `\u00XX`, valid UTF-8 is kept as it is, and every byte
    /// that is not part of a valid UTF-8 sequence becomes U+FFFD, so the result is always valid
    /// JSON whatever bytes a policy produced (e.g. a partial mask of a Latin-1 value).
    public static func appendQuoted(_ value: UnsafeRawBufferPointer, to output: inout [UInt8]) {
        var quoted = OutputBytes(capacity: value.count + 2)
        appendQuoted(value, to: &quoted)
        output.append(contentsOf: quoted.array())
    }

    /// `appendQuoted` into an `OutputBytes` (the JSONL masker's output).
    public static func appendQuoted(_ value: UnsafeRawBufferPointer, to output: inout OutputBytes) {
        output.append(0x22)
        let count = value.count
        var runStart = 0
        var index = 0
        // Hashes, tokens and most masked text are plain printable ASCII: one pass, one copy.
        if let base = value.baseAddress?.assumingMemoryBound(to: UInt8.self) {
            while index < count {
                let byte = base[index]
                if byte < 0x20 || byte >= 0x80 || byte == 0x22 || byte == 0x5C { break }
                index += 1
            }
        }
        while index < count {
            let byte = value[index]
            if byte >= 0x20 && byte != 0x22 && byte != 0x5C && byte < 0x80 {
                index += 1
                continue
            }
            if byte >= 0x80 {
                let length = validUTF8Length(value, at: index)
                if length > 0 {
                    index += length
                    continue
                }
            }
            if index > runStart { output.append(UnsafeRawBufferPointer(rebasing: value[runStart..<index])) }
            switch byte {
            case 0x22: output.append(contentsOf: [0x5C, 0x22])
            case 0x5C: output.append(contentsOf: [0x5C, 0x5C])
            case 0x08: output.append(contentsOf: [0x5C, 0x62])
            case 0x0C: output.append(contentsOf: [0x5C, 0x66])
            case 0x0A: output.append(contentsOf: [0x5C, 0x6E])
            case 0x0D: output.append(contentsOf: [0x5C, 0x72])
            case 0x09: output.append(contentsOf: [0x5C, 0x74])
            case 0..<0x20:
                let digits: [UInt8] = Array("0123456789abcdef".utf8)
                output.append(contentsOf: [0x5C, 0x75, 0x30, 0x30, digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
            default:
                output.append(contentsOf: [0xEF, 0xBF, 0xBD])  // U+FFFD for a byte outside valid UTF-8
            }
            index += 1
            runStart = index
        }
        if count > runStart { output.append(UnsafeRawBufferPointer(rebasing: value[runStart..<count])) }
        output.append(0x22)
    }

    /// The length of the well-formed UTF-8 sequence starting at `index` (Unicode Table 3-7: no
    /// overlongs, no surrogates, nothing above U+10FFFF), or 0.
    static func validUTF8Length(_ value: UnsafeRawBufferPointer, at index: Int) -> Int {
        let count = value.count
        let lead = value[index]
        @inline(__always) func continuation(_ offset: Int, _ low: UInt8 = 0x80, _ high: UInt8 = 0xBF) -> Bool {
            index + offset < count && value[index + offset] >= low && value[index + offset] <= high
        }
        switch lead {
        case 0xC2...0xDF:
            return continuation(1) ? 2 : 0
        case 0xE0:
            return continuation(1, 0xA0) && continuation(2) ? 3 : 0
        case 0xE1...0xEC, 0xEE...0xEF:
            return continuation(1) && continuation(2) ? 3 : 0
        case 0xED:
            return continuation(1, 0x80, 0x9F) && continuation(2) ? 3 : 0
        case 0xF0:
            return continuation(1, 0x90) && continuation(2) && continuation(3) ? 4 : 0
        case 0xF1...0xF3:
            return continuation(1) && continuation(2) && continuation(3) ? 4 : 0
        case 0xF4:
            return continuation(1, 0x80, 0x8F) && continuation(2) && continuation(3) ? 4 : 0
        default:
            return 0
        }
    }
}
