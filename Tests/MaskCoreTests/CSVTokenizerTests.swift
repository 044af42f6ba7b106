import MaskCore
import Testing

func records(_ text: String, delimiter: Character = ",") -> [([String], DataError.Kind?)] {
    let bytes = Array(text.utf8)
    let tokenizer = CSVTokenizer(dialect: CSVDialect(delimiter: UInt8(ascii: delimiter.unicodeScalars.first!)))
    var result: [([String], DataError.Kind?)] = []
    bytes.withUnsafeBytes { buffer in
        var position = 0
        var fields: [CSVField] = []
        var scratch: [UInt8] = []
        while position < buffer.count {
            let record = tokenizer.nextRecord(in: buffer, from: position, fields: &fields)
            #expect(record.end > position)
            position = record.end
            let values = fields.map { field in
                tokenizer.withDecodedValue(of: field, in: buffer, scratch: &scratch) { String(decoding: $0, as: UTF8.self) }
            }
            result.append((values, record.problem))
        }
    }
    return result
}

@Suite struct CSVTokenizerTests {
    @Test func quotedFieldsAndDoubledQuotes() {
        let parsed = records("a,\"b,c\",\"say \"\"hi\"\"\",\n")
        #expect(parsed.count == 1)
        #expect(parsed[0].0 == ["a", "b,c", "say \"hi\"", ""])
        #expect(parsed[0].1 == nil)
    }

    @Test func quotedNewlineStaysInOneRecord() {
        let parsed = records("1,\"line one\r\nline two\"\r\n2,x\r\n")
        #expect(parsed.map(\.0) == [["1", "line one\r\nline two"], ["2", "x"]])
    }

    @Test func lastRecordMayLackATerminator() {
        #expect(records("a,b\nc,d").map(\.0) == [["a", "b"], ["c", "d"]])
    }

    @Test func emptyFieldsAreKept() {
        #expect(records(",,\n\"\",,\"\"\n").map(\.0) == [["", "", ""], ["", "", ""]])
    }

    @Test(arguments: [
        ("a,\"bc\n", DataError.Kind.unterminatedQuote),
        ("a,\"b\"c,d\n", .characterAfterClosingQuote),
        ("a,b\"c\"d,e\n", .quoteInUnquotedField),
    ])
    func malformedRecordsAreFlagged(text: String, kind: DataError.Kind) {
        let parsed = records(text)
        #expect(parsed.first?.1 == kind)
    }

    @Test func malformedRecordEndsWhereTheChunkerWouldCut() {
        // The stray quote opens a quoted stretch that the next quote closes; the record then
        // ends at the first unquoted LF, exactly as RecordFraming.csv decides.
        let parsed = records("1,a\"b\nc\",d\n2,e\n")
        #expect(parsed.count == 2)
        #expect(parsed[0].1 == .quoteInUnquotedField)
        #expect(parsed[1].0 == ["2", "e"])
    }

    @Test func tabDelimiter() {
        #expect(records("a\tb,c\t\"d\te\"\n", delimiter: "\t").map(\.0) == [["a", "b,c", "d\te"]])
    }
}

@Suite struct RecordFramingTests {
    static let sample = "id,notes\n1,\"a\nb\"\n2,\"x \"\"y\"\"\nz\"\n3,plain\n4,\"\"\n"

    /// Cuts `sample` with the chunker's rule at every prefix length and checks that every cut
    /// lands on a true record boundary.
    @Test(arguments: 1...sample.utf8.count)
    func boundariesAreRecordBoundaries(prefixLength: Int) {
        let bytes = Array(Self.sample.utf8)
        let trueBoundaries: Set<Int> = [9, 17, 31, 39, 44]
        let cut = bytes.withUnsafeBytes { RecordFraming.csv.lastBoundary(in: UnsafeRawBufferPointer(rebasing: $0[0..<prefixLength])) }
        let expected = trueBoundaries.filter { $0 <= prefixLength }.max()
        #expect(cut == expected)
    }

    @Test func linesFramingCutsAtTheLastLineFeed() {
        let bytes = Array("{\"a\":1}\n{\"b\":2}\n{\"c\"".utf8)
        #expect(bytes.withUnsafeBytes { RecordFraming.lines.lastBoundary(in: $0) } == 16)
    }
}
