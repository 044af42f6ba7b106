import MaskCore
import MaskRules

/// How a masker treats what it cannot mask cleanly, and how strictly the rules must fit the input.
public struct MaskerSettings: Sendable {
    public var maxRecordSize: Int
    /// Write malformed records, masked, to the rejects instead of only reporting them.
    public var collectRejects: Bool
    /// Exact field names in the rules must be columns of the input (see `CSVColumnPlan`).
    public var requireExactFields: Bool

    public init(maxRecordSize: Int = 16 << 20, collectRejects: Bool = false, requireExactFields: Bool = true) {
        self.maxRecordSize = maxRecordSize
        self.collectRejects = collectRejects
        self.requireExactFields = requireExactFields
    }
}

/// The masker for one input, and what goes in front of its output: the one factory that pipe
/// mode, batch, extract and bench build their maskers with (and `--verify` / `mask verify` their
/// scanners), so a setting cannot differ between the run that masks and the bench that measures it.
public struct InputMasker: Sendable {
    public let masker: any ChunkMasking
    /// What starts every output part: a byte order mark the input started with, and (CSV with a
    /// header) the header with its names masked as the rules say.
    public let header: [UInt8]
    /// Columns (CSV) or field rules and `(default)` (JSONL), as the manifest lists them.
    public let fieldNames: [String]
    public let policies: [FieldPolicy]
    /// Per field: how it got its policy (exact name, pattern, default).
    public let matchedBy: [MatchKind]
    /// Per field: the pattern that matched it (pattern-matched fields only).
    public let patterns: [String?]

    /// A CSV masker from the input's first record.
    ///
    /// - Parameter first: the input's bytes through the end of its first record, a byte order
    ///   mark included (`bomLength` bytes). With a header it names the columns; without one it is
    ///   data, and only fixes how many columns there are (the caller reads it again as data).
    /// - Throws: `DataError` (a malformed header, a header that looks like data), `PlanError`
    ///   (the rules do not fit the columns).
    public static func csv(
        firstRecord first: [UInt8], bomLength: Int, dialect: CSVDialect, values: ValueMasker, settings: MaskerSettings, inputName: String
    ) throws -> InputMasker {
        let tokenizer = CSVTokenizer(dialect: dialect, maxRecordSize: settings.maxRecordSize)
        var fields: [CSVField] = []
        let span = first.withUnsafeBytes { tokenizer.nextRecord(in: $0, from: bomLength, fields: &fields) }
        if let problem = span.problem {
            throw DataError(kind: problem, detail: dialect.hasHeader ? "in the header" : "", input: inputName, record: dialect.hasHeader ? 0 : 1, byteOffset: 0)
        }
        let names: [String]
        if dialect.hasHeader {
            var scratch: [UInt8] = []
            names = first.withUnsafeBytes { bytes in
                fields.map { field in tokenizer.withDecodedValue(of: field, in: bytes, scratch: &scratch) { String(decoding: $0, as: UTF8.self) } }
            }
            try refuseDataAsHeader(names, values: values, inputName: inputName)
        } else {
            names = fields.indices.map { String($0 + 1) }
        }
        let plan = try CSVColumnPlan(names: names, rules: values.rules, requireExactFields: settings.requireExactFields)
        let masker = CSVChunkMasker(
            plan: plan, values: values, dialect: dialect, maxRecordSize: settings.maxRecordSize, collectRejects: settings.collectRejects)
        var header = Array(first[0..<bomLength])
        if dialect.hasHeader {
            first.withUnsafeBytes { header += plan.maskedHeader($0, record: span, fields: fields, delimiter: dialect.delimiter) }
        }
        return InputMasker(masker: masker, header: header, fieldNames: names, plan: plan, rules: values.rules)
    }

    /// A masker for a database text export (`pgtext`, `mysql`) from its first record, read with
    /// the same rules as every record; header names are decoded values.
    public static func escapedText(
        firstRecord first: [UInt8], text: EscapedTextDialect, values: ValueMasker, settings: MaskerSettings, inputName: String
    ) throws -> InputMasker {
        var fields: [CSVField] = []
        guard let span = first.withUnsafeBytes({ text.nextRecord(in: $0, from: 0, fields: &fields) }) else {
            throw DataError(kind: .wrongFieldCount, detail: "the input is empty; expected a header", input: inputName, record: 0, byteOffset: 0)
        }
        if let problem = span.problem {
            throw DataError(kind: problem, detail: text.hasHeader ? "in the header" : "", input: inputName, record: text.hasHeader ? 0 : 1, byteOffset: 0)
        }
        let names: [String]
        if text.hasHeader {
            names = decodedNames(first, fields: fields, text: text)
            try refuseDataAsHeader(names, values: values, inputName: inputName)
        } else {
            names = fields.indices.map { String($0 + 1) }
        }
        let plan = try CSVColumnPlan(names: names, rules: values.rules, requireExactFields: settings.requireExactFields)
        let masker = EscapedTextChunkMasker(
            plan: plan, values: values, dialect: text, maxRecordSize: settings.maxRecordSize, collectRejects: settings.collectRejects)
        var header: [UInt8] = []
        if text.hasHeader {
            first.withUnsafeBytes { header = plan.maskedHeader($0, record: span, fields: fields, delimiter: text.delimiter) }
        }
        return InputMasker(masker: masker, header: header, fieldNames: names, plan: plan, rules: values.rules)
    }

    /// The decoded values of `fields` in `record`, as column names.
    static func decodedNames(_ record: [UInt8], fields: [CSVField], text: EscapedTextDialect) -> [String] {
        var decoded: [UInt8] = []
        return record.withUnsafeBytes { bytes in
            fields.map { field in
                text.decode(UnsafeRawBufferPointer(rebasing: bytes[field.start..<field.end]), enclosed: field.quoted, into: &decoded)
                return String(decoding: decoded, as: UTF8.self)
            }
        }
    }

    /// A JSONL masker. JSONL has no header; a byte order mark the input starts with is carried like
    /// one (it starts every output part and the rejects file) instead of failing the first record.
    public static func jsonl(byteOrderMark: [UInt8], values: ValueMasker, settings: MaskerSettings) -> InputMasker {
        let masker = JSONLChunkMasker(values: values, maxRecordSize: settings.maxRecordSize, collectRejects: settings.collectRejects)
        let patterns = values.rules.fields.map { $0.selector.isPattern ? $0.selector.description : nil } + [nil]
        return InputMasker(
            masker: masker, header: byteOrderMark, fieldNames: masker.fieldNames, policies: masker.policies, matchedBy: masker.matchedBy,
            patterns: patterns)
    }

    /// A scanner for masked output written with `maskedHeader` (CSV: names its findings by column):
    /// every field or string value, every detector of `rules`, findings only.
    public static func verifier(
        rules: CompiledRules, format: InputFormat, dialect: CSVDialect, text: EscapedTextDialect? = nil, maskedHeader: [UInt8], maxRecordSize: Int
    ) throws -> any ChunkScanning {
        let values = ValueMasker(rules: rules.forVerification, hasher: nil)
        if let text {
            let names = text.hasHeader ? headerNames(of: maskedHeader, dialect: dialect, text: text) : []
            return EscapedTextVerifier(names: names, values: values, dialect: text)
        }
        switch format {
        case .csv, .pgtext, .mysql:
            let names = dialect.hasHeader ? headerNames(of: maskedHeader, dialect: dialect, text: nil) : []
            let plan = try CSVColumnPlan(names: names.isEmpty ? ["1"] : names, rules: values.rules, requireExactFields: false)
            return CSVVerifier(plan: plan, values: values, dialect: dialect, maxRecordSize: maxRecordSize)
        case .jsonl:
            return JSONLVerifier(values: values, maxRecordSize: maxRecordSize)
        }
    }

    /// A header is published in every part, in the manifest and in the summary: one whose names
    /// hold what a detector finds is a data row (`--no-header` forgotten, or the first line end
    /// lost) and must not go out as field names.
    static func refuseDataAsHeader(_ names: [String], values: ValueMasker, inputName: String) throws {
        if let first = headerDetections(names, values: values).first {
            throw DataError(
                kind: .headerLooksLikeData,
                detail: "field \(first.column + 1) holds what detector '\(values.rules.detectors[first.detector].id)' finds; pass --no-header if the input has no header",
                input: inputName, record: 0, byteOffset: 0)
        }
    }

    /// What every detector of `values.rules` finds in header names: the check that refuses a data
    /// row as a header when masking, and `mask verify`'s findings in a masked header.
    public static func headerDetections(_ names: [String], values: ValueMasker) -> [(column: Int, detector: Int)] {
        let scratch = MaskScratch()
        var statistics = MaskStatistics(detectors: values.rules.detectors.count, fields: 0)
        let all = Array(values.rules.detectors.indices)
        var found: [(column: Int, detector: Int)] = []
        for (column, name) in names.enumerated() {
            Array(name.utf8).withUnsafeBytes { values.detect(in: $0, detectors: all, scratch: scratch, statistics: &statistics) }
            found += scratch.detections.map { (column, $0.detector) }
        }
        return found
    }

    /// The decoded names of a delimited input's header record (CSV or a database text export).
    public static func headerNames(of record: [UInt8], dialect: CSVDialect, text: EscapedTextDialect?) -> [String] {
        guard let text else { return record.withUnsafeBytes { CSVHeader(parsing: $0, dialect: dialect).names } }
        var fields: [CSVField] = []
        guard record.withUnsafeBytes({ text.nextRecord(in: $0, from: 0, fields: &fields) }) != nil else { return [] }
        return decodedNames(record, fields: fields, text: text)
    }
}

extension CompiledRules {
    /// The same detectors, applied by `scan` to every field: what verification needs.
    public var forVerification: CompiledRules {
        var copy = self
        copy.fields = []
        copy.defaultPolicy = .scan(detectors: Array(detectors.indices), replacement: .token)
        return copy
    }
}

extension InputMasker {
    /// A delimited input's masker, its fields listed as the plan resolved them.
    init(masker: any ChunkMasking, header: [UInt8], fieldNames: [String], plan: CSVColumnPlan, rules: CompiledRules) {
        let patterns = plan.resolutions.map { resolution in
            resolution.matchedBy == .pattern ? resolution.rule.map { rules.fields[$0].selector.description } : nil
        }
        self.init(
            masker: masker, header: header, fieldNames: fieldNames, policies: plan.policies, matchedBy: plan.resolutions.map(\.matchedBy),
            patterns: patterns)
    }
}
