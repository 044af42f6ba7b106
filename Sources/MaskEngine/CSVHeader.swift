import MaskCore

/// The first record of a CSV input, read before any chunk is masked: it names the columns that
/// the rules refer to (or, with `--no-header`, fixes how many there are).
public struct CSVHeader: Sendable {
    /// Bytes of a UTF-8 byte order mark at the start of the input (0 or 3); kept in the output.
    public var bomLength: Int
    public var record: CSVRecordSpan
    public var fields: [CSVField]
    /// Decoded names, or "1", "2", … when the input has no header.
    public var names: [String]

    /// Parses the first record of `bytes`, which must hold it completely (or be the whole input).
    public init(parsing bytes: UnsafeRawBufferPointer, dialect: CSVDialect) {
        bomLength = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        let tokenizer = CSVTokenizer(dialect: dialect)
        var fields: [CSVField] = []
        record = tokenizer.nextRecord(in: bytes, from: bomLength, fields: &fields)
        self.fields = fields
        if dialect.hasHeader {
            var scratch: [UInt8] = []
            names = fields.map { field in
                tokenizer.withDecodedValue(of: field, in: bytes, scratch: &scratch) { String(decoding: $0, as: UTF8.self) }
            }
        } else {
            names = fields.indices.map { String($0 + 1) }
        }
    }
}
