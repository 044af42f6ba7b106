import Foundation
import MaskTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Many `mask batch` workers sharing one batch through the PostgreSQL ledger, in a real server.
@Suite(.serialized) struct SharedBatchTests {
    let directory = TemporaryDirectory()
    let cluster = PostgresCluster.shared

    /// 30 inputs: 20 CSVs of 1 MB (several parts each), 5 TSVs and 5 JSONL files.
    func makeSource() throws -> String {
        let source = directory.file("src")
        try FileManager.default.createDirectory(atPath: "\(source)/nested", withIntermediateDirectories: true)
        let big = BatchFixtures.bigCSV(megabytes: 1)
        for index in 0..<20 { directory.write(String(format: "src/big-%02d.csv", index), big + "\(index),Name \(index),u\(index)@example.com,+1 415 555 0100,x\n") }
        for index in 0..<5 { directory.write("src/nested/t\(index).tsv", BatchFixtures.tsv(rows: 200 + index, seed: index)) }
        for index in 0..<5 { directory.write("src/nested/e\(index).jsonl", BatchFixtures.jsonl(rows: 100 + index)) }
        return source
    }

    /// Every file under `root` with its modification time: what a rerun must not touch.
    func modificationTimes(_ root: String) -> [String] {
        filesRecursively(root).map { path in
            var info = stat()
            stat("\(root)/\(path)", &info)
            return "\(path) \(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec)"
        }
    }

    func scalar(_ sql: String, _ db: String) -> String {
        cluster.psql(sql, database: db).1.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func threeWorkersOneKilledMidFileEveryFileMaskedOnceAsBySingleWorker() throws {
        defer { directory.remove() }
        let source = try makeSource()
        let rules = directory.write("rules.yaml", BatchFixtures.rules)
        let common = ["--rules", rules, "--input", source, "--chunk-size", "64K", "--max-part-size", "128K", "--threads", "1", "--parallel-files", "1"]

        let clean = directory.file("clean")
        let reference = Runner.mask(["batch"] + common + ["--output", clean, "-q"], in: directory)
        #expect(reference.status == 0, "\(reference.stderr)")

        let db = cluster.createDatabase()
        let url = cluster.url(database: db)
        let out = directory.file("out")
        let shared = ["batch"] + common + ["--output", out, "--ledger", url, "--run-id", "r1", "--lease", "4s", "--label", "service=billing"]
        let workers = (1...3).map { BackgroundMask(shared + ["--worker", "w\($0)"], stderrName: ".w\($0)-stderr", in: directory) }

        // Kill w1 just after it claimed a file (most of that file's work still ahead: a file
        // takes about a second here), once a few files are done. One query per poll, so polls
        // stay frequent on a loaded machine.
        let midFile = workers[0].wait(until: {
            scalar("""
                SELECT count(*) FILTER (WHERE status = 'succeeded') >= 3
                   AND count(*) FILTER (WHERE worker = 'w1' AND status = 'running' AND started_at > now() - interval '300 ms') = 1
                FROM mask_ledger.items WHERE run_id = 'r1'
                """, db) == "t"
        }, timeout: 200)
        #expect(midFile, "w1 ended before it was killed: \(workers[0].stderr)")
        #expect(workers[0].kill())
        let victim = scalar("SELECT item FROM mask_ledger.items WHERE run_id = 'r1' AND worker = 'w1' AND status = 'running'", db)
        #expect(!victim.isEmpty, "w1 held no file when it was killed")

        // The others finish, taking over w1's file once its lease runs out.
        for worker in workers.dropFirst() { #expect(worker.waitForExit() == 0, "\(worker.stderr)") }
        let enders = workers.dropFirst().filter { $0.stderr.contains("ended run r1") }
        #expect(enders.count == 1, "\(workers.map(\.stderr))")

        // The ledger: every file succeeded once; the victim was claimed twice, last by another worker.
        #expect(scalar("SELECT count(*) FROM mask_ledger.items WHERE run_id = 'r1'", db) == "30")
        #expect(scalar("SELECT count(*) FROM mask_ledger.items WHERE run_id = 'r1' AND status = 'succeeded' AND lease_until IS NULL", db) == "30")
        #expect(scalar("SELECT attempts || ' ' || worker FROM mask_ledger.items WHERE run_id = 'r1' AND item = '\(victim)'", db).hasPrefix("2 w"))
        #expect(scalar("SELECT worker FROM mask_ledger.items WHERE run_id = 'r1' AND item = '\(victim)'", db) != "w1")
        #expect(scalar("SELECT count(*) FROM mask_ledger.items WHERE run_id = 'r1' AND attempts <> 1 AND item <> '\(victim)'", db) == "0")
        #expect(scalar("SELECT status || ' ' || records_in || ' ' || (labels->>'service') FROM mask_ledger.runs WHERE run_id = 'r1'", db)
            == "succeeded \(scalar("SELECT sum(records) FROM mask_ledger.items WHERE run_id = 'r1'", db)) billing")

        #expect((Int(scalar("SELECT detector_counts->>'email' FROM mask_ledger.runs WHERE run_id = 'r1'", db)) ?? 0) > 0)

        // The outputs: byte-identical to the single worker's, nothing partial, duplicated or hidden left.
        #expect(directory.exists("out/_SUCCESS"))
        let sharedFiles = BatchFixtures.dataFiles(out)
        let cleanFiles = BatchFixtures.dataFiles(clean)
        #expect(sharedFiles.keys.sorted() == cleanFiles.keys.sorted())
        #expect(sharedFiles == cleanFiles, "outputs differ from a single worker's")
        #expect(sharedFiles.keys.filter { $0.contains(".part-") }.count > 20)
        #expect(filesRecursively(out).allSatisfy { !$0.split(separator: "/").contains { $0.hasPrefix(".") } }, "\(filesRecursively(out))")
        let manifest = BatchFixtures.json(directory.read("out/_batch_manifest.json"))
        #expect(manifest["run_id"] as? String == "r1")
        #expect(manifest["files_total"] as? Int == 30)
        #expect(manifest["files_masked"] as? Int == 30)
        #expect(manifest["status"] as? String == "succeeded")
        // The run's span, from the first worker's start (the killed one's, before the kill).
        #expect((manifest["elapsed_seconds"] as? Double ?? 0) > 2, "\(manifest["elapsed_seconds"] ?? "-")")

        // A rerun of the finished run does nothing.
        let before = modificationTimes(out)
        let rerun = Runner.mask(shared + ["--worker", "w4"], in: directory)
        #expect(rerun.status == 0, "\(rerun.stderr)")
        #expect(rerun.stderr.contains("already succeeded"), "\(rerun.stderr)")
        let after = modificationTimes(out)
        #expect(before == after)
        let status = Runner.mask(["ledger", "status", "--ledger", url, "r1"], in: directory)
        #expect(status.stdoutText.contains("items succeeded: 30"), "\(status.stdoutText)")
    }

    @Test func aFrozenWorkerLosesItsLeaseAndItsLateCommitIsRefused() throws {
        defer { directory.remove() }
        let source = directory.file("src")
        try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
        directory.write("src/big.csv", BatchFixtures.bigCSV(megabytes: 3))
        let rules = directory.write("rules.yaml", BatchFixtures.rules)
        let common = ["--rules", rules, "--input", source, "--threads", "1"]
        let clean = directory.file("clean")
        #expect(Runner.mask(["batch"] + common + ["--output", clean, "-q"], in: directory).status == 0)

        let db = cluster.createDatabase()
        let url = cluster.url(database: db)
        let out = directory.file("out")
        let shared = ["batch"] + common + ["--output", out, "--ledger", url, "--run-id", "frozen", "--lease", "2s"]
        let first = BackgroundMask(shared + ["--worker", "a"], stderrName: ".a-stderr", in: directory)
        #expect(first.wait(until: { scalar("SELECT count(*) FROM mask_ledger.items WHERE run_id = 'frozen' AND worker = 'a' AND status = 'running'", db) == "1" }))
        first.suspend()
        // b waits for a's lease to run out, takes the file over and ends the run.
        let second = Runner.mask(shared + ["--worker", "b"], in: directory)
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stderr.contains("ended run frozen"), "\(second.stderr)")
        #expect(scalar("SELECT status || ' ' || attempts || ' ' || worker FROM mask_ledger.items WHERE run_id = 'frozen'", db) == "succeeded 2 b")
        let committed = BatchFixtures.dataFiles(out)
        #expect(committed == BatchFixtures.dataFiles(clean))

        // a wakes up, finishes masking, and is refused at its commit: nothing of b's is touched.
        first.resume()
        #expect(first.waitForExit() == 0, "\(first.stderr)")
        #expect(first.stderr.contains("lost the claim on big.csv"), "\(first.stderr)")
        #expect(BatchFixtures.dataFiles(out) == committed)
        #expect(directory.exists("out/_SUCCESS"))
        #expect(directory.exists("out/_manifests/big.csv.json"))
        #expect(scalar("SELECT status || ' ' || attempts || ' ' || worker FROM mask_ledger.items WHERE run_id = 'frozen'", db) == "succeeded 2 b")
    }

    @Test func failedFilesFailTheRunAndARestartRetriesThemOnlyWithTheSameSettings() throws {
        defer { directory.remove() }
        let source = directory.file("src")
        try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
        directory.write("src/good.csv", Fixtures.syntheticCSV(rows: 100))
        directory.write("src/bad.csv", "id,name,email\n1,Ann,a@example.com,extra\n")
        let rules = directory.write("rules.yaml", BatchFixtures.rules)
        let db = cluster.createDatabase()
        let url = cluster.url(database: db)
        let out = directory.file("out")
        let shared = ["batch", "--rules", rules, "--input", source, "--output", out, "--ledger", url, "--run-id", "f1"]

        let failed = Runner.mask(shared, in: directory)
        #expect(failed.status == 1, "\(failed.stderr)")
        #expect(failed.stderr.contains("bad.csv"), "\(failed.stderr)")
        #expect(!directory.exists("out/_SUCCESS"))
        #expect(directory.exists("out/good.csv.gz"))
        #expect(scalar("SELECT status FROM mask_ledger.runs WHERE run_id = 'f1'", db) == "failed")
        #expect(scalar("SELECT error FROM mask_ledger.items WHERE run_id = 'f1' AND item = 'bad.csv'", db).contains("wrong number of fields"))
        let manifest = BatchFixtures.json(directory.read("out/_batch_manifest.json"))
        #expect(manifest["files_failed"] as? Int == 1)

        // Other settings under the same run id are refused before anything is touched.
        let mismatched = Runner.mask(shared + ["--level", "1"], in: directory)
        #expect(mismatched.status == 2, "\(mismatched.stderr)")
        #expect(mismatched.stderr.contains("other settings"), "\(mismatched.stderr)")
        let otherRules = directory.write("other.yaml", BatchFixtures.rules.replacingOccurrences(of: "name: redact", with: "name: keep"))
        let otherRun = Runner.mask(["batch", "--rules", otherRules, "--input", source, "--output", out, "--ledger", url, "--run-id", "f1"], in: directory)
        #expect(otherRun.status == 2, "\(otherRun.stderr)")
        #expect(otherRun.stderr.contains("other rules"), "\(otherRun.stderr)")

        // Fixed input, same run: only the failed file is redone, and the run succeeds.
        directory.write("src/bad.csv", "id,name,email\n1,Ann,a@example.com\n")
        let retried = Runner.mask(shared, in: directory)
        #expect(retried.status == 0, "\(retried.stderr)")
        #expect(directory.exists("out/_SUCCESS"))
        #expect(scalar("SELECT status FROM mask_ledger.runs WHERE run_id = 'f1'", db) == "succeeded")
        #expect(scalar("SELECT string_agg(item || ':' || attempts, ',' ORDER BY item) FROM mask_ledger.items WHERE run_id = 'f1'", db) == "bad.csv:1,good.csv:1")
        let ended = BatchFixtures.json(directory.read("out/_batch_manifest.json"))
        #expect(ended["files_total"] as? Int == 2)
        #expect(ended["files_failed"] as? Int == 0)

        // A refused ledger connection is an I/O error that names no password.
        let refused = Runner.mask(["batch", "--rules", rules, "--input", source, "--output", directory.file("o2"),
                                   "--ledger", "postgresql://mask:hunter2-secret@127.0.0.1:1/x", "--run-id", "z"], in: directory)
        #expect(refused.status == 3, "\(refused.stderr)")
        #expect(!refused.stderr.contains("hunter2-secret"))
        #expect(!directory.exists("o2"))
    }
}
