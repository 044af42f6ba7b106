/*!
 MaskMySQL: MariaDB Connector/C (Debian's libmariadb-dev, which speaks to MySQL 5.7/8.x and
 MariaDB) behind a connection class and a streamed result, the only place that imports
 `CMariaDB`. Nothing of mask's own is above it; `MaskExtract` turns its rows into CSV.

 Errors never echo a password: URLs are redacted before they reach any message, and every
 client or server message is scrubbed of the password as well.
 */
internal import CMariaDB
import Foundation
import MaskCore

/// A MySQL or MariaDB failure, classified for exit codes and messages like `PostgresError`.
public struct MySQLError: CategorizedFailure, Sendable {
    /// An unparsable URL is the user's to fix; anything else (refused, authentication, lost) is I/O.
    public var category: FailureCategory { kind == .badURL ? .usage : .io }

    public enum Kind: String, Sendable {
        case badURL = "invalid connection URL"
        case connection = "cannot connect"
        case authentication = "authentication failed"
        case missingTable = "missing table"
        case permissionDenied = "permission denied"
        case readOnly = "refused in a read-only transaction"
        case syntax = "syntax error"
        case query = "query failed"
        case connectionLost = "connection lost"
    }

    public var kind: Kind
    /// The client's or server's message, password-scrubbed, on one line.
    public var message: String
    /// The MySQL error number (1146, 2013, ...), 0 when the error is mask's own.
    public var code: UInt32

    public var description: String { "MySQL: \(kind.rawValue): \(message)" + (code == 0 ? "" : " (error \(code))") }

    public init(kind: Kind, message: String, code: UInt32 = 0) {
        self.kind = kind
        self.message = message
        self.code = code
    }

    /// The kind for a MySQL error number. Numbers are stable across MySQL and MariaDB
    /// (errmsg.h for the client's 2xxx, mysqld_error.h for the server's).
    static func kind(for code: UInt32) -> Kind {
        switch code {
        case UInt32(CR_CONNECTION_ERROR), UInt32(CR_CONN_HOST_ERROR), UInt32(CR_UNKNOWN_HOST): return .connection
        case UInt32(ER_ACCESS_DENIED_ERROR), 1698 /* ER_ACCESS_DENIED_NO_PASSWORD_ERROR */: return .authentication
        case UInt32(ER_DBACCESS_DENIED_ERROR), UInt32(ER_TABLEACCESS_DENIED_ERROR), 1143 /* column */, 1227 /* ER_SPECIFIC_ACCESS_DENIED */:
            return .permissionDenied
        case UInt32(ER_NO_SUCH_TABLE), UInt32(ER_BAD_DB_ERROR): return .missingTable
        case UInt32(ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION): return .readOnly
        case UInt32(ER_PARSE_ERROR): return .syntax
        case UInt32(CR_SERVER_LOST), UInt32(CR_SERVER_GONE_ERROR), UInt32(ER_CONNECTION_KILLED), UInt32(ER_SERVER_SHUTDOWN),
             UInt32(ER_QUERY_INTERRUPTED), 2055 /* CR_SERVER_LOST_EXTENDED */:
            return .connectionLost
        default: return .query
        }
    }
}

/// Where and how to connect, parsed from `mysql://user[:password]@host[:port][/database][?…]`
/// (`mariadb://` too). Query parameters: `socket=/path` (a Unix socket instead of TCP),
/// `ssl-mode=DISABLED|PREFERRED|REQUIRED|VERIFY_CA|VERIFY_IDENTITY`, `ssl-ca=/path`,
/// `connect-timeout=SECONDS`. The password may instead come from `MYSQL_PWD` or from the
/// `[client]` group of the usual option files (`/etc/mysql/my.cnf`, `~/.my.cnf`), as for the
/// `mysql` client: a URL in a scheduler's logs need not hold it.
public struct MySQLURL: Sendable {
    public var user: String?
    var password: String?
    public var host: String?
    public var port: UInt32
    public var database: String?
    public var socket: String?
    public var sslMode: String?
    public var sslCA: String?
    public var connectTimeout: UInt32?
    /// The URL with its password replaced by `***`, safe for logs, errors and manifests.
    public let redacted: String

    public static func isMySQL(_ text: String) -> Bool {
        text.hasPrefix("mysql://") || text.hasPrefix("mariadb://")
    }

    /// - Throws: `MySQLError` of kind `.badURL`, never quoting the password.
    public init(_ text: String) throws {
        let shown = Self.redact(text)
        redacted = shown
        func bad(_ why: String) -> MySQLError { MySQLError(kind: .badURL, message: "\(why) (\(shown))") }
        guard Self.isMySQL(text) else { throw bad("expected mysql://user@host:port/database or mariadb://…") }
        guard let components = URLComponents(string: text) else { throw bad("not a URL") }
        user = components.percentEncodedUser.flatMap { $0.removingPercentEncoding }.flatMap { $0.isEmpty ? nil : $0 }
        password = components.percentEncodedPassword.flatMap { $0.removingPercentEncoding }
        host = components.host.flatMap { $0.isEmpty ? nil : $0 }
        if let host, host.hasPrefix("[") { self.host = String(host.dropFirst().dropLast()) }
        if let number = components.port {
            guard (1...65535).contains(number) else { throw bad("invalid port \(number): a port is a number from 1 to 65535") }
            port = UInt32(number)
        } else {
            port = 0
        }
        let path = components.percentEncodedPath
        if !path.isEmpty && path != "/" {
            let name = String(path.dropFirst()).removingPercentEncoding ?? ""
            guard !name.isEmpty, !name.contains("/") else { throw bad("the path must be one database name") }
            database = name
        }
        for item in components.queryItems ?? [] {
            let value = item.value ?? ""
            switch item.name {
            case "socket": socket = value
            case "ssl-mode", "sslmode":
                let mode = value.uppercased()
                guard ["DISABLED", "PREFERRED", "REQUIRED", "VERIFY_CA", "VERIFY_IDENTITY"].contains(mode) else {
                    throw bad("ssl-mode must be DISABLED, PREFERRED, REQUIRED, VERIFY_CA or VERIFY_IDENTITY")
                }
                sslMode = mode
            case "ssl-ca": sslCA = value
            case "connect-timeout":
                guard let seconds = UInt32(value), seconds > 0 else { throw bad("connect-timeout must be a number of seconds") }
                connectTimeout = seconds
            case "password": throw bad("give the password in the user part of the URL, in MYSQL_PWD or in an option file, not as ?password=")
            default: throw bad("unknown parameter '\(item.name)' (known: socket, ssl-mode, ssl-ca, connect-timeout)")
            }
        }
        if host == nil && socket == nil { throw bad("no host: give mysql://user@host[:port]/database or ?socket=/path") }
    }

    static func redact(_ text: String) -> String {
        ServerMessage.hidingPassword(inURL: text) ?? text
    }
}

/// What a result column holds, which decides how `MaskExtract` writes it.
public struct MySQLColumn: Sendable {
    public enum Kind: Sendable {
        /// Text as the server sends it in the connection's character set (utf8mb4): strings,
        /// numbers with all their digits, dates and times, JSON.
        case text
        /// Bytes that need not be text: BINARY, VARBINARY, BLOB, GEOMETRY (the binary character set).
        case binary
        /// BIT(n): big-endian bytes.
        case bit
    }

    public let name: String
    public let kind: Kind
}

/// One connection through MariaDB Connector/C. Not thread-safe: use it from one thread at a time
/// (the library allows a connection to move between threads as long as two never use it at once,
/// hence `@unchecked Sendable`: the extract hands it to the masking job's reader thread and back).
public final class MySQLConnection: @unchecked Sendable {
    private let handle: UnsafeMutablePointer<MYSQL>
    private let password: String?
    /// The URL with the password hidden.
    public let redactedURL: String
    public let database: String?

    /// Connects with `utf8mb4`, `LOCAL INFILE` off, and the `[client]` option-file group read.
    /// - Parameter environment: where `MYSQL_PWD` is looked up when the URL holds no password.
    /// - Throws: `MySQLError` (bad URL, refused connection, authentication failure).
    public init(url text: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        let url = try MySQLURL(text)
        redactedURL = url.redacted
        database = url.database
        let password = url.password ?? environment["MYSQL_PWD"]
        self.password = password
        guard let handle = mysql_init(nil) else { throw MySQLError(kind: .connection, message: "out of memory") }
        self.handle = handle
        mysql_options(handle, MYSQL_SET_CHARSET_NAME, "utf8mb4")
        mysql_options(handle, MYSQL_READ_DEFAULT_GROUP, "client")
        var off: UInt32 = 0
        mysql_options(handle, MYSQL_OPT_LOCAL_INFILE, &off)
        var timeout: UInt32 = url.connectTimeout ?? 30
        mysql_options(handle, MYSQL_OPT_CONNECT_TIMEOUT, &timeout)
        if let mode = url.sslMode, mode != "DISABLED" && mode != "PREFERRED" {
            var on: CChar = 1
            mysql_options(handle, MYSQL_OPT_SSL_ENFORCE, &on)
            if mode == "VERIFY_CA" || mode == "VERIFY_IDENTITY" { mysql_options(handle, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &on) }
        }
        if let ca = url.sslCA { mysql_options(handle, MYSQL_OPT_SSL_CA, ca) }
        let connected = mysql_real_connect(handle, url.host, url.user, password, url.database, url.port, url.socket, 0)
        guard connected != nil else {
            // deinit closes the handle: every stored property is set.
            let code = mysql_errno(handle)
            var kind = MySQLError.kind(for: code)
            if kind == .query || kind == .connectionLost { kind = .connection }
            throw MySQLError(kind: kind, message: "\(ServerMessage.oneLine(String(cString: mysql_error(handle)), hiding: password)) (\(redactedURL))", code: code)
        }
    }

    deinit {
        mysql_close(handle)
    }

    func lastError() -> MySQLError {
        let code = mysql_errno(handle)
        let message = ServerMessage.oneLine(String(cString: mysql_error(handle)), hiding: password)
        return MySQLError(kind: MySQLError.kind(for: code), message: message.isEmpty ? "no message from the server" : message, code: code)
    }

    /// The server's version string (`10.11.6-MariaDB-0+deb12u1`, `8.0.36`).
    public var serverVersion: String { String(cString: mysql_get_server_info(handle)) }

    /// Runs one statement and returns its rows as text (NULL as nil); a statement without a
    /// result returns no rows. For small results (the catalog): rows are buffered.
    @discardableResult
    public func query(_ sql: String) throws -> [[String?]] {
        guard mysql_real_query(handle, sql, UInt(sql.utf8.count)) == 0 else { throw lastError() }
        guard let result = mysql_store_result(handle) else {
            if mysql_field_count(handle) != 0 { throw lastError() }
            return []
        }
        defer { mysql_free_result(result) }
        let width = Int(mysql_num_fields(result))
        var rows: [[String?]] = []
        while let row = mysql_fetch_row(result) {
            let lengths = mysql_fetch_lengths(result)!
            rows.append((0..<width).map { column in
                row[column].map { String(decoding: UnsafeRawBufferPointer(start: $0, count: Int(lengths[column])), as: UTF8.self) }
            })
        }
        return rows
    }

    /// How many columns `sql` returns, found by preparing it without running it (0 for a
    /// statement that returns no rows: DDL, DML, `SELECT … INTO`). The server prepares exactly one
    /// statement, so text holding several is refused with a syntax error.
    /// - Throws: `MySQLError` with the server's message (syntax error, missing table, ...).
    public func describeStatement(_ sql: String) throws -> Int {
        guard let statement = mysql_stmt_init(handle) else { throw lastError() }
        defer { mysql_stmt_close(statement) }
        guard mysql_stmt_prepare(statement, sql, UInt(sql.utf8.count)) == 0 else {
            let code = mysql_stmt_errno(statement)
            let message = ServerMessage.oneLine(String(cString: mysql_stmt_error(statement)), hiding: password)
            throw MySQLError(kind: MySQLError.kind(for: code), message: message, code: code)
        }
        return Int(mysql_stmt_field_count(statement))
    }

    /// Starts `sql` and returns its rows as they arrive (`mysql_use_result`: never a whole table
    /// in memory). The connection can run nothing else until the stream has ended.
    public func stream(_ sql: String) throws -> MySQLRowStream {
        guard mysql_real_query(handle, sql, UInt(sql.utf8.count)) == 0 else { throw lastError() }
        guard let result = mysql_use_result(handle) else {
            if mysql_field_count(handle) == 0 {
                throw MySQLError(kind: .query, message: "the statement returned no rows")
            }
            throw lastError()
        }
        let count = Int(mysql_num_fields(result))
        let fields = mysql_fetch_fields(result)!
        var columns: [MySQLColumn] = []
        for index in 0..<count {
            let field = fields[index]
            let name = String(decoding: UnsafeRawBufferPointer(start: field.name, count: Int(field.name_length)), as: UTF8.self)
            let kind: MySQLColumn.Kind
            switch field.type {
            case MYSQL_TYPE_BIT: kind = .bit
            case MYSQL_TYPE_TINY_BLOB, MYSQL_TYPE_MEDIUM_BLOB, MYSQL_TYPE_LONG_BLOB, MYSQL_TYPE_BLOB,
                 MYSQL_TYPE_STRING, MYSQL_TYPE_VAR_STRING, MYSQL_TYPE_VARCHAR, MYSQL_TYPE_GEOMETRY:
                // 63 is the binary character set: bytes, not text. (Numbers carry it too, which is
                // why only the string and blob types are read this way.)
                kind = field.charsetnr == 63 ? .binary : .text
            default: kind = .text
            }
            columns.append(MySQLColumn(name: name, kind: kind))
        }
        return MySQLRowStream(connection: self, result: result, columns: columns)
    }

    func fetch(_ result: UnsafeMutablePointer<MYSQL_RES>) throws -> MySQLRow? {
        guard let row = mysql_fetch_row(result) else {
            if mysql_errno(handle) != 0 { throw lastError() }
            return nil
        }
        return MySQLRow(values: row, lengths: mysql_fetch_lengths(result)!)
    }

    /// `name` as a quoted identifier (`` `a``b` ``).
    public static func quoteIdentifier(_ name: String) -> String {
        "`" + name.replacingOccurrences(of: "`", with: "``") + "`"
    }

    /// `text` as a string literal for this connection's character set.
    public func quoteString(_ text: String) -> String {
        let bytes = Array(text.utf8)
        var escaped = [CChar](repeating: 0, count: bytes.count * 2 + 1)
        let length = bytes.withUnsafeBufferPointer { source in
            source.withMemoryRebound(to: CChar.self) { mysql_real_escape_string(handle, &escaped, $0.baseAddress, UInt(bytes.count)) }
        }
        return "'" + String(decoding: escaped.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self) + "'"
    }
}

/// One row of a `MySQLRowStream`, valid until the next row is fetched.
public struct MySQLRow {
    fileprivate let values: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>
    fileprivate let lengths: UnsafeMutablePointer<UInt>

    /// The bytes of column `index`, or nil for NULL.
    @inline(__always)
    public subscript(index: Int) -> UnsafeRawBufferPointer? {
        guard let value = values[index] else { return nil }
        return UnsafeRawBufferPointer(start: value, count: Int(lengths[index]))
    }
}

/// The rows of a running query, fetched one at a time from the server. `@unchecked Sendable`
/// for the same reason as its connection: handed to the reader thread, used by it alone.
public final class MySQLRowStream: @unchecked Sendable {
    private let connection: MySQLConnection
    private var result: UnsafeMutablePointer<MYSQL_RES>?
    public let columns: [MySQLColumn]

    fileprivate init(connection: MySQLConnection, result: UnsafeMutablePointer<MYSQL_RES>, columns: [MySQLColumn]) {
        self.connection = connection
        self.result = result
        self.columns = columns
    }

    /// The next row, or nil at the end of the result.
    /// - Throws: `MySQLError` when the connection is lost or the server aborts the query.
    public func next() throws -> MySQLRow? {
        guard let result else { return nil }
        if let row = try connection.fetch(result) { return row }
        finish()
        return nil
    }

    /// Frees the result (reading what the server still sends, as the protocol requires).
    public func finish() {
        if let result { mysql_free_result(result) }
        result = nil
    }

    deinit { finish() }
}
