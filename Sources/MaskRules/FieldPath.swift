/// Field paths: how a rule under `fields:` names a value inside a JSON record.
///
/// A path is the decoded object keys from the top of the record to the value, joined by `.`,
/// with `[]` after a key for "every element of the array under this key":
///
/// | path                | names                                                          |
/// |---------------------|----------------------------------------------------------------|
/// | `email`             | the top-level key `email`                                      |
/// | `contact.email`     | key `email` of the object under the top-level key `contact`    |
/// | `orders[].phone`    | key `phone` of every object in the array `orders`              |
/// | `tags[]`            | every element of the array `tags`                              |
/// | `matrix[][]`        | every element of every array in the array `matrix`             |
/// | `[].email`          | key `email` of every object when the line is a top-level array |
///
/// Matching follows the CSV rules: a path without `*` is exact (case-sensitive) and need not
/// occur in every record (JSON has no header to check it against); a path with `*` is a word
/// glob over the whole path (see `NameWords`: `.` and `[]` separate words like `_` does, so
/// `*.email` and `*email` name a path whose last word is `email`, and `*email*` every path with
/// the word `email` in it, `contact.work_email` and `emails[]` included); a pattern written with
/// a leading `~` is a character glob over the path text, where `*` matches any run of characters,
/// `.` and `[]` included, and a leading `~*.` also matches at the top level.
///
/// A rule for an object or array also covers what is inside it, unless a rule names the inner
/// path itself: the closest rule wins (see `JSONLChunkMasker` for what each policy does to
/// non-string values). Keys are compared after their JSON escapes are decoded (`"em\u0061il"`
/// is `email`); a key that itself contains `.` or `[]` cannot be told apart from a nested path.
///
/// Syntax checked when the rules load (for CSV rules too, where a name is a header name):
/// no empty segment (`a..b`, `.a`, `a.`), brackets only as `[]` at the end of a segment (array
/// indexes such as `a[0]` are not supported), and nothing but `[]` or `.` after a `[]`.
public enum FieldPath {
    /// Why `text` is not a valid field name or path; `nil` when it is valid.
    public static func problem(in text: String) -> String? {
        let bytes = Array(text.utf8)
        if bytes.isEmpty { return "empty field name" }
        let dot = UInt8(ascii: "."), open = UInt8(ascii: "["), close = UInt8(ascii: "]")
        var index = 0
        var segment = 0
        while true {
            // One segment: a name (possibly empty only at the very start before `[]`), then `[]`s.
            let nameStart = index
            while index < bytes.count && bytes[index] != dot && bytes[index] != open && bytes[index] != close {
                index += 1
            }
            var brackets = 0
            while index < bytes.count && bytes[index] == open {
                guard index + 1 < bytes.count && bytes[index + 1] == close else {
                    return "'[' must be followed directly by ']' (array indexes are not supported: write items[].field)"
                }
                index += 2
                brackets += 1
            }
            if index < bytes.count && bytes[index] == close { return "']' without '['" }
            if index == nameStart || (index - nameStart == 2 * brackets && segment > 0) {
                // `a..b`, `.a`, `a.`, `a.[]`: a segment needs a key name (only the first may be
                // a bare `[]`, for a top-level array).
                return "empty segment in the field path (a key name is needed around each '.')"
            }
            if index == bytes.count { return nil }
            if bytes[index] != dot { return "only '[]' or '.' may follow '[]' in a field path" }
            index += 1
            segment += 1
            if index == bytes.count { return "empty segment in the field path (a key name is needed around each '.')" }
        }
    }
}

/// The `fields` rules of a rules file, ready to be matched against JSON paths.
///
/// Built once per run; `ruleIndex(forPath:)` is called once per distinct path per chunk (the
/// JSONL masker caches the answer), so it favours simplicity over speed.
public struct FieldPathMatcher: Sendable {
    struct Entry: Sendable {
        var index: Int
        var selector: FieldSelector
        /// Exact: the path bytes. Character glob: the lowercased pattern without its `~`.
        var pattern: [UInt8]
        /// For a character glob starting with `*.`: the pattern without it (matches at the top level).
        var topLevel: [UInt8]?
    }

    let exact: [Entry]
    let patterns: [Entry]

    public init(rules: CompiledRules) {
        var exact: [Entry] = []
        var patterns: [Entry] = []
        for (index, rule) in rules.fields.enumerated() {
            switch rule.selector {
            case .exact(let name):
                exact.append(Entry(index: index, selector: rule.selector, pattern: Array(name.utf8), topLevel: nil))
            case .glob:
                patterns.append(Entry(index: index, selector: rule.selector, pattern: [], topLevel: nil))
            case .characterGlob(let pattern):
                let lowered = Array(pattern.dropFirst().lowercased().utf8)
                let leadingAnyDepth: [UInt8] = [UInt8(ascii: "*"), UInt8(ascii: ".")]
                let topLevel = lowered.starts(with: leadingAnyDepth) ? Array(lowered.dropFirst(2)) : nil
                patterns.append(Entry(index: index, selector: rule.selector, pattern: lowered, topLevel: topLevel))
            }
        }
        self.exact = exact
        self.patterns = patterns
    }

    /// The index in `CompiledRules.fields` of the rule naming `path` (exact rules first, then
    /// patterns in file order), or `nil` when none does.
    /// - Parameter path: the rendered path, e.g. `orders[].phone`, keys decoded.
    public func ruleIndex(forPath path: [UInt8]) -> Int? {
        for entry in exact where entry.pattern == path { return entry.index }
        guard !patterns.isEmpty else { return nil }
        let words = NameWords(bytes: path)
        var lowered: [UInt8]?
        for entry in patterns {
            switch entry.selector {
            case .glob(_, let glob):
                if glob.applies(to: words) { return entry.index }
            default:
                if lowered == nil { lowered = Array(String(decoding: path, as: UTF8.self).lowercased().utf8) }
                if Glob.matches(pattern: entry.pattern, name: lowered!) { return entry.index }
                if let topLevel = entry.topLevel, Glob.matches(pattern: topLevel, name: lowered!) { return entry.index }
            }
        }
        return nil
    }
}
