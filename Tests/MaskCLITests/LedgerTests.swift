import Foundation
import MaskTestSupport
import Testing

/// The run ledger in a real PostgreSQL server.
@Suite(.serialized) struct LedgerTests {
    let directory = TemporaryDirectory()
    let cluster = PostgresCluster.shared

    @Test func initIsIdempotentAndRunsAreRecordedWithLabels() throws {
        let db = cluster.createDatabase()
        let url = cluster.url(database: db)
        for _ in 0..<2 {
            let initialised = Runner.mask(["ledger", "init", "--ledger", url], in: directory)
            #expect(initialised.status == 0, "\(initialised.stderr)")
            #expect(initialised.stdoutText.contains("version 2"))
        }
        let input = directory.write("in.csv", Fixtures.syntheticCSV(rows: 50))
        let rules = directory.write("r.yaml", Fixtures.everyPolicyRules)
        let run = Runner.mask(["--rules", rules, "--input", input, "--output", directory.file("out"), "--ledger", url,
                               "--label", "service=billing", "--label", "team=data", "--run-id", "run-ok"], in: directory)
        #expect(run.status == 0, "\(run.stderr)")
        let status = Runner.mask(["ledger", "status", "--ledger", url, "run-ok"], in: directory)
        #expect(status.status == 0, "\(status.stderr)")
        #expect(status.stdoutText.contains("run run-ok: succeeded (mask run)"))
        #expect(status.stdoutText.contains("\"service\": \"billing\"") || status.stdoutText.contains("\"service\":\"billing\""))
        #expect(status.stdoutText.contains("records in 50, out 50"))
        #expect(status.stdoutText.contains("items succeeded: 1"))
        let (_, keyID) = cluster.psql("SELECT key_id FROM mask_ledger.runs WHERE run_id = 'run-ok'", database: db)
        #expect(keyID.trimmingCharacters(in: .whitespacesAndNewlines).count == 12)
    }

    @Test func anUnparsableLedgerURLIsAUsageError() throws {
        let initialised = Runner.mask(["ledger", "init", "--ledger", "bad://x"], in: directory)
        #expect(initialised.status == 2, "\(initialised.stderr)")
        #expect(initialised.stderr.contains("invalid connection URL"), "\(initialised.stderr)")
    }

    @Test func failedRunsAreRecordedWithTheirError() throws {
        let db = cluster.createDatabase()
        let url = cluster.url(database: db)
        let input = directory.write("bad.csv", "id,email\n1,a@example.com,extra\n")
        let rules = directory.write("r.yaml", Fixtures.everyPolicyRules)
        let run = Runner.mask(["--rules", rules, "--input", input, "--compress", "none", "--ledger", url, "--run-id", "run-bad"], in: directory)
        #expect(run.status == 1)
        let status = Runner.mask(["ledger", "status", "--ledger", url, "run-bad"], in: directory)
        #expect(status.stdoutText.contains("run run-bad: failed"))
        #expect(status.stdoutText.contains("wrong number of fields"))
    }

    @Test func extractRecordsEachTableAndNoPassword() throws {
        let db = cluster.createDatabase()
        cluster.psql("CREATE TABLE a (email text); INSERT INTO a VALUES ('x@example.com'); CREATE TABLE b (id int); INSERT INTO b VALUES (1), (2);", database: db)
        let url = cluster.url(database: db)
        let run = Runner.mask(["extract", "--from", url, "--schema", "public", "--rules", MaskBinary.rules("pii.yaml"),
                               "--output", directory.file("x"), "--ledger", url, "--run-id", "extract-1", "--label", "service=crm"], in: directory)
        #expect(run.status == 0, "\(run.stderr)")
        let status = Runner.mask(["ledger", "status", "--ledger", url, "extract-1"], in: directory)
        #expect(status.stdoutText.contains("items succeeded: 2 (3 records)"), "\(status.stdoutText)")
        let (_, dump) = cluster.psql("SELECT row_to_json(r)::text FROM mask_ledger.runs r UNION ALL SELECT row_to_json(i)::text FROM mask_ledger.items i", database: db)
        #expect(!dump.contains(PostgresCluster.password))
    }
}
