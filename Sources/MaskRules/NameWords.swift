/// Field names as words, and the globs that match them.
///
/// Column names are not text to search: `classname` is not about an `ssn`, `hotel_id` not about a
/// `tel`, and `telemetry_ms` is a duration. So a name glob matches *words*: a name is split on
/// `_`, `-`, `.`, spaces (any ASCII character that is not a letter or a digit, `[]` of a JSON
/// path included), at camelCase humps (`phoneNumber`, `PhoneNumber`, `HTTPServer` → `http`
/// `server`) and between letters and digits (`address2` → `address` `2`), and lowercased. A
/// glob's literal parts are split the same way, and `*` stands for any run of whole words,
/// none included: `*phone*` names `phone`, `mobile_phone`, `phoneNumber`, `PhoneNumber`, but
/// not `telephone` or `headphones_sku`... except that a word also matches its plural (`emails`,
/// `phones`). The trade-off: `telephone` or `mobilephone` written as one lowercase word needs a
/// rule of its own (the shipped rules list the common ones); in exchange nothing is matched by
/// accident. A glob written with a leading `~` (`"~*tel*"`) is the old character glob, for the
/// rare rule that really means a substring.
///
/// A glob that matches a name still does not apply when the name is *about* the thing rather
/// than the thing itself: a flag, a count, an id or a timestamp (`email_opt_in`,
/// `phone_verified`, `emails_sent`, `is_email_valid`, `password_changed_at`). That is decided
/// by shape: the name's last word (outside the words the glob's literals matched) is a
/// qualifier such as `id`, `at`, `count`, `sent`, `verified` (`NameWords.trailingQualifiers`),
/// or the word just before the first matched word is one such as `is`, `has`, `num`
/// (`NameWords.leadingQualifiers`). Such a column falls through to the next rule, and finally to
/// the default policy (a scan by default: what the detectors find in it is still masked).
public struct NameWords: Sendable, Equatable {
    /// The lowercased words.
    public var words: [[UInt8]]
    /// Per word: whether it starts a JSON path segment (the first word, and words after `.` or `[]`).
    public var startsSegment: [Bool]

    public init(_ name: String) {
        self.init(bytes: Array(name.utf8))
    }

    public init(bytes: [UInt8]) {
        var words: [[UInt8]] = []
        var starts: [Bool] = []
        var current: [UInt8] = []
        var segmentStart = true
        func isUpper(_ byte: UInt8) -> Bool { byte >= 0x41 && byte <= 0x5A }
        func isLower(_ byte: UInt8) -> Bool { (byte >= 0x61 && byte <= 0x7A) || byte >= 0x80 }
        func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }
        func flush() {
            if !current.isEmpty {
                words.append(current)
                starts.append(segmentStart)
                segmentStart = false
                current.removeAll(keepingCapacity: true)
            }
        }
        for index in bytes.indices {
            let byte = bytes[index]
            let letterOrDigit = isUpper(byte) || isLower(byte) || isDigit(byte)
            guard letterOrDigit else {
                flush()
                if byte == UInt8(ascii: ".") || byte == UInt8(ascii: "[") || byte == UInt8(ascii: "]") { segmentStart = true }
                continue
            }
            if index > 0 && !current.isEmpty {
                let previous = bytes[index - 1]
                let hump = isUpper(byte) && (isLower(previous) || isDigit(previous))
                // The last capital of a run that a lowercase letter follows starts a word: HTTPServer.
                let acronymEnd = isUpper(byte) && isUpper(previous) && index + 1 < bytes.count && isLower(bytes[index + 1])
                    && bytes[index + 1] < 0x80
                let digitEdge = isDigit(byte) != isDigit(previous)
                if hump || acronymEnd || digitEdge { flush() }
            }
            current.append(isUpper(byte) ? byte | 0x20 : byte)
        }
        flush()
        self.words = words
        self.startsSegment = starts
    }

    /// Last words that make a name about the thing, not the thing: ids, counts, flags, times.
    public static let trailingQualifiers: Set<[UInt8]> = Set([
        "id", "ids", "uuid", "guid", "key", "pk", "fk", "ref", "count", "counts", "cnt", "total", "at", "on", "date",
        "time", "ts", "timestamp", "datetime", "epoch", "sent", "received", "opened", "clicked", "bounced", "bounce",
        "bounces", "delivered", "verified", "unverified", "validated", "valid", "invalid", "confirmed", "confirmation",
        "enabled", "disabled", "allowed", "consent", "consented", "subscribed", "unsubscribed", "optin", "optout",
        "status", "state", "type", "kind", "flag", "flags", "changed", "updated", "created", "modified", "deleted",
        "expires", "expired", "expiry", "reset", "length", "len", "format", "domain", "provider", "quality", "score",
        "version", "strength", "attempts", "policy", "required", "preference", "preferences", "visibility", "visible",
        "public", "hidden", "source", "country", "code", "ext", "extension", "template", "bool", "boolean", "ms",
        "seconds", "secs", "minutes", "days", "promotion", "promotions", "reason", "open", "opens", "opened_at",
        "click", "clicks", "replied", "sends", "quarantined", "hours", "level",
        // Coarse places: a city or postcode column beside an address is not the street line.
        "timezone", "city", "region", "province", "zip", "zipcode", "postcode",
    ].map { Array($0.utf8) })

    /// Last two words with that meaning (`email_opt_in`, `sms_opt_out`).
    public static let trailingQualifierPairs: Set<[UInt8]> = Set(["opt in", "opt out", "last used", "sign up"].map { Array($0.utf8) })

    /// Words just before the matched ones that make the name a flag or a count (`is_email_valid`).
    public static let leadingQualifiers: Set<[UInt8]> = Set([
        "is", "has", "was", "can", "should", "allow", "allows", "num", "n", "nb", "no", "count", "total",
    ].map { Array($0.utf8) })

    /// Whether the words outside `matched` (the indices a glob's literals matched) make the name
    /// a qualifier of the thing rather than the thing.
    func isQualified(outside matched: ClosedRange<Int>) -> Bool {
        if let last = words.indices.last, last > matched.upperBound {
            if Self.trailingQualifiers.contains(words[last]) { return true }
            if last - 1 > matched.upperBound, Self.trailingQualifierPairs.contains(words[last - 1] + [0x20] + words[last]) { return true }
        }
        // A leading qualifier just before the match, or opening its segment before it:
        // `num_emails`, `is_email_bounced`, `HasOptedOutOfEmail`, `number_of_phones`.
        var segmentStart = matched.lowerBound
        while segmentStart > 0 && !startsSegment[segmentStart] { segmentStart -= 1 }
        if segmentStart < matched.lowerBound {
            if Self.leadingQualifiers.contains(words[segmentStart]) || Self.leadingQualifiers.contains(words[matched.lowerBound - 1]) {
                return true
            }
            if words[segmentStart] == Array("number".utf8) && matched.lowerBound - segmentStart >= 2 && words[segmentStart + 1] == Array("of".utf8) {
                return true
            }
        }
        return false
    }
}

/// A word glob: literal words and `*` (any run of whole words), see `NameWords`.
public struct WordGlob: Sendable, Equatable {
    enum Token: Sendable, Equatable {
        case any
        case word([UInt8])
    }

    let tokens: [Token]

    public init(_ pattern: String) {
        var tokens: [Token] = []
        for (index, part) in pattern.split(separator: "*", omittingEmptySubsequences: false).enumerated() {
            if index > 0 && tokens.last != .any { tokens.append(.any) }
            tokens += NameWords(String(part)).words.map { .word($0) }
        }
        self.tokens = tokens
    }

    /// Whether the glob matches the name and the name is not a qualifier of what the glob names.
    public func applies(to name: NameWords) -> Bool {
        guard let matched = match(name) else { return false }
        guard let range = matched else { return true }  // only `*`: nothing to qualify
        return !name.isQualified(outside: range)
    }

    /// Whether the glob matches the words, ignoring qualifiers.
    public func matches(_ name: NameWords) -> Bool { match(name) != nil }

    /// nil: no match; `.some(nil)`: a match with no literal word; else the span of the words the
    /// literals matched (the leftmost match: `*` takes as few words as it can).
    func match(_ name: NameWords) -> ClosedRange<Int>?? {
        var first = -1
        var last = -1
        func step(_ token: Int, _ word: Int) -> Bool {
            if token == tokens.count { return word == name.words.count }
            switch tokens[token] {
            case .any:
                var next = word
                while next <= name.words.count {
                    if step(token + 1, next) { return true }
                    next += 1
                }
                return false
            case .word(let literal):
                guard word < name.words.count, Self.wordMatches(literal, name.words[word]) else { return false }
                let savedFirst = first, savedLast = last
                if first < 0 { first = word }
                last = word
                if step(token + 1, word + 1) { return true }
                first = savedFirst
                last = savedLast
                return false
            }
        }
        guard step(0, 0) else { return nil }
        return .some(first < 0 ? nil : first...last)
    }

    /// A literal word matches itself and its plural (`email` → `emails`, `address` → `addresses`).
    static func wordMatches(_ literal: [UInt8], _ word: [UInt8]) -> Bool {
        if literal == word { return true }
        if word.count == literal.count + 1 && word.last == UInt8(ascii: "s") && word.starts(with: literal) { return true }
        if word.count == literal.count + 2 && word.starts(with: literal) && word.suffix(2).elementsEqual("es".utf8) { return true }
        return false
    }
}
