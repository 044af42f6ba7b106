/*!
 MaskLedger: mask's own tables in PostgreSQL (schema `mask_ledger`): the run ledger (`RunLedger`)
 and the queue that shares one batch between workers (`SharedWorkQueue`: claims, leases, fenced
 commits). It sits on top of `MaskPostgres`, which only wraps libpq, and above `MaskPipeline`,
 whose errors it maps (`JobFailure.ledger`).
 */
import Foundation
import MaskPostgres

/// A record of runs in PostgreSQL (`--ledger URL`): who ran what, with which rules and key, how it
/// ended, and — per file or table — what was read and written. Labels (`--label service=billing`)
/// let a failure be traced to its owner.
///
/// The schema lives in `mask_ledger` and is created or migrated by `migrate()` idempotently:
/// migrations run in one transaction under an advisory lock, so concurrent `mask ledger init`
/// calls (N workers starting at once) are safe.
///
/// `@unchecked Sendable`: it owns one connection and is used from one thread at a time (the job's
/// caller); a shared run uses `SharedWorkQueue`, which pools connections.
public final class RunLedger: @unchecked Sendable {
    let connection: PostgresConnection

    /// Migrations in order; `schema_version` records how many were applied.
    static let migrations: [String] = [
        """
        CREATE TABLE mask_ledger.runs (
            run_id text PRIMARY KEY,
            command text NOT NULL,
            labels jsonb NOT NULL DEFAULT '{}',
            rules_fingerprint text,
            key_id text,
            host text,
            started_at timestamptz NOT NULL DEFAULT now(),
            finished_at timestamptz,
            status text NOT NULL DEFAULT 'running',
            records_in bigint,
            records_out bigint,
            bytes_in bigint,
            bytes_out bigint,
            detector_counts jsonb,
            error text
        );
        CREATE TABLE mask_ledger.items (
            run_id text NOT NULL REFERENCES mask_ledger.runs (run_id),
            item text NOT NULL,
            input_identity text,
            output text,
            records bigint,
            bytes_out bigint,
            status text NOT NULL DEFAULT 'pending',
            attempts int NOT NULL DEFAULT 0,
            error text,
            worker text,
            lease_until timestamptz,
            started_at timestamptz,
            finished_at timestamptz,
            PRIMARY KEY (run_id, item)
        );
        CREATE INDEX items_status ON mask_ledger.items (run_id, status);
        """,
        // Shared batches: the settings every worker of a run must share, each item's input size
        // (claims go largest first) and the result its worker committed (for the run manifest).
        """
        ALTER TABLE mask_ledger.runs ADD COLUMN configuration text;
        ALTER TABLE mask_ledger.items ADD COLUMN input_bytes bigint, ADD COLUMN result jsonb;
        """,
    ]

    public init(url: String) throws {
        connection = try PostgresConnection(url: url)
    }

    /// Creates or migrates the ledger schema. Safe to run any number of times, concurrently.
    /// - Returns: the schema version now in place.
    @discardableResult
    public func migrate() throws -> Int {
        try Self.migrate(on: connection)
    }

    @discardableResult
    static func migrate(on connection: PostgresConnection) throws -> Int {
        try connection.query("BEGIN")
        do {
            try connection.query("SELECT pg_advisory_xact_lock(7365120241125)")
            try connection.query("CREATE SCHEMA IF NOT EXISTS mask_ledger")
            try connection.query("CREATE TABLE IF NOT EXISTS mask_ledger.schema_version (version int NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())")
            let current = Int(try connection.query("SELECT coalesce(max(version), 0) FROM mask_ledger.schema_version")[0][0] ?? "0") ?? 0
            for (index, migration) in Self.migrations.enumerated() where index + 1 > current {
                try connection.query(migration)
                try connection.query("INSERT INTO mask_ledger.schema_version (version) VALUES ($1)", [String(index + 1)])
            }
            try connection.query("COMMIT")
            return Self.migrations.count
        } catch {
            _ = try? connection.query("ROLLBACK")
            throw error
        }
    }

    public struct RunStart: Sendable {
        public var runID: String
        public var command: String
        public var labels: [String: String]
        public var rulesFingerprint: String
        public var keyID: String?

        public init(runID: String, command: String, labels: [String: String], rulesFingerprint: String, keyID: String?) {
            self.runID = runID
            self.command = command
            self.labels = labels
            self.rulesFingerprint = rulesFingerprint
            self.keyID = keyID
        }
    }

    static func json(_ object: Any) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    public func startRun(_ run: RunStart) throws {
        try migrate()
        try connection.query(
            """
            INSERT INTO mask_ledger.runs (run_id, command, labels, rules_fingerprint, key_id, host, status)
            VALUES ($1, $2, $3::jsonb, $4, $5, $6, 'running')
            ON CONFLICT (run_id) DO UPDATE SET status = 'running', finished_at = NULL, error = NULL
            """,
            [run.runID, run.command, Self.json(run.labels), run.rulesFingerprint, run.keyID, ProcessInfo.processInfo.hostName])
    }

    public struct RunEnd: Sendable {
        public var status: String
        public var recordsIn: Int
        public var recordsOut: Int
        public var bytesIn: Int
        public var bytesOut: Int
        public var detectorCounts: [String: Int]
        public var error: String?

        public init(status: String, recordsIn: Int, recordsOut: Int, bytesIn: Int, bytesOut: Int, detectorCounts: [String: Int], error: String?) {
            self.status = status
            self.recordsIn = recordsIn
            self.recordsOut = recordsOut
            self.bytesIn = bytesIn
            self.bytesOut = bytesOut
            self.detectorCounts = detectorCounts
            self.error = error
        }
    }

    public func finishRun(_ runID: String, _ end: RunEnd) throws {
        try connection.query(
            """
            UPDATE mask_ledger.runs SET status = $2, finished_at = now(), records_in = $3, records_out = $4,
                bytes_in = $5, bytes_out = $6, detector_counts = $7::jsonb, error = $8
            WHERE run_id = $1
            """,
            [runID, end.status, String(end.recordsIn), String(end.recordsOut), String(end.bytesIn), String(end.bytesOut),
             Self.json(end.detectorCounts), end.error])
    }

    public struct Item: Sendable {
        public var item: String
        public var inputIdentity: String?
        public var output: String?
        public var records: Int?
        public var bytesOut: Int?
        public var status: String
        public var error: String?

        public init(item: String, inputIdentity: String?, output: String?, records: Int?, bytesOut: Int?, status: String, error: String?) {
            self.item = item
            self.inputIdentity = inputIdentity
            self.output = output
            self.records = records
            self.bytesOut = bytesOut
            self.status = status
            self.error = error
        }
    }

    /// Records one file or table of a run (inserted, or updated on a retry with attempts + 1).
    public func recordItem(_ runID: String, _ item: Item) throws {
        try connection.query(
            """
            INSERT INTO mask_ledger.items (run_id, item, input_identity, output, records, bytes_out, status, attempts, error, worker, started_at, finished_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $9, now(), now())
            ON CONFLICT (run_id, item) DO UPDATE SET input_identity = EXCLUDED.input_identity, output = EXCLUDED.output,
                records = EXCLUDED.records, bytes_out = EXCLUDED.bytes_out, status = EXCLUDED.status,
                attempts = mask_ledger.items.attempts + 1, error = EXCLUDED.error, worker = EXCLUDED.worker, finished_at = now()
            """,
            [runID, item.item, item.inputIdentity, item.output, item.records.map(String.init), item.bytesOut.map(String.init),
             item.status, item.error, "\(ProcessInfo.processInfo.hostName):\(getpid())"])
    }

    /// A human-readable status of one run: the run row and a count of items per status.
    public func status(_ runID: String) throws -> String? {
        let runs = try connection.query(
            """
            SELECT command, status, labels::text, rules_fingerprint, coalesce(key_id, '-'), host, started_at::text,
                   coalesce(finished_at::text, '-'), coalesce(records_in, 0), coalesce(records_out, 0), coalesce(error, '')
            FROM mask_ledger.runs WHERE run_id = $1
            """, [runID])
        guard let run = runs.first else { return nil }
        var lines = [
            "run \(runID): \(run[1] ?? "?") (\(run[0] ?? "?"))",
            "  labels \(run[2] ?? "{}"), rules \(run[3] ?? "-"), key \(run[4] ?? "-"), host \(run[5] ?? "-")",
            "  started \(run[6] ?? "-"), finished \(run[7] ?? "-"), records in \(run[8] ?? "0"), out \(run[9] ?? "0")",
        ]
        if let error = run[10], !error.isEmpty { lines.append("  error: \(error)") }
        let items = try connection.query(
            "SELECT status, count(*), coalesce(sum(records), 0) FROM mask_ledger.items WHERE run_id = $1 GROUP BY status ORDER BY status", [runID])
        for item in items { lines.append("  items \(item[0] ?? "?"): \(item[1] ?? "0") (\(item[2] ?? "0") records)") }
        let failed = try connection.query(
            "SELECT item, coalesce(error, '') FROM mask_ledger.items WHERE run_id = $1 AND status = 'failed' ORDER BY item LIMIT 20", [runID])
        for item in failed { lines.append("  failed \(item[0] ?? "?"): \(item[1] ?? "")") }
        let running = try connection.query(
            """
            SELECT item, coalesce(worker, '?'), attempts, CASE WHEN lease_until < now() THEN ' (lease expired)' ELSE '' END
            FROM mask_ledger.items WHERE run_id = $1 AND status = 'running' ORDER BY item LIMIT 20
            """, [runID])
        for item in running { lines.append("  running \(item[0] ?? "?"): \(item[1] ?? "?"), attempt \(item[2] ?? "?")\(item[3] ?? "")") }
        return lines.joined(separator: "\n")
    }
}
