/// How input bytes are read as records: CSV (with a `CSVDialect`), JSON Lines, or a database
/// text export (with an `EscapedTextDialect`).
public enum InputFormat: String, Sendable, CaseIterable {
    case csv
    case jsonl
    /// PostgreSQL `COPY … TO STDOUT` in its text format (`EscapedTextDialect.Flavor.postgres`).
    case pgtext
    /// MySQL / MariaDB `SELECT … INTO OUTFILE` and `mariadb --batch` (`EscapedTextDialect.Flavor.mysql`).
    case mysql

    /// Whether records are delimited fields (every format but JSONL).
    public var hasFields: Bool { self != .jsonl }

    /// The delimiter when none is given: CSV by the file name (`delimiter(fromPath:)`), tab for
    /// the database text formats (what `COPY` and `INTO OUTFILE` write by default).
    public static func delimiter(for format: InputFormat, path: String) -> UInt8 {
        switch format {
        case .csv, .jsonl: return delimiter(fromPath: path)
        case .pgtext, .mysql: return 0x09
        }
    }

    /// The escaped-text dialect of `pgtext` and `mysql` inputs, `nil` for CSV and JSONL.
    public func textDialect(_ dialect: CSVDialect, _ text: TextExportOptions) -> EscapedTextDialect? {
        let flavor: EscapedTextDialect.Flavor
        switch self {
        case .csv, .jsonl: return nil
        case .pgtext: flavor = .postgres
        case .mysql: flavor = .mysql
        }
        return EscapedTextDialect(
            flavor: flavor, delimiter: dialect.delimiter, hasHeader: dialect.hasHeader, escape: text.escape, enclose: text.enclose,
            nullString: text.nullString)
    }

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

/// How the database text formats spell what CSV has no word for (`--null-string`,
/// `--enclosed-by`, `--escaped-by`).
public struct TextExportOptions: Sendable, Equatable {
    /// A further spelling of NULL besides `\N` (`NULL` for `mariadb --batch`).
    public var nullString: [UInt8]?
    /// MySQL `ENCLOSED BY` (only `"`).
    public var enclose: UInt8?
    /// MySQL `ESCAPED BY`: `\` (default) or `"` (Cloud SQL).
    public var escape: UInt8 = EscapedTextDialect.backslash

    public init(nullString: [UInt8]? = nil, enclose: UInt8? = nil, escape: UInt8 = EscapedTextDialect.backslash) {
        self.nullString = nullString
        self.enclose = enclose
        self.escape = escape
    }
}
