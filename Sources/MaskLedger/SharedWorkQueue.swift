import Foundation
import MaskPostgres
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The items of one run shared by any number of worker processes, in the ledger's
/// `mask_ledger.items`: each worker claims the next free item (`FOR UPDATE SKIP LOCKED`, so
/// workers never wait on each other), holds it under a lease that a background thread renews,
/// and commits it exactly once under a fencing token.
///
/// The token is the item's `attempts` at claim time. A worker that stopped renewing (killed,
/// frozen, partitioned) loses the item when the lease runs out: the next claim increments
/// `attempts`, so the old worker's commit no longer matches and is refused even if it wakes up.
/// Publishing (renaming or uploading outputs) happens while the committing transaction holds the
/// item's row lock, so two workers can never publish the same item at once, and a worker that
/// dies while publishing leaves the item `running`, to be claimed again and redone.
///
/// Every method may be called from any thread: each call takes a connection of its own from a
/// small pool, so a long publish on one thread does not hold up claims or lease renewals on
/// another.
///
/// `@unchecked Sendable`: the pool is a `Mutex`; the renewal state (`renewing`, `renewalThread`) is
/// read and written only with `renewal` locked, because the renewer waits on it; `log` is set
/// once before the first claim.
public final class SharedWorkQueue: @unchecked Sendable {
    public let runID: String
    /// Who holds a claim, as stored in `items.worker`.
    public let worker: String
    /// Seconds a claim lasts without renewal.
    public let lease: Double
    /// Claims of one item after which an expired lease fails it instead of handing it out again
    /// (an input that kills every worker that touches it must not stall the run forever).
    public let maxAttempts: Int
    private let url: String
    /// Connections not in use.
    private let idle = Mutex<[PostgresConnection]>([])
    private let renewal = NSCondition()
    private var renewing = false
    private var renewalThread: Thread?
    /// Warnings (a failed renewal) for the caller's log.
    public var log: @Sendable (String) -> Void = { _ in }

    public struct Claim: Sendable, Equatable {
        public var item: String
        /// The fencing token: `attempts` as this claim set it.
        public var token: Int
    }

    /// The claim was lost: the lease expired and another worker claimed the item.
    public struct ClaimLost: Error, CustomStringConvertible {
        public var item: String
        public var description: String {
            "lost the claim on \(item): its lease expired and another worker took it over (raise --lease?)"
        }
    }

    public enum Start: Sendable, Equatable {
        /// Items are registered; claim them.
        case ready
        /// The run already finished with this status; nothing to do.
        case alreadyFinished(String)
    }

    /// Everything a finished run's summary is made of.
    public struct Finished: Sendable {
        /// Each item's result JSON as its worker committed it, in item order.
        public var results: [String]
        public var failed: Int
        /// When the run's first worker started it (ISO 8601, UTC), and seconds since then.
        public var startedAt: String
        public var elapsedSeconds: Double
    }

    public init(url: String, runID: String, worker: String, lease: Double, maxAttempts: Int = 3) throws {
        self.url = url
        self.runID = runID
        self.worker = worker
        self.lease = lease
        self.maxAttempts = maxAttempts
        // Fails early, with the connection error, before anything is read or written.
        let first = try PostgresConnection(url: url)
        idle.withLock { $0.append(first) }
    }

    deinit { stopRenewing() }

    /// Runs `body` on a pooled connection. After an error the connection goes back without an
    /// open transaction, or not at all if it was lost.
    private func withConnection<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        let pooled = idle.withLock { $0.popLast() }
        let connection = try pooled ?? PostgresConnection(url: url)
        var reusable = true
        defer {
            if reusable {
                idle.withLock { $0.append(connection) }
            }
        }
        do {
            return try body(connection)
        } catch let error as PostgresError where error.kind == .connectionLost {
            reusable = false
            throw error
        } catch {
            _ = try? connection.query("ROLLBACK")
            throw error
        }
    }

    /// Joins (or starts) the run and registers the items this worker found.
    ///
    /// Every worker lists the input itself and inserts what it found; items already there are
    /// left alone, so N workers starting at once register each item once. A run that failed is
    /// reopened: its failed items go back to pending. A run started with other rules, key or
    /// settings (`configuration` differs) is refused: its outputs would not be of one kind.
    public func start(
        command: String, labels: [String: String], rulesFingerprint: String, keyID: String?, configuration: String,
        items: [(name: String, bytes: Int)]
    ) throws -> Start {
        return try withConnection { connection in
            try RunLedger.migrate(on: connection)
            try connection.query("BEGIN")
            try connection.query(
                """
                INSERT INTO mask_ledger.runs (run_id, command, labels, rules_fingerprint, key_id, host, status, configuration)
                VALUES ($1, $2, $3::jsonb, $4, $5, $6, 'running', $7) ON CONFLICT (run_id) DO NOTHING
                """,
                [runID, command, RunLedger.json(labels), rulesFingerprint, keyID, ProcessInfo.processInfo.hostName, configuration])
            let row = try connection.query(
                "SELECT status, command, coalesce(configuration, ''), rules_fingerprint, coalesce(key_id, '') FROM mask_ledger.runs WHERE run_id = $1 FOR UPDATE",
                [runID])[0]
            guard row[1] == command, row[2] == configuration, row[3] == rulesFingerprint, row[4] == (keyID ?? "") else {
                var why = "other settings (input, output, format, level, chunk or part size)"
                if row[1] != command { why = "another command (\(row[1] ?? "?"))" }
                else if row[3] != rulesFingerprint { why = "other rules (fingerprint \(row[3] ?? "?"))" }
                else if row[4] != (keyID ?? "") { why = "another key (key id \(row[4] ?? "?"))" }
                throw RunMismatch(message: "run \(runID) in the ledger was started with \(why); workers of one run must share rules, key and settings (use another --run-id)")
            }
            let status = row[0] ?? "running"
            if status == "succeeded" {
                try connection.query("COMMIT")
                return .alreadyFinished(status)
            }
            if status != "running" {
                try connection.query(
                    "UPDATE mask_ledger.items SET status = 'pending', error = NULL, attempts = 0, lease_until = NULL WHERE run_id = $1 AND status = 'failed'",
                    [runID])
                try connection.query("UPDATE mask_ledger.runs SET status = 'running', finished_at = NULL, error = NULL WHERE run_id = $1", [runID])
            }
            if !items.isEmpty {
                try connection.query(
                    """
                    INSERT INTO mask_ledger.items (run_id, item, input_bytes, status)
                    SELECT $1, name, bytes, 'pending' FROM unnest($2::text[], $3::bigint[]) AS listed (name, bytes)
                    ON CONFLICT (run_id, item) DO NOTHING
                    """,
                    [runID, Self.arrayLiteral(items.map(\.name)), Self.arrayLiteral(items.map { String($0.bytes) })])
            }
            try connection.query("COMMIT")
            return .ready
        }
    }

    /// A run id that exists with another command, rules, key or settings.
    public struct RunMismatch: Error, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    public enum ClaimOutcome: Sendable, Equatable {
        case claimed(Claim)
        /// Nothing is free, but other workers hold items: one may come free if its worker dies.
        case wait
        /// Every item is finished (succeeded or failed).
        case done
    }

    /// Claims the next item: pending ones largest first (so the run does not end on one big
    /// file), then items whose lease ran out.
    public func claim() throws -> ClaimOutcome {
        try withConnection { connection in
            // Items that have used up their attempts are failed, not handed out again.
            try connection.query(
                """
                WITH expired AS MATERIALIZED (
                    SELECT item FROM mask_ledger.items WHERE run_id = $1 AND status = 'running' AND lease_until < now()
                    AND attempts >= $2 FOR UPDATE SKIP LOCKED)
                UPDATE mask_ledger.items AS i SET status = 'failed', lease_until = NULL, finished_at = now(),
                    error = 'abandoned: ' || i.attempts || ' workers claimed it and stopped renewing their lease (killed, out of memory?)'
                FROM expired
                WHERE i.run_id = $1 AND i.item = expired.item
                """,
                [runID, String(maxAttempts)])
            // MATERIALIZED: as a plain subquery joined in UPDATE … FROM, the planner may rescan
            // it once per row, and each rescan skips the rows just locked: one claim would take
            // many items.
            let rows = try connection.query(
                """
                WITH free AS MATERIALIZED (
                    SELECT item FROM mask_ledger.items
                    WHERE run_id = $1 AND (status = 'pending' OR (status = 'running' AND lease_until < now()))
                    ORDER BY status, input_bytes DESC NULLS LAST, item LIMIT 1 FOR UPDATE SKIP LOCKED)
                UPDATE mask_ledger.items AS i SET status = 'running', worker = $2, attempts = i.attempts + 1,
                    lease_until = now() + make_interval(secs => $3::float8), started_at = now(), error = NULL
                FROM free
                WHERE i.run_id = $1 AND i.item = free.item
                RETURNING i.item, i.attempts
                """,
                [runID, worker, String(lease)])
            if let row = rows.first, let item = row[0], let token = Int(row[1] ?? "") {
                return .claimed(Claim(item: item, token: token))
            }
            let open = try connection.query(
                "SELECT count(*) FROM mask_ledger.items WHERE run_id = $1 AND status IN ('pending', 'running')", [runID])
            return open.first?[0] == "0" ? .done : .wait
        }
    }

    /// Publishes a claimed item and records how it ended, in one transaction holding the item's
    /// row lock: `publish` runs only if the claim still stands, and the ledger says `status`
    /// only if `publish` returned.
    /// - Throws: `ClaimLost` (nothing was published), or what `publish` threw (the item stays
    ///   claimed until its lease runs out; call `fail` to record the error).
    public func commit(
        _ claim: Claim, status: String, records: Int, bytesOut: Int, output: String?, error: String?, result: String,
        publish: () throws -> Void
    ) throws {
        try withConnection { connection in
            try connection.query("BEGIN")
            let held = try connection.query(
                """
                SELECT 1 FROM mask_ledger.items WHERE run_id = $1 AND item = $2 AND worker = $3 AND attempts = $4 AND status = 'running'
                FOR UPDATE
                """,
                [runID, claim.item, worker, String(claim.token)])
            // (withConnection rolls back whatever is thrown here.)
            guard !held.isEmpty else { throw ClaimLost(item: claim.item) }
            try publish()
            try connection.query(
                """
                UPDATE mask_ledger.items SET status = $3, records = $4, bytes_out = $5, output = $6, error = $7, result = $8::jsonb,
                    lease_until = NULL, finished_at = now()
                WHERE run_id = $1 AND item = $2
                """,
                [runID, claim.item, status, String(records), String(bytesOut), output, error, result])
            try connection.query("COMMIT")
        }
    }

    /// Records a failure of a claimed item (if the claim still stands); it is not retried in
    /// this run, but a later start of the same run id reopens it.
    public func fail(_ claim: Claim, error: String, result: String) throws {
        try commit(claim, status: "failed", records: 0, bytesOut: 0, output: nil, error: error, result: result, publish: {})
    }

    /// Ends the run if nothing is left to do: no item pending or running. Exactly one worker
    /// gets here for a run (the run row is locked, then its status checked): it runs `publish`
    /// (write the run manifest and `_SUCCESS`) before the ledger says the run ended, so a
    /// worker that dies while publishing leaves the run open for the next start to finish.
    /// - Returns: nil if other items are still open or another worker ended the run.
    @discardableResult
    /// `publish` returns the run's matches per detector, for the ledger.
    public func finishIfDone(publish: (Finished) throws -> [String: Int]) throws -> Finished? {
        try withConnection { connection in
            try connection.query("BEGIN")
            let run = try connection.query(
                """
                SELECT status, to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                       extract(epoch FROM clock_timestamp() - started_at)::float8
                FROM mask_ledger.runs WHERE run_id = $1 FOR UPDATE
                """, [runID])
            guard run.first?[0] == "running" else {
                try connection.query("ROLLBACK")
                return nil
            }
            let counts = try connection.query(
                """
                SELECT count(*) FILTER (WHERE status IN ('pending', 'running')), count(*) FILTER (WHERE status = 'failed'),
                       coalesce(sum(records), 0), coalesce(sum(input_bytes), 0), coalesce(sum(bytes_out), 0)
                FROM mask_ledger.items WHERE run_id = $1
                """, [runID])[0]
            guard counts[0] == "0" else {
                try connection.query("ROLLBACK")
                return nil
            }
            let results = try connection.query(
                "SELECT coalesce(result::text, '{}') FROM mask_ledger.items WHERE run_id = $1 ORDER BY item COLLATE \"C\"", [runID]
            ).map { $0[0] ?? "{}" }
            let finished = Finished(
                results: results, failed: Int(counts[1] ?? "0") ?? 0, startedAt: run[0][1] ?? "",
                elapsedSeconds: ((Double(run[0][2] ?? "0") ?? 0) * 1000).rounded() / 1000)
            let detectorCounts = try publish(finished)
            try connection.query(
                """
                UPDATE mask_ledger.runs SET status = $2, finished_at = now(), records_in = $3, records_out = $3, bytes_in = $4, bytes_out = $5,
                    error = $6, detector_counts = $7::jsonb
                WHERE run_id = $1
                """,
                [runID, finished.failed == 0 ? "succeeded" : "failed", counts[2], counts[3], counts[4],
                 finished.failed == 0 ? nil : "\(finished.failed) items failed", RunLedger.json(detectorCounts)])
            try connection.query("COMMIT")
            return finished
        }
    }

    /// Renews this worker's leases every third of the lease, on a thread and a connection of
    /// its own. Rows being committed are locked and skipped: a committing claim cannot be taken.
    public func startRenewing() {
        renewal.lock()
        defer { renewal.unlock() }
        guard !renewing else { return }
        renewing = true
        let thread = Thread { [self] in
            var connection: PostgresConnection?
            renewal.lock()
            while renewing {
                _ = renewal.wait(until: Date().addingTimeInterval(max(0.05, lease / 3)))
                guard renewing else { break }
                renewal.unlock()
                do {
                    if connection == nil { connection = try PostgresConnection(url: url) }
                    try connection!.query(
                        """
                        WITH mine AS MATERIALIZED (
                            SELECT item FROM mask_ledger.items WHERE run_id = $1 AND worker = $2 AND status = 'running'
                            FOR UPDATE SKIP LOCKED)
                        UPDATE mask_ledger.items AS i SET lease_until = now() + make_interval(secs => $3::float8)
                        FROM mine
                        WHERE i.run_id = $1 AND i.item = mine.item AND i.worker = $2
                        """,
                        [runID, worker, String(lease)])
                } catch {
                    connection = nil
                    log("warning: ledger: could not renew the lease of \(worker)'s claims: \(error)")
                }
                renewal.lock()
            }
            renewal.unlock()
        }
        thread.name = "lease-renewal"
        renewalThread = thread
        thread.start()
    }

    public func stopRenewing() {
        renewal.lock()
        renewing = false
        renewal.broadcast()
        renewal.unlock()
    }

    /// A PostgreSQL array literal of text elements (`{"a","b\"c"}`), for `unnest($n::text[])`.
    static func arrayLiteral(_ values: [String]) -> String {
        "{" + values.map { value in
            "\"" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }.joined(separator: ",") + "}"
    }
}
