import MaskCore
import MaskPipeline
import MaskPostgres

/// A PostgreSQL snapshot: one `REPEATABLE READ, READ ONLY` transaction; each table read with
/// `COPY (…) TO STDOUT WITH (FORMAT csv, HEADER)`, whose bytes go to the CSV engine unchanged.
final class PostgresSnapshot: DatabaseSnapshot {
    let connection: PostgresConnection

    init(url: String) throws {
        do { connection = try PostgresConnection(url: url) } catch let error as PostgresError { throw jobFailure(error) }
    }

    var redactedURL: String { connection.redactedURL }
    var snapshotDescription: String { "repeatable read, read only" }

    func begin() throws {
        try connection.query("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
    }

    func commit() throws {
        try connection.query("COMMIT")
    }

    func open(_ table: PlannedTable) throws -> any ByteSource {
        do {
            return CopySource(name: table.label, stream: try connection.copyOut(table.statement))
        } catch let error as PostgresError where error.sqlState == "25006" {
            // read_only_sql_transaction: the query tried to write (DELETE … RETURNING, a writing CTE).
            throw JobFailure.usage("--query must only read (the extract runs READ ONLY): PostgreSQL: \(error.message)")
        }
    }

    /// The COPY statement for `--query`, after proving that it cannot be anything but
    /// `COPY (<the user's one statement>) TO STDOUT WITH (FORMAT csv, HEADER)`.
    ///
    /// 1. Trailing semicolons and whitespace are removed (`SELECT 1;` is accepted); a NUL byte or
    ///    nothing left is refused.
    /// 2. The query alone is prepared (Parse + Describe, the extended protocol): the server accepts
    ///    exactly one statement there and analyses it without running it; it must return columns.
    ///    A statement that parses alone has balanced parentheses and ends outside any string,
    ///    quoted identifier or comment, so spliced between `COPY (` and a newline + `) TO STDOUT …`
    ///    the `)` after it closes the COPY's `(`: the target and options are ours. (The newline
    ///    ends a trailing `--` comment, which would otherwise swallow them.)
    /// 3. The COPY itself goes through the extended protocol too, which refuses several
    ///    statements, and it must answer with COPY OUT; the transaction is READ ONLY throughout.
    ///
    /// - Throws: `JobFailure.usage` (exit 2) when the query is refused or the server reports a
    ///   syntax error; other server errors (missing table, permission denied) as `PostgresError`.
    func queryCopy(_ sql: String) throws -> String {
        let text = try ExtractQuery.trimmed(sql)
        let columns: Int
        do {
            columns = try connection.describeStatement(text)
        } catch let error as PostgresError where error.sqlState == "42601" {
            throw JobFailure.usage("--query must be exactly one SELECT (or VALUES, TABLE, WITH … SELECT) statement: PostgreSQL: \(error.message)")
        }
        guard columns > 0 else { throw ExtractQuery.returnsNoRows }
        return "COPY (\n\(text)\n) TO STDOUT WITH (FORMAT csv, HEADER)"
    }

    func plan(_ selection: ExtractSelection) throws -> [PlannedTable] {
        func copy(_ source: String) -> String { "COPY (\(source)) TO STDOUT WITH (FORMAT csv, HEADER)" }
        func tableCopy(schema: String, table: String) -> PlannedTable {
            let qualified = "\(PostgresConnection.quoteIdentifier(schema)).\(PostgresConnection.quoteIdentifier(table))"
            return PlannedTable(folder: "\(schema).\(table)", label: "\(schema).\(table)", statement: copy("SELECT * FROM \(qualified)"))
        }
        switch selection {
        case .query(let sql):
            return [PlannedTable(folder: "query", label: "query", statement: try queryCopy(sql))]
        case .table(let name):
            let parts = name.split(separator: ".", maxSplits: 1).map(String.init)
            let (schema, table) = parts.count == 2 ? (parts[0], parts[1]) : ("public", parts[0])
            let exists = try connection.query(
                "SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2",
                [schema, table])
            if exists.isEmpty { throw PostgresError(kind: .missingTable, message: "table \(schema).\(table) does not exist", sqlState: "42P01") }
            return [tableCopy(schema: schema, table: table)]
        case .schema(let schema, let include, let exclude):
            let rows = try connection.query(
                "SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                    + "WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY c.relname",
                [schema])
            let chosen = try ExtractQuery.choose(from: rows.compactMap { $0[0] }, schema: schema, include: include, exclude: exclude) {
                PostgresError(kind: .missingTable, message: $0, sqlState: "42P01")
            }
            return chosen.map { tableCopy(schema: schema, table: $0) }
        }
    }
}

/// What both databases check the same way in a selection.
enum ExtractQuery {
    /// `sql` without trailing semicolons and whitespace; refused when empty or holding a NUL.
    static func trimmed(_ sql: String) throws -> String {
        var text = Substring(sql)
        while let last = text.last, last == ";" || last.isWhitespace { text.removeLast() }
        if text.utf8.contains(0) { throw JobFailure.usage("--query contains a NUL byte") }
        if text.allSatisfy(\.isWhitespace) { throw JobFailure.usage("--query is empty") }
        return String(text)
    }

    static let returnsNoRows = JobFailure.usage(
        "--query must be one statement that returns rows (SELECT, VALUES, TABLE, WITH … SELECT); this one returns none")

    /// The tables of a schema to extract: `include` (each must exist) or all but `exclude`.
    static func choose(from tables: [String], schema: String, include: [String], exclude: [String],
                       missing: (String) -> any Error) throws -> [String] {
        for name in include where !tables.contains(name) {
            throw missing("table \(schema).\(name) (from --include) does not exist")
        }
        let chosen = tables.filter { (include.isEmpty || include.contains($0)) && !exclude.contains($0) }
        if chosen.isEmpty { throw JobFailure.usage("schema \(schema) has no tables to extract") }
        return chosen
    }
}
