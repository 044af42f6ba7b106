#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One field of a CSV record, as a span of the chunk it was read from.
///
/// Invariant: `start <= end`. For a quoted field the span excludes the surrounding quotes, so
/// the raw bytes are `start - 1 ..< end + 1`.
public struct CSVField: Sendable, Equatable {
    public var start: Int
    public var end: Int
    public var quoted: Bool
    /// The content contains doubled quotes (`""`), so it must be decoded before use.
    public var hasEscapedQuotes: Bool

    @inlinable
    public var rawStart: Int { quoted ? start - 1 : start }
    @inlinable
    public var rawEnd: Int { quoted ? end + 1 : end }
    @inlinable
    public var isEmpty: Bool { start == end }
}

/// Where one record lies in its chunk, and what (if anything) is wrong with it.
public struct CSVRecordSpan: Sendable, Equatable {
    /// First byte of the record.
    public var start: Int
    /// End of the last field: the line terminator (LF or CRLF), if any, follows.
    public var contentEnd: Int
    /// Just past the line terminator; the next record starts here.
    public var end: Int
    /// Set when the record is malformed. Its extent is still exact (see `CSVTokenizer`).
    public var problem: DataError.Kind?

    /// A record made of a line terminator only.
    @inlinable
    public var isBlankLine: Bool { contentEnd == start }
}

/// A CSV tokenizer over a chunk that starts at a record boundary.
///
/// It reads RFC 4180 with the leniency real exports need, by the rules `RecordFramer` shares
/// (so the reader and every worker agree on where records end, whatever the chunk size):
/// - a quote opens a quoted field only at the start of a field; a quote anywhere else in an
///   unquoted field is data (`5" tall`), as Python's `csv`, csv-spectrum and most loaders read it;
/// - a quoted field that closes on anything but a delimiter or a line end, or does not close
///   within `maxRecordSize` bytes of the record's start or before the chunk ends, makes its record
///   malformed, and that record ends at the first line end after the opening quote. The fields
///   after the quote are then split at every delimiter (quotes as data), so a reject still has
///   columns that policies can be applied to.
public struct CSVTokenizer: Sendable {
    public let dialect: CSVDialect
    /// How far a quoted field may reach for its closing quote (see `RecordFramer.limit`).
    public let maxRecordSize: Int

    public init(dialect: CSVDialect, maxRecordSize: Int = Int.max) {
        self.dialect = dialect
        self.maxRecordSize = max(maxRecordSize, 1)
    }

    /// Splits the record that starts at `start` into `fields` (which is cleared first).
    /// - Returns: the record's extent; `problem` is set when it is malformed.
    public func nextRecord(
        in buffer: UnsafeRawBufferPointer, from start: Int, fields: inout [CSVField]
    ) -> CSVRecordSpan {
        fields.removeAll(keepingCapacity: true)
        let count = buffer.count
        guard let base = buffer.baseAddress?.assumingMemoryBound(to: UInt8.self), start < count else {
            return CSVRecordSpan(start: start, contentEnd: start, end: start, problem: nil)
        }
        let quote = CSVDialect.quote
        let terminator = dialect.terminator
        let crlf = terminator == CSVDialect.lineFeed
        let carriageReturn = CSVDialect.carriageReturn
        let delimiter = dialect.delimiter
        let limit = RecordFramer.limit(recordStart: start, maxRecordSize: maxRecordSize, count: count)
        var position = start
        while true {
            if position < count && base[position] == quote {
                let open = position
                var cursor = position + 1
                var escaped = false
                var closing: Int?
                while cursor < limit, let found = memchr(base + cursor, Int32(quote), limit - cursor) {
                    let at = UnsafeRawPointer(found) - UnsafeRawPointer(base)
                    if at + 1 < count && base[at + 1] == quote {
                        escaped = true
                        cursor = at + 2
                        continue
                    }
                    closing = at
                    break
                }
                guard let closing else {
                    return recover(base: base, count: count, start: start, open: open, fields: &fields, problem: .unterminatedQuote)
                }
                fields.append(CSVField(start: open + 1, end: closing, quoted: true, hasEscapedQuotes: escaped))
                position = closing + 1
                if position >= count {
                    return CSVRecordSpan(start: start, contentEnd: count, end: count, problem: nil)
                }
                let next = base[position]
                if next == delimiter {
                    position += 1
                    continue
                }
                if next == terminator {
                    return CSVRecordSpan(start: start, contentEnd: position, end: position + 1, problem: nil)
                }
                if crlf && next == carriageReturn {
                    if position + 1 < count && base[position + 1] == CSVDialect.lineFeed {
                        return CSVRecordSpan(start: start, contentEnd: position, end: position + 2, problem: nil)
                    }
                    if position + 1 == count {
                        return CSVRecordSpan(start: start, contentEnd: position, end: count, problem: nil)
                    }
                }
                fields.removeLast()
                return recover(base: base, count: count, start: start, open: open, fields: &fields, problem: .characterAfterClosingQuote)
            }
            let cursor = Self.unquotedFieldEnd(base: base, count: count, from: position, delimiter: delimiter, terminator: terminator)
            if cursor == count {
                var fieldEnd = count
                if crlf && fieldEnd > position && base[fieldEnd - 1] == carriageReturn { fieldEnd -= 1 }
                fields.append(CSVField(start: position, end: fieldEnd, quoted: false, hasEscapedQuotes: false))
                return CSVRecordSpan(start: start, contentEnd: fieldEnd, end: count, problem: nil)
            }
            if base[cursor] == terminator {
                let fieldEnd = crlf && cursor > position && base[cursor - 1] == carriageReturn ? cursor - 1 : cursor
                fields.append(CSVField(start: position, end: fieldEnd, quoted: false, hasEscapedQuotes: false))
                return CSVRecordSpan(start: start, contentEnd: fieldEnd, end: cursor + 1, problem: nil)
            }
            fields.append(CSVField(start: position, end: cursor, quoted: false, hasEscapedQuotes: false))
            position = cursor + 1
        }
    }

    /// The first delimiter or line end at or after `position` (or `count`). Quotes are data here.
    ///
    /// Eight bytes at a time (SWAR: a byte equal to c makes x ^ c*0x0101.. zero there, and the
    /// lowest flag of `(v - 0x0101..) & ~v & 0x8080..` is exact, so the lowest flag of the union
    /// is the first byte to look at).
    @inline(__always)
    static func unquotedFieldEnd(base: UnsafePointer<UInt8>, count: Int, from position: Int, delimiter: UInt8, terminator: UInt8) -> Int {
        var cursor = position
        let delimiters = UInt64(delimiter) &* 0x0101_0101_0101_0101
        let terminators = UInt64(terminator) &* 0x0101_0101_0101_0101
        while cursor + 8 <= count {
            let word = UInt64(littleEndian: UnsafeRawPointer(base + cursor).loadUnaligned(as: UInt64.self))
            let atDelimiter = word ^ delimiters
            let atTerminator = word ^ terminators
            let hits = (((atDelimiter &- 0x0101_0101_0101_0101) & ~atDelimiter)
                | ((atTerminator &- 0x0101_0101_0101_0101) & ~atTerminator)) & 0x8080_8080_8080_8080
            if hits != 0 {
                return cursor + hits.trailingZeroBitCount >> 3
            }
            cursor += 8
        }
        while cursor < count {
            let byte = base[cursor]
            if byte == delimiter || byte == terminator { return cursor }
            cursor += 1
        }
        return count
    }

    /// The first quote after `open` that is not doubled, before `end`.
    private func closingQuote(base: UnsafePointer<UInt8>, after open: Int, before end: Int) -> Int? {
        var cursor = open + 1
        while cursor < end {
            if base[cursor] == CSVDialect.quote {
                if cursor + 1 < end && base[cursor + 1] == CSVDialect.quote { cursor += 2; continue }
                return cursor
            }
            cursor += 1
        }
        return nil
    }

    /// A record whose quoted field at `open` did not close properly: it ends at the first line
    /// end after `open`; from `open` on, fields are split at every delimiter with quotes as data.
    private func recover(
        base: UnsafePointer<UInt8>, count: Int, start: Int, open: Int, fields: inout [CSVField], problem: DataError.Kind
    ) -> CSVRecordSpan {
        let terminator = dialect.terminator
        let crlf = terminator == CSVDialect.lineFeed
        var end = count
        var contentEnd = count
        if open + 1 < count, let found = memchr(base + open + 1, Int32(terminator), count - open - 1) {
            let at = UnsafeRawPointer(found) - UnsafeRawPointer(base)
            end = at + 1
            contentEnd = at
        }
        // A closing quote past the record's end is not seen by a chunk cut there: name the
        // problem by what lies within the record, so every chunking reports the same.
        var problem = problem
        if problem == .characterAfterClosingQuote, closingQuote(base: base, after: open, before: end).map({ $0 >= contentEnd }) ?? true {
            problem = .unterminatedQuote
        }
        if crlf && contentEnd > open && base[contentEnd - 1] == CSVDialect.carriageReturn { contentEnd -= 1 }
        var position = open
        while true {
            var cursor = position
            while cursor < contentEnd && base[cursor] != dialect.delimiter { cursor += 1 }
            fields.append(CSVField(start: position, end: cursor, quoted: false, hasEscapedQuotes: false))
            if cursor >= contentEnd { break }
            position = cursor + 1
        }
        return CSVRecordSpan(start: start, contentEnd: contentEnd, end: end, problem: problem)
    }

    /// Decodes a field's value: the content without quotes and with `""` turned into `"`.
    /// The fast path (no escaped quotes) returns the span itself without copying.
    @inlinable
    public func withDecodedValue<R>(
        of field: CSVField, in buffer: UnsafeRawBufferPointer, scratch: inout [UInt8],
        _ body: (UnsafeRawBufferPointer) throws -> R
    ) rethrows -> R {
        let content = UnsafeRawBufferPointer(rebasing: buffer[field.start..<field.end])
        guard field.hasEscapedQuotes else { return try body(content) }
        scratch.removeAll(keepingCapacity: true)
        var index = 0
        while index < content.count {
            let byte = content[index]
            scratch.append(byte)
            index += byte == CSVDialect.quote ? 2 : 1
        }
        return try scratch.withUnsafeBytes { try body($0) }
    }
}
