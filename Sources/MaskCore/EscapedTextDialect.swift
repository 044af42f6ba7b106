#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The text exports databases write: PostgreSQL `COPY … TO STDOUT` (text format) and MySQL /
/// MariaDB `SELECT … INTO OUTFILE` and `mariadb --batch`.
///
/// Unlike CSV, these escape with a backslash: the byte after an escape character is always data,
/// even a delimiter or a line end (`a\<TAB>b`, `line1\<LF>line2`, as MySQL writes them), and
/// letter escapes stand for control bytes (`\t`, `\n`). NULL is a spelling of its own (`\N`, not
/// an escape of `N`), never an empty value. So a value is decoded before anything looks at it
/// (detectors see `col1<TAB>415-555-0104`, not `col1\t415…`), and a replacement is encoded back
/// the same way; a field no rule changes keeps its original bytes.
///
/// MySQL's CSV variants are this dialect with an enclosing quote: `ENCLOSED BY '"' ESCAPED BY
/// '\\'` (quotes inside escaped as `\"`), and Cloud SQL's `ESCAPED BY '"'`, where the escape is
/// the quote itself (only `""` is an escape, as LOAD DATA reads it) and NULL is written `"N`.
public struct EscapedTextDialect: Sendable, Equatable {
    /// Whose escape table applies.
    /// Whether `record` is PostgreSQL's end-of-data marker: a line of just `\.`, which
    /// pg_dump writes after each table's COPY data and `COPY FROM` reads as the end. It is no
    /// record (a one-column value `.` is written `.`), so it is passed through as it came.
    public func isEndOfDataMarker(_ record: CSVRecordSpan, in chunk: UnsafeRawBufferPointer) -> Bool {
        flavor == .postgres && record.contentEnd - record.start == 2
            && chunk[record.start] == Self.backslash && chunk[record.start + 1] == UInt8(ascii: ".")
    }

    public enum Flavor: String, Sendable {
        /// PostgreSQL COPY text: `\b \f \n \r \t \v \\`, octal `\NNN`, hex `\xHH`; CRLF line ends read as LF.
        case postgres
        /// MySQL / MariaDB: `\0 \b \n \r \t \Z \\`; only LF ends a line (a CR before it is data).
        case mysql
    }

    public static let backslash: UInt8 = 0x5C
    public static let quote: UInt8 = 0x22

    public var flavor: Flavor
    public var delimiter: UInt8
    public var hasHeader: Bool
    /// `\`, or `"` (MySQL `ESCAPED BY '"'`, which needs `enclose == "`).
    public var escape: UInt8
    /// MySQL `ENCLOSED BY` (`"`): a field that starts with it runs to its closing partner.
    public var enclose: UInt8?
    /// A further spelling of NULL besides `\N` (`NULL` for `mariadb --batch`, PostgreSQL's
    /// `COPY … WITH (NULL '…')`), compared with the raw, unenclosed field.
    public var nullString: [UInt8]?

    public init(
        flavor: Flavor, delimiter: UInt8 = 0x09, hasHeader: Bool = false, escape: UInt8 = Self.backslash, enclose: UInt8? = nil,
        nullString: [UInt8]? = nil
    ) {
        self.flavor = flavor
        self.delimiter = delimiter
        self.hasHeader = hasHeader
        self.escape = escape
        self.enclose = enclose
        self.nullString = nullString
    }

    /// What the `null` policy writes: the declared null string, else the escape and `N`.
    public var nullToken: [UInt8] { nullString ?? [escape, UInt8(ascii: "N")] }

    /// True when the unenclosed raw field is this format's NULL.
    @inlinable
    public func isNull(_ raw: UnsafeRawBufferPointer) -> Bool {
        if raw.count == 2 && raw[0] == escape && raw[1] == UInt8(ascii: "N") { return true }
        guard let nullString, raw.count == nullString.count else { return false }
        return nullString.withUnsafeBytes { memcmp($0.baseAddress!, raw.baseAddress!, raw.count) == 0 }
    }

    // MARK: Values

    /// The value a field's raw bytes (quotes excluded) stand for, into `output` (cleared first).
    public func decode(_ raw: UnsafeRawBufferPointer, enclosed: Bool, into output: inout [UInt8]) {
        var none: [Int] = []
        decode(raw, enclosed: enclosed, into: &output, offsets: &none, recordingOffsets: false)
    }

    /// `decode`, and where each decoded byte came from: decoded bytes `a..<b` were written as raw
    /// bytes `offsets[a]..<offsets[b]` (`offsets` has one entry more than `output`), so a splice
    /// into the decoded value can keep every raw byte around it as it was.
    public func decode(_ raw: UnsafeRawBufferPointer, enclosed: Bool, into output: inout [UInt8], offsets: inout [Int]) {
        decode(raw, enclosed: enclosed, into: &output, offsets: &offsets, recordingOffsets: true)
    }

    private func decode(_ raw: UnsafeRawBufferPointer, enclosed: Bool, into output: inout [UInt8], offsets: inout [Int], recordingOffsets: Bool) {
        output.removeAll(keepingCapacity: true)
        offsets.removeAll(keepingCapacity: true)
        defer { if recordingOffsets { offsets.append(raw.count) } }
        let count = raw.count
        var index = 0
        if escape == enclose {
            // `ESCAPED BY '"'`: LOAD DATA takes only a doubled quote as an escape.
            while index < count {
                let byte = raw[index]
                if recordingOffsets { offsets.append(index) }
                output.append(byte)
                index += enclosed && byte == escape && index + 1 < count && raw[index + 1] == escape ? 2 : 1
            }
            return
        }
        while index < count {
            // Every pass writes exactly one decoded byte, from the raw bytes starting here.
            if recordingOffsets { offsets.append(index) }
            let byte = raw[index]
            if let enclose, enclosed, byte == enclose, index + 1 < count, raw[index + 1] == enclose {
                output.append(enclose)
                index += 2
                continue
            }
            guard byte == escape, index + 1 < count else {
                output.append(byte)
                index += 1
                continue
            }
            let next = raw[index + 1]
            index += 2
            switch flavor {
            case .postgres:
                switch next {
                case UInt8(ascii: "b"): output.append(0x08)
                case UInt8(ascii: "f"): output.append(0x0C)
                case UInt8(ascii: "n"): output.append(0x0A)
                case UInt8(ascii: "r"): output.append(0x0D)
                case UInt8(ascii: "t"): output.append(0x09)
                case UInt8(ascii: "v"): output.append(0x0B)
                case UInt8(ascii: "0")...UInt8(ascii: "7"):
                    // `\NNN`: one to three octal digits (the byte is their value modulo 256, as PostgreSQL reads it).
                    var value = Int(next - 0x30)
                    var digits = 1
                    while digits < 3 && index < count && raw[index] >= 0x30 && raw[index] <= 0x37 {
                        value = value * 8 + Int(raw[index] - 0x30)
                        index += 1
                        digits += 1
                    }
                    output.append(UInt8(truncatingIfNeeded: value))
                case UInt8(ascii: "x") where index < count && Self.hexValue(raw[index]) != nil:
                    // `\xHH`: one or two hex digits.
                    var value = Self.hexValue(raw[index])!
                    index += 1
                    if index < count, let low = Self.hexValue(raw[index]) {
                        value = value * 16 + low
                        index += 1
                    }
                    output.append(value)
                default: output.append(next)
                }
            case .mysql:
                switch next {
                case UInt8(ascii: "0"): output.append(0x00)
                case UInt8(ascii: "b"): output.append(0x08)
                case UInt8(ascii: "n"): output.append(0x0A)
                case UInt8(ascii: "r"): output.append(0x0D)
                case UInt8(ascii: "t"): output.append(0x09)
                case UInt8(ascii: "Z"): output.append(0x1A)
                default: output.append(next)
                }
            }
        }
        // A lone escape at the very end stands for itself.
    }

    @inline(__always)
    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: return byte - 0x30
        case 0x41...0x46: return byte - 0x41 + 10
        case 0x61...0x66: return byte - 0x61 + 10
        default: return nil
        }
    }

    /// The escape sequence for `byte` in a written value, or `nil` when it is written as it is.
    @inline(__always)
    func escaped(_ byte: UInt8, enclosed: Bool) -> UInt8? {
        if byte == escape { return escape }
        if enclosed, let enclose, byte == enclose { return enclose }
        switch byte {
        case 0x0A: return UInt8(ascii: "n")
        case 0x0D: return UInt8(ascii: "r")
        case 0x09: return UInt8(ascii: "t")
        default: break
        }
        if byte == delimiter { return delimiter }
        if let enclose, !enclosed, byte == enclose { return enclose }
        switch flavor {
        case .postgres:
            switch byte {
            case 0x08: return UInt8(ascii: "b")
            case 0x0C: return UInt8(ascii: "f")
            case 0x0B: return UInt8(ascii: "v")
            default: return nil
            }
        case .mysql:
            switch byte {
            case 0x00: return UInt8(ascii: "0")
            case 0x1A: return UInt8(ascii: "Z")
            default: return nil
            }
        }
    }

    /// Appends `value` encoded as one field: escapes where the format needs them, enclosed when
    /// the original field was. Letter escapes (`\n`, `\t`) are used for control bytes: PostgreSQL,
    /// LOAD DATA and `mariadb` all read them.
    public func appendField(_ value: UnsafeRawBufferPointer, enclosed: Bool, to output: inout OutputBytes) {
        // Hashes and tokens need no escape: no array on the hot path for them.
        if escape != enclose && !value.contains(where: { escaped($0, enclosed: enclosed) != nil }) {
            if enclosed, let enclose { output.append(enclose) }
            output.append(value)
            if enclosed, let enclose { output.append(enclose) }
            return
        }
        var encoded: [UInt8] = []
        appendField(value, enclosed: enclosed, to: &encoded)
        output.append(contentsOf: encoded)
    }

    /// Appends `value` escaped for the inside of a field (no enclosing quotes added): what a
    /// replacement spliced into an escaped value needs.
    public func appendEscaped(_ value: UnsafeRawBufferPointer, enclosed: Bool, to output: inout [UInt8]) {
        if let enclose, escape == enclose {
            for byte in value {
                output.append(byte)
                if enclosed && byte == enclose { output.append(enclose) }
            }
            return
        }
        for byte in value {
            if let letter = escaped(byte, enclosed: enclosed) {
                output.append(escape)
                output.append(letter)
            } else {
                output.append(byte)
            }
        }
    }

    /// `appendField` into an array (rejects).
    public func appendField(_ value: UnsafeRawBufferPointer, enclosed: Bool, to output: inout [UInt8]) {
        if let enclose, escape == enclose {
            // `ESCAPED BY '"'`: CSV-style, the only escape LOAD DATA reads there is a doubled quote.
            let needsEnclosing = enclosed || value.contains { $0 == delimiter || $0 == 0x0A || $0 == 0x0D || $0 == enclose }
            if needsEnclosing { output.append(enclose) }
            for byte in value {
                output.append(byte)
                if needsEnclosing && byte == enclose { output.append(enclose) }
            }
            if needsEnclosing { output.append(enclose) }
            return
        }
        if enclosed, let enclose { output.append(enclose) }
        appendEscaped(value, enclosed: enclosed, to: &output)
        if enclosed, let enclose { output.append(enclose) }
    }

    // MARK: Records

    /// Splits the record that starts at `start` into `fields` (cleared first). For each field
    /// `quoted` means enclosed, and `hasEscapedQuotes` that it holds escapes and must be decoded.
    /// - Parameter endOfInput: whether `buffer` ends the input; when not, a record that reaches
    ///   the buffer's end is incomplete.
    /// - Returns: the record's extent, or `nil` when it is incomplete.
    public func nextRecord(
        in buffer: UnsafeRawBufferPointer, from start: Int, fields: inout [CSVField], endOfInput: Bool = true
    ) -> CSVRecordSpan? {
        fields.removeAll(keepingCapacity: true)
        let count = buffer.count
        guard let base = buffer.baseAddress?.assumingMemoryBound(to: UInt8.self), start < count else {
            return endOfInput ? CSVRecordSpan(start: start, contentEnd: start, end: start, problem: nil) : nil
        }
        return enclose == nil
            ? plainRecord(base, count: count, start: start, fields: &fields, endOfInput: endOfInput)
            : enclosedRecord(base, count: count, start: start, fields: &fields, endOfInput: endOfInput)
    }

    /// The record end (just past its LF), without fields: what the framer needs.
    @inline(__always)
    private func lineEnd(_ base: UnsafePointer<UInt8>, contentEnd fieldEnd: Int, escapedUpTo: Int) -> Int {
        // PostgreSQL reads CRLF as a line end; a CR that is itself escaped (`\<CR>`) is data.
        if flavor == .postgres && fieldEnd > 0 && base[fieldEnd - 1] == 0x0D && escapedUpTo != fieldEnd { return fieldEnd - 1 }
        return fieldEnd
    }

    /// No enclosing: an escape takes the next byte, a delimiter ends a field, an LF the record.
    private func plainRecord(
        _ base: UnsafePointer<UInt8>, count: Int, start: Int, fields: inout [CSVField], endOfInput: Bool
    ) -> CSVRecordSpan? {
        var fieldStart = start
        var position = start
        var needsDecoding = false
        var escapedUpTo = -1
        let delimiter = self.delimiter
        let escape = self.escape
        while true {
            let cursor = Self.firstOf(delimiter, 0x0A, escape, base, from: position, count: count)
            if cursor >= count {
                guard endOfInput else { return nil }
                let fieldEnd = lineEnd(base, contentEnd: count, escapedUpTo: escapedUpTo)
                fields.append(CSVField(start: fieldStart, end: max(fieldStart, fieldEnd), quoted: false, hasEscapedQuotes: needsDecoding))
                return CSVRecordSpan(start: start, contentEnd: max(fieldStart, fieldEnd), end: count, problem: nil)
            }
            let byte = base[cursor]
            if byte == escape {
                needsDecoding = true
                position = min(cursor + 2, count)
                escapedUpTo = position
                continue
            }
            if byte == delimiter {
                fields.append(CSVField(start: fieldStart, end: cursor, quoted: false, hasEscapedQuotes: needsDecoding))
                fieldStart = cursor + 1
                position = fieldStart
                needsDecoding = false
                continue
            }
            let fieldEnd = max(fieldStart, lineEnd(base, contentEnd: cursor, escapedUpTo: escapedUpTo))
            fields.append(CSVField(start: fieldStart, end: fieldEnd, quoted: false, hasEscapedQuotes: needsDecoding))
            return CSVRecordSpan(start: start, contentEnd: fieldEnd, end: cursor + 1, problem: nil)
        }
    }

    /// With an enclosing quote (MySQL CSV variants): a field starting with it runs to a quote
    /// followed by a delimiter, a line end or the end of input (line ends inside are data, as
    /// LOAD DATA reads them); a doubled quote is a quote.
    private func enclosedRecord(
        _ base: UnsafePointer<UInt8>, count: Int, start: Int, fields: inout [CSVField], endOfInput: Bool
    ) -> CSVRecordSpan? {
        let enclose = self.enclose!
        let delimiter = self.delimiter
        let escape = self.escape
        let escapes = escape != enclose
        var position = start
        while true {
            if position < count && base[position] == enclose {
                // Cloud SQL's NULL, `"N`, is not an opening quote.
                let after = position + 2
                let isQuoteNull = !escapes && position + 1 < count && base[position + 1] == UInt8(ascii: "N")
                    && (after == count || base[after] == delimiter || base[after] == 0x0A)
                if isQuoteNull && after == count && !endOfInput { return nil }
                if !isQuoteNull {
                    var cursor = position + 1
                    var needsDecoding = false
                    var closing = -1
                    while cursor < count {
                        let byte = base[cursor]
                        if escapes && byte == escape {
                            needsDecoding = true
                            cursor += 2
                            continue
                        }
                        if byte == enclose {
                            if cursor + 1 < count && base[cursor + 1] == enclose {
                                needsDecoding = true
                                cursor += 2
                                continue
                            }
                            let next = cursor + 1
                            if next == count {
                                if !endOfInput { return nil }
                                closing = cursor
                                break
                            }
                            let following = base[next]
                            if following == delimiter || following == 0x0A { closing = cursor; break }
                            if following == 0x0D {
                                if next + 1 == count && !endOfInput { return nil }
                                if next + 1 < count && base[next + 1] == 0x0A { closing = cursor; break }
                            }
                        }
                        cursor += 1
                    }
                    if closing < 0 {
                        guard endOfInput else { return nil }
                        fields.append(CSVField(start: position + 1, end: count, quoted: true, hasEscapedQuotes: needsDecoding))
                        return CSVRecordSpan(start: start, contentEnd: count, end: count, problem: .unterminatedQuote)
                    }
                    fields.append(CSVField(start: position + 1, end: closing, quoted: true, hasEscapedQuotes: needsDecoding))
                    position = closing + 1
                    if position == count { return CSVRecordSpan(start: start, contentEnd: count, end: count, problem: nil) }
                    let byte = base[position]
                    if byte == delimiter { position += 1; continue }
                    if byte == 0x0A { return CSVRecordSpan(start: start, contentEnd: position, end: position + 1, problem: nil) }
                    return CSVRecordSpan(start: start, contentEnd: position, end: position + 2, problem: nil)  // CRLF
                }
            }
            // An unenclosed field.
            var cursor = position
            var needsDecoding = false
            while cursor < count {
                let byte = base[cursor]
                if escapes && byte == escape {
                    needsDecoding = true
                    cursor += 2
                    continue
                }
                if byte == delimiter || byte == 0x0A { break }
                cursor += 1
            }
            if cursor >= count {
                guard endOfInput else { return nil }
                fields.append(CSVField(start: position, end: count, quoted: false, hasEscapedQuotes: needsDecoding))
                return CSVRecordSpan(start: start, contentEnd: count, end: count, problem: nil)
            }
            fields.append(CSVField(start: position, end: cursor, quoted: false, hasEscapedQuotes: needsDecoding))
            if base[cursor] == delimiter {
                position = cursor + 1
                continue
            }
            return CSVRecordSpan(start: start, contentEnd: cursor, end: cursor + 1, problem: nil)
        }
    }

    /// The first of three bytes at or after `position` (or `count`), eight bytes at a time (SWAR,
    /// as `CSVTokenizer.unquotedFieldEnd`).
    @inline(__always)
    static func firstOf(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ base: UnsafePointer<UInt8>, from position: Int, count: Int) -> Int {
        var cursor = position
        let ones: UInt64 = 0x0101_0101_0101_0101
        let high: UInt64 = 0x8080_8080_8080_8080
        let pa = UInt64(a) &* ones
        let pb = UInt64(b) &* ones
        let pc = UInt64(c) &* ones
        while cursor + 8 <= count {
            let word = UInt64(littleEndian: UnsafeRawPointer(base + cursor).loadUnaligned(as: UInt64.self))
            let xa = word ^ pa
            let xb = word ^ pb
            let xc = word ^ pc
            let hits = (((xa &- ones) & ~xa) | ((xb &- ones) & ~xb) | ((xc &- ones) & ~xc)) & high
            if hits != 0 { return cursor + hits.trailingZeroBitCount >> 3 }
            cursor += 8
        }
        while cursor < count {
            let byte = base[cursor]
            if byte == a || byte == b || byte == c { return cursor }
            cursor += 1
        }
        return count
    }
}
