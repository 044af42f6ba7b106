/*!
 MaskExtract: `mask extract`, PostgreSQL straight into staged parts. It chooses the tables from the
 catalog, holds the snapshot transaction, streams each `COPY … TO STDOUT` (`CopySource`) into a
 `MaskJob` and commits the folder of tables as one. The libpq adapter is `MaskPostgres`; the
 masking, parts and manifests are `MaskPipeline`'s.
 */
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import MaskCore
import MaskEngine
import MaskLedger
import MaskPipeline
import MaskPostgres
import MaskRules

/// What `mask extract` copies out of PostgreSQL.
public enum ExtractSelection: Sendable {
    case table(String)
    case query(String)
    /// Every base table of a schema, or only `include`, or all but `exclude`.
    case schema(String, include: [String], exclude: [String])
}

/// `mask extract`: PostgreSQL → COPY … TO STDOUT (CSV, HEADER) → the CSV engine → one folder of
/// parts per table, then `_SUCCESS` once every table is done.
///
/// All tables are read in one `REPEATABLE READ, READ ONLY` transaction, so a multi-table extract is
/// one consistent snapshot. Table folders are built in a hidden staging folder and renamed into
/// place only after the last table succeeded: a failure at any point leaves no part visible. The
/// moves are journalled (`_COMMITTING`, as in `DirectorySink`), so a kill between the first move
/// and `_SUCCESS` leaves a folder the next run recognises as an interrupted commit and redoes; the
/// tables carry no `_SUCCESS` of their own, the extract's is the only one.
public struct ExtractJob {
    public let url: String
    public let selection: ExtractSelection
    public let rules: CompiledRules
    public let hasher: KeyedHasher?
    /// Runtime options for each table's masking (output directory and input are set per table).
    public let options: JobOptions
    public let outputDirectory: String

    public init(url: String, selection: ExtractSelection, rules: CompiledRules, hasher: KeyedHasher?, options: JobOptions, outputDirectory: String) {
        self.url = url
        self.selection = selection
        self.rules = rules
        self.hasher = hasher
        self.options = options
        self.outputDirectory = outputDirectory
    }

    public struct TableResult: Codable, Sendable {
        public var name: String
        public var folder: String
        public var records: Int
        public var outputBytes: Int
        public var parts: Int

        enum CodingKeys: String, CodingKey {
            case name, folder, records, parts
            case outputBytes = "output_bytes"
        }
    }

    public struct Summary: Codable, Sendable {
        public var schemaVersion = ReportJSON.schemaVersion
        public var tool = "mask"
        public var kind = "extract"
        public var version = MaskVersion.current
        public var source: String
        public var tables: [TableResult]
        public var snapshot: String
        public var rulesFingerprint: String
        public var keyID: String?
        public var startedAt: String
        public var finishedAt: String

        enum CodingKeys: String, CodingKey {
            case schemaVersion = "schema_version"
            case tool, kind, version, source, tables, snapshot
            case rulesFingerprint = "rules_fingerprint"
            case keyID = "key_id"
            case startedAt = "started_at"
            case finishedAt = "finished_at"
        }
    }

    public func run() throws -> Summary {
        let started = Date()
        let connection: PostgresConnection
        do {
            connection = try PostgresConnection(url: url)
        } catch let error as PostgresError {
            throw error.kind == .badURL ? JobFailure.usage(error.description) : JobFailure.io(error.description)
        }
        let staging = "\(outputDirectory)/.mask-staging-\(getpid())"
        let shown = DisplayName.of(outputDirectory)
        let lock: Int32
        do {
            try FileManager.default.createDirectory(atPath: outputDirectory, withIntermediateDirectories: true)
            lock = try takeOutputFolder()
            if FileManager.default.fileExists(atPath: "\(outputDirectory)/_SUCCESS") && !options.overwrite {
                close(lock)
                throw JobFailure.usage("output directory \(shown) already holds a finished extract; use --overwrite to replace it")
            }
            try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
        } catch let failure as JobFailure {
            throw failure
        } catch {
            throw JobFailure.io("cannot create \(DisplayName.of(staging)): \(error.localizedDescription)")
        }
        defer { close(lock) }
        do {
            let results = try extractAll(connection: connection, staging: staging)
            FaultPoint.reach("extract.tables-staged")
            // Everything is masked. The journal first (which folders are about to change), then
            // the old _SUCCESS and summary go, the table folders move into place, then the
            // summary, _SUCCESS, and the journal goes. See `takeOutputFolder` for the rerun.
            let journal = CommitJournal(pid: getpid(), parts: results.map(\.folder))
            do { try OutputFile.write(try journal.encoded(), to: "\(outputDirectory)/\(CommitJournal.fileName)") } catch {
                throw JobFailure.io("\(error)")
            }
            syncDirectory(outputDirectory)
            FaultPoint.reach("extract.journal-written")
            unlink("\(outputDirectory)/_SUCCESS")
            unlink("\(outputDirectory)/_extract.json")
            for (index, result) in results.enumerated() {
                let target = "\(outputDirectory)/\(result.folder)"
                try? FileManager.default.removeItem(atPath: target)
                guard rename("\(staging)/\(result.folder)", target) == 0 else {
                    throw JobFailure.io("cannot move \(DisplayName.of(result.folder)) into \(shown): \(String(cString: strerror(errno)))")
                }
                if index == 0 && results.count > 1 { FaultPoint.reach("extract.table-moved") }
            }
            syncDirectory(outputDirectory)
            FaultPoint.reach("extract.tables-moved")
            try? FileManager.default.removeItem(atPath: staging)
            let formatter = ISO8601DateFormatter()
            let summary = Summary(
                source: connection.redactedURL, tables: results, snapshot: "repeatable read, read only",
                rulesFingerprint: rules.fingerprint, keyID: hasher?.keyID,
                startedAt: formatter.string(from: started), finishedAt: formatter.string(from: Date()))
            do {
                try OutputFile.write(try ReportJSON.encode(summary), to: "\(outputDirectory)/_extract.json")
                FaultPoint.reach("extract.summary-written")
                try OutputFile.write([], to: "\(outputDirectory)/_SUCCESS")
                FaultPoint.reach("extract.success-written")
            } catch {
                throw JobFailure.io("\(error)")
            }
            unlink("\(outputDirectory)/\(CommitJournal.fileName)")
            syncDirectory(outputDirectory)
            return summary
        } catch {
            try? FileManager.default.removeItem(atPath: staging)
            throw error
        }
    }

    /// Locks the output folder for this run (`flock`, released however the process ends) and
    /// clears what a killed run left there: under the lock, every staging folder and temporary
    /// is a dead run's; a journal without `_SUCCESS` is an interrupted commit, whose table folders
    /// and summary are removed (without `--overwrite`: the run that wrote it had the right);
    /// a journal beside `_SUCCESS` is a commit that completed, and only the journal goes.
    /// - Returns: the locked descriptor, to close when the run ends.
    private func takeOutputFolder() throws -> Int32 {
        let shown = DisplayName.of(outputDirectory)
        let lock = open(outputDirectory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard lock >= 0 else { throw JobFailure.io("cannot open output directory \(shown): \(String(cString: strerror(errno)))") }
        guard flock(lock, LOCK_EX | LOCK_NB) == 0 else {
            close(lock)
            throw JobFailure.usage("another mask run is writing to \(shown)")
        }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: outputDirectory)) ?? []
        for name in names where name.hasPrefix(".mask-staging-") || isTemporaryName(name) {
            try? FileManager.default.removeItem(atPath: "\(outputDirectory)/\(name)")
        }
        let journalPath = "\(outputDirectory)/\(CommitJournal.fileName)"
        guard names.contains(CommitJournal.fileName) else { return lock }
        if !names.contains("_SUCCESS") {
            let journal = FileManager.default.contents(atPath: journalPath).flatMap { try? ReportJSON.decode(CommitJournal.self, from: $0) }
            // Only plain folder names of this folder: never a path out of it.
            for folder in journal?.parts ?? [] where !folder.contains("/") && folder != "." && folder != ".." && !folder.isEmpty {
                try? FileManager.default.removeItem(atPath: "\(outputDirectory)/\(folder)")
            }
            unlink("\(outputDirectory)/_extract.json")
            options.log("warning: \(shown) held an interrupted extract (\(CommitJournal.fileName) without _SUCCESS); removed its tables")
        }
        unlink(journalPath)
        syncDirectory(outputDirectory)
        return lock
    }

    private func extractAll(connection: PostgresConnection, staging: String) throws -> [TableResult] {
        do {
            try connection.query("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            var results: [TableResult] = []
            for (folder, copySQL, label) in try plannedCopies(connection) {
                var tableOptions = options
                tableOptions.outputDirectory = "\(staging)/\(folder)"
                tableOptions.input = nil
                tableOptions.format = .csv
                tableOptions.writeSuccessMarker = false
                tableOptions.dialect = .init(delimiter: UInt8(ascii: ","), hasHeader: true)
                if case .schema = selection { tableOptions.requireExactFields = false }
                let stream: CopyOutStream
                do {
                    stream = try connection.copyOut(copySQL)
                } catch let error as PostgresError where error.sqlState == "25006" {
                    guard case .query = selection else { throw error }
                    // read_only_sql_transaction: the query tried to write (DELETE … RETURNING, a writing CTE).
                    throw JobFailure.usage("--query must only read (the extract runs READ ONLY): PostgreSQL: \(error.message)")
                }
                let result = try MaskJob(rules: rules, hasher: hasher, options: tableOptions).run(source: CopySource(name: label, stream: stream))
                results.append(TableResult(
                    name: label, folder: folder, records: result.manifest.recordsOut,
                    outputBytes: result.manifest.outputBytes, parts: result.manifest.parts.count))
                options.log("extracted \(DisplayName.of(label)): \(result.manifest.recordsOut) records")
            }
            try connection.query("COMMIT")
            return results
        } catch let error as PostgresError {
            throw JobFailure.io(error.description)
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
    static func queryCopy(_ sql: String, _ connection: PostgresConnection) throws -> String {
        var text = Substring(sql)
        while let last = text.last, last == ";" || last.isWhitespace { text.removeLast() }
        if text.utf8.contains(0) { throw JobFailure.usage("--query contains a NUL byte") }
        if text.allSatisfy(\.isWhitespace) { throw JobFailure.usage("--query is empty") }
        let columns: Int
        do {
            columns = try connection.describeStatement(String(text))
        } catch let error as PostgresError where error.sqlState == "42601" {
            throw JobFailure.usage("--query must be exactly one SELECT (or VALUES, TABLE, WITH … SELECT) statement: PostgreSQL: \(error.message)")
        }
        guard columns > 0 else {
            throw JobFailure.usage("--query must be one statement that returns rows (SELECT, VALUES, TABLE, WITH … SELECT); this one returns none")
        }
        return "COPY (\n\(text)\n) TO STDOUT WITH (FORMAT csv, HEADER)"
    }

    /// (output folder, COPY statement, name for messages) for each table to extract.
    private func plannedCopies(_ connection: PostgresConnection) throws -> [(String, String, String)] {
        func copy(_ source: String) -> String { "COPY (\(source)) TO STDOUT WITH (FORMAT csv, HEADER)" }
        func tableCopy(schema: String, table: String) -> (String, String, String) {
            let qualified = "\(PostgresConnection.quoteIdentifier(schema)).\(PostgresConnection.quoteIdentifier(table))"
            return ("\(schema).\(table)", copy("SELECT * FROM \(qualified)"), "\(schema).\(table)")
        }
        switch selection {
        case .query(let sql):
            return [("query", try Self.queryCopy(sql, connection), "query")]
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
            let tables = rows.compactMap { $0[0] }
            for name in include where !tables.contains(name) {
                throw PostgresError(kind: .missingTable, message: "table \(schema).\(name) (from --include) does not exist", sqlState: "42P01")
            }
            let chosen = tables.filter { (include.isEmpty || include.contains($0)) && !exclude.contains($0) }
            if chosen.isEmpty { throw JobFailure.usage("schema \(schema) has no tables to extract") }
            return chosen.map { tableCopy(schema: schema, table: $0) }
        }
    }
}

extension ExtractJob {
    /// `run()`, recorded in the ledger when `ledger` is given: the run, then one item per table
    /// (its folder, records and bytes, the snapshot as the input's identity).
    public func run(recordingIn ledger: LedgerSettings?) throws -> Summary {
        guard let recorder = try RunRecorder.start(
            ledger, command: "mask extract", rulesFingerprint: rules.fingerprint, keyID: hasher?.keyID, log: options.log)
        else { return try run() }
        let summary = try recorder.run { try run() }
        for table in summary.tables {
            recorder.record(.init(item: table.name, inputIdentity: "\(summary.source) \(summary.snapshot)", output: "\(outputDirectory)/\(table.folder)",
                                  records: table.records, bytesOut: table.outputBytes, status: "succeeded", error: nil))
        }
        let records = summary.tables.reduce(0) { $0 + $1.records }
        recorder.finish(.init(status: "succeeded", recordsIn: records, recordsOut: records, bytesIn: 0,
                              bytesOut: summary.tables.reduce(0) { $0 + $1.outputBytes }, detectorCounts: [:], error: nil))
        return summary
    }
}
