#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How a stream is cut into record-aligned chunks, so that each chunk can be masked alone.
public enum RecordFraming: Sendable, Equatable {
    /// CSV: records end at an LF outside quotes; quotes toggle (RFC 4180 doubling keeps parity).
    case csv
    /// One record per LF-terminated line (JSONL / NDJSON).
    case lines

    /// The offset just past the last complete record in `buffer`, which must start at a record
    /// boundary; `nil` when the buffer holds no complete record yet.
    ///
    /// The CSV search uses `memchr` for quotes and `memrchr` for line feeds within the unquoted
    /// stretches, so it runs at memory speed on the serial reader thread instead of touching
    /// every byte in Swift.
    public func lastBoundary(in buffer: UnsafeRawBufferPointer) -> Int? {
        guard let base = buffer.baseAddress?.assumingMemoryBound(to: UInt8.self), buffer.count > 0 else { return nil }
        let count = buffer.count
        switch self {
        case .lines:
            var index = count - 1
            while index >= 0 {
                if base[index] == CSVDialect.lineFeed { return index + 1 }
                index -= 1
            }
            return nil
        case .csv:
            // Parity of all quotes (memchr hops over quote-free stretches), then a backward walk
            // from the end: an LF whose prefix holds an even number of quotes ends a record.
            var quotes = 0
            var cursor = 0
            while cursor < count, let found = memchr(base + cursor, Int32(CSVDialect.quote), count - cursor) {
                quotes += 1
                cursor = UnsafeRawPointer(found) - UnsafeRawPointer(base) + 1
            }
            var prefixOdd = quotes % 2 == 1
            var index = count - 1
            while index >= 0 {
                let byte = base[index]
                if byte == CSVDialect.lineFeed {
                    if !prefixOdd { return index + 1 }
                } else if byte == CSVDialect.quote {
                    prefixOdd.toggle()
                }
                index -= 1
            }
            return nil
        }
    }
}
