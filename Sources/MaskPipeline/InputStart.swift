import MaskCore

/// The start of an input, read on the reader thread before any worker runs: the plan (which
/// column gets which policy) depends on it, and rules that do not fit must fail before output exists.
struct InputStart {
    /// CSV: the bytes through the end of the first record, a byte order mark included. JSONL: the
    /// byte order mark, if any.
    var firstRecord: [UInt8]
    var bomLength: Int
    /// The dialect with the line end the input uses (see `CSVDialect.sniffTerminator`).
    var dialect: CSVDialect

    /// Reads the start of `chunker`'s input. Without a header the first CSV record is data: it is
    /// put back in front of the stream after being read here.
    static func read(_ chunker: Chunker, format: InputFormat, dialect given: CSVDialect, inputName: String) throws -> InputStart {
        let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
        switch format {
        case .jsonl:
            let header = try chunker.peek(minimum: 3).bytes.starts(with: bom) ? try chunker.takePrefix(count: 3) : []
            return InputStart(firstRecord: header, bomLength: header.count, dialect: given)
        case .csv:
            let dialect = try sniffDialect(given, chunker: chunker)
            let bomLength = try chunker.peek(minimum: 3).bytes.starts(with: bom) ? 3 : 0
            // The first record: the header, or (with --no-header) the record that fixes the column count.
            guard let first = try chunker.takeFirstRecord(skipping: bomLength), first.count > bomLength || dialect.hasHeader else {
                throw JobFailure.data(DataError(kind: .wrongFieldCount, detail: "the input is empty; expected a header", input: inputName, record: 0, byteOffset: 0))
            }
            if !dialect.hasHeader { chunker.pushBack(Array(first[bomLength...])) }
            return InputStart(firstRecord: first, bomLength: bomLength, dialect: dialect)
        case .pgtext, .mysql:
            // Database text exports: framed by their escapes (the chunker's framing), no BOM.
            guard let first = try chunker.takeFirstRecord(skipping: 0), !first.isEmpty || given.hasHeader else {
                throw JobFailure.data(DataError(kind: .wrongFieldCount, detail: "the input is empty; expected a header", input: inputName, record: 0, byteOffset: 0))
            }
            if !given.hasHeader { chunker.pushBack(first) }
            return InputStart(firstRecord: first, bomLength: 0, dialect: given)
        }
    }

    /// `dialect` with the input's line end, read from its first bytes (see `sniffTerminator`),
    /// and the chunker set to frame by it.
    static func sniffDialect(_ dialect: CSVDialect, chunker: Chunker) throws -> CSVDialect {
        var sniffed = dialect
        var wanted = 64 * 1024
        while true {
            let (bytes, ended) = try chunker.peek(minimum: wanted)
            if let terminator = bytes.withUnsafeBytes({ dialect.sniffTerminator($0, endOfInput: ended || bytes.count >= 1 << 20) }) {
                sniffed.terminator = terminator
                break
            }
            wanted = bytes.count * 2
        }
        chunker.reframe(.csv(sniffed))
        return sniffed
    }
}
