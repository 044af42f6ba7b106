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
    ])
    func malformedRecordsAreFlagged(text: String, kind: DataError.Kind) {
        let parsed = records(text)
        #expect(parsed.first?.1 == kind)
    }

    @Test func aQuoteInsideAnUnquotedFieldIsData() {
        let parsed = records("1,5\" tall,x\n2,a\"b\"c,y\n")
        #expect(parsed.map(\.0) == [["1", "5\" tall", "x"], ["2", "a\"b\"c", "y"]])
        #expect(parsed.allSatisfy { $0.1 == nil })
    }

    @Test func aStrayOpeningQuoteTakesOnlyItsOwnLine() {
        // The quote at the start of the second field never closes properly: its record ends at
        // its own line end and the records after it are read as they are.
        let parsed = records("1,\"5 tall,x\n2,b,y\n3,\"q\",z\n")
        #expect(parsed.count == 3)
        #expect(parsed[0].1 == .unterminatedQuote || parsed[0].1 == .characterAfterClosingQuote)
        #expect(parsed[0].0 == ["1", "\"5 tall", "x"])
        #expect(parsed[1].0 == ["2", "b", "y"] && parsed[1].1 == nil)
        #expect(parsed[2].0 == ["3", "q", "z"] && parsed[2].1 == nil)
    }

    @Test func carriageReturnLineEnds() {
        let bytes = Array("a,b\r1,\"x\ry\"\r2,z".utf8)
        let dialect = CSVDialect()
        #expect(bytes.withUnsafeBytes { dialect.sniffTerminator($0, endOfInput: true) } == CSVDialect.carriageReturn)
        #expect(Array("a,b\r\n1,2\n".utf8).withUnsafeBytes { dialect.sniffTerminator($0, endOfInput: true) } == CSVDialect.lineFeed)
        let tokenizer = CSVTokenizer(dialect: CSVDialect(terminator: CSVDialect.carriageReturn))
        var fields: [CSVField] = []
        var position = 0
        var count = 0
        bytes.withUnsafeBytes { buffer in
            while position < buffer.count {
                let record = tokenizer.nextRecord(in: buffer, from: position, fields: &fields)
                #expect(record.problem == nil && fields.count == 2)
                position = record.end
                count += 1
            }
        }
        #expect(count == 3)
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
        let cut = bytes.withUnsafeBytes { RecordFraming.csv(CSVDialect()).lastBoundary(in: UnsafeRawBufferPointer(rebasing: $0[0..<prefixLength])) }
        let expected = trueBoundaries.filter { $0 <= prefixLength }.max()
        #expect(cut == expected)
    }

    @Test func linesFramingCutsAtTheLastLineFeed() {
        let bytes = Array("{\"a\":1}\n{\"b\":2}\n{\"c\"".utf8)
        #expect(bytes.withUnsafeBytes { RecordFraming.lines.lastBoundary(in: $0) } == 16)
    }
}

/// The property behind "output is independent of chunk size": the reader's framer and the
/// workers' tokenizer agree on every record, whatever the input (valid or not), however the
/// input arrives in reads, and wherever chunks are cut.
@Suite struct FramerTokenizerAgreementTests {
    struct Generator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
    }

    typealias Record = (start: Int, end: Int, problem: DataError.Kind?, fields: [[UInt8]])

    static func tokenize(_ bytes: ArraySlice<UInt8>, base: Int, dialect: CSVDialect, maxRecordSize: Int) -> [Record] {
        let tokenizer = CSVTokenizer(dialect: dialect, maxRecordSize: maxRecordSize)
        var result: [Record] = []
        Array(bytes).withUnsafeBytes { buffer in
            var fields: [CSVField] = []
            var position = 0
            while position < buffer.count {
                let span = tokenizer.nextRecord(in: buffer, from: position, fields: &fields)
                precondition(span.end > position)
                result.append((base + span.start, base + span.end, span.problem, fields.map { Array(buffer[$0.rawStart..<$0.rawEnd]) }))
                position = span.end
            }
        }
        return result
    }

    @Test(arguments: 0..<400)
    func chunksSeeTheRecordsOfTheWholeInput(seed: Int) {
        var random = Generator(state: UInt64(seed))
        let alphabet: [UInt8] = Array("ab,\"\n\r\t ".utf8)
        let terminator = seed % 5 == 4 ? CSVDialect.carriageReturn : CSVDialect.lineFeed
        let dialect = CSVDialect(delimiter: seed % 3 == 2 ? 0x09 : 0x2C, terminator: terminator)
        let bytes = (0..<(1 + random.below(300))).map { _ in alphabet[random.below(alphabet.count)] }
        let maxRecordSize = seed % 2 == 0 ? 1 << 20 : 8 + random.below(40)
        let whole = Self.tokenize(bytes[...], base: 0, dialect: dialect, maxRecordSize: maxRecordSize)

        // The chunker: reads of random sizes, a framer that resumes, chunks cut at its boundaries.
        var framer = RecordFramer(framing: .csv(dialect), maxRecordSize: maxRecordSize)
        var carryStart = 0
        var available = 0
        var chunked: [Record] = []
        while carryStart < bytes.count {
            available = min(bytes.count, available + 1 + random.below(60))
            let ended = available == bytes.count
            let boundary = Array(bytes[carryStart..<available]).withUnsafeBytes { framer.advance(over: $0, endOfInput: ended) }
            let cut: Int
            if ended {
                cut = available - carryStart
            } else if let boundary, random.below(3) != 0 {
                cut = boundary
            } else {
                continue
            }
            chunked += Self.tokenize(bytes[carryStart..<(carryStart + cut)], base: carryStart, dialect: dialect, maxRecordSize: maxRecordSize)
            framer.dropFirst(cut)
            carryStart += cut
        }
        #expect(chunked.count == whole.count)
        for (left, right) in zip(chunked, whole) {
            #expect(left.start == right.start && left.end == right.end && left.problem == right.problem && left.fields == right.fields)
        }
    }
}
