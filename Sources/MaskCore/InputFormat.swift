/// How input bytes are read as records: CSV (with a `CSVDialect`) or JSON Lines.
public enum InputFormat: String, Sendable, CaseIterable {
    case csv
    case jsonl

    /// Guesses the format from a file name (`.csv`, `.tsv`, `.jsonl`, `.ndjson`, with `.gz`).
    public static func guess(fromPath path: String) -> InputFormat? {
        var name = path.lowercased()
        if name.hasSuffix(".gz") { name.removeLast(3) }
        if name.hasSuffix(".csv") || name.hasSuffix(".tsv") || name.hasSuffix(".psv") { return .csv }
        if name.hasSuffix(".jsonl") || name.hasSuffix(".ndjson") || name.hasSuffix(".json") { return .jsonl }
        return nil
    }

    /// The CSV delimiter a file name implies: tab for `.tsv`, `|` for `.psv` (with `.gz`), else `,`.
    public static func delimiter(fromPath path: String) -> UInt8 {
        var name = path.lowercased()
        if name.hasSuffix(".gz") { name.removeLast(3) }
        if name.hasSuffix(".tsv") { return 0x09 }
        if name.hasSuffix(".psv") { return UInt8(ascii: "|") }
        return UInt8(ascii: ",")
    }
}
