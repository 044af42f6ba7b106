import Foundation
import MaskTestSupport
import Testing

/// `mask batch --shard K/N`, `--plan N` and `--finalize`: a scheduler's fan-out with no
/// coordination service, checked against a single-process batch of the same input.
@Suite struct ShardedBatchTests {
    let directory = TemporaryDirectory()

    /// Files of different sizes in two folders, CSV and JSONL.
    func makeInput() throws {
        for index in 0..<9 {
            _ = directory.write("in/day/users-\(index).csv", Array(Fixtures.syntheticCSV(rows: 1 + (index * 211) % 1_900).utf8))
        }
        _ = directory.write("in/events/e.jsonl", Array(#"{"email":"ann@example.com","n":1}\#n{"email":"bob@example.org","n":2}\#n"#.utf8))
        _ = directory.write("in/events/empty.csv", Array("id,email\n".utf8))
    }

    func batch(_ extra: [String], environment: [String: String] = [:]) -> RunResult {
        Runner.mask(["batch", "--input", directory.file("in"), "--output", directory.file("out"), "--rules", MaskBinary.rules("pii.yaml"), "-q"] + extra,
                    environment: environment, in: directory)
    }

    /// Every file under `folder` (relative path -> bytes), without the run-level files.
    func tree(_ folder: String) -> [String: [UInt8]] {
        var files: [String: [UInt8]] = [:]
        let root = directory.file(folder)
        for case let path as String in FileManager.default.enumerator(atPath: root)! {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: "\(root)/\(path)", isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            files[path] = Array(FileManager.default.contents(atPath: "\(root)/\(path)")!)
        }
        return files
    }

    /// A per-file manifest without what differs between two runs of the same work (times, threads).
    func stable(_ manifest: [UInt8]) throws -> NSDictionary {
        func strip(_ value: Any) -> Any {
            if let object = value as? [String: Any] {
                return object.filter { !["started_at", "finished_at", "elapsed_seconds", "threads"].contains($0.key) }.mapValues(strip)
            }
            if let array = value as? [Any] { return array.map(strip) }
            return value
        }
        return strip(try JSONSerialization.jsonObject(with: Data(manifest))) as! NSDictionary
    }

    @Test func shardsWithOneKilledAndRerunFinalizeToTheSingleRunsBytes() throws {
        try makeInput()
        let single = Runner.mask(["batch", "--input", directory.file("in"), "--output", directory.file("single"), "--rules", MaskBinary.rules("pii.yaml"), "-q"],
                                 in: directory)
        #expect(single.status == 0, "\(single.stderr)")

        // The plan: every file in exactly one share, the same on every call, shares balanced.
        let planned = batch(["--plan", "3"])
        #expect(planned.status == 0, "\(planned.stderr)")
        #expect(batch(["--plan", "3"]).stdout == planned.stdout)
        let plan = try #require(try JSONSerialization.jsonObject(with: Data(planned.stdout)) as? [[String: Any]])
        #expect(plan.map { $0["shard"] as? String } == ["0/3", "1/3", "2/3"])
        #expect(plan.reduce(0) { $0 + ($1["files"] as! Int) } == 11)
        let bytes = plan.map { $0["bytes"] as! Int }
        let largest = tree("in").values.map(\.count).max()!
        #expect(bytes.max()! - bytes.min()! <= largest, "\(bytes)")
        #expect(Set(plan.map { $0["listing"] as! String }).count == 1)

        // Three shards at once; shard 1 is SIGKILLed after the first output of a file is in place.
        final class Collected: @unchecked Sendable {
            let lock = NSLock()
            var results = [RunResult?](repeating: nil, count: 3)
        }
        let collected = Collected()
        nonisolated(unsafe) let directory = self.directory
        let base = ["batch", "--input", directory.file("in"), "--output", directory.file("out"), "--rules", MaskBinary.rules("pii.yaml"), "-q"]
        DispatchQueue.concurrentPerform(iterations: 3) { shard in
            let result = Runner.mask(base + ["--shard", "\(shard)/3"], environment: shard == 1 ? ["MASK_FAULT_POINT": "batch.output-renamed"] : [:],
                                     in: directory)
            collected.lock.lock()
            collected.results[shard] = result
            collected.lock.unlock()
        }
        let results = collected.results
        #expect(results[0]?.status == 0, "\(results[0]?.stderr ?? "")")
        #expect(results[2]?.status == 0, "\(results[2]?.stderr ?? "")")
        #expect(results[1]?.status == 137 || results[1]?.status == -9 || results[1]?.status == 9, "\(String(describing: results[1]?.status))")
        #expect(!directory.exists("out/_SUCCESS") && !directory.exists("out/_batch_manifest.json"))

        // Finalize refuses while shard 1's files are missing, naming them, and writes nothing.
        let early = batch(["--finalize"])
        #expect(early.status == 1)
        #expect(early.stderr.contains("not masked yet"), "\(early.stderr)")
        #expect(!directory.exists("out/_SUCCESS") && !directory.exists("out/_batch_manifest.json"))

        // The scheduler's retry of shard 1 skips nothing of the others and finishes its own.
        let retried = batch(["--shard", "1/3"])
        #expect(retried.status == 0, "\(retried.stderr)")
        let finalized = batch(["--finalize", "--report", directory.file("report.json")])
        #expect(finalized.status == 0, "\(finalized.stderr)")
        #expect(directory.exists("out/_SUCCESS"))
        #expect(ReportSchema.violations("batch-summary", [directory.file("out/_batch_manifest.json")], in: directory) == nil)
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(directory.read("out/_batch_manifest.json"))) as? [String: Any])
        #expect(summary["status"] as? String == "succeeded")
        #expect(summary["files_total"] as? Int == 11)

        // Byte-identical outputs, equal manifests (but for times), nothing else left (no staging).
        let sharded = tree("out").filter { !$0.key.hasPrefix("_SUCCESS") && $0.key != "_batch_manifest.json" }
        let reference = tree("single").filter { !$0.key.hasPrefix("_SUCCESS") && $0.key != "_batch_manifest.json" }
        #expect(sharded.keys.sorted() == reference.keys.sorted())
        for (path, data) in reference {
            if path.hasPrefix("_manifests/") {
                #expect(try stable(sharded[path] ?? []) == stable(data), "\(path)")
            } else {
                #expect(sharded[path] == data, "\(path) differs")
            }
        }
    }

    @Test func aChangedListingIsCaughtByFinalizeAndUsageIsChecked() throws {
        try makeInput()
        for shard in 0..<2 { #expect(batch(["--shard", "\(shard)/2"]).status == 0) }
        // A file that arrived after the shards ran: finalize names it; the shards run again
        // (skipping what they committed) and then the batch finalizes.
        _ = directory.write("in/day/late.csv", Array("id,email\n1,late@example.com\n".utf8))
        let missing = batch(["--finalize"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("late.csv"), "\(missing.stderr)")
        #expect(missing.stderr.components(separatedBy: "late.csv").count == 2, "named once: \(missing.stderr)")
        #expect(!missing.stderr.contains("users-0.csv"))
        for shard in 0..<2 {
            let rerun = batch(["--shard", "\(shard)/2", "--report", directory.file("r\(shard).json")])
            #expect(rerun.status == 0, "\(rerun.stderr)")
        }
        let reports = try (0..<2).map { try JSONSerialization.jsonObject(with: Data(directory.read("r\($0).json"))) as! [String: Any] }
        #expect(reports.reduce(0) { $0 + ($1["files_masked"] as! Int) } == 1)
        #expect(batch(["--finalize"]).status == 0)
        #expect(!String(decoding: Gzip.decompress(directory.read("out/day/late.csv.gz"), in: directory).output, as: UTF8.self).contains("late@example.com"))

        for arguments in [["--shard", "2/2"], ["--shard", "0/0"], ["--shard", "a/2"], ["--plan", "0"], ["--shard", "0/2", "--finalize"],
                          ["--finalize", "--force"], ["--shard", "0/2", "--ledger", "postgresql://127.0.0.1:1/x"]] {
            let refused = batch(arguments)
            #expect(refused.status == 2 || refused.status == 64, "\(arguments): \(refused.stderr)")
        }
    }
}
