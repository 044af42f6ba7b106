import MaskCore
import MaskMySQL
import MaskPipeline

/// One table (or query) an extract reads: where its parts go and what it is called in messages.
struct PlannedTable: Sendable {
    /// The output folder under the extract's directory (`schema.table`, `db.table`, `query`).
    var folder: String
    /// The name in messages and the summary.
    var label: String
    /// The statement that reads it, in the database's own dialect.
    var statement: String
}

/// What `ExtractJob` needs from a database: one consistent, read-only snapshot, the tables the
/// selection names in it, and each table's rows as CSV bytes (with a header; NULL an empty
/// unquoted field, the empty string `""`) for the CSV engine. PostgreSQL and MySQL/MariaDB each
/// implement it over their adapter; everything after the bytes (masking, parts, the commit of the
/// folder) is the same for both.
///
/// Errors are the adapter's own (`PostgresError`, `MySQLError`, both `CategorizedFailure`) or
/// `JobFailure.usage` for a selection or query the user must fix.
protocol DatabaseSnapshot: AnyObject {
    /// The URL with its password hidden, for the summary and messages.
    var redactedURL: String { get }
    /// How the snapshot was taken, stated in `_extract.json`.
    var snapshotDescription: String { get }
    /// Opens the snapshot transaction.
    func begin() throws
    /// The tables `selection` names, checked to exist, in a stable order.
    func plan(_ selection: ExtractSelection) throws -> [PlannedTable]
    /// Starts reading `table`; the source ends with its last row.
    func open(_ table: PlannedTable) throws -> any ByteSource
    /// Ends the snapshot transaction.
    func commit() throws
}

/// An adapter's failure (`PostgresError`, `MySQLError`) as the job's: a bad URL is the user's
/// to fix (exit 2); refused, lost, missing table, denied are I/O (exit 3).
func jobFailure(_ error: any CategorizedFailure) -> JobFailure {
    error.category == .usage ? .usage(error.description) : .io(error.description)
}

/// The snapshot for a URL: `mysql://` and `mariadb://` are MySQL's, anything else (a
/// `postgresql://` URL, `key=value` conninfo) PostgreSQL's, whose adapter names a wrong scheme.
func connectSnapshot(url: String) throws -> any DatabaseSnapshot {
    if MySQLURL.isMySQL(url) { return try MySQLSnapshot(url: url) }
    if let end = url.range(of: "://"), url[..<end.lowerBound].allSatisfy({ $0.isLetter || $0.isNumber || "+.-".contains($0) }),
        !["postgresql", "postgres"].contains(url[..<end.lowerBound].lowercased())
    {
        // Said here rather than by the PostgreSQL adapter, which knows only its own schemes.
        throw JobFailure.usage(
            "invalid connection URL: unknown scheme '\(url[..<end.lowerBound])://' (mask extract reads postgresql://, postgres://, "
                + "key=value conninfo, mysql:// and mariadb://)")
    }
    return try PostgresSnapshot(url: url)
}
