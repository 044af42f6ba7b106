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

/// A strict RFC 4180 tokenizer over a chunk that starts at a record boundary.
///
/// Record extents follow one rule shared with `RecordBoundary`: a record ends at the first LF
/// outside quotes, counting every quote byte as a toggle. For well-formed CSV that is exactly
/// RFC 4180; for malformed CSV (a stray quote) it still gives every worker, whatever its chunk,
/// the same record boundaries, which keeps output independent of chunk size and thread count.
public struct CSVTokenizer: Sendable {
    public let dialect: CSVDialect

    public init(dialect: CSVDialect) {
        self.dialect = dialect
    }

    /// Splits the record that starts at `start` into `fields` (which is cleared first).
    /// - Returns: the record's extent; `problem` is set when it is not valid RFC 4180.
    public func nextRecord(
        in buffer: UnsafeRawBufferPointer, from start: Int, fields: inout [CSVField]
    ) -> CSVRecordSpan {
        fields.removeAll(keepingCapacity: true)
        let count = buffer.count
        guard let base = buffer.baseAddress?.assumingMemoryBound(to: UInt8.self), start < count else {
            return CSVRecordSpan(start: start, contentEnd: start, end: start, problem: nil)
        }
        let quote = CSVDialect.quote
        let lineFeed = CSVDialect.lineFeed
        let carriageReturn = CSVDialect.carriageReturn
        let delimiter = dialect.delimiter
        var position = start
        while true {
            if position < count && base[position] == quote {
                var cursor = position + 1
                var escaped = false
                while true {
                    guard let found = memchr(base + cursor, Int32(quote), count - cursor) else {
                        fields.append(CSVField(start: position + 1, end: count, quoted: true, hasEscapedQuotes: escaped))
                        return CSVRecordSpan(start: start, contentEnd: count, end: count, problem: .unterminatedQuote)
                    }
                    cursor = UnsafeRawPointer(found) - UnsafeRawPointer(base)
                    if cursor + 1 < count && base[cursor + 1] == quote {
                        escaped = true
                        cursor += 2
                        continue
                    }
                    break
                }
                fields.append(CSVField(start: position + 1, end: cursor, quoted: true, hasEscapedQuotes: escaped))
                position = cursor + 1
                if position >= count {
                    return CSVRecordSpan(start: start, contentEnd: count, end: count, problem: nil)
                }
                let next = base[position]
                if next == delimiter {
                    position += 1
                    continue
                }
                if next == lineFeed {
                    return CSVRecordSpan(start: start, contentEnd: position, end: position + 1, problem: nil)
                }
                if next == carriageReturn {
                    if position + 1 < count && base[position + 1] == lineFeed {
                        return CSVRecordSpan(start: start, contentEnd: position, end: position + 2, problem: nil)
                    }
                    if position + 1 == count {
                        return CSVRecordSpan(start: start, contentEnd: position, end: count, problem: nil)
                    }
                }
                return recover(base: base, count: count, start: start, from: position, inQuotes: false,
                               problem: .characterAfterClosingQuote)
            }
            var cursor = position
            // Eight bytes at a time to the first delimiter, line feed or quote (SWAR: a byte equal
            // to c makes x ^ c*0x0101.. zero there, and the lowest flag of
            // `(v - 0x0101..) & ~v & 0x8080..` is exact, so the lowest flag of the union is the
            // first byte to look at).
            let delimiters = UInt64(delimiter) &* 0x0101_0101_0101_0101
            while cursor + 8 <= count {
                let word = UInt64(littleEndian: UnsafeRawPointer(base + cursor).loadUnaligned(as: UInt64.self))
                let atDelimiter = word ^ delimiters
                let atLineFeed = word ^ 0x0A0A_0A0A_0A0A_0A0A
                let atQuote = word ^ 0x2222_2222_2222_2222
                let hits = (((atDelimiter &- 0x0101_0101_0101_0101) & ~atDelimiter)
                    | ((atLineFeed &- 0x0101_0101_0101_0101) & ~atLineFeed)
                    | ((atQuote &- 0x0101_0101_0101_0101) & ~atQuote)) & 0x8080_8080_8080_8080
                if hits != 0 {
                    cursor += hits.trailingZeroBitCount >> 3
                    break
                }
                cursor += 8
            }
            while cursor < count {
                let byte = base[cursor]
                if byte == delimiter || byte == lineFeed { break }
                if byte == quote {
                    return recover(base: base, count: count, start: start, from: cursor, inQuotes: false,
                                   problem: .quoteInUnquotedField)
                }
                cursor += 1
            }
            if cursor == count {
                var fieldEnd = count
                if fieldEnd > position && base[fieldEnd - 1] == carriageReturn { fieldEnd -= 1 }
                fields.append(CSVField(start: position, end: fieldEnd, quoted: false, hasEscapedQuotes: false))
                return CSVRecordSpan(start: start, contentEnd: fieldEnd, end: count, problem: nil)
            }
            if base[cursor] == lineFeed {
                let fieldEnd = cursor > position && base[cursor - 1] == carriageReturn ? cursor - 1 : cursor
                fields.append(CSVField(start: position, end: fieldEnd, quoted: false, hasEscapedQuotes: false))
                return CSVRecordSpan(start: start, contentEnd: fieldEnd, end: cursor + 1, problem: nil)
            }
            fields.append(CSVField(start: position, end: cursor, quoted: false, hasEscapedQuotes: false))
            position = cursor + 1
        }
    }

    /// Finds the end of a malformed record with the shared parity rule.
    private func recover(
        base: UnsafePointer<UInt8>, count: Int, start: Int, from position: Int, inQuotes: Bool,
        problem: DataError.Kind
    ) -> CSVRecordSpan {
        var inside = inQuotes
        var cursor = position
        while cursor < count {
            let byte = base[cursor]
            if byte == CSVDialect.quote {
                inside.toggle()
            } else if byte == CSVDialect.lineFeed && !inside {
                let contentEnd = cursor > start && base[cursor - 1] == CSVDialect.carriageReturn ? cursor - 1 : cursor
                return CSVRecordSpan(start: start, contentEnd: contentEnd, end: cursor + 1, problem: problem)
            }
            cursor += 1
        }
        return CSVRecordSpan(start: start, contentEnd: count, end: count, problem: inside ? .unterminatedQuote : problem)
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
