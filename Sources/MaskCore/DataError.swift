/// A problem with the input data itself (exit code 1), located precisely enough that an engineer
/// can open the file at the right place.
///
/// - Important: `description` never contains record bytes: masked data must not leak through
///   error messages or logs.
public struct DataError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case unterminatedQuote = "unterminated quoted field"
        case characterAfterClosingQuote = "unexpected character after a closing quote"
        case wrongFieldCount = "wrong number of fields"
        case recordTooLarge = "record larger than --max-record-size"
        case invalidJSON = "invalid JSON"
        case headerLooksLikeData = "the first record does not look like a header"
        case unreviewedField = "a string value at a path no rule names (default: error)"
    }

    public var kind: Kind
    /// Extra detail, e.g. "expected 5 fields, found 6". Never contains input bytes.
    public var detail: String
    /// Input name as the user gave it (`<stdin>` for standard input).
    public var input: String
    /// 1-based record number (data records, the header excluded).
    public var record: Int
    /// 0-based byte offset of the record's first byte in the (decompressed) input stream.
    public var byteOffset: Int

    public init(kind: Kind, detail: String = "", input: String = "<stdin>", record: Int, byteOffset: Int) {
        self.kind = kind
        self.detail = detail
        self.input = input
        self.record = record
        self.byteOffset = byteOffset
    }

    public var description: String {
        var text = "\(input): record \(record) at byte offset \(byteOffset): \(kind.rawValue)"
        if !detail.isEmpty { text += " (\(detail))" }
        return text
    }
}
