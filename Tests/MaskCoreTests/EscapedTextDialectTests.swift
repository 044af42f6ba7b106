import MaskCore
import Testing

/// The escaped text formats of PostgreSQL and MySQL: records, fields, values.
struct EscapedTextDialectTests {
    static let cloudSQL = EscapedTextDialect(flavor: .mysql, delimiter: UInt8(ascii: ","), escape: 0x22, enclose: 0x22)

    func records(_ text: String, _ dialect: EscapedTextDialect) -> [[String]] {
        let bytes = Array(text.utf8)
        var fields: [CSVField] = []
        var result: [[String]] = []
        var position = 0
        var decoded: [UInt8] = []
        bytes.withUnsafeBytes { buffer in
            while position < buffer.count, let span = dialect.nextRecord(in: buffer, from: position, fields: &fields) {
                position = span.end
                result.append(fields.map { field in
                    let raw = UnsafeRawBufferPointer(rebasing: buffer[field.start..<field.end])
                    if !field.quoted && dialect.isNull(raw) { return "<NULL>" }
                    dialect.decode(raw, enclosed: field.quoted, into: &decoded)
                    return String(decoding: decoded, as: UTF8.self)
                })
            }
        }
        return result
    }

    func boundaries(_ text: String, _ dialect: EscapedTextDialect) -> [Int] {
        var framer = RecordFramer(framing: .escapedText(dialect), maxRecordSize: 1 << 20, stopsAtFirstBoundary: true)
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { [framer.advance(over: $0, endOfInput: true) ?? -1] }
    }

    @Test func cloudSQLQuoteNullAndRawLineEndInsideQuotes() {
        let text = "2,\"N,\"line1\nbob\",\"x\"\n3,\"a\"\"b\",\"N\n"
        #expect(records(text, Self.cloudSQL) == [["2", "<NULL>", "line1\nbob", "x"], ["3", "a\"b", "<NULL>"]])
        #expect(boundaries(text, Self.cloudSQL) == [21])
        let export = "2,\"N,\"n/a\",\"line1\nbob@example.com\",\"back\\slash\"\n"
        #expect(records(export, Self.cloudSQL) == [["2", "<NULL>", "n/a", "line1\nbob@example.com", "back\\slash"]])
        #expect(boundaries(export, Self.cloudSQL) == [export.utf8.count])
    }
}

/// What a phone normaliser can read: values that hash alike only when they are the same number.
struct NormalizerReadabilityTests {
    @Test(arguments: ["n/a", "unknown", "", "-", "bob7@example.com", "call me", "12"])
    func phoneNormalizersCannotReadNonPhones(value: String) {
        let region = PhoneRegion.known["US"]!
        Array(value.utf8).withUnsafeBytes { bytes in
            #expect(!Normalizer.e164(region: region).canRead(bytes))
            #expect(!Normalizer.digits.canRead(bytes))
            #expect(Normalizer.lowercase.canRead(bytes))
        }
    }

    @Test(arguments: ["415-555-0104", "+1 (415) 555-0104 x12", "０９０-１２３４-５６７８", "5550104 ext. 5"])
    func phoneNormalizersReadPhones(value: String) {
        Array(value.utf8).withUnsafeBytes { #expect(Normalizer.e164(region: PhoneRegion.known["US"]!).canRead($0)) }
    }

    @Test func postgresOctalAndHexEscapesDecode() {
        let dialect = EscapedTextDialect(flavor: .postgres)
        var decoded: [UInt8] = []
        Array("a\\101\\x42\\7\\x4g\\b\\f\\v\\q".utf8).withUnsafeBytes { dialect.decode($0, enclosed: false, into: &decoded) }
        #expect(decoded == Array("aAB".utf8) + [7, 4, UInt8(ascii: "g"), 8, 12, 11, UInt8(ascii: "q")])
        var encoded: [UInt8] = []
        decoded.withUnsafeBytes { dialect.appendField($0, enclosed: false, to: &encoded) }
        #expect(String(decoding: encoded, as: UTF8.self) == "aAB\u{7}\u{4}g\\b\\f\\vq")
    }
}
