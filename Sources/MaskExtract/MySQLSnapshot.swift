import Foundation
import MaskCore
import MaskMySQL
import MaskPipeline

/// A MySQL or MariaDB snapshot: `START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY` under
/// REPEATABLE READ, so every table is read as of one moment; tables found in
/// `information_schema`; each read with `mysql_use_result` (rows streamed, never a table in memory)
/// and written as CSV in PostgreSQL's convention, so one CSV engine and one loader setup serve both.
///
/// Session settings, stated in `_extract.json`: `time_zone = '+00:00'` (TIMESTAMP values are UTC;
/// DATETIME values carry no zone and come out as stored), `utf8mb4` (the connection's character
/// set, so emoji and every script survive), `net_write_timeout` of an hour (the server aborts a
/// streamed result whose reader pauses longer than that, and the reader pauses whenever the
/// masking workers are behind).
final class MySQLSnapshot: DatabaseSnapshot {
    let connection: MySQLConnection

    init(url: String) throws {
        do { connection = try MySQLConnection(url: url) } catch let error as MySQLError { throw jobFailure(error) }
    }

    var redactedURL: String { connection.redactedURL }
    var snapshotDescription: String { "repeatable read, consistent snapshot, read only; time_zone +00:00" }

    func begin() throws {
        try connection.query("SET SESSION time_zone = '+00:00'")
        try connection.query("SET SESSION net_write_timeout = 3600")
        try connection.query("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        try connection.query("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
    }

    func commit() throws {
        try connection.query("COMMIT")
    }

    func open(_ table: PlannedTable) throws -> any ByteSource {
        do {
            return MySQLRowSource(name: table.label, stream: try connection.stream(table.statement))
        } catch let error as MySQLError where error.kind == .readOnly {
            throw Self.mustOnlyRead(error)
        }
    }

    static func mustOnlyRead(_ error: MySQLError) -> JobFailure {
        JobFailure.usage("--query must only read (the extract runs READ ONLY): \(error)")
    }

    func plan(_ selection: ExtractSelection) throws -> [PlannedTable] {
        func read(database: String, table: String) -> PlannedTable {
            let qualified = "\(MySQLConnection.quoteIdentifier(database)).\(MySQLConnection.quoteIdentifier(table))"
            return PlannedTable(folder: "\(database).\(table)", label: "\(database).\(table)", statement: "SELECT * FROM \(qualified)")
        }
        switch selection {
        case .query(let sql):
            let text = try ExtractQuery.trimmed(sql)
            let columns: Int
            do {
                columns = try connection.describeStatement(text)
            } catch let error as MySQLError where error.kind == .syntax || error.code == 1295 /* ER_UNSUPPORTED_PS */ {
                throw JobFailure.usage("--query must be exactly one SELECT (or VALUES, TABLE, WITH … SELECT) statement: \(error)")
            } catch let error as MySQLError where error.kind == .readOnly {
                // MariaDB refuses to even prepare a writing statement inside the READ ONLY snapshot.
                throw Self.mustOnlyRead(error)
            }
            guard columns > 0 else { throw ExtractQuery.returnsNoRows }
            return [PlannedTable(folder: "query", label: "query", statement: text)]
        case .table(let name):
            let parts = name.split(separator: ".", maxSplits: 1).map(String.init)
            guard let database = parts.count == 2 ? parts[0] : connection.database else {
                throw JobFailure.usage("--table \(name): name the database (db.table) or give one in the URL (mysql://…/db)")
            }
            // No catalog check: the SELECT's own error says missing table (1146) or, for a table the
            // user may not read, permission denied (1142), which information_schema would hide.
            return [read(database: database, table: parts.last!)]
        case .schema(let database, let include, let exclude):
            let rows = try connection.query(
                "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = \(connection.quoteString(database)) "
                    + "AND TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED') ORDER BY TABLE_NAME")
            let chosen = try ExtractQuery.choose(from: rows.compactMap { $0[0] }, schema: database, include: include, exclude: exclude) {
                MySQLError(kind: .missingTable, message: $0, code: 1146)
            }
            return chosen.map { read(database: database, table: $0) }
        }
    }
}

/// The rows of a MySQL result as CSV bytes for the CSV engine: a header of the column names,
/// then one record per row, in PostgreSQL's CSV convention so that a NULL stays NULL through
/// masking and loading: NULL is an empty unquoted field, the empty string is `""`, a value is
/// quoted when it holds a comma, a quote, CR or LF. Text values are written byte for byte as the
/// server sent them (utf8mb4); BINARY, VARBINARY, BLOB and GEOMETRY values as base64 (what
/// BigQuery's CSV load reads into BYTES); BIT(n) values as their unsigned number.
///
/// Hand-written rather than a CSV library: it writes straight from the client library's row
/// buffers into the chunk buffer, with no String or object per value.
final class MySQLRowSource: ByteSource {
    let name: String
    private let stream: MySQLRowStream
    private let kinds: [MySQLColumn.Kind]
    private var pending: [UInt8] = []
    private var pendingStart = 0
    private var finished = false

    init(name: String, stream: MySQLRowStream) {
        self.name = name
        self.stream = stream
        kinds = stream.columns.map(\.kind)
        for (index, column) in stream.columns.enumerated() {
            if index > 0 { pending.append(UInt8(ascii: ",")) }
            Array(column.name.utf8).withUnsafeBytes { Self.appendText($0, to: &pending) }
        }
        pending.append(UInt8(ascii: "\n"))
    }

    var compressedBytesRead: Int? { nil }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while pendingStart >= pending.count {
            if finished { return 0 }
            pending.removeAll(keepingCapacity: true)
            pendingStart = 0
            do {
                while pending.count < 256 * 1024 {
                    guard let row = try stream.next() else {
                        finished = true
                        break
                    }
                    append(row)
                }
            } catch let error as MySQLError {
                throw IOFailure("\(DisplayName.of(name)): \(error)")
            }
        }
        let count = min(buffer.count, pending.count - pendingStart)
        pending.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[pendingStart..<pendingStart + count])) }
        pendingStart += count
        return count
    }

    private func append(_ row: MySQLRow) {
        for index in kinds.indices {
            if index > 0 { pending.append(UInt8(ascii: ",")) }
            guard let value = row[index] else { continue }  // NULL: nothing between the commas
            switch kinds[index] {
            case .text: Self.appendText(value, to: &pending)
            case .binary: Self.appendBase64(value, to: &pending)
            case .bit:
                var number: UInt64 = 0
                for byte in value { number = number << 8 | UInt64(byte) }
                Self.appendDecimal(number, to: &pending)
            }
        }
        pending.append(UInt8(ascii: "\n"))
    }

    @inline(__always)
    static func appendText(_ value: UnsafeRawBufferPointer, to output: inout [UInt8]) {
        if value.isEmpty {
            output.append(UInt8(ascii: "\""))
            output.append(UInt8(ascii: "\""))
            return
        }
        var quote = false
        for byte in value where byte == UInt8(ascii: ",") || byte == UInt8(ascii: "\"") || byte == 0x0A || byte == 0x0D {
            quote = true
            break
        }
        guard quote else {
            output.append(contentsOf: value)
            return
        }
        output.append(UInt8(ascii: "\""))
        for byte in value {
            if byte == UInt8(ascii: "\"") { output.append(byte) }
            output.append(byte)
        }
        output.append(UInt8(ascii: "\""))
    }

    /// Base64 never holds a comma, quote or line break: no quoting needed. The empty value is `""`.
    static func appendBase64(_ value: UnsafeRawBufferPointer, to output: inout [UInt8]) {
        if value.isEmpty {
            output.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: "\"")])
            return
        }
        // Foundation's encoder over the client library's own buffer: no copy of the value first.
        let borrowed = Data(bytesNoCopy: UnsafeMutableRawPointer(mutating: value.baseAddress!), count: value.count, deallocator: .none)
        output.append(contentsOf: borrowed.base64EncodedData())
    }

    /// The decimal digits of `number`, written straight into `output` (no String per value).
    static func appendDecimal(_ number: UInt64, to output: inout [UInt8]) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var rest = number
            var count = 0
            repeat {
                digits[19 - count] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
                count += 1
            } while rest > 0
            output.append(contentsOf: UnsafeBufferPointer(rebasing: digits[(20 - count)...]))
        }
    }
}
