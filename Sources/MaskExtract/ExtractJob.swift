/*!
 MaskExtract: `mask extract`, a database straight into staged parts. A `DatabaseSnapshot`
 (PostgreSQL through `MaskPostgres`, MySQL/MariaDB through `MaskMySQL`) chooses the tables from the
 catalog, holds the snapshot transaction and streams each table as CSV bytes; `ExtractJob` masks
 each with a `MaskJob` and commits the folder of tables as one. The masking, parts and manifests
 are `MaskPipeline`'s.
 */
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import MaskCore
import MaskEngine
import MaskLedger
import MaskPipeline
import MaskRules

/// What `mask extract` copies out of the database.
public enum ExtractSelection: Sendable {
    case table(String)
    case query(String)
    /// Every base table of a schema (a database, for MySQL), or only `include`, or all but `exclude`.
    case schema(String, include: [String], exclude: [String])
}

/// `mask extract`: a database → CSV (PostgreSQL's `COPY … TO STDOUT (CSV, HEADER)`, MySQL's rows
/// written as the same CSV) → the CSV engine → one folder of parts per table, then `_SUCCESS` once
/// every table is done. `postgresql://` (or conninfo) and `mysql://` / `mariadb://` URLs.
///
/// All tables are read in one read-only snapshot transaction (`DatabaseSnapshot`), so a
/// multi-table extract is one consistent snapshot. Table folders are built in a hidden staging folder and renamed into
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
        let snapshot = try connectSnapshot(url: url)
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
            let results = try extractAll(snapshot, staging: staging)
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
                source: snapshot.redactedURL, tables: results, snapshot: snapshot.snapshotDescription,
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

    private func extractAll(_ snapshot: any DatabaseSnapshot, staging: String) throws -> [TableResult] {
        do {
            try snapshot.begin()
            var results: [TableResult] = []
            for table in try snapshot.plan(selection) {
                var tableOptions = options
                tableOptions.outputDirectory = "\(staging)/\(table.folder)"
                tableOptions.input = nil
                tableOptions.format = .csv
                tableOptions.writeSuccessMarker = false
                tableOptions.dialect = .init(delimiter: UInt8(ascii: ","), hasHeader: true)
                if case .schema = selection { tableOptions.requireExactFields = false }
                let source = try snapshot.open(table)
                let result = try MaskJob(rules: rules, hasher: hasher, options: tableOptions).run(source: source)
                results.append(TableResult(
                    name: table.label, folder: table.folder, records: result.manifest.recordsOut,
                    outputBytes: result.manifest.outputBytes, parts: result.manifest.parts.count))
                options.log("extracted \(DisplayName.of(table.label)): \(result.manifest.recordsOut) records")
            }
            try snapshot.commit()
            return results
        } catch let error as JobFailure {
            throw error
        } catch let error as CategorizedFailure {
            // The adapters' errors (PostgresError, MySQLError): refused, lost, missing table, denied.
            throw jobFailure(error)
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
