/// Which byte positions of a subject can start a match of a pattern, decided with one table
/// lookup per byte instead of a PCRE2 match attempt per position.
///
/// Built from two facts about a pattern: the code units a match can start with (PCRE2's own
/// first-code-unit bitmap) and the negative lookbehinds of one or two character classes the
/// pattern opens with, such as the phone detector's `(?<![\w+@#$%&\-/…])` and
/// `(?<![0-9][\x20.,:\-])`. Those lookbehinds refuse almost every digit of a timestamp, a
/// version string or an id, yet PCRE2 enters the pattern at each of them; a profile showed
/// those attempts as most of the phone detector's cost.
///
/// The filter may accept a position that cannot match, never refuse one that can: only ASCII
/// members of a class are used (a non-ASCII neighbour never blocks), and a pattern it cannot
/// read with certainty gets no filter at all. Each accepted position is then tried with the
/// pattern compiled anchored, which gives exactly the attempt an unanchored search makes there.
struct StartFilter: Sendable {
    /// Per byte value: bit 0 the byte can start a match; bit 1 a single-class lookbehind refuses
    /// a start right after it; bits 2k+2 / 2k+3 it belongs to the first / second class of
    /// two-class lookbehind k (at most three).
    let flags: [UInt8]

    static let startBit: UInt8 = 1
    static let singleBit: UInt8 = 2
    static let firstClassBits: UInt8 = 0b0101_0100
    static let secondClassBits: UInt8 = 0b1010_1000

    /// - Parameters:
    ///   - pattern: the pattern source.
    ///   - firstBytes: PCRE2's first-code-unit bitmap (32 bytes, bit `b % 8` of byte `b / 8`).
    /// - Returns: `nil` when the pattern has no usable leading lookbehind, or uses a construct
    ///   under which trying positions one by one is not the same as searching (backtracking
    ///   verbs, `\G`, `\K`).
    init?(pattern: String, firstBytes: [UInt8]) {
        let source = Array(pattern.utf8)
        // Verbs such as (*COMMIT) or (*SKIP) end a whole search, not one attempt; \G pins the
        // start; \K moves it. Refuse them anywhere, whatever the context.
        for index in source.indices.dropLast() {
            if source[index] == UInt8(ascii: "(") && source[index + 1] == UInt8(ascii: "*") { return nil }
            if source[index] == UInt8(ascii: "\\") && (source[index + 1] == UInt8(ascii: "G") || source[index + 1] == UInt8(ascii: "K")) {
                return nil
            }
        }
        var parser = LookbehindParser(source: source)
        let lookbehinds = parser.leadingLookbehinds()
        var flags = [UInt8](repeating: 0, count: 256)
        for byte in 0..<256 where firstBytes[byte / 8] & (1 << (byte % 8)) != 0 {
            flags[byte] |= Self.startBit
        }
        var pairs = 0
        for classes in lookbehinds {
            if classes.count == 1 {
                for byte in 0..<128 where classes[0][byte] { flags[byte] |= Self.singleBit }
            } else if classes.count == 2 && pairs < 3 {
                for byte in 0..<128 {
                    if classes[0][byte] { flags[byte] |= 1 << (2 + 2 * pairs) }
                    if classes[1][byte] { flags[byte] |= 1 << (3 + 2 * pairs) }
                }
                pairs += 1
            }
        }
        guard flags.contains(where: { $0 & Self.singleBit != 0 }) || pairs > 0 else { return nil }
        self.flags = flags
        skip = StartSkip(starts: (0..<256).filter { flags[$0] & Self.startBit != 0 }.map(UInt8.init))
    }

    /// Finds start bytes eight at a time, when they are one ASCII range and a few single bytes.
    let skip: StartSkip?
}

/// A SWAR test for "one of these eight bytes can start a match", for start sets made of one
/// range of ASCII bytes and up to three other byte values (the phone detector's: `0-9`, `(`,
/// `+` and 0xEF, the lead byte of full-width forms). Every test is exact per byte (no carry
/// crosses a byte), so the lowest flagged byte is the first start byte.
struct StartSkip: Sendable {
    let low: UInt64
    let aboveHigh: UInt64
    /// Up to three single bytes, repeated to fill the unused slots (testing one twice is harmless).
    let single0: UInt64
    let single1: UInt64
    let single2: UInt64

    init?(starts: [UInt8]) {
        // The longest run of consecutive ASCII values in the set is the range; the rest are singles.
        var best = (start: 0, count: 0)
        var index = 0
        while index < starts.count {
            var end = index
            while end + 1 < starts.count && starts[end + 1] == starts[end] + 1 && starts[end + 1] < 0x80 { end += 1 }
            if starts[index] < 0x80 && end - index + 1 > best.count { best = (index, end - index + 1) }
            index = end + 1
        }
        guard best.count > 0 else { return nil }
        var rest = starts.enumerated().filter { $0.offset < best.start || $0.offset >= best.start + best.count }.map(\.element)
        guard rest.count <= 3 else { return nil }
        if rest.isEmpty { rest = [starts[best.start]] }
        while rest.count < 3 { rest.append(rest[0]) }
        let repeated: UInt64 = 0x0101_0101_0101_0101
        low = UInt64(starts[best.start]) &* repeated
        aboveHigh = (UInt64(starts[best.start + best.count - 1]) + 1) &* repeated
        single0 = UInt64(rest[0]) &* repeated
        single1 = UInt64(rest[1]) &* repeated
        single2 = UInt64(rest[2]) &* repeated
    }

    /// One bit (the top bit of the byte) per start byte of `word`, in memory order from bit 7 up.
    @inline(__always)
    func hits(_ word: UInt64) -> UInt64 {
        let high: UInt64 = 0x8080_8080_8080_8080
        let low7: UInt64 = 0x7F7F_7F7F_7F7F_7F7F
        let ascii = word & low7
        // (ascii | 0x80) - c has its top bit set iff ascii >= c; ASCII bytes only.
        let atLeastLow = ((ascii | high) &- low) & high
        let aboveRange = ((ascii | high) &- aboveHigh) & high
        @inline(__always) func equal(_ single: UInt64) -> UInt64 {
            let other = word ^ single
            return ~((((other & low7) &+ low7) | other) & high) & high
        }
        return (atLeastLow & ~aboveRange & ~word & high) | equal(single0) | equal(single1) | equal(single2)
    }
}

/// Reads the negative lookbehinds at the very start of a pattern, after option settings such as
/// `(?x)` or `(?i)` and, in extended mode, whitespace and comments. Each lookbehind is a sequence
/// of character classes or literal characters; the first construct that is anything else ends
/// the reading (what follows does not matter: the lookbehinds found so far hold for every match).
struct LookbehindParser {
    let source: [UInt8]
    var index = 0
    var extended = false
    var caseless = false

    init(source: [UInt8]) {
        self.source = source
    }

    /// One entry per lookbehind: for each character position in it, the ASCII members (128 flags).
    mutating func leadingLookbehinds() -> [[[Bool]]] {
        var found: [[[Bool]]] = []
        while true {
            skipIgnorable()
            guard index < source.count else { return found }
            if startsWith("(?<!") {
                let saved = index
                index += 4
                guard let classes = lookbehindBody() else { index = saved; return found }
                found.append(classes)
            } else if startsWith("(?") , let options = optionSetting() {
                for option in options {
                    switch option {
                    case UInt8(ascii: "x"): extended = true
                    case UInt8(ascii: "i"): caseless = true
                    case UInt8(ascii: "s"), UInt8(ascii: "m"): break
                    default: return found
                    }
                }
            } else {
                return found
            }
        }
    }

    func startsWith(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        return index + bytes.count <= source.count && Array(source[index..<index + bytes.count]) == bytes
    }

    /// `(?x)`, `(?i)`, `(?xi)`, …: the option letters, or nil (a group, or options being unset).
    mutating func optionSetting() -> [UInt8]? {
        var cursor = index + 2
        var letters: [UInt8] = []
        while cursor < source.count, (source[cursor] >= 0x61 && source[cursor] <= 0x7A) {
            letters.append(source[cursor])
            cursor += 1
        }
        guard !letters.isEmpty, cursor < source.count, source[cursor] == UInt8(ascii: ")") else { return nil }
        index = cursor + 1
        return letters
    }

    mutating func skipIgnorable() {
        guard extended else { return }
        while index < source.count {
            let byte = source[index]
            if byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D || byte == 0x0B || byte == 0x0C {
                index += 1
            } else if byte == UInt8(ascii: "#") {
                while index < source.count && source[index] != 0x0A { index += 1 }
            } else {
                return
            }
        }
    }

    /// The classes of a lookbehind up to its `)`, or nil if it holds anything else.
    mutating func lookbehindBody() -> [[Bool]]? {
        var classes: [[Bool]] = []
        while true {
            // Extended mode ignores whitespace inside groups too (not inside classes).
            skipIgnorable()
            guard index < source.count else { return nil }
            let byte = source[index]
            if byte == UInt8(ascii: ")") {
                index += 1
                return classes.isEmpty ? nil : classes
            }
            var members = [Bool](repeating: false, count: 128)
            if byte == UInt8(ascii: "[") {
                index += 1
                guard readClass(into: &members) else { return nil }
            } else if byte == UInt8(ascii: "\\") {
                guard let item = readEscape(), case .set(let set) = item else { return nil }
                members = set
            } else if byte < 0x80 && !isMeta(byte) {
                members[Int(byte)] = true
                index += 1
            } else if byte >= 0xC0 {
                // A literal non-ASCII character: no ASCII member.
                index += 1
                while index < source.count && source[index] & 0xC0 == 0x80 { index += 1 }
            } else {
                return nil
            }
            if caseless { foldCase(&members) }
            classes.append(members)
        }
    }

    func isMeta(_ byte: UInt8) -> Bool {
        Array("^$.[|()?*+{".utf8).contains(byte)
    }

    enum Item {
        case set([Bool])
        case character(UInt32)
    }

    /// After a `\`: a class escape or one character.
    mutating func readEscape() -> Item? {
        guard index + 1 < source.count else { return nil }
        let letter = source[index + 1]
        index += 2
        var set = [Bool](repeating: false, count: 128)
        switch letter {
        case UInt8(ascii: "w"):
            // Without PCRE2_UCP (never set here) \w and \d are ASCII-only.
            for byte in 0..<128 where isWordByte(UInt8(byte)) { set[byte] = true }
            return .set(set)
        case UInt8(ascii: "d"):
            for byte in 0x30...0x39 { set[byte] = true }
            return .set(set)
        case UInt8(ascii: "x"):
            var digits: [UInt8] = []
            if index < source.count && source[index] == UInt8(ascii: "{") {
                index += 1
                while index < source.count && source[index] != UInt8(ascii: "}") { digits.append(source[index]); index += 1 }
                guard index < source.count else { return nil }
                index += 1
            } else {
                while digits.count < 2 && index < source.count && hexValue(source[index]) != nil { digits.append(source[index]); index += 1 }
            }
            guard !digits.isEmpty, digits.count <= 6 else { return nil }
            var value: UInt32 = 0
            for digit in digits {
                guard let nibble = hexValue(digit) else { return nil }
                value = value << 4 | UInt32(nibble)
            }
            return .character(value)
        default:
            // An escaped punctuation character stands for itself; any other escape (\p, \W, \s,
            // \b, octal, …) is not read.
            guard letter < 0x80 && !isWordByte(letter) && letter > 0x20 else { return nil }
            return .character(UInt32(letter))
        }
    }

    /// Reads a class after its `[` up to and including `]`.
    mutating func readClass(into members: inout [Bool]) -> Bool {
        guard index < source.count, source[index] != UInt8(ascii: "^") else { return false }
        var first = true
        while index < source.count {
            let byte = source[index]
            if byte == UInt8(ascii: "]") && !first {
                index += 1
                return true
            }
            first = false
            if byte == UInt8(ascii: "[") { return false }  // POSIX classes, nested sets
            guard let low = classCharacter() else { return false }
            let lowValue: UInt32
            switch low {
            case .set(let set):
                for byte in 0..<128 where set[byte] { members[byte] = true }
                continue
            case .character(let value):
                lowValue = value
            }
            if index + 1 < source.count && source[index] == UInt8(ascii: "-") && source[index + 1] != UInt8(ascii: "]") {
                index += 1
                guard let high = classCharacter(), case .character(let highValue) = high, highValue >= lowValue else { return false }
                if lowValue < 128 {
                    for value in lowValue...min(highValue, 127) { members[Int(value)] = true }
                }
            } else if lowValue < 128 {
                members[Int(lowValue)] = true
            }
        }
        return false
    }

    /// One element of a class: an escape, an ASCII byte or a whole UTF-8 character.
    mutating func classCharacter() -> Item? {
        guard index < source.count else { return nil }
        let byte = source[index]
        if byte == UInt8(ascii: "\\") { return readEscape() }
        if byte < 0x80 {
            index += 1
            return .character(UInt32(byte))
        }
        let decoded = decodeCharacter()
        return decoded.map { .character($0) }
    }

    mutating func decodeCharacter() -> UInt32? {
        let lead = source[index]
        let length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 0
        guard length > 0, index + length <= source.count else { return nil }
        var value = UInt32(lead) & (0xFF >> (length + 1))
        for offset in 1..<length {
            let continuation = source[index + offset]
            guard continuation & 0xC0 == 0x80 else { return nil }
            value = value << 6 | UInt32(continuation & 0x3F)
        }
        index += length
        return value
    }

    func foldCase(_ members: inout [Bool]) {
        for upper in 0x41...0x5A where members[upper] || members[upper + 0x20] {
            members[upper] = true
            members[upper + 0x20] = true
        }
    }

    func isWordByte(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == 0x5F
    }

    func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: return byte - 0x30
        case 0x41...0x46: return byte - 0x41 + 10
        case 0x61...0x66: return byte - 0x61 + 10
        default: return nil
        }
    }
}
