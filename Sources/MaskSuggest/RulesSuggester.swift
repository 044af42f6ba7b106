/*!
 MaskSuggest: `mask rules suggest`, a complete rules file written from a sample of an extract.

 Every column (CSV) or leaf path (JSONL) of the sample gets an exact rule with a policy and a
 comment giving the evidence for it, counted over the sampled values (never quoting one):

     email: { hash: { detector: email } }   # 9,812 of 10,000 sampled values are emails

 and the file fails closed (`default: error`), so a column the sample did not show is refused
 later rather than guessed at. The decision, per field, in this order:

 1. a detector matches most (half or more) of the non-empty values whole: that detector's policy
    (emails and phones hashed, cards and IBANs masked but the last 4, SSNs nulled, IPs hashed);
 2. the base rules protect the name (`*first_name*: redact`, `*dob*: "null"`): that policy, unless
    every value is a boolean or a short integer (a flag or a count about the thing: kept);
 3. every value is a boolean, a number, a date or timestamp, or a UUID, and no detector finds
    anything in any of them: `keep`;
 4. anything else is text: `scan` (with every detector of the base rules), and the comment says
    what the detectors found in it.

 The trade-off: a sample can miss what a column holds on other days. That is why the detectors
 stay on for every text column and why the default refuses what was never seen.
 */
import MaskCore
import MaskEngine
import MaskPipeline
import MaskRules

/// What was counted for one field.
struct FieldEvidence {
    var name: String
    var values = 0
    var empty = 0
    var nulls = 0
    var booleans = 0
    var shortIntegers = 0
    var integers = 0
    var decimals = 0
    var timestamps = 0
    var uuids = 0
    /// JSON objects used as maps whose keys a detector finds something in (the path is the map's).
    var keysWithData = 0
    /// Per detector: values it matches whole (trimmed), values it finds something in.
    var whole: [Int]
    var contains: [Int]

    init(name: String, detectors: Int) {
        self.name = name
        whole = Array(repeating: 0, count: detectors)
        contains = Array(repeating: 0, count: detectors)
    }

    var shaped: Int { booleans + integers + decimals + timestamps + uuids }
}

/// Options of one suggestion.
public struct SuggestOptions: Sendable {
    public var input: String?
    /// The sample's name in messages and in the file's comments (an object's URL when `input`
    /// is its downloaded copy); the path when nil.
    public var displayName: String?
    public var format: InputFormat = .csv
    public var dialect = CSVDialect()
    public var rows = 10_000
    public var maxRecordSize = 16 << 20

    public init() {}
}

/// Why a suggestion could not be made (exit 1 for input problems, 3 for I/O).
public enum SuggestFailure: CategorizedFailure {
    case data(String)
    case io(String)
    case usage(String)

    public var category: FailureCategory {
        switch self {
        case .data: return .data
        case .io: return .io
        case .usage: return .usage
        }
    }

    public var description: String {
        switch self {
        case .data(let message), .io(let message), .usage(let message): return message
        }
    }
}

/// Reads a sample and writes the rules file (`suggest`).
public struct RulesSuggester {
    public let base: CompiledRules
    /// The base rules file's text: its `detectors:` and `hash:` sections are copied as written.
    public let baseText: String
    public let options: SuggestOptions
    let values: ValueMasker

    public init(base: CompiledRules, baseText: String, options: SuggestOptions) {
        self.base = base
        self.baseText = baseText
        self.options = options
        values = ValueMasker(rules: base.forVerification, hasher: nil)
    }

    /// The suggested rules file.
    public func suggest() throws -> String {
        guard options.format == .csv || options.format == .jsonl else {
            throw SuggestFailure.usage("rules suggest reads CSV and JSONL samples; --format \(options.format.rawValue) is not supported yet")
        }
        let source: InputSource
        do { source = try InputSource(path: options.input, displayName: options.displayName) } catch let error as IOFailure { throw SuggestFailure.io(error.description) }
        let chunker = Chunker(
            source: source, framing: options.format == .csv ? .csv(options.dialect) : .lines, targetSize: 1 << 20,
            maxRecordSize: options.maxRecordSize)
        var collector = Collector(values: values, detectors: base.detectors.count, dialect: options.dialect, limit: options.rows)
        do {
            while collector.records < options.rows, let chunk = try chunker.next() {
                try chunk.bytes.withUnsafeBytes { bytes in
                    switch options.format {
                    case .csv: try collector.csv(bytes, offset: chunk.offset, input: source.name)
                    case .jsonl: try collector.jsonl(bytes, offset: chunk.offset, input: source.name)
                    case .pgtext, .mysql: break  // refused above
                    }
                }
            }
        } catch let error as IOFailure {
            throw SuggestFailure.io(error.description)
        } catch let error as OversizedRecord {
            throw SuggestFailure.data("\(DisplayName.of(source.name)): no record end within \(error.limit) bytes at byte offset \(error.offset)")
        }
        return render(collector, inputName: source.name)
    }

    // MARK: Deciding

    /// The policy (as YAML) and the evidence comment for one field.
    func decide(_ field: FieldEvidence, sampled: Int) -> (policy: String, evidence: String) {
        let detectors = base.detectors
        let nonEmpty = field.values
        let of = "of \(Self.count(nonEmpty)) sampled value\(nonEmpty == 1 ? "" : "s")"
        if nonEmpty == 0 {
            let what = field.nulls > 0 && field.empty == 0 ? "null" : "empty"
            return ("scan", "all \(Self.count(field.empty + field.nulls)) sampled values are \(what)")
        }
        // 1. One detector's kind of value.
        if let best = field.whole.indices.max(by: { field.whole[$0] < field.whole[$1] }), field.whole[best] * 2 >= nonEmpty {
            let id = detectors[best].id
            return (Self.policy(forDetector: id), "\(Self.count(field.whole[best])) \(of) are \(Self.plural(id))")
        }
        let found = field.contains.indices.filter { field.contains[$0] > 0 }
        let flagsOrCounts = field.booleans + field.shortIntegers == nonEmpty
        // 2. A name the base rules protect.
        let resolution = base.resolve(field: field.name)
        if resolution.matchedBy != .default, Self.protects(resolution.policy) {
            let rule = base.fields[resolution.rule!].selector.description
            if flagsOrCounts && found.isEmpty {
                return ("keep", "the name matches \(rule) in the base rules, but all \(Self.count(nonEmpty)) sampled values are \(Self.shapes(field)): a flag or a count")
            }
            let detected = found.isEmpty ? "nothing detected in the \(Self.count(nonEmpty)) sampled values" : findings(field, of: of)
            return (Self.yaml(resolution.policy, detectors: detectors), "the name matches \(rule) in the base rules; \(detected)")
        }
        // 3. Booleans, numbers, timestamps, UUIDs with nothing in them.
        if field.shaped == nonEmpty && found.isEmpty {
            return ("keep", "all \(Self.count(nonEmpty)) sampled values are \(Self.shapes(field)); nothing detected")
        }
        // 4. Text.
        if field.keysWithData > 0 {
            return ("scan", "an object used as a map: \(Self.count(field.keysWithData)) keys hold what the detectors find (keys are always scanned)")
        }
        if found.isEmpty { return ("scan", "text; nothing detected in \(Self.count(nonEmpty)) sampled values") }
        return ("scan", findings(field, of: of))
    }

    /// `37 of 10,000 sampled values contain emails, 3 contain phone numbers`.
    func findings(_ field: FieldEvidence, of: String) -> String {
        let found = field.contains.indices.filter { field.contains[$0] > 0 }
        return found.enumerated().map { position, index in
            let what = Self.plural(base.detectors[index].id)
            return position == 0 ? "\(Self.count(field.contains[index])) \(of) contain \(what)" : "\(Self.count(field.contains[index])) contain \(what)"
        }.joined(separator: ", ")
    }

    static func protects(_ policy: FieldPolicy) -> Bool {
        switch policy {
        case .hash, .redact, .mask, .null: return true
        case .keep, .drop, .scan, .error: return false
        }
    }

    static func policy(forDetector id: String) -> String {
        switch id {
        case "email": return "{ hash: { detector: email } }"
        case "phone": return "{ hash: { detector: phone } }"
        case "card", "iban": return "{ mask: { keep_last: 4 } }"
        case "us_ssn", "ssn": return "\"null\""
        case "ipv4": return "{ hash: { normalize: trim } }"
        default: return "redact"
        }
    }

    static func plural(_ id: String) -> String {
        switch id {
        case "email": return "emails"
        case "phone": return "phone numbers"
        case "card": return "card numbers"
        case "iban": return "IBANs"
        case "ipv4": return "IPv4 addresses"
        case "us_ssn": return "US social security numbers"
        default: return "what detector '\(id)' finds"
        }
    }

    static func shapes(_ field: FieldEvidence) -> String {
        var kinds: [String] = []
        if field.booleans > 0 { kinds.append("booleans") }
        if field.integers > 0 { kinds.append("integers") }
        if field.decimals > 0 { kinds.append("decimals") }
        if field.timestamps > 0 { kinds.append("dates or timestamps") }
        if field.uuids > 0 { kinds.append("UUIDs") }
        if kinds.count <= 1 { return kinds.first ?? "empty" }
        return kinds.dropLast().joined(separator: ", ") + " or " + kinds.last!
    }

    /// 9812 → "9,812".
    static func count(_ value: Int) -> String {
        let digits = String(value)
        var text = ""
        for (index, character) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { text.append(",") }
            text.append(character)
        }
        return text
    }

    /// A policy written back as YAML, as the loader reads it.
    static func yaml(_ policy: FieldPolicy, detectors: [CompiledDetector]) -> String {
        switch policy {
        case .keep: return "keep"
        case .drop: return "drop"
        case .null: return "\"null\""
        case .error: return "error"
        case .redact(let token):
            let text = String(decoding: token, as: UTF8.self)
            return text == "[REDACTED]" ? "redact" : "{ redact: { token: \(YAMLName.quoted(text)) } }"
        case .mask(let mask):
            var options: [String] = []
            if mask.keepFirst > 0 { options.append("keep_first: \(mask.keepFirst)") }
            options.append("keep_last: \(mask.keepLast)")
            if mask.maskByte != UInt8(ascii: "*") { options.append("char: \(YAMLName.quoted(String(UnicodeScalar(mask.maskByte))))") }
            return "{ mask: { \(options.joined(separator: ", ")) } }"
        case .hash(.auto, _): return "hash"
        case .hash(.detector(let index, _), _): return "{ hash: { detector: \(detectors[index].id) } }"
        case .hash(.fixed(let normalizer), _): return "{ hash: { normalize: \(name(of: normalizer)) } }"
        case .scan: return "scan"
        }
    }

    static func name(of normalizer: Normalizer) -> String {
        switch normalizer {
        case .none: return "none"
        case .trim: return "trim"
        case .lowercase: return "lowercase"
        case .email: return "email"
        case .digits: return "digits"
        case .e164: return "e164"
        }
    }

    // MARK: Writing

    func render(_ collector: Collector, inputName: String) -> String {
        var text = """
            # Suggested by `mask rules suggest` from \(DisplayName.of(inputName)) (\(Self.count(collector.records)) records sampled).
            # Every field the sample holds is listed with a policy and the evidence for it; a field
            # the sample did not show is refused (default: error). Review each policy before use:
            # the counts are of this sample only. Detectors and the hash settings are those of
            # \(DisplayName.of(base.path)).
            version: 1

            """
        text += section("detectors") ?? "detectors: {}\n"
        text += "\nfields:\n"
        let sampled = collector.records
        let decided = collector.order.map { name in (name, decide(collector.fields[name]!, sampled: sampled)) }
        let keyWidth = min(40, decided.map { YAMLName.quoted($0.0).count + $0.1.policy.count + 2 }.max() ?? 0)
        for (name, decision) in decided {
            var line = "  \(YAMLName.quoted(name)): \(decision.policy)"
            if line.count < keyWidth + 2 { line += String(repeating: " ", count: keyWidth + 2 - line.count) }
            text += "\(line)  # \(decision.evidence)\n"
        }
        if decided.isEmpty { text += "  {}\n" }
        text += "\n# A field the sample did not show is refused until it is named above.\ndefault: error\n\n"
        text += section("hash") ?? "hash:\n  algorithm: hmac-sha256\n  key: env:MASK_HMAC_KEY\n"
        return text
    }

    /// A top-level section of the base file as written (`detectors:` and the indented lines after it).
    func section(_ key: String) -> String? {
        var lines: [Substring] = []
        var inside = false
        for line in baseText.split(separator: "\n", omittingEmptySubsequences: false) {
            if !inside {
                if line == "\(key):" || line.hasPrefix("\(key): ") || line.hasPrefix("\(key):\t") { inside = true; lines.append(line) }
                continue
            }
            if line.isEmpty || line.first == " " || line.first == "\t" { lines.append(line); continue }
            break
        }
        guard inside else { return nil }
        while let last = lines.last, last.trimmingPrefixSpaces.isEmpty { lines.removeLast() }
        return lines.joined(separator: "\n") + "\n"
    }
}

extension Substring {
    var trimmingPrefixSpaces: Substring { drop { $0 == " " || $0 == "\t" } }
}
