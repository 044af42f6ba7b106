#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How a stream is cut into record-aligned chunks, so that each chunk can be masked alone.
public enum RecordFraming: Sendable, Equatable {
    /// CSV as `CSVTokenizer` reads it (see there): a quote opens a quoted field only at the start
    /// of a field, and a quoted stretch that does not close properly ends at the first line end.
    case csv(CSVDialect)
    /// One record per LF-terminated line (JSONL / NDJSON).
    case lines
    /// PostgreSQL COPY text and MySQL exports (`EscapedTextDialect`): an LF ends a record unless
    /// it is escaped (inside an enclosed field, as LOAD DATA reads it, it is data too).
    case escapedText(EscapedTextDialect)

    /// The offset just past the last complete record in `buffer`, which must start at a record
    /// boundary; `nil` when the buffer holds no complete record yet. A one-shot `RecordFramer`:
    /// callers that grow a buffer should keep a framer instead, which never rescans.
    public func lastBoundary(in buffer: UnsafeRawBufferPointer, maxRecordSize: Int = Int.max) -> Int? {
        var framer = RecordFramer(framing: self, maxRecordSize: maxRecordSize)
        return framer.advance(over: buffer, endOfInput: false)
    }
}

/// Finds record boundaries in a growing buffer, resuming where the previous call stopped, so that
/// framing costs the same per byte whatever the record size (a 200 MB record is scanned once, not
/// once per read).
///
/// The CSV rules are exactly `CSVTokenizer`'s, so every worker, whatever its chunk, sees the
/// records the reader cut:
/// - a quote opens a quoted field only at the start of a field (after a delimiter, a line end or
///   at the start of a record); anywhere else it is data (`5" tall`), as Python's `csv`,
///   csv-spectrum and most loaders read it;
/// - a quoted field closes at a quote that is not doubled and is followed by a delimiter, a line
///   end or the end of input;
/// - a quoted field that closes on anything else, does not close within `maxRecordSize` bytes of
///   its record's start, or not before the end of input, was a stray quote: its record ends at
///   the first line end after the quote, and the next record starts there. So one malformed
///   record never takes the following ones with it.
///
/// The search hops from quote to quote with `memchr` and finds line ends with `memrchr` over the
/// unquoted stretches in between: it runs at memory speed on the serial reader thread.
public struct RecordFramer: Sendable {
    public let framing: RecordFraming
    public let maxRecordSize: Int
    /// Stop at the first boundary instead of the last (the CSV header is taken alone).
    public let stopsAtFirstBoundary: Bool

    private enum State: Sendable {
        /// Outside quotes; nothing before `position` needs another look.
        case outside
        /// Inside the quoted field opened at `open`; quotes before `cursor` are accounted for.
        case quoted(open: Int, cursor: Int)
        /// Recovering from the stray quote at `open`: looking for the line end from `cursor`.
        case recovering(open: Int, cursor: Int)
    }

    private var state = State.outside
    /// Fields of the record being framed (enclosed escaped text only), kept for their storage.
    private var fields: [CSVField] = []
    private var position = 0
    /// Start of the record being scanned: the last boundary found (0 is the buffer's start).
    private var recordStart = 0

    public init(framing: RecordFraming, maxRecordSize: Int, stopsAtFirstBoundary: Bool = false) {
        self.framing = framing
        self.maxRecordSize = max(maxRecordSize, 1)
        self.stopsAtFirstBoundary = stopsAtFirstBoundary
    }

    /// The buffer lost its first `count` bytes (a chunk was cut off at a boundary at or before
    /// the last one reported).
    public mutating func dropFirst(_ count: Int) {
        position -= count
        recordStart -= count
        switch state {
        case .outside: break
        case .quoted(let open, let cursor): state = .quoted(open: open - count, cursor: cursor - count)
        case .recovering(let open, let cursor): state = .recovering(open: open - count, cursor: cursor - count)
        }
    }

    /// Scans the bytes of `buffer` not seen before (the buffer holds everything since the last
    /// `dropFirst`, and more).
    /// - Returns: the last record boundary in `buffer` (> 0), or `nil` if none is known yet.
    public mutating func advance(over buffer: UnsafeRawBufferPointer, endOfInput: Bool) -> Int? {
        guard let base = buffer.baseAddress?.assumingMemoryBound(to: UInt8.self), buffer.count > 0 else { return nil }
        let count = buffer.count
        switch framing {
        case .lines:
            if recordStart > 0 && stopsAtFirstBoundary { break }
            if position < count, let found = find(CSVDialect.lineFeed, base, from: position, to: count) {
                recordStart = found + 1
            }
            position = count
        case .csv(let dialect):
            if recordStart > 0 && stopsAtFirstBoundary { break }
            scanCSV(base, count: count, dialect: dialect, endOfInput: endOfInput)
        case .escapedText(let dialect):
            if recordStart > 0 && stopsAtFirstBoundary { break }
            if dialect.enclose == nil {
                scanEscapedLines(base, count: count, escape: dialect.escape)
            } else {
                // A record is scanned from its start until it is complete: the buffer grows
                // geometrically, so a long record costs a few scans, not one per read.
                while recordStart < count,
                    let record = dialect.nextRecord(
                        in: UnsafeRawBufferPointer(start: base, count: count), from: recordStart, fields: &fields, endOfInput: endOfInput),
                    record.end > recordStart
                {
                    recordStart = record.end
                    if stopsAtFirstBoundary { break }
                }
                position = count
            }
        }
        return recordStart > 0 ? recordStart : nil
    }

    private mutating func scanCSV(_ base: UnsafePointer<UInt8>, count: Int, dialect: CSVDialect, endOfInput: Bool) {
        let quote = Int32(CSVDialect.quote)
        let terminator = dialect.terminator
        let delimiter = dialect.delimiter
        let crlf = terminator == CSVDialect.lineFeed
        func offset(_ pointer: UnsafeMutableRawPointer) -> Int { UnsafeRawPointer(pointer) - UnsafeRawPointer(base) }
        while true {
            switch state {
            case .outside:
                let found = position < count ? memchr(base + position, quote, count - position).map(offset) : nil
                let stretchEnd = found ?? count
                if stretchEnd > position, let end = find(terminator, base, from: position, to: stretchEnd) {
                    recordStart = end + 1
                    if stopsAtFirstBoundary { return }
                }
                guard let open = found else {
                    position = count
                    return
                }
                let atFieldStart = open == recordStart || base[open - 1] == delimiter || base[open - 1] == terminator
                if atFieldStart {
                    state = .quoted(open: open, cursor: open + 1)
                } else {
                    position = open + 1
                }
            case .quoted(let open, var cursor):
                let limit = Self.limit(recordStart: recordStart, maxRecordSize: maxRecordSize, count: count)
                var closing: Int?
                while cursor < limit, let found = memchr(base + cursor, quote, limit - cursor) {
                    let at = offset(found)
                    if at + 1 == count && !endOfInput {
                        // A doubled quote or a closing one: the next byte decides.
                        state = .quoted(open: open, cursor: at)
                        return
                    }
                    if at + 1 < count && base[at + 1] == CSVDialect.quote {
                        cursor = at + 2
                        continue
                    }
                    closing = at
                    break
                }
                guard let closing else {
                    if count - recordStart < maxRecordSize && !endOfInput {
                        state = .quoted(open: open, cursor: max(cursor, open + 1))
                        return
                    }
                    state = .recovering(open: open, cursor: open + 1)
                    continue
                }
                let after = closing + 1
                if after == count {
                    // Only at the end of input (checked above): a proper close.
                    position = count
                    state = .outside
                    return
                }
                let next = base[after]
                if next == delimiter || next == terminator {
                    position = after
                    state = .outside
                } else if crlf && next == CSVDialect.carriageReturn {
                    if after + 1 < count {
                        if base[after + 1] == CSVDialect.lineFeed {
                            position = after
                            state = .outside
                        } else {
                            state = .recovering(open: open, cursor: open + 1)
                        }
                    } else if endOfInput {
                        position = count
                        state = .outside
                        return
                    } else {
                        state = .quoted(open: open, cursor: closing)
                        return
                    }
                } else {
                    state = .recovering(open: open, cursor: open + 1)
                }
            case .recovering(let open, let cursor):
                guard cursor < count, let end = memchr(base + cursor, Int32(terminator), count - cursor) else {
                    state = .recovering(open: open, cursor: max(cursor, count))
                    position = max(position, count)
                    if endOfInput { state = .outside }
                    return
                }
                recordStart = offset(end) + 1
                position = recordStart
                state = .outside
                if stopsAtFirstBoundary { return }
            }
        }
    }

    /// Record ends of backslash-escaped text: each LF, unless an odd run of escapes precedes it.
    /// Runs never cross a record boundary (the LF ending one is unescaped), so counting back from
    /// an LF to the record's start is exact; `memchr` does the rest.
    private mutating func scanEscapedLines(_ base: UnsafePointer<UInt8>, count: Int, escape: UInt8) {
        if !stopsAtFirstBoundary {
            // Only the last boundary matters: search back from the end, one look per chunk.
            var end = count
            while end > position, let at = Self.lastIndex(of: 0x0A, base, from: position, to: end) {
                var run = 0
                while at - run - 1 >= recordStart && base[at - run - 1] == escape { run += 1 }
                if run % 2 == 0 {
                    recordStart = at + 1
                    break
                }
                end = at
            }
            position = count
            return
        }
        while position < count, let found = memchr(base + position, 0x0A, count - position) {
            let at = UnsafeRawPointer(found) - UnsafeRawPointer(base)
            var run = 0
            while at - run - 1 >= recordStart && base[at - run - 1] == escape { run += 1 }
            position = at + 1
            if run % 2 == 0 {
                recordStart = at + 1
                if stopsAtFirstBoundary { return }
            }
        }
        position = count
    }

    /// The first (`stopsAtFirstBoundary`) or last `byte` in `from..<to`.
    @inline(__always)
    private func find(_ byte: UInt8, _ base: UnsafePointer<UInt8>, from: Int, to: Int) -> Int? {
        if stopsAtFirstBoundary {
            return memchr(base + from, Int32(byte), to - from).map { UnsafeRawPointer($0) - UnsafeRawPointer(base) }
        }
        return Self.lastIndex(of: byte, base, from: from, to: to)
    }

    /// The last `byte` in `from..<to`, eight bytes at a time from the end (glibc's `memrchr` is
    /// not visible through Swift's Glibc module). SWAR as in `CSVTokenizer`; a borrow can set a
    /// flag just above a true match, so flags are checked from the highest down and the word
    /// has a match whenever it has a flag.
    static func lastIndex(of byte: UInt8, _ base: UnsafePointer<UInt8>, from: Int, to: Int) -> Int? {
        let pattern = UInt64(byte) &* 0x0101_0101_0101_0101
        var end = to
        while end - from >= 8 {
            let word = UInt64(littleEndian: UnsafeRawPointer(base + end - 8).loadUnaligned(as: UInt64.self)) ^ pattern
            let hits = (word &- 0x0101_0101_0101_0101) & ~word & 0x8080_8080_8080_8080
            var flags = hits
            while flags != 0 {
                let index = end - 8 + (63 - flags.leadingZeroBitCount) >> 3
                if base[index] == byte { return index }
                flags &= ~(UInt64(0x80) << UInt64(((index - (end - 8)) << 3)))
            }
            end -= 8
        }
        while end > from {
            end -= 1
            if base[end] == byte { return end }
        }
        return nil
    }

    /// How far a quoted field of the record starting at `recordStart` may reach for its closing
    /// quote: shared with `CSVTokenizer`, so both give up on a stray quote at the same byte.
    @inline(__always)
    static func limit(recordStart: Int, maxRecordSize: Int, count: Int) -> Int {
        recordStart > count - maxRecordSize ? count : recordStart + maxRecordSize
    }
}
