/*!
 MaskPostgres: libpq behind a connection class and a COPY stream, the only place that imports
 `CLibPQ`.

 Errors never echo a password: connection strings are redacted before they reach any message
 (`ConnectionString.redacted`), and every libpq message is scrubbed of the password as well, in
 case a server or libpq version quotes the connection options back.
 */
internal import CLibPQ
import Foundation
import MaskCore

/// A PostgreSQL failure, classified for exit codes and messages.
public struct PostgresError: CategorizedFailure, Sendable {
    /// An unparsable URL is the user's to fix; anything else (refused, authentication, lost) is I/O.
    public var category: FailureCategory { kind == .badURL ? .usage : .io }

    public enum Kind: String, Sendable {
        case badURL = "invalid connection URL"
        case connection = "cannot connect"
        case authentication = "authentication failed"
        case missingTable = "missing table"
        case permissionDenied = "permission denied"
        case query = "query failed"
        case connectionLost = "connection lost"
    }

    public var kind: Kind
    /// libpq's message, password-scrubbed, on one line.
    public var message: String
    public var sqlState: String?

    public var description: String { "PostgreSQL: \(kind.rawValue): \(message)" }

    public init(kind: Kind, message: String, sqlState: String?) {
        self.kind = kind
        self.message = message
        self.sqlState = sqlState
    }
}

/// Connection strings as users give them (`postgresql://user:pass@host/db` or `key=value ...`).
public enum ConnectionString {
    /// The string with its password replaced by `***`, safe for logs, errors and manifests.
    public static func redacted(_ text: String) -> String {
        // Any scheme, not only postgresql://: a mistyped one (mysql://u:pw@h) is still echoed back.
        if let url = ServerMessage.hidingPassword(inURL: text) { return redactQueryPassword(url) }
        // key=value form: password=secret or password='se cret'
        let pattern = #"password\s*=\s*('(?:[^'\\]|\\.)*'|\S+)"#
        return text.replacingOccurrences(of: pattern, with: "password=***", options: .regularExpression)
    }

    static func redactQueryPassword(_ text: String) -> String {
        text.replacingOccurrences(of: #"([?&]password=)[^&]*"#, with: "$1***", options: .regularExpression)
    }

    /// Why libpq would refuse `text` before reaching any server (unknown scheme, unparsable,
    /// a port that is not a number from 1 to 65535, more ports than hosts), or nil. These are the
    /// user's to fix (exit 2), unlike a refused connection. Never contains the password.
    public static func problem(in text: String) -> String? {
        if let scheme = text.range(of: #"^[A-Za-z][A-Za-z0-9+.-]*://"#, options: .regularExpression) {
            let name = text[scheme].dropLast(3)
            if name != "postgresql" && name != "postgres" {
                return "unknown scheme '\(name)://' (expected postgresql://, postgres:// or key=value conninfo)"
            }
        }
        var parseError: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(text, &parseError) else {
            let message = parseError.map { String(cString: $0) } ?? "unparsable"
            if let parseError { PQfreemem(parseError) }
            // libpq quotes the whole string back: keep only its reason.
            return message.replacingOccurrences(of: text, with: "…")
        }
        defer { PQconninfoFree(options) }
        var values: [String: String] = [:]
        var option = options
        while let keyword = option.pointee.keyword {
            if let value = option.pointee.val { values[String(cString: keyword)] = String(cString: value) }
            option += 1
        }
        guard let ports = values["port"] else { return nil }
        let list = ports.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        for port in list where !port.isEmpty {
            guard let number = Int(port), (1...65535).contains(number) else {
                return "invalid port \"\(port)\": a port is a number from 1 to 65535"
            }
        }
        let hosts = (values["host"] ?? values["hostaddr"] ?? "").split(separator: ",", omittingEmptySubsequences: false).count
        if list.count > 1 && list.count != max(hosts, 1) {
            return "\(list.count) ports for \(max(hosts, 1)) host(s): give one port, or one per host"
        }
        return nil
    }

    /// The password in `text`, if any, so messages can be scrubbed of it.
    static func password(in text: String) -> String? {
        if let password = ServerMessage.password(inURL: text) { return password }
        if let range = text.range(of: #"password\s*=\s*('(?:[^'\\]|\\.)*'|\S+)"#, options: .regularExpression) {
            let value = text[range].split(separator: "=", maxSplits: 1).last.map(String.init) ?? ""
            return value.trimmingCharacters(in: CharacterSet(charactersIn: "' "))
        }
        return nil
    }
}

/// One libpq connection. Not thread-safe: use it from one thread at a time.
///
/// `@unchecked Sendable` so that it can be handed to another thread (a pool, the lease renewer);
/// libpq allows a connection to move between threads as long as two never use it at once.
public final class PostgresConnection: @unchecked Sendable {
    private let connection: OpaquePointer
    private let password: String?
    /// The connection string with the password hidden.
    public let redactedURL: String

    /// - Throws: `PostgresError` (bad URL, refused connection, authentication failure).
    public init(url: String) throws {
        password = ConnectionString.password(in: url)
        redactedURL = ConnectionString.redacted(url)
        if let problem = ConnectionString.problem(in: url) {
            throw PostgresError(kind: .badURL, message: ServerMessage.oneLine(problem, hiding: password) + " (\(redactedURL))", sqlState: nil)
        }
        guard let connection = PQconnectdb(url) else {
            throw PostgresError(kind: .connection, message: "out of memory", sqlState: nil)
        }
        self.connection = connection
        // Server notices ("schema already exists, skipping") are not for the user's stderr.
        PQsetNoticeProcessor(connection, { _, _ in }, nil)
        if PQstatus(connection) != CONNECTION_OK {
            // No PQfinish here: every stored property is set, so deinit runs and closes it.
            let message = ServerMessage.oneLine(String(cString: PQerrorMessage(connection)), hiding: password)
            let kind: PostgresError.Kind = message.contains("authentication failed") || message.contains("password") ? .authentication : .connection
            throw PostgresError(kind: kind, message: "\(message) (\(redactedURL))", sqlState: nil)
        }
    }

    deinit {
        PQfinish(connection)
    }

    func error(from result: OpaquePointer?) -> PostgresError {
        func field(_ code: Character) -> String? {
            guard let result, let value = PQresultErrorField(result, Int32(code.asciiValue!)) else { return nil }
            let text = String(cString: value)
            return text.isEmpty ? nil : text
        }
        let state = field("C")
        // The server's own words: primary message, then detail, hint and position when it gives them.
        var raw: String
        if let primary = field("M") {
            raw = primary
            if let detail = field("D") { raw += "; detail: \(detail)" }
            if let hint = field("H") { raw += "; hint: \(hint)" }
            if let position = field("P") { raw += " (at character \(position))" }
        } else {
            raw = result.flatMap { PQresultErrorMessage($0) }.map { String(cString: $0) } ?? ""
            if raw.isEmpty { raw = String(cString: PQerrorMessage(connection)) }
            if raw.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                raw = "no message from the server (result \(String(cString: PQresStatus(PQresultStatus(result)))))"
            }
        }
        let message = ServerMessage.oneLine(raw, hiding: password)
        let kind: PostgresError.Kind
        if PQstatus(connection) != CONNECTION_OK {
            kind = .connectionLost
        } else {
            switch state {
            case "42P01", "3F000": kind = .missingTable
            case "42501": kind = .permissionDenied
            default: kind = .query
            }
        }
        return PostgresError(kind: kind, message: message, sqlState: state)
    }

    /// Runs SQL and returns its rows as text (NULL as `nil`).
    @discardableResult
    public func query(_ sql: String, _ parameters: [String?] = []) throws -> [[String?]] {
        let result: OpaquePointer?
        if parameters.isEmpty {
            result = PQexec(connection, sql)
        } else {
            var cStrings = parameters.map { $0.map { strdup($0) } ?? nil }
            defer { for pointer in cStrings { free(pointer) } }
            result = cStrings.withUnsafeMutableBufferPointer { buffer in
                buffer.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: buffer.count) {
                    PQexecParams(connection, sql, Int32(parameters.count), nil, $0, nil, nil, 0)
                }
            }
        }
        defer { PQclear(result) }
        let status = PQresultStatus(result)
        guard status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK else { throw error(from: result) }
        var rows: [[String?]] = []
        for row in 0..<PQntuples(result) {
            rows.append((0..<PQnfields(result)).map { column in
                PQgetisnull(result, row, column) == 1 ? nil : String(cString: PQgetvalue(result, row, column))
            })
        }
        return rows
    }

    /// Parses and analyses `sql` as the unnamed prepared statement, without running it, and
    /// returns how many columns its result has (0 for a statement that returns no rows).
    ///
    /// Goes through the extended protocol (Parse, then Describe), where the server accepts exactly
    /// one statement: text holding several is refused ("cannot insert multiple commands into a
    /// prepared statement").
    /// - Throws: `PostgresError` with the server's message (syntax error, missing table, ...).
    public func describeStatement(_ sql: String) throws -> Int {
        let prepared = PQprepare(connection, "", sql, 0, nil)
        defer { PQclear(prepared) }
        guard PQresultStatus(prepared) == PGRES_COMMAND_OK else { throw error(from: prepared) }
        let described = PQdescribePrepared(connection, "")
        defer { PQclear(described) }
        guard PQresultStatus(described) == PGRES_COMMAND_OK else { throw error(from: described) }
        return Int(PQnfields(described))
    }

    /// Starts `COPY (...) TO STDOUT` and returns a stream of its bytes.
    ///
    /// Sent through the extended protocol (`PQexecParams`), which runs exactly one statement:
    /// unlike `PQexec`, text holding several statements is refused by the server, not run.
    public func copyOut(_ copySQL: String) throws -> CopyOutStream {
        let result = PQexecParams(connection, copySQL, 0, nil, nil, nil, nil, 0)
        defer { PQclear(result) }
        guard PQresultStatus(result) == PGRES_COPY_OUT else {
            if PQresultStatus(result) == PGRES_FATAL_ERROR || PQresultStatus(result) == PGRES_NONFATAL_ERROR { throw error(from: result) }
            throw PostgresError(kind: .query, message: "the statement did not start a COPY TO STDOUT (result \(String(cString: PQresStatus(PQresultStatus(result)))))", sqlState: nil)
        }
        return CopyOutStream(connection: self)
    }

    /// The next chunk of COPY data: `.data` (bytes appended), `.done`, or throws.
    func copyChunk(into buffer: inout [UInt8]) throws -> Bool {
        var pointer: UnsafeMutablePointer<CChar>?
        let count = PQgetCopyData(connection, &pointer, 0)
        if count > 0, let pointer {
            pointer.withMemoryRebound(to: UInt8.self, capacity: Int(count)) {
                buffer.append(contentsOf: UnsafeBufferPointer(start: $0, count: Int(count)))
            }
            PQfreemem(pointer)
            return true
        }
        if count == -1 {
            // COPY finished: its final result says whether it succeeded.
            while let result = PQgetResult(connection) {
                defer { PQclear(result) }
                if PQresultStatus(result) != PGRES_COMMAND_OK { throw error(from: result) }
            }
            return false
        }
        throw PostgresError(kind: .connectionLost, message: ServerMessage.oneLine(String(cString: PQerrorMessage(connection)), hiding: password), sqlState: nil)
    }

    /// Quotes an identifier (schema, table) for SQL.
    public static func quoteIdentifier(_ name: String) -> String {
        "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

/// The bytes of a running `COPY ... TO STDOUT`, read row by row as libpq delivers them (no
/// whole-table buffering). `@unchecked Sendable` for the same reason as the connection it reads:
/// handed to the reader thread, used by it alone.
public final class CopyOutStream: @unchecked Sendable {
    private let connection: PostgresConnection
    private var pending: [UInt8] = []
    private var pendingStart = 0
    private var finished = false
    public private(set) var bytesRead = 0

    init(connection: PostgresConnection) {
        self.connection = connection
    }

    /// Writes up to `buffer.count` bytes into `buffer`; returns 0 only at the end of the COPY.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while pendingStart >= pending.count {
            if finished { return 0 }
            pending.removeAll(keepingCapacity: true)
            pendingStart = 0
            // Gather rows until a useful amount is buffered (rows arrive one per call).
            while pending.count < 256 * 1024 {
                if try !connection.copyChunk(into: &pending) {
                    finished = true
                    break
                }
            }
        }
        let count = min(buffer.count, pending.count - pendingStart)
        pending.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[pendingStart..<pendingStart + count])) }
        pendingStart += count
        bytesRead += count
        return count
    }
}
