/// The built-in phone-number detector (`builtin: phone` in a rules file): finds numbers of
/// every country in free text, checked against the numbering plans in `PhonePlan`.
///
/// Why native code rather than one more regular expression: a pattern can only list the
/// shapes someone wrote into it (the previous one knew 49 country codes, each with one fixed
/// length), while libphonenumber's metadata knows, for every calling code, which leading
/// digits and lengths exist. Finding is done in two steps, both linear in the value:
///
/// 1. **Runs.** A run is a maximal stretch of digit groups (ASCII or full-width) joined by
///    one separator each (space, `.`, `-`, `/`, `~`, NBSP, Unicode dashes, `ー`, `－`,
///    ideographic space) or written in parentheses, optionally after `+`/`＋`/`++`. A run may
///    only start where a number can start: not inside a word, an id, an amount, a path, or
///    after a digit and a separator (the middle of a card, IBAN or tracking number).
/// 2. **Numbers in a run.** From the run's first group, the longest sequence of whole groups
///    that is a valid number is taken: after `+` (or an international dialling prefix such as
///    `00`, `011`, `0011`) its calling code's plan; otherwise the plans of the regions the rules
///    name, in order (first valid wins), with the written grouping checked against how that
///    region groups the number, so `2024-03-05 14` (a valid US number's digits, grouped as a
///    date) is refused. The rest of the run is read the same way, so two numbers written next
///    to each other are both found. A run whose start is no number is skipped whole, which
///    keeps card and tracking numbers free of phone-shaped pieces.
///
/// A detection always ends at the end of a group, never inside one, and where the run goes
/// on with a short group that the number's own separators suggest belongs to it, the whole
/// run is taken: a partial mask would leave digits of the number visible.
///
/// A class of constants: every worker thread reaches the same finder, and as a struct each
/// use copied it out of the detector, retaining the plan and the regions array. Retains of one
/// shared object from two threads bounce its cache line between the cores.
public final class PhoneFinder: Sendable, Equatable {
    /// Regions national numbers are read in, in order (indices into `plan.regions`).
    public let regions: [Int]
    let plan: PhonePlan

    /// - Parameter regions: ISO codes; unknown ones are the caller's error to report (see
    ///   `unknownRegions(_:)`).
    public init(regions isoCodes: [String], plan: PhonePlan = .shared) {
        self.plan = plan
        var indices: [Int] = []
        for code in isoCodes {
            if let index = plan.regionIndex(isoCode: code), !indices.contains(index) { indices.append(index) }
        }
        self.regions = indices
    }

    public static func unknownRegions(_ isoCodes: [String], plan: PhonePlan = .shared) -> [String] {
        isoCodes.filter { plan.regionIndex(isoCode: $0) == nil }
    }

    public static func == (lhs: PhoneFinder, rhs: PhoneFinder) -> Bool {
        lhs.regions == rhs.regions && lhs.plan === rhs.plan
    }

    /// A number found: its calling code and national significant number (digit values 0-9;
    /// the buffer is only valid inside the callback).
    public struct Number {
        public let callingCode: Int
        public let nationalNumber: UnsafeBufferPointer<UInt8>

        /// Writes the calling code and national number as ASCII digits (E.164 without its `+`)
        /// at `output`, which has room for `3 + nationalNumber.count` bytes; returns the count.
        public func writeE164Digits(to output: UnsafeMutablePointer<UInt8>) -> Int {
            var written = 0
            var code = callingCode
            var divisor = code >= 100 ? 100 : code >= 10 ? 10 : 1
            while divisor > 0 {
                output[written] = 0x30 + UInt8(code / divisor)
                code %= divisor
                divisor /= 10
                written += 1
            }
            for digit in nationalNumber {
                output[written] = 0x30 + digit
                written += 1
            }
            return written
        }
    }

    /// Calls `body` with the byte range of every number in `value`, in order, without overlaps.
    public func matches(in value: UnsafeRawBufferPointer, _ body: (Range<Int>, Number) -> Void) {
        // Set nothing up unless some run may hold a number: most values the prefilter lets
        // through hold none.
        guard var candidate = Self.nextCandidate(value, from: 0) else { return }
        // The run buffers live on the stack, once per value.
        withUnsafeTemporaryAllocation(of: Group.self, capacity: Self.maximumGroups) { groups in
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 2 * Self.maximumDigits) { digitStorage in
                withUnsafeTemporaryAllocation(of: Int.self, capacity: 2 * Self.maximumGroups) { breaks in
                    let digits = UnsafeMutableBufferPointer(rebasing: digitStorage[0..<Self.maximumDigits])
                    let work = UnsafeMutableBufferPointer(rebasing: digitStorage[Self.maximumDigits...])
                    while true {
                        let next = readCandidate(
                            value, at: candidate.start, asciiEnd: candidate.asciiEnd,
                            Run(value: value, groups: groups, digits: digits, work: work, breaks: breaks), body)
                        guard let found = Self.nextCandidate(value, from: next) else { return }
                        candidate = found
                    }
                }
            }
        }
    }

    /// Reads the run at a candidate start and reports its numbers; returns where to go on.
    func readCandidate(
        _ value: UnsafeRawBufferPointer, at index: Int, asciiEnd: Int?, _ empty: Run, _ body: (Range<Int>, Number) -> Void
    ) -> Int {
        let symbol = Symbol.at(value, index)
        guard symbol.kind == .digit || symbol.kind == .plus || symbol.kind == .open else { return index + symbol.length }
        let gluedToWord = Self.followsWord(value, index, symbol.kind)
        let allowed = gluedToWord || startAllowed(value, index, symbol.kind)
        // Not a place a number starts (Chrome/117.0.6046.134, ORD-2025-504892): the whole run
        // is skipped, so no piece of it is taken for one.
        if !allowed, let asciiEnd { return asciiEnd }
        var run = empty
        run.gluedToWord = gluedToWord
        let end = run.scan(from: index)
        if allowed && run.digitCount >= 7 && !run.overflowed && !Self.isCardShaped(run) {
            interpret(&run, body)
        }
        return max(end, index + symbol.length)
    }

    /// The next start from `index` on whose run may hold a number, with the end of that run
    /// when it is plain ASCII: runs with fewer than seven digits (times, versions, amounts, ids)
    /// and ISO dates are skipped here, over ASCII alone, before any Run is set up.
    static func nextCandidate(_ value: UnsafeRawBufferPointer, from start: Int) -> (start: Int, asciiEnd: Int?)? {
        var index = start
        while index < value.count {
            guard canStart(value[index]) else {
                index = skipText(value, from: index + 1)
                continue
            }
            if let dateEnd = isoDateEnd(value, at: index) {
                index = dateEnd
                continue
            }
            let (asciiEnd, asciiDigits) = asciiRun(value, from: index)
            if asciiDigits < 7, let asciiEnd {
                index = asciiEnd
                continue
            }
            return (index, asciiEnd)
        }
        return nil
    }

    /// The end of an ISO date (`2024-03-05`, `2024/03/05`) at `index`, not followed by a digit:
    /// the timestamps of every extract row, skipped before any reading (`read` would refuse
    /// them as dates anyway).
    @inline(__always)
    static func isoDateEnd(_ value: UnsafeRawBufferPointer, at index: Int) -> Int? {
        guard index + 10 <= value.count else { return nil }
        @inline(__always) func digit(_ offset: Int) -> Bool { value[index + offset] &- 0x30 < 10 }
        let separator = value[index + 4]
        guard separator == 0x2D || separator == 0x2F, value[index + 7] == separator,
            digit(0), digit(1), digit(2), digit(3), digit(5), digit(6), digit(8), digit(9)
        else { return nil }
        if index + 10 < value.count && value[index + 10] &- 0x30 < 10 { return nil }
        return index + 10
    }

    /// The run of ASCII digits and run punctuation at `start`: where it ends (after its last
    /// digit; nil if it meets a multi-byte character, which may be a full-width digit or a
    /// separator, so only the full reading knows) and how many digits it holds (counting stops
    /// at 7, enough to say it may be a number).
    @inline(__always)
    static func asciiRun(_ value: UnsafeRawBufferPointer, from start: Int) -> (end: Int?, digits: Int) {
        var index = start
        var digits = 0
        let count = value.count
        var lastDigitEnd = start + 1
        while index < count {
            let byte = value[index]
            if byte &- 0x30 < 10 {
                digits += 1
                lastDigitEnd = index + 1
            } else if byte >= 0x80 {
                return (nil, digits)
            } else if !(byte == 0x20 || byte == 0x2E || byte == 0x2D || byte == 0x2F || byte == 0x28 || byte == 0x29 || byte == 0x2B || byte == 0x7E) {
                break
            }
            index += 1
        }
        return (max(lastDigitEnd, start + 1), digits)
    }

    /// The first offset from `start` whose 8-byte word may hold a byte that can start a number:
    /// words of ASCII with no digit, `+` or `(` are skipped eight at a time (SWAR tests), which
    /// is most of the text around numbers.
    @inline(__always)
    static func skipText(_ value: UnsafeRawBufferPointer, from start: Int) -> Int {
        var index = start
        guard let base = value.baseAddress else { return index }
        let ones: UInt64 = 0x0101_0101_0101_0101
        let high: UInt64 = 0x8080_8080_8080_8080
        while index + 8 <= value.count {
            let word = base.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            if word & high != 0 { return index }
            // A digit: a byte b with 0x2F < b < 0x3A (Hacker's Delight "hasbetween", bytes < 0x80);
            // '+' or '(': a zero byte after xor (haszero, exact for "any").
            let low = word & (ones &* 127)
            let digits = (ones &* (127 + 0x3A) &- low) & ~word & (low &+ ones &* (127 - 0x2F)) & high
            let plus = word ^ (ones &* 0x2B), open = word ^ (ones &* 0x28)
            let marks = ((plus &- ones) & ~plus | (open &- ones) & ~open) & high
            if digits | marks != 0 { return index }
            index += 8
        }
        return index
    }

    /// Only a digit, '+', '(' or a full-width form (0xEF ...) can start a number.
    @inline(__always)
    static func canStart(_ byte: UInt8) -> Bool {
        byte &- 0x30 < 10 || byte == 0x2B || byte == 0x28 || byte == 0xEF
    }

    /// The first number at or after `offset` (for callers that want one match).
    public func firstMatch(in value: UnsafeRawBufferPointer, from offset: Int = 0) -> Range<Int>? {
        var found: Range<Int>?
        matches(in: value) { range, _ in
            if found == nil && range.lowerBound >= offset { found = range }
        }
        return found
    }

    /// Rewrites the `count` ASCII digits at `pointer` (a phone value's digits, as
    /// `Normalizer.phoneDigits` reads them) as E.164's calling code and national number, if
    /// they are a number of the plans: international after `+` (`international`) or a dialling
    /// prefix, else national in the first region it is valid in. Grouping and context do not
    /// matter here: the value was already found (or named) as a phone number.
    /// - Returns: the bytes written (room for `count + 3` is needed), or nil.
    /// - Parameter unambiguousOnly: give nil for a national number that more than one of the
    ///   regions reads, as different E.164 numbers (the caller then reads it with its grouping);
    ///   regions of one calling code reading the same national digits agree.
    public func writeE164(asciiDigits pointer: UnsafeMutablePointer<UInt8>, count: Int, international: Bool, unambiguousOnly: Bool = false) -> Int? {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: count) { digits -> Int? in
            for index in 0..<count { digits[index] = pointer[index] &- 0x30 }
            var reading: Reading?
            if international {
                reading = readInternational(digits, from: 0, count: count, byShape: true)
            } else {
                var readings = 0
                for region in regions {
                    let prefix = plan.nationalPrefix(ofRegion: region)
                    var found: Reading?
                    if !prefix.isEmpty && startsWith(digits, count: count, prefix, at: 0)
                        && plan.isValid(UnsafeBufferPointer(rebasing: digits[prefix.count..<count]), region: region)
                    {
                        found = Reading(callingCode: plan.callingCode(ofRegion: region), nationalStart: prefix.count, nationalCount: count - prefix.count)
                    } else if plan.isValid(UnsafeBufferPointer(rebasing: digits[0..<count]), region: region) {
                        found = Reading(callingCode: plan.callingCode(ofRegion: region), nationalStart: 0, nationalCount: count)
                    }
                    guard let found else { continue }
                    if let first = reading {
                        // Regions of one calling code that read the same national number (US
                        // and CA for every NANP number) write the same E.164: not ambiguous.
                        if first.callingCode == found.callingCode && first.nationalStart == found.nationalStart { continue }
                    } else {
                        reading = found
                    }
                    readings += 1
                    if !unambiguousOnly { break }
                    if readings > 1 { return nil }
                }
                if unambiguousOnly && reading == nil { return nil }
                if reading == nil {
                    regions: for region in regions {
                        for prefix in plan.regions[region].internationalPrefixes {
                            if prefix.count >= 2, startsWith(digits, count: count, prefix), let found = readInternational(digits, from: prefix.count, count: count) {
                                reading = found
                                break regions
                            }
                        }
                    }
                }
                if reading == nil && count > 9 && digits[0] == 0 && digits[1] == 0 {
                    reading = readInternational(digits, from: 2, count: count)
                }
            }
            guard let reading else { return nil }
            return Number(
                callingCode: reading.callingCode,
                nationalNumber: UnsafeBufferPointer(rebasing: digits[reading.nationalStart..<reading.nationalStart + reading.nationalCount])
            ).writeE164Digits(to: pointer)
        }
    }

    // MARK: - Characters

    enum Kind: UInt8 { case digit, plus, open, close, space, separator, other }

    struct Symbol {
        var kind: Kind
        var digit: UInt8
        var length: Int

        /// The character at `index`, classified. Multi-byte forms are matched on their UTF-8
        /// bytes: full-width digits U+FF10-FF19 (EF BC 90-99), ＋ (EF BC 8B), （ ） (EF BC 88/89),
        /// － (EF BC 8D), NBSP (C2 A0), U+2010-2015 dashes (E2 80 90-95), narrow NBSP (E2 80 AF),
        /// minus U+2212 (E2 88 92), ideographic space (E3 80 80), ー (E3 83 BC).
        @inline(__always)
        static func at(_ value: UnsafeRawBufferPointer, _ index: Int) -> Symbol {
            let byte = value[index]
            switch byte {
            case 0x30...0x39: return Symbol(kind: .digit, digit: byte - 0x30, length: 1)
            case 0x2B: return Symbol(kind: .plus, digit: 0, length: 1)
            case 0x28: return Symbol(kind: .open, digit: 0, length: 1)
            case 0x29: return Symbol(kind: .close, digit: 0, length: 1)
            case 0x20: return Symbol(kind: .space, digit: 0, length: 1)
            case 0x2E, 0x2D, 0x2F, 0x7E: return Symbol(kind: .separator, digit: 0, length: 1)
            case 0xC2:
                if index + 1 < value.count && value[index + 1] == 0xA0 { return Symbol(kind: .space, digit: 0, length: 2) }
            case 0xE2:
                if index + 2 < value.count {
                    let second = value[index + 1], third = value[index + 2]
                    if second == 0x80 && third >= 0x90 && third <= 0x95 { return Symbol(kind: .separator, digit: 0, length: 3) }
                    if second == 0x80 && third == 0xAF { return Symbol(kind: .space, digit: 0, length: 3) }
                    if second == 0x88 && third == 0x92 { return Symbol(kind: .separator, digit: 0, length: 3) }
                }
            case 0xE3:
                if index + 2 < value.count {
                    let second = value[index + 1], third = value[index + 2]
                    if second == 0x80 && third == 0x80 { return Symbol(kind: .space, digit: 0, length: 3) }
                    if second == 0x83 && third == 0xBC { return Symbol(kind: .separator, digit: 0, length: 3) }
                }
            case 0xEF:
                if index + 2 < value.count && value[index + 1] == 0xBC {
                    let third = value[index + 2]
                    switch third {
                    case 0x90...0x99: return Symbol(kind: .digit, digit: third - 0x90, length: 3)
                    case 0x8B: return Symbol(kind: .plus, digit: 0, length: 3)
                    case 0x88: return Symbol(kind: .open, digit: 0, length: 3)
                    case 0x89: return Symbol(kind: .close, digit: 0, length: 3)
                    case 0x8D: return Symbol(kind: .separator, digit: 0, length: 3)
                    default: break
                    }
                }
            default: break
            }
            return Symbol(kind: .other, digit: 0, length: 1)
        }
    }

    @inline(__always)
    static func isASCIILetter(_ byte: UInt8) -> Bool {
        (byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x7A
    }

    @inline(__always)
    static func isASCIIDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

    /// Whether the number at `index` is glued to a word of ASCII text before it (`call03-331 6005`,
    /// `at(449)978-0001`): a lowercase word with a letter that is no hex digit, so that hashes,
    /// UUIDs and hex ids (`d41d8cd98f00b204`, `8c25aa0c-3432`) and codes in capitals (`INV`, `SO`)
    /// are not read as words. Such a number is taken only when it is written in groups
    /// (`Run.gluedToWord`): glued digits alone are an identifier's.
    static func followsWord(_ value: UnsafeRawBufferPointer, _ index: Int, _ kind: Kind) -> Bool {
        guard index > 0, kind != .plus, isASCIILetter(value[index - 1]) else { return false }
        var start = index - 1
        var lowercase = false
        var beyondHex = false
        while true {
            let byte = value[start]
            if byte >= 0x61 { lowercase = true }
            if (byte | 0x20) > 0x66 { beyondHex = true }
            guard start > 0, isASCIILetter(value[start - 1]) else { break }
            start -= 1
        }
        guard lowercase && beyondHex else { return false }
        // The word itself must start a token: not the tail of an id (a1b2call, x_call, v2.call).
        guard start > 0 else { return true }
        let before = value[start - 1]
        return !isASCIIDigit(before) && before != 0x5F && before != 0x2D && before != 0x2E && before != 0x2F
    }

    /// Whether a number may start at `index`, judging by what comes before it.
    func startAllowed(_ value: UnsafeRawBufferPointer, _ index: Int, _ kind: Kind) -> Bool {
        guard index > 0 else { return true }
        let previous = value[index - 1]
        let beforePrevious: UInt8? = index > 1 ? value[index - 2] : nil
        if Self.isASCIILetter(previous) {
            return kind == .plus  // call+64 3 331 6005, but not TEL03..., abc123 (glued to a word: followsWord)
        }
        if Self.isASCIIDigit(previous) || previous == 0x5F { return false }
        switch previous {
        case 0x40, 0x23, 0x24, 0x25, 0x26, 0x2F, 0x5C, 0x2B:
            return false  // @ # $ % & / \ +: a handle, an id, an amount, a path
        case 0x2D:
            // number-415-666-7777 yes; 12-415 (the middle of a longer number), SO-039-48093 and
            // INV-2024-0042 (a code in capitals, then its number), 8c25aa0c-3432 (hex) no.
            guard let before = beforePrevious else { return true }
            if Self.isASCIILetter(before) {
                var start = index - 2
                while start > 0 && Self.isASCIILetter(value[start - 1]) { start -= 1 }
                if start > 0 && (Self.isASCIIDigit(value[start - 1]) || value[start - 1] == 0x2D) { return false }
                return !(before >= 0x41 && before <= 0x5A)
            }
            return !Self.isASCIIDigit(before) && !(before >= 0xBC && index > 3 && value[index - 4] == 0xEF)
        case 0x2E, 0x2C, 0x3A:
            // Tel.: 03..., ph. 415...: fine; 12.345, 3,141, 14:22 no.
            guard let before = beforePrevious else { return true }
            return !Self.isASCIIDigit(before)
        case 0x20:
            // After a digit and a space: the middle of a card or tracking number (a '+' starts a
            // new number whatever precedes it).
            guard let before = beforePrevious, kind != .plus else { return true }
            return !Self.isASCIIDigit(before) && !Self.isFullWidthDigitEnding(value, at: index - 2)
        default:
            break
        }
        if index >= 2 && value[index - 2] == 0xC2 && (previous == 0xA3 || previous == 0xA5) { return false }  // £ ¥
        if index >= 3 {
            let a = value[index - 3], b = value[index - 2]
            if a == 0xE2 && b == 0x82 && previous == 0xAC { return false }  // €
            if a == 0xE3 && b == 0x80 && previous == 0x92 { return false }  // 〒 (a postcode)
            if a == 0xEF && b == 0xBC && ((previous >= 0x90 && previous <= 0x99) || (previous >= 0xA1 && previous <= 0xBA)
                || previous == 0x83 || previous == 0x84 || previous == 0x85 || previous == 0xA0 || previous == 0x8D)
            {
                return false  // full-width digit, letter, ＃ ＄ ％ ＠ or －
            }
            if a == 0xEF && b == 0xBD && previous >= 0x81 && previous <= 0x9A { return false }
        }
        return true
    }

    static func isFullWidthDigitEnding(_ value: UnsafeRawBufferPointer, at last: Int) -> Bool {
        last >= 2 && value[last - 2] == 0xEF && value[last - 1] == 0xBC && value[last] >= 0x90 && value[last] <= 0x99
    }

    // MARK: - Runs

    /// One group of digits in a run.
    struct Group {
        var digitStart = 0
        var digitEnd = 0
        var byteStart = 0
        var byteEnd = 0
        /// How it is joined to the previous group: 0 first, 1 adjacent (`1(415)`, `)555`),
        /// 2 a space, 3 another separator.
        var join: UInt8 = 0
        /// The separator before it when that is one ASCII byte (`.`, `/`, `-`, space), else 0.
        var separator: UInt8 = 0
        var parenthesised = false
        var digitCount: Int { digitEnd - digitStart }
    }

    static let maximumGroups = 24
    static let maximumDigits = 48

    struct Run {
        let value: UnsafeRawBufferPointer
        let groups: UnsafeMutableBufferPointer<Group>
        let digits: UnsafeMutableBufferPointer<UInt8>
        let work: UnsafeMutableBufferPointer<UInt8>
        let breaks: UnsafeMutableBufferPointer<Int>
        var groupCount = 0
        var digitCount = 0
        var international = false
        var overflowed = false
        /// Where the run (its `+`, or its first group) starts.
        var start = 0
        /// Glued to a word before it (`PhoneFinder.followsWord`): a number only in groups.
        var gluedToWord = false
        /// `readNational` takes any grouping of a valid number: set while reading the whole of a
        /// run that goes on after a number, so that the number is not masked in part.
        var anyGrouping = false

        /// Splits the run at `from` into groups; returns the byte offset after its last group.
        /// The group being read is kept in scalars (not an optional struct) and ASCII digits are
        /// taken in a tight inner loop: this runs at every digit of every scanned value.
        mutating func scan(from: Int) -> Int {
            start = from
            var index = from
            let count = value.count
            var symbol = Symbol.at(value, index)
            if symbol.kind == .plus {
                international = true
                index += symbol.length
                if index < count, case let next = Symbol.at(value, index), next.kind == .plus { index += next.length }  // ++1
                if index < count, case let space = Symbol.at(value, index), space.kind == .space, index + space.length < count {
                    let next = Symbol.at(value, index + space.length).kind
                    if next == .digit || next == .open { index += space.length }  // "+ 44 ..."
                }
            }
            var join: UInt8 = 0
            var separator: UInt8 = 0
            var groupOpen = false
            var groupDigitStart = 0
            var groupByteStart = 0
            var groupByteEnd = 0
            var inParentheses = false
            var parenthesisStart = 0
            let capacity = digits.count

            @inline(__always) func closeGroup(byteEnd: Int) -> Bool {
                guard groupCount < PhoneFinder.maximumGroups else { overflowed = true; return false }
                groups[groupCount] = Group(
                    digitStart: groupDigitStart, digitEnd: digitCount, byteStart: groupByteStart, byteEnd: byteEnd,
                    join: join, separator: separator, parenthesised: inParentheses)
                groupCount += 1
                groupOpen = false
                return true
            }

            scanning: while index < count {
                let byte = value[index]
                if byte &- 0x30 < 10 {
                    if !groupOpen {
                        groupOpen = true
                        groupDigitStart = digitCount
                        groupByteStart = inParentheses ? parenthesisStart : index
                    }
                    repeat {
                        guard digitCount < capacity else { overflowed = true; break scanning }
                        digits[digitCount] = value[index] &- 0x30
                        digitCount += 1
                        index += 1
                    } while index < count && value[index] &- 0x30 < 10
                    groupByteEnd = index
                    continue
                }
                symbol = Symbol.at(value, index)
                switch symbol.kind {
                case .digit:
                    if !groupOpen {
                        groupOpen = true
                        groupDigitStart = digitCount
                        groupByteStart = inParentheses ? parenthesisStart : index
                    }
                    guard digitCount < capacity else { overflowed = true; break scanning }
                    digits[digitCount] = symbol.digit
                    digitCount += 1
                    index += symbol.length
                    groupByteEnd = index
                case .open:
                    if inParentheses { break scanning }
                    let next = index + symbol.length
                    guard next < count, Symbol.at(value, next).kind == .digit else { break scanning }
                    if groupOpen {
                        guard closeGroup(byteEnd: groupByteEnd) else { break scanning }
                        join = 1
                        separator = 0
                    } else if groupCount > 0 && join == 0 {
                        break scanning
                    }
                    inParentheses = true
                    parenthesisStart = index
                    index = next
                case .close:
                    guard inParentheses, groupOpen else { break scanning }
                    guard closeGroup(byteEnd: index + symbol.length) else { break scanning }
                    inParentheses = false
                    join = 1
                    separator = 0
                    index += symbol.length
                case .space, .separator:
                    if inParentheses { break scanning }
                    if groupOpen {
                        guard closeGroup(byteEnd: groupByteEnd) else { break scanning }
                    } else if !(join == 1 && groupCount > 0) {
                        break scanning  // two separators in a row
                    }
                    join = symbol.kind == .space ? 2 : 3
                    separator = symbol.length == 1 ? byte : 0
                    let next = index + symbol.length
                    guard next < count else { break scanning }
                    let following = value[next] &- 0x30 < 10 ? Kind.digit : Symbol.at(value, next).kind
                    guard following == .digit || following == .open else { break scanning }
                    index = next
                case .plus, .other:
                    break scanning
                }
            }
            if groupOpen && !inParentheses && !overflowed { _ = closeGroup(byteEnd: groupByteEnd) }
            if overflowed {
                // Too long to be a number: skip all of it, so no piece of it is taken for one.
                while index < count {
                    let kind = Symbol.at(value, index).kind
                    guard kind == .digit || kind == .space || kind == .separator || kind == .open || kind == .close else { break }
                    index += Symbol.at(value, index).length
                }
                return index
            }
            let end = groupCount > 0 ? groups[groupCount - 1].byteEnd : from
            return max(end, from + 1)
        }

    }

    /// A number read from groups `first..<end` of a run.
    struct Reading {
        var callingCode: Int
        var nationalStart: Int
        var nationalCount: Int
    }

    /// Finds the numbers among the run's groups, left to right.
    func interpret(_ run: inout Run, _ body: (Range<Int>, Number) -> Void) {
        var first = 0
        while first < run.groupCount {
            guard let (end, reading) = longestNumber(&run, from: first, requireContinuation: true) else { return }
            let range = run.groups[first].byteStart..<run.groups[end - 1].byteEnd
            let lower = first == 0 ? run.start : range.lowerBound
            if first == 0 && run.gluedToWord && end == 1 && !run.groups[0].parenthesised { return }
            if !endsCleanly(run, at: range.upperBound, singleGroup: end - first == 1) { return }
            body(lower..<range.upperBound, Number(
                callingCode: reading.callingCode,
                nationalNumber: UnsafeBufferPointer(rebasing: run.work[reading.nationalStart..<reading.nationalStart + reading.nationalCount])))
            first = end
            run.international = false
        }
    }

    /// What follows a number may not continue it: an `@` or `_` (an email's local part, an
    /// identifier), or a letter right after an unseparated run of digits (a hash, a serial).
    func endsCleanly(_ run: Run, at end: Int, singleGroup: Bool) -> Bool {
        let value = run.value
        guard end < value.count else { return true }
        let next = value[end]
        if next == 0x40 || next == 0x5F { return false }
        if next == 0xEF && end + 2 < value.count && value[end + 1] == 0xBC && value[end + 2] == 0xA0 { return false }  // ＠
        if Self.isASCIILetter(next) {
            // 555-0123x204, 555-0123ext: an extension; 80627728-99a6 (a UUID), 300abc: no.
            if next == 0x78 || next == 0x58 { return true }
            // A number in groups glued to a word (03-331 6005forme): the word is text, unless it
            // is hex (a UUID's or a hash's next group) or runs on into digits (an id).
            guard !singleGroup else { return false }
            var index = end
            var beyondHex = false
            while index < value.count && Self.isASCIILetter(value[index]) {
                if (value[index] | 0x20) > 0x66 { beyondHex = true }
                index += 1
            }
            return beyondHex && !(index < value.count && (Self.isASCIIDigit(value[index]) || value[index] == 0x5F))
        }
        // 11:28, 3432-6078-d0a3, 1.5.2: the run goes on as a time, a UUID or a version.
        if next == 0x3A || next == 0x2D || next == 0x2E || next == 0x2F, end + 1 < value.count {
            let after = value[end + 1]
            // 650-333-6000/x12: an extension after a slash.
            if next == 0x2F && (after | 0x20) == 0x78 && end + 2 < value.count && Self.isASCIIDigit(value[end + 2]) { return true }
            if Self.isASCIIDigit(after) || Self.isASCIILetter(after) { return false }
        }
        return true
    }

    /// The longest prefix of whole groups from `first` that is a number, and where the
    /// detection ends (the number's end, or the run's end where the run goes on in the number's
    /// own writing).
    func longestNumber(_ run: inout Run, from first: Int, requireContinuation: Bool) -> (Int, Reading)? {
        var end = run.groupCount
        while end > first {
            defer { end -= 1 }
            // Only a space ends a national number inside a run: skip other breaks unread.
            if end < run.groupCount && run.groups[end].join != 2 && !(run.international && first == 0) && requireContinuation {
                continue
            }
            guard let reading = read(&run, first, end) else { continue }
            guard requireContinuation, end < run.groupCount else { return (end, reading) }
            let next = run.groups[end]
            if next.join != 2 {
                // The run goes on in the number's own writing (+375 801 123 4567.5, -5): a
                // number written with + is masked to the end of the run rather than in part;
                // a national one is not taken.
                if run.international && first == 0 { return (run.groupCount, reading) }
                continue
            }
            // After a space. Accept the break if the number's own separators are tighter
            // than that space (03-1234-5678 2024-01-01), if what follows is a date or another
            // number; a short last group after a space-grouped number (+39 02 36618 30) may be
            // the number's own, so the whole run is taken.
            var tight = run.groups[first].parenthesised
            for index in (first + 1)..<end where run.groups[index].join != 2 { tight = true }
            if tight && !Self.isDate(run, at: end) {
                // 02-36618 300: the whole run is one valid number written otherwise than the
                // plan's formats; a detection of its first groups would leave the rest in clear.
                run.anyGrouping = true
                let whole = read(&run, first, run.groupCount)
                run.anyGrouping = false
                if let whole { return (run.groupCount, whole) }
                if let again = read(&run, first, end) { return (end, again) }
            }
            if tight || Self.isDate(run, at: end) { return (end, reading) }
            if longestNumber(&run, from: end, requireContinuation: false) != nil {
                // `read` reuses the work buffer: read this one again for the caller.
                if let again = read(&run, first, end) { return (end, again) }
            }
            if next.digitCount <= 2 {
                // One short last group: the whole run. A short group with more after it (24/7)
                // is other text.
                if let again = read(&run, first, end) { return (end + 1 == run.groupCount ? run.groupCount : end, again) }
            }
            // A number written with + whose run goes on after a space in groups that are no
            // number of their own (+44 20 7946 0958 2024): masked to the end of the run, since
            // leaving it whole in clear would leak the number.
            if run.international && first == 0, let again = read(&run, first, end) { return (run.groupCount, again) }
        }
        return nil
    }

    /// An ISO 6709 position (`+4612-05957`, `-0351-03225`, `+394606-0860929`): a signed latitude
    /// of 4 or 6 digits, then a signed longitude of 5 or 7, as time-zone tables and geotags write.
    static func isCoordinate(_ run: Run, _ end: Int) -> Bool {
        guard end == 2, run.groupCount == 2, run.groups[1].separator == 0x2D else { return false }
        let latitude = run.groups[0].digitCount, longitude = run.groups[1].digitCount
        guard (latitude == 4 || latitude == 6) && (longitude == 5 || longitude == 7) else { return false }
        let start = run.groups[0].byteStart
        let signed = run.international || (start > 0 && run.value[start - 1] == 0x2D)
        return signed
    }

    /// Whether groups `index...index+2` spell a date with a four-digit year (2024-03-05,
    /// 05.11.2023, 06/27/2016).
    static func isDate(_ run: Run, at index: Int) -> Bool {
        guard index + 2 < run.groupCount else { return false }
        let groups = run.groups
        let a = groups[index].digitCount, b = groups[index + 1].digitCount, c = groups[index + 2].digitCount
        let separator = groups[index + 1].separator
        guard separator == 0x2F || separator == 0x2E || separator == 0x2D, groups[index + 2].separator == separator else { return false }
        return (a <= 2 && b <= 2 && c == 4) || (a == 4 && b <= 2 && c <= 2)
    }

    /// Reads groups `first..<end` as one number: international after `+` or a dialling
    /// prefix, else national in the configured regions.
    func read(_ run: inout Run, _ first: Int, _ end: Int) -> Reading? {
        var total = 0
        for index in first..<end { total += run.groups[index].digitCount }
        guard total >= 7 && total <= 18 else { return nil }
        if first == 0 && Self.isCoordinate(run, end) { return nil }
        if !(run.international && first == 0) && Self.isDateOrAddress(run, first, end) { return nil }
        // Copy the digits; in an international number a `(0)` trunk group is not one of them.
        var count = 0
        var breakCount = 0
        for index in first..<end {
            let group = run.groups[index]
            if run.international && index > first && group.parenthesised && group.digitCount == 1 && run.digits[group.digitStart] == 0 {
                continue
            }
            if count > 0 {
                run.breaks[breakCount] = count
                breakCount += 1
            }
            for digit in group.digitStart..<group.digitEnd {
                run.work[count] = run.digits[digit]
                count += 1
            }
        }
        guard count >= 7 && count <= 17 else { return nil }
        if run.international && first == 0 {
            return readInternational(run.work, from: 0, count: count, byShape: true)
        }
        let breaks = UnsafeBufferPointer(rebasing: run.breaks[0..<breakCount])
        if let reading = readNational(run, count: count, breaks: breaks, first: first, end: end) {
            return reading
        }
        // An international dialling prefix of a configured region (011, 0011, 010) or 00, in a
        // context that does not say identifier, and grouped or labelled like a phone number.
        let context = Context.before(run.value, run.groups[first].byteStart)
        guard context != .identifier, end - first > 1 || context == .label else { return nil }
        for region in regions {
            for prefix in plan.regions[region].internationalPrefixes {
                if prefix.count >= 2, startsWith(run.work, count: count, prefix), let reading = readInternational(run.work, from: prefix.count, count: count) {
                    return reading
                }
            }
        }
        if count > 9 && run.work[0] == 0 && run.work[1] == 0, let reading = readInternational(run.work, from: 2, count: count) {
            return reading
        }
        return nil
    }

    /// Whether the run is a card, account or tracking number's shape: it starts with three
    /// space- or dash-joined groups of exactly four digits (4983 8577 4834 3163), which no
    /// plan writes.
    static func isCardShaped(_ run: Run) -> Bool {
        guard run.groupCount >= 3 else { return false }
        for index in 0..<3 {
            let group = run.groups[index]
            if group.digitCount != 4 || group.parenthesised || (index > 0 && group.separator != 0x20 && group.separator != 0x2D) { return false }
        }
        return true
    }

    /// Digit groups that spell a date (06/27/2016, 2024-03-05, 05.11.2023: a four-digit year
    /// beside two groups of one or two digits, joined by one `/`, `.` or `-`) or an IPv4
    /// address (four dot-joined groups of one to three digits), which some plan may accept as
    /// a number's digits.
    static func isDateOrAddress(_ run: Run, _ first: Int, _ end: Int) -> Bool {
        let groups = run.groups
        if end - first == 4 && (first + 1..<end).allSatisfy({ groups[$0].separator == 0x2E })
            && (first..<end).allSatisfy({ groups[$0].digitCount <= 3 })
        {
            return true
        }
        // 117.0.6046.134, 3.18.4.6889: a version (a dotted group of one digit after the first).
        if end - first >= 3 && (first + 1..<end).allSatisfy({ groups[$0].separator == 0x2E })
            && (first + 1..<end).contains(where: { groups[$0].digitCount == 1 })
        {
            return true
        }
        // 03.862866, 045.1508: a decimal or a coordinate (phones written with dots have at
        // least three groups).
        if end - first == 2 && groups[first + 1].separator == 0x2E { return true }
        // 64040-64044, 1990-1999: a range (two groups of one length, the second not below the
        // first, same leading digit).
        if end - first == 2 && (groups[first + 1].separator == 0x2D || groups[first + 1].separator == 0x7E)
            && groups[first].digitCount == groups[first + 1].digitCount && groups[first].digitCount >= 4
        {
            let a = run.digits[groups[first].digitStart..<groups[first].digitEnd]
            let b = run.digits[groups[first + 1].digitStart..<groups[first + 1].digitEnd]
            if a.first == b.first && !b.lexicographicallyPrecedes(a) { return true }
        }
        // 92257-4968, 01234-5678: a ZIP+4 or postcode shape.
        if end - first == 2 && groups[first + 1].separator == 0x2D && groups[first].digitCount == 5
            && groups[first + 1].digitCount == 4 && !groups[first].parenthesised
        {
            return true
        }
        // 02209.79: an amount with cents.
        if end - first == 2 && groups[first + 1].separator == 0x2E && groups[first + 1].digitCount == 2 { return true }
        guard end - first >= 3 else { return false }
        for index in first...(end - 3) where isDate(run, at: index) { return true }
        return false
    }

    func startsWith(_ digits: UnsafeMutableBufferPointer<UInt8>, count: Int, _ prefix: [UInt8]) -> Bool {
        guard count > prefix.count else { return false }
        for (index, digit) in prefix.enumerated() where digits[index] != digit { return false }
        return true
    }

    /// `digits[from..<count]` as a calling code and a national number valid in its plan (or,
    /// `byShape`, shaped like one of its subscriber numbers).
    func readInternational(_ digits: UnsafeMutableBufferPointer<UInt8>, from: Int, count: Int, byShape: Bool = false) -> Reading? {
        var code = 0
        for length in 1...3 where from + length < count {
            code = code * 10 + Int(digits[from + length - 1])
            let candidates = plan.regionSpan(callingCode: code)
            guard !candidates.isEmpty else { continue }
            let national = from + length
            guard count - national >= 4 else { return nil }
            let number = UnsafeBufferPointer(rebasing: digits[national..<count])
            for region in candidates where plan.isValid(number, region: region) {
                return Reading(callingCode: code, nationalStart: national, nationalCount: count - national)
            }
            // +44 020 ..., +81 03-...: a trunk prefix written after the calling code.
            for region in candidates {
                let prefix = plan.nationalPrefix(ofRegion: region)
                guard !prefix.isEmpty, startsWith(digits, count: count, prefix, at: national) else { continue }
                let rest = UnsafeBufferPointer(rebasing: digits[(national + prefix.count)..<count])
                if plan.isValid(rest, region: region) {
                    return Reading(callingCode: code, nationalStart: national + prefix.count, nationalCount: rest.count)
                }
            }
            // Written with `+`, a number the plan does not hold is still taken when it has the
            // shape of a subscriber number of the code (PhonePlan.isSubscriberShaped): the plan
            // lags new allocations, and a masking tool errs towards masking. After 00 or 011,
            // digits that might be anything else, only what the plan holds is taken.
            if byShape {
                for region in candidates where plan.isSubscriberShaped(number, region: region) {
                    return Reading(callingCode: code, nationalStart: national, nationalCount: count - national)
                }
            }
            return nil  // calling codes are prefix-free: no longer code can match
        }
        return nil
    }

    /// Whether `digits[offset..<count]` starts with `prefix` and goes on after it (a national
    /// prefix from `PhonePlan.nationalPrefix(ofRegion:)`).
    @inline(__always)
    func startsWith(_ digits: UnsafeMutableBufferPointer<UInt8>, count: Int, _ prefix: UnsafeBufferPointer<UInt8>, at offset: Int) -> Bool {
        guard count - offset > prefix.count else { return false }
        for index in 0..<prefix.count where digits[offset + index] != prefix[index] { return false }
        return true
    }

    /// `run.work[0..<count]` (groups `first..<end`) as a national number of the first
    /// configured region it is valid in, written as that region writes it.
    func readNational(_ run: Run, count: Int, breaks: UnsafeBufferPointer<Int>, first: Int, end: Int) -> Reading? {
        let digits = run.work
        for region in regions {
            let prefix = plan.nationalPrefix(ofRegion: region)
            // Read with the trunk prefix written (030 1234567, 1-800-...), then without it
            // (NANP, IN mobiles, BR, AU 1300: where the region's formats write none).
            for attempt in 0..<2 {
                let prefixWritten = attempt == 0
                var nationalStart = 0
                if prefixWritten {
                    guard !prefix.isEmpty, startsWith(digits, count: count, prefix, at: 0) else { continue }
                    nationalStart = prefix.count
                }
                let national = UnsafeBufferPointer(rebasing: digits[nationalStart..<count])
                guard plan.isValid(national, region: region) else { continue }
                // Breaks relative to the national number; one right after the trunk prefix
                // (1-800-..., 8 (912) ...) is how people write it.
                // Shifted in place into the second half of the breaks buffer (no allocation).
                let shiftedStorage = UnsafeMutableBufferPointer(rebasing: run.breaks[Self.maximumGroups...])
                var shiftedCount = 0
                var inPrefix = false
                for position in breaks {
                    let relative = position - nationalStart
                    if relative == 0 { continue }
                    if relative < 0 { inPrefix = true; break }
                    shiftedStorage[shiftedCount] = relative
                    shiftedCount += 1
                }
                guard !inPrefix else { continue }
                let shifted = UnsafeBufferPointer(rebasing: shiftedStorage[0..<shiftedCount])
                var written = plan.isWrittenAsRegionWrites(
                    national, breaks: shifted, region: region, nationalPrefixWritten: prefixWritten)
                if !written && prefixWritten {
                    // Real groupings differ from libphonenumber's formats (DE 0151 86730113 where
                    // the metadata writes 01518 6730113). With the trunk prefix written, an area
                    // part and subscriber groups of three or more digits are a number's shape;
                    // dates (05.11.2023), decimals (0.386) and IPs have shorter groups.
                    // Three or more groups of four are a card or account number's shape.
                    written = count >= 9 && run.groups[first].digitCount >= 2 && end - first <= 4
                        && (first + 1..<end).allSatisfy { run.groups[$0].digitCount >= 3 }
                        && !(end - first >= 3 && (first..<end).allSatisfy { run.groups[$0].digitCount == 4 })
                }
                guard written || run.anyGrouping else { continue }
                let context = Context.before(run.value, run.groups[first].byteStart)
                if context == .identifier { return nil }
                // Unseparated and unlabelled, in a sentence about identifiers (user id 1979276221
                // merged into 6141616371): another identifier.
                if shifted.isEmpty && context != .label && Context.mentionsIdentifier(run.value, before: run.groups[first].byteStart) {
                    return nil
                }
                // Unseparated digits are a number after a label (Tel: 0312345678), or as eleven
                // digits with the trunk prefix (JP 09012345678, GB 07369655157). Otherwise ten
                // digits are as often an id, an epoch timestamp or an amount as a number.
                if shifted.isEmpty && context != .label && !(prefixWritten && count == 11) { return nil }
                return Reading(callingCode: plan.callingCode(ofRegion: region), nationalStart: nationalStart, nationalCount: count - nationalStart)
            }
        }
        return nil
    }

    // MARK: - Context words

    /// What the word before a national number says about it.
    enum Context {
        case none
        /// `Tel`, `phone`, `電話`, ...: a number follows.
        case label
        /// `id`, `order`, `invoice`, `#`, ...: an identifier follows, not a phone number.
        case identifier

        static let labels: Set<UInt128> = keys([
            "tel", "telephone", "phone", "ph", "mobile", "mob", "cell", "fax", "sms", "whatsapp", "call", "contact",
            "text", "number", "voicemail", "reach", "dial", "hotline", "helpline", "line", "telefon", "telefono", "handy", "tlf",
        ])
        static let identifiers: Set<UInt128> = keys([
            "id", "order", "ord", "inv", "invoice", "acct", "account", "user", "uid", "ref", "sku", "po", "ticket",
            "case", "serial", "sn", "tracking", "isbn", "customer", "cust", "member", "txn", "transaction", "zip",
            "postcode", "postal", "pin", "otp", "version", "ver", "build", "port", "ip", "iban", "card", "ssn",
            "epoch", "ts", "timestamp", "batch", "lot", "item", "part", "model", "code", "bug", "issue", "pr",
            "total", "amount", "price", "qty", "units", "balance", "sum", "usd", "eur", "jpy", "gbp", "aud", "cad",
            "inr", "brl", "cny", "chf", "krw", "rs", "yen", "tests", "test", "bugs", "closes", "uids", "gids", "gid",
            "pid", "pids", "ports", "revision", "rev", "commit", "build",
        ])
        static let nonASCIILabels: [[UInt8]] = ["電話", "電話番号", "携帯", "連絡先", "ＴＥＬ", "☎", "tél", "Tél"].map { Array($0.utf8) }

        /// Whether an identifier word (`id`, `order`, ...) occurs in the 48 bytes before `start`
        /// within the same line, with no phone label after it.
        static func mentionsIdentifier(_ value: UnsafeRawBufferPointer, before start: Int) -> Bool {
            var index = start
            let limit = max(0, start - 48)
            while index > limit {
                let byte = value[index - 1]
                if byte == 0x0A || byte == 0x0D { return false }
                guard isASCIILetter(byte) else { index -= 1; continue }
                var wordStart = index
                while wordStart > limit && isASCIILetter(value[wordStart - 1]) { wordStart -= 1 }
                if index - wordStart <= 16 {
                    let word = key(value, wordStart..<index)
                    if labels.contains(word) { return false }
                    if identifiers.contains(word) { return true }
                }
                index = wordStart
            }
            return false
        }

        /// The context of a number starting at `start`: the word before it, across at most a few
        /// of ` :#.=-` and `：`.
        static let linking: Set<UInt128> = keys(["at", "on", "to", "is", "me", "us", "back", "from", "via", "or", "and", "was", "now"])
        static let numberWords: Set<UInt128> = keys(["number", "no", "nr", "num"])
        static let number = keys(["number"]).first!

        /// Words of up to 16 ASCII letters as integers, lowercased: comparing them costs no
        /// String in the hot loop.
        static func keys(_ words: [String]) -> Set<UInt128> {
            Set(words.map { word in
                var key: UInt128 = 0
                for byte in word.utf8 { key = key << 8 | UInt128(byte | 0x20) }
                return key
            })
        }

        static func key(_ value: UnsafeRawBufferPointer, _ range: Range<Int>) -> UInt128 {
            var key: UInt128 = 0
            for offset in range { key = key << 8 | UInt128(value[offset] | 0x20) }
            return key
        }

        static func before(_ value: UnsafeRawBufferPointer, _ start: Int, depth: Int = 0) -> Context {
            guard depth < 3 else { return .none }
            var index = start
            var skipped = 0
            while index > 0 && skipped < 4 {
                let byte = value[index - 1]
                if byte == 0x20 || byte == 0x3A || byte == 0x23 || byte == 0x2E || byte == 0x3D || byte == 0x2D || byte == 0x28 {
                    if byte == 0x23 { return .identifier }
                    index -= 1
                    skipped += 1
                } else if index >= 3 && value[index - 3] == 0xEF && value[index - 2] == 0xBC && (byte == 0x9A || byte == 0x83) {
                    if byte == 0x83 { return .identifier }  // ＃
                    index -= 3  // ：
                    skipped += 1
                } else if index >= 3 && value[index - 3] == 0xE3 && value[index - 2] == 0x80 && byte == 0x80 {
                    index -= 3  // ideographic space
                    skipped += 1
                } else {
                    break
                }
            }
            var wordStart = index
            while wordStart > 0 && isASCIILetter(value[wordStart - 1]) && index - wordStart < 16 { wordStart -= 1 }
            if wordStart < index {
                let word = key(value, wordStart..<index)
                if identifiers.contains(word) { return .identifier }
                if numberWords.contains(word) {
                    // "tracking number", "order no.": the word before says whose number it is.
                    var end = wordStart
                    while end > 0 && value[end - 1] == 0x20 { end -= 1 }
                    var begin = end
                    while begin > 0 && isASCIILetter(value[begin - 1]) && end - begin < 16 { begin -= 1 }
                    if identifiers.contains(key(value, begin..<end)) { return .identifier }
                    return word == number ? .label : .none
                }
                if labels.contains(word) { return .label }
                // "call me at", "voicemail at", "number is": the word before the preposition.
                if linking.contains(word) && wordStart > 1 && value[wordStart - 1] == 0x20 {
                    // Only a label counts across it: "customer at 404 850 0664" is a number.
                    return before(value, wordStart - 1, depth: depth + 1) == .label ? .label : .none
                }
                return .none
            }
            for label in nonASCIILabels where index >= label.count {
                var equal = true
                for (offset, byte) in label.enumerated() where value[index - label.count + offset] != byte {
                    equal = false
                    break
                }
                if equal { return .label }
            }
            return .none
        }
    }
}
