/*!
 MaskRules: a rules file (YAML) in, a validated `CompiledRules` out.

 The file is read as a YAML node tree rather than decoded into `Codable` structs, so that every
 error can name the line it comes from and so that *all* problems in a file are reported at once
 (an unknown key, a regex that does not compile with PCRE2's message and offset, a hash rule
 without a key), before any data is read. The compiled form holds JIT-compiled detectors and
 resolved policies; it is immutable and `Sendable`, shared by every worker.
 */
import MaskCore
import MaskRegex

/// A cheap test that a value *may* contain a detector's match. It may say yes wrongly, never no
/// wrongly (the ripgrep prefilter contract), so skipping the regex on a "no" loses nothing.
public enum Prefilter: Sendable, Equatable {
    /// Always run the regex.
    case none
    /// Run the regex only if one of these byte strings occurs (a `memchr`/`memmem` test).
    case anyLiteral([[UInt8]])
    /// Run the regex only if there are at least this many digits (ASCII or full-width) in total.
    case minimumDigits(Int)
}

/// How a detector finds its candidates.
public enum DetectorMatcher: Sendable {
    /// A PCRE2 pattern from the rules file (`pattern:`).
    case pattern(CompiledPattern)
    /// The built-in phone-number detector (`builtin: phone`): libphonenumber's numbering plans,
    /// international numbers of every calling code and national numbers of `regions`.
    case phoneNumbers(PhoneFinder)
}

/// One detector: a matcher, how to recognise candidates cheaply, and what to do with a match.
public struct CompiledDetector: Sendable {
    public var id: String
    public var matcher: DetectorMatcher
    public var prefilter: Prefilter
    public var validators: [Validator]
    /// Replaces a match in `scan` mode (e.g. `[EMAIL]`).
    public var token: [UInt8]
    /// Applied before hashing a match or a whole field recognised as this detector's kind.
    public var normalizer: Normalizer
    public var examples: DetectorExamples
    /// Line of the detector in the rules file, for messages.
    public var line: Int
}

/// Examples embedded in the rules file and run by `mask rules test`.
public struct DetectorExamples: Sendable {
    /// Texts that must be found whole (the match must cover the entire example).
    public var match: [String]
    /// Texts inside which nothing may be found.
    public var noMatch: [String]
    /// Texts with the exact list of matches expected inside them.
    public var finds: [(text: String, expected: [String])]
}

/// How `hash` picks the normalisation of a field value.
/// What a `hash` field rule asks for besides the normaliser.
public struct HashOptions: Sendable, Equatable {
    /// `keep_domain: true`: an email keeps its (lower-cased) domain after the hash of the whole
    /// address (`Hk3Zp9…@example.com`), so analysts can count by domain while joins still use
    /// the full address.
    public var keepDomain = false
    /// `key: NAME`: hash with the named key of `hash.keys` instead of `hash.key`, so columns
    /// (or tenants) hashed with different keys cannot be joined.
    public var key: String?

    public init(keepDomain: Bool = false, key: String? = nil) {
        self.keepDomain = keepDomain
        self.key = key
    }
}

public enum HashNormalization: Sendable, Equatable {
    /// Use the normaliser of the first detector whose pattern matches the whole trimmed value
    /// (so an email column is lowercased and a phone column put in E.164), else trim.
    case auto
    case fixed(Normalizer)
    /// `hash: { detector: ID }`: that detector's normaliser. Matched by a pattern rather than an
    /// exact name, the rule hashes only values that pass the detector's prefilter (an email has
    /// an `@`, a phone at least 8 digits) and scans the others: a boolean, a count or a date in
    /// a column the pattern took for an email column is not turned into a hash.
    case detector(index: Int, normalizer: Normalizer)
}

/// What `scan` puts in place of a detected value.
public enum ScanReplacement: Sendable, Equatable {
    /// The detector's token, e.g. `[EMAIL]`.
    case token
    /// The keyed hash of the normalised match (joins on values found in free text).
    case hash
}

/// What happens to one field.
public enum FieldPolicy: Sendable, Equatable {
    case keep
    /// The column (CSV) or key (JSON) is removed.
    case drop
    /// CSV: an empty unquoted field (NULL for PostgreSQL and BigQuery loads).
    case null
    case redact(token: [UInt8])
    case mask(PartialMask)
    case hash(HashNormalization, HashOptions = HashOptions())
    /// Replace what the detectors (by index into `CompiledRules.detectors`) find in the text.
    case scan(detectors: [Int], replacement: ScanReplacement)
    /// `default: error` (fail closed): a field no rule names is refused. CSV: the run stops
    /// before any data is read, listing every such column; JSONL: a string value under such a
    /// path makes its record a data error (or a reject). Only allowed as the default.
    case error

    public var usesHash: Bool {
        switch self {
        case .hash: return true
        case .scan(_, let replacement): return replacement == .hash
        default: return false
        }
    }
}

/// Which fields a rule applies to.
public enum FieldSelector: Sendable, Equatable, CustomStringConvertible {
    /// An exact column name (or 1-based column number with `--no-header`); must exist.
    case exact(String)
    /// A word glob with `*` (see `NameWords`): case-insensitive, may match no column at all, and
    /// does not apply to flag, count, id or timestamp columns about what it names.
    case glob(String, WordGlob)
    /// A character glob, written with a leading `~` (`"~*tel*"`): `*` matches any run of
    /// characters, case-insensitive. For the rule that really means a substring.
    case characterGlob(String)

    /// Parses a key under `fields:`: `~…` is a character glob, a name with `*` a word glob.
    public init(_ name: String) {
        if name.hasPrefix("~") {
            self = .characterGlob(name)
        } else if name.contains("*") {
            self = .glob(name, WordGlob(name))
        } else {
            self = .exact(name)
        }
    }

    public var description: String {
        switch self {
        case .exact(let name), .glob(let name, _), .characterGlob(let name): return name
        }
    }

    public var isPattern: Bool {
        if case .exact = self { return false }
        return true
    }

    /// Whether the rule applies to `name` (split into words once by the caller: `words`).
    public func applies(to name: String, words: NameWords) -> Bool {
        switch self {
        case .exact(let expected): return expected == name
        case .glob(_, let glob): return glob.applies(to: words)
        case .characterGlob(let pattern):
            return Glob.matches(pattern: Array(pattern.dropFirst().lowercased().utf8), name: Array(name.lowercased().utf8))
        }
    }
}

/// How a field got its policy: reported per column (`matched_by`), so that a column changed by a
/// pattern or by the default policy is never changed without a word.
public enum MatchKind: String, Sendable, Equatable, Codable {
    case exact
    case pattern
    case `default`
}

/// The policy a field resolved to, and why.
public struct FieldResolution: Sendable, Equatable {
    public var policy: FieldPolicy
    /// Index in `CompiledRules.fields`; nil for the default policy.
    public var rule: Int?
    public var matchedBy: MatchKind
}

public struct FieldRule: Sendable {
    public var selector: FieldSelector
    public var policy: FieldPolicy
    public var line: Int
}

/// Where the HMAC key comes from. Keys never live in the rules file itself.
public enum KeySource: Sendable, Equatable, CustomStringConvertible {
    case environment(String)
    case file(String)

    public var description: String {
        switch self {
        case .environment(let name): return "env:\(name)"
        case .file(let path): return "file:\(path)"
        }
    }
}

public enum HashEncoding: String, Sendable {
    case hex
    case base64url
}

public struct HashSettings: Sendable, Equatable {
    public var key: KeySource?
    /// `hash.keys`: further keys by name (`key: NAME` in a field rule), each from the environment
    /// or a file like `hash.key`.
    public var keys: [String: KeySource] = [:]
    public var encoding: HashEncoding
    /// Characters of the encoded digest to keep (the full digest is 64 hex / 43 base64url).
    public var length: Int
    public var prefix: [UInt8]

    /// 16 base64url characters carry 96 bits: the chance that any two of a billion distinct
    /// values collide is about 6e-12, while the output stays close to the input's size (a full
    /// 64-character hex digest makes a masked extract ~1.3x larger and slower to compress).
    public static let defaults = HashSettings(key: nil, keys: [:], encoding: .base64url, length: 16, prefix: [])
}

/// A validated rules file, ready to mask data. Immutable and shared by all workers.
public struct CompiledRules: Sendable {
    public var path: String
    public var detectors: [CompiledDetector]
    public var fields: [FieldRule]
    public var defaultPolicy: FieldPolicy
    public var hash: HashSettings
    /// SHA-256 of the rules file bytes (first 16 hex digits): names the rules a file was masked with.
    public var fingerprint: String

    /// The policy for a field name: exact rules first, then patterns in file order, then the default.
    public func policy(forField name: String) -> FieldPolicy {
        resolve(field: name).policy
    }

    /// The rule a field name resolves to: exact rules first, then patterns in file order (a word
    /// glob skips a flag, count, id or timestamp column about what it names), then the default.
    /// Called once per column (CSV header) or per distinct path (JSON), never per record.
    public func resolve(field name: String) -> FieldResolution {
        if let index = fields.firstIndex(where: { if case .exact(let exact) = $0.selector { return exact == name } else { return false } }) {
            return FieldResolution(policy: fields[index].policy, rule: index, matchedBy: .exact)
        }
        let words = NameWords(name)
        if let index = fields.firstIndex(where: { $0.selector.isPattern && $0.selector.applies(to: name, words: words) }) {
            return FieldResolution(policy: fields[index].policy, rule: index, matchedBy: .pattern)
        }
        return FieldResolution(policy: defaultPolicy, rule: nil, matchedBy: .default)
    }

    public var usesHash: Bool {
        defaultPolicy.usesHash || fields.contains { $0.policy.usesHash }
    }

    /// Whether an exact rule names a path inside `column` (`_airbyte_data.email`,
    /// `payload.items[].email`, `tags[]`) rather than the column itself.
    public func namesPathInside(column: String) -> Bool {
        fields.contains { rule in
            guard case .exact(let name) = rule.selector else { return false }
            return Self.isPath(name, inside: column)
        }
    }

    /// The rules for the JSON a CSV or database column holds, as JSONL rules for one record:
    /// the exact rules that name paths inside the column, relative to it (`_airbyte_data.email`
    /// becomes `email`), then every pattern rule (a glob names paths inside as it names columns),
    /// and the column's own policy as the default, so a rule for the whole column covers every
    /// path inside that no nested rule names (the closest rule wins, as in JSONL). Nil when no
    /// rule names a path inside.
    public func rulesInside(column: String, columnPolicy: FieldPolicy) -> CompiledRules? {
        var inner: [FieldRule] = []
        for rule in fields {
            guard case .exact(let name) = rule.selector, let path = Self.pathInside(column: column, name: name) else { continue }
            inner.append(FieldRule(selector: .exact(path), policy: rule.policy, line: rule.line))
        }
        guard !inner.isEmpty else { return nil }
        var rules = self
        rules.fields = inner + fields.filter { $0.selector.isPattern }
        rules.defaultPolicy = columnPolicy
        return rules
    }

    /// Whether `name` is a path inside `column` (`column.a`, `column[]…`).
    public static func isPath(_ name: String, inside column: String) -> Bool { pathInside(column: column, name: name) != nil }

    /// `column.a.b` → `a.b`, `column[].x` → `[].x`; nil for any other name.
    static func pathInside(column: String, name: String) -> String? {
        guard name.count > column.count, name.hasPrefix(column) else { return nil }
        let rest = name.dropFirst(column.count)
        if rest.hasPrefix("."), rest.count > 1 { return String(rest.dropFirst()) }
        if rest.hasPrefix("[]") { return String(rest) }
        return nil
    }
}

enum Glob {
    /// `*` matches any run of bytes; everything else matches itself.
    static func matches(pattern: [UInt8], name: [UInt8]) -> Bool {
        var p = 0, n = 0, starP = -1, starN = 0
        while n < name.count {
            if p < pattern.count && pattern[p] == UInt8(ascii: "*") {
                starP = p; starN = n; p += 1
            } else if p < pattern.count && pattern[p] == name[n] {
                p += 1; n += 1
            } else if starP >= 0 {
                p = starP + 1; starN += 1; n = starN
            } else {
                return false
            }
        }
        while p < pattern.count && pattern[p] == UInt8(ascii: "*") { p += 1 }
        return p == pattern.count
    }
}

extension FieldPolicy {
    /// The policy's name as written in rules files.
    public var name: String {
        switch self {
        case .keep: return "keep"
        case .drop: return "drop"
        case .null: return "null"
        case .redact: return "redact"
        case .mask: return "mask"
        case .hash: return "hash"
        case .scan(_, let replacement): return replacement == .hash ? "scan(hash)" : "scan"
        case .error: return "error"
        }
    }
}
