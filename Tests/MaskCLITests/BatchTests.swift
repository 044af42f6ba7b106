import Foundation
import MaskTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Inputs and checks shared by the local and S3 batch tests.
enum BatchFixtures {
    static let rules = """
        version: 1
        \(Fixtures.detectors)
        fields:
          email: hash
          name: redact
        default: scan
        hash: { key: env:MASK_HMAC_KEY }
        """

    static func tsv(rows: Int, seed: Int = 0) -> String {
        var text = "id\tname\temail\tnotes\n"
        for row in 1...rows { text += "\(row)\tName \(row + seed)\tuser\(row + seed)@Example.com\tcall +1 415 555 \(1000 + row % 9000)\n" }
        return text
    }

    static func jsonl(rows: Int) -> String {
        (1...rows).map { "{\"id\":\($0),\"name\":\"Name \($0)\",\"email\":\"user\($0)@Example.com\",\"notes\":\"mail x\($0)@y.io or +1 415 555 \(1000 + $0)\"}\n" }.joined()
    }

    /// A CSV of about `megabytes` MB (the synthetic CSV's rows repeated).
    static func bigCSV(megabytes: Int) -> String {
        let block = Fixtures.syntheticCSV(rows: 20000)
        let header = "id,name,email,phone,notes\n"
        let body = String(block.dropFirst(header.count))
        var text = header
        while text.utf8.count < megabytes << 20 { text += body }
        return text
    }

    static func gzip(_ text: String, in directory: TemporaryDirectory) -> [UInt8] {
        let plain = directory.write(".plain-\(UUID().uuidString)", text)
        defer { unlink(plain) }
        return Runner.run("/bin/gzip", ["-c", "-n"], stdin: plain, environment: ["PATH": "/usr/bin:/bin"], in: directory).stdout
    }

    /// A source tree with every format, nested folders, and files that are not inputs.
    /// - Returns: input relative path -> (expected output path, pipe-mode flags for the same result).
    @discardableResult
    static func mixedTree(at root: String, in directory: TemporaryDirectory) -> [String: (output: String, flags: [String])] {
        func put(_ relative: String, _ bytes: [UInt8]) {
            let path = "\(root)/\(relative)"
            try! FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            FileManager.default.createFile(atPath: path, contents: Data(bytes))
        }
        put("users.csv", Array(Fixtures.syntheticCSV(rows: 300).utf8))
        put("nested/deeper/people.tsv", Array(tsv(rows: 200).utf8))
        put("nested/events.jsonl", Array(jsonl(rows: 150).utf8))
        put("nested/archive.csv.gz", gzip(Fixtures.syntheticCSV(rows: 500), in: directory))
        put("nested/more.ndjson.gz", gzip(jsonl(rows: 40), in: directory))
        put("notes/readme.txt", Array("not an input\n".utf8))
        put(".hidden.csv", Array("a,b\n1,2\n".utf8))
        put("_SUCCESS", [])
        put("_temporary/part.csv", Array("a,b\n1,2\n".utf8))
        return [
            "users.csv": ("users.csv.gz", ["--format", "csv"]),
            "nested/deeper/people.tsv": ("nested/deeper/people.tsv.gz", ["--format", "csv", "--delimiter", "tab"]),
            "nested/events.jsonl": ("nested/events.jsonl.gz", ["--format", "jsonl"]),
            "nested/archive.csv.gz": ("nested/archive.csv.gz", ["--format", "csv"]),
            "nested/more.ndjson.gz": ("nested/more.ndjson.gz", ["--format", "jsonl"]),
        ]
    }

    static func json(_ bytes: [UInt8]) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] ?? [:]
    }

    /// Status per input from a batch report.
    static func statuses(_ report: [String: Any]) -> [String: String] {
        var result: [String: String] = [:]
        for file in report["files"] as? [[String: Any]] ?? [] { result[file["input"] as! String] = file["status"] as? String }
        return result
    }

    /// Each output, gunzipped, equals pipe mode's output for the same input.
    static func expectSameAsPipeMode(
        _ expected: [String: (output: String, flags: [String])], source: String, output: String, rules: String,
        in directory: TemporaryDirectory, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        for (input, (outputPath, flags)) in expected {
            let piped = Runner.mask(["--rules", rules, "--input", "\(source)/\(input)", "--compress", "none"] + flags, in: directory)
            #expect(piped.status == 0, "\(input): \(piped.stderr)", sourceLocation: sourceLocation)
            let bytes = Array(FileManager.default.contents(atPath: "\(output)/\(outputPath)") ?? Data())
            #expect(!bytes.isEmpty, "\(outputPath) missing", sourceLocation: sourceLocation)
            let (status, plain) = Gzip.decompress(bytes, in: directory)
            #expect(status == 0, sourceLocation: sourceLocation)
            #expect(plain == piped.stdout, "\(outputPath) differs from pipe mode", sourceLocation: sourceLocation)
            #expect(!String(decoding: plain, as: UTF8.self).contains("@Example.com"), sourceLocation: sourceLocation)
        }
    }

    /// Data files (not manifests, not markers) under `root`, relative path -> bytes.
    static func dataFiles(_ root: String) -> [String: [UInt8]] {
        var files: [String: [UInt8]] = [:]
        for path in filesRecursively(root) where !path.hasPrefix("_") {
            files[path] = Array(FileManager.default.contents(atPath: "\(root)/\(path)") ?? Data())
        }
        return files
    }
}

/// `mask batch` over local folders.
@Suite struct BatchTests {
    let directory = TemporaryDirectory()

    func batch(_ source: String, _ output: String, _ extra: [String] = [], report: String = "report.json") -> (RunResult, [String: Any]) {
        let rules = directory.write("rules.yaml", BatchFixtures.rules)
        unlink(directory.file(report))
        let result = Runner.mask(["batch", "--rules", rules, "--input", source, "--output", output, "--report", directory.file(report)] + extra, in: directory)
        return (result, BatchFixtures.json(directory.read(report)))
    }

    @Test func mixedFormatsInNestedFoldersThenRerunSkipsAndForceRedoes() throws {
        defer { directory.remove() }
        let source = directory.file("src")
        let out = directory.file("out")
        let expected = BatchFixtures.mixedTree(at: source, in: directory)
        let (first, report) = batch(source, out, ["--threads", "2"])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(report["status"] as? String == "succeeded")
        #expect(report["files_total"] as? Int == 5)
        #expect(report["files_masked"] as? Int == 5)
        #expect(BatchFixtures.statuses(report).keys.sorted() == expected.keys.sorted())
        let files = filesRecursively(out)
        #expect(files == (expected.values.map(\.output) + expected.keys.map { "_manifests/\($0).json" } + ["_SUCCESS", "_batch_manifest.json"]).sorted())
        BatchFixtures.expectSameAsPipeMode(expected, source: source, output: out, rules: directory.file("rules.yaml"), in: directory)

        // The per-file manifest is the commit record: input identity, rules, key, outputs.
        let manifest = BatchFixtures.json(directory.read("out/_manifests/nested/deeper/people.tsv.json"))
        let input = manifest["source"] as! [String: Any]
        #expect(input["path"] as? String == "nested/deeper/people.tsv")
        #expect(input["size"] as? Int == directory.read("src/nested/deeper/people.tsv").count)
        #expect((input["sha256"] as? String)?.count == 64)
        #expect(manifest["key_id"] as? String != nil && manifest["rules_fingerprint"] as? String != nil)
        let outputs = manifest["outputs"] as! [[String: Any]]
        #expect(outputs.map { $0["file"] as! String } == ["nested/deeper/people.tsv.gz"])
        #expect(outputs[0]["records"] as? Int == 200)
        #expect(outputs[0]["bytes"] as? Int == directory.read("out/nested/deeper/people.tsv.gz").count)
        #expect((manifest["settings"] as! [String: Any])["delimiter"] as? String == "\\t")
        let runManifest = BatchFixtures.json(directory.read("out/_batch_manifest.json"))
        #expect(runManifest["files_masked"] as? Int == 5)

        // A rerun does nothing and leaves the outputs alone.
        let before = BatchFixtures.dataFiles(out)
        var info = stat()
        stat(directory.file("out/users.csv.gz"), &info)
        let inode = info.st_ino
        let (second, rerun) = batch(source, out)
        #expect(second.status == 0, "\(second.stderr)")
        #expect(rerun["files_skipped"] as? Int == 5)
        #expect(rerun["files_masked"] as? Int == 0)
        stat(directory.file("out/users.csv.gz"), &info)
        #expect(info.st_ino == inode)
        #expect(directory.exists("out/_SUCCESS"))

        // Content decides, not timestamps: a rewrite with the same bytes is still skipped; a changed file is redone.
        directory.write("src/users.csv", Fixtures.syntheticCSV(rows: 300))
        directory.write("src/nested/events.jsonl", BatchFixtures.jsonl(rows: 151))
        let (third, changed) = batch(source, out)
        #expect(third.status == 0, "\(third.stderr)")
        #expect(BatchFixtures.statuses(changed)["users.csv"] == "skipped")
        #expect(BatchFixtures.statuses(changed)["nested/events.jsonl"] == "masked")
        #expect(changed["files_skipped"] as? Int == 4)

        // --force redoes everything, to the same bytes.
        let (forced, redone) = batch(source, out, ["--force", "--threads", "1", "--parallel-files", "3"])
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(redone["files_masked"] as? Int == 5)
        var after = BatchFixtures.dataFiles(out)
        after["nested/events.jsonl.gz"] = before["nested/events.jsonl.gz"]
        #expect(after == before)
        BatchFixtures.expectSameAsPipeMode(expected, source: source, output: out, rules: directory.file("rules.yaml"), in: directory)

        // Other rules: everything is redone.
        directory.write("other.yaml", BatchFixtures.rules.replacingOccurrences(of: "name: redact", with: "name: keep"))
        let other = Runner.mask(["batch", "--rules", directory.file("other.yaml"), "--input", source, "--output", out, "-q"], in: directory)
        #expect(other.status == 0, "\(other.stderr)")
        #expect(other.stderr.contains("5 masked, 0 skipped"), "\(other.stderr)")
    }

    @Test func largeOutputsAreSplitIntoPartsAndStalePartsGoAway() throws {
        defer { directory.remove() }
        let source = directory.file("src")
        try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
        directory.write("src/users.csv", Fixtures.syntheticCSV(rows: 3000))
        let (split, report) = batch(source, directory.file("out"), ["--max-part-size", "16K", "--chunk-size", "8K"])
        #expect(split.status == 0, "\(split.stderr)")
        let parts = directory.list("out").filter { $0.hasPrefix("users.part-") }
        #expect(parts.count > 2, "\(directory.list("out"))")
        #expect(parts.first == "users.part-00000.csv.gz")
        #expect(!directory.exists("out/users.csv.gz"))
        #expect((BatchFixtures.json(directory.read("out/_manifests/users.csv.json"))["outputs"] as! [[String: Any]]).count == parts.count)
        let header = Array("id,name,email,phone,notes\n".utf8)
        var combined: [UInt8] = []
        for (index, part) in parts.enumerated() {
            let text = Gzip.decompress(directory.read("out/\(part)"), in: directory).output
            #expect(text.starts(with: header))
            combined += index == 0 ? text : Array(text.dropFirst(header.count))
        }
        let piped = Runner.mask(["--rules", directory.file("rules.yaml"), "--input", "\(source)/users.csv", "--compress", "none"], in: directory)
        #expect(combined == piped.stdout)
        #expect((report["files"] as! [[String: Any]])[0]["outputs"] as? [String] == parts)

        // Other settings: the file is redone as one output and the earlier parts are removed.
        let (whole, _) = batch(source, directory.file("out"))
        #expect(whole.status == 0, "\(whole.stderr)")
        #expect(directory.list("out") == ["_SUCCESS", "_batch_manifest.json", "_manifests", "users.csv.gz"])
    }

    @Test func oneBadFileFailsAloneAndIsListed() throws {
        defer { directory.remove() }
        let source = directory.file("src")
        let out = directory.file("out")
        try FileManager.default.createDirectory(atPath: "\(source)/b", withIntermediateDirectories: true)
        directory.write("src/a-good.csv", Fixtures.syntheticCSV(rows: 100))
        directory.write("src/b/bad.csv", "id,name,email\n1,Ann,a@example.com\n2,Bob,b@example.com,extra\n")
        directory.write("src/c-good.jsonl", BatchFixtures.jsonl(rows: 30))
        let (failed, report) = batch(source, out)
        #expect(failed.status == 1, "\(failed.stderr)")
        #expect(failed.stderr.contains("b/bad.csv"), "\(failed.stderr)")
        #expect(failed.stderr.contains("wrong number of fields"), "\(failed.stderr)")
        #expect(report["status"] as? String == "failed")
        #expect(report["files_failed"] as? Int == 1)
        #expect(report["files_masked"] as? Int == 2)
        let failures = report["failures"] as! [[String: Any]]
        #expect(failures.count == 1 && failures[0]["input"] as? String == "b/bad.csv" && failures[0]["kind"] as? String == "data")
        #expect(directory.exists("out/a-good.csv.gz") && directory.exists("out/c-good.jsonl.gz"))
        #expect(!directory.exists("out/b/bad.csv.gz") && !directory.exists("out/_manifests/b/bad.csv.json"))
        #expect(!directory.exists("out/_SUCCESS"))
        #expect(BatchFixtures.json(directory.read("out/_batch_manifest.json"))["status"] as? String == "failed")
        #expect(filesRecursively(out).allSatisfy { !$0.split(separator: "/").contains { $0.hasPrefix(".") } })

        // Fixed: the rerun masks only that file and finishes the batch.
        directory.write("src/b/bad.csv", "id,name,email\n1,Ann,a@example.com\n2,Bob,b@example.com\n")
        let (fixed, rerun) = batch(source, out)
        #expect(fixed.status == 0, "\(fixed.stderr)")
        #expect(BatchFixtures.statuses(rerun) == ["a-good.csv": "skipped", "b/bad.csv": "masked", "c-good.jsonl": "skipped"])
        #expect(directory.exists("out/_SUCCESS"))

        // --fail-fast: nothing new starts after the first failure (files start largest first).
        directory.write("src/b/bad.csv", Fixtures.syntheticCSV(rows: 300) + "301,\"unterminated\n")
        let (stopped, fast) = batch(source, directory.file("out2"), ["--fail-fast", "--parallel-files", "1"])
        #expect(stopped.status == 1)
        #expect(BatchFixtures.statuses(fast) == ["a-good.csv": "cancelled", "b/bad.csv": "failed", "c-good.jsonl": "cancelled"])
        #expect(fast["files_cancelled"] as? Int == 2)
        #expect(!directory.exists("out2/_SUCCESS"))
    }

    @Test func aKilledRunIsFinishedByTheRerunWithIdenticalOutputs() throws {
        defer { directory.remove() }
        let source = directory.file("src")
        try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
        directory.write("src/a-big.csv", BatchFixtures.bigCSV(megabytes: 8))
        directory.write("src/b.tsv", BatchFixtures.tsv(rows: 300))
        directory.write("src/c-big.csv", BatchFixtures.bigCSV(megabytes: 5))
        directory.write("src/d.jsonl", BatchFixtures.jsonl(rows: 100))
        let rules = directory.write("rules.yaml", BatchFixtures.rules)

        let clean = directory.file("clean")
        let reference = Runner.mask(["batch", "--rules", rules, "--input", source, "--output", clean, "--max-part-size", "512K", "-q"], in: directory)
        #expect(reference.status == 0, "\(reference.stderr)")

        // One file at a time, largest first: a-big.csv, then c-big.csv (third by name: staging folder 2).
        let out = directory.file("out")
        let run = BackgroundMask(
            ["batch", "--rules", rules, "--input", source, "--output", out, "--threads", "1", "--parallel-files", "1", "--max-part-size", "512K"],
            in: directory)
        let staging = "\(out)/.mask-batch-staging/2/out"
        let midFile = run.wait(until: {
            filesRecursively(staging).contains { name in
                var info = stat()
                return name.hasSuffix(".tmp") && stat("\(staging)/\(name)", &info) == 0 && info.st_size > 0
            }
        })
        #expect(midFile, "the run ended before it was killed: \(String(decoding: directory.read(".background-stderr"), as: UTF8.self))")
        #expect(run.kill())

        // Nothing a loader would take as complete.
        #expect(!directory.exists("out/_SUCCESS"))
        #expect(!directory.exists("out/_manifests/c-big.csv.json"))
        #expect(directory.exists("out/_manifests/a-big.csv.json"))

        let (resumed, report) = batch(source, out, ["--max-part-size", "512K"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let statuses = BatchFixtures.statuses(report)
        #expect(statuses == ["a-big.csv": "skipped", "b.tsv": "masked", "c-big.csv": "masked", "d.jsonl": "masked"])
        #expect(directory.exists("out/_SUCCESS"))
        let resumedFiles = BatchFixtures.dataFiles(out)
        let cleanFiles = BatchFixtures.dataFiles(clean)
        #expect(resumedFiles.keys.sorted() == cleanFiles.keys.sorted())
        #expect(resumedFiles == cleanFiles, "outputs differ from a clean run")
        #expect(resumedFiles.keys.filter { $0.hasPrefix("c-big.part-") }.count >= 2)
        #expect(filesRecursively(out).allSatisfy { !$0.split(separator: "/").contains { $0.hasPrefix(".") } }, "\(filesRecursively(out))")
    }

    @Test func selectionOverridesAndRefusals() throws {
        defer { directory.remove() }
        let source = directory.file("src")
        try FileManager.default.createDirectory(atPath: "\(source)/skip", withIntermediateDirectories: true)
        directory.write("src/data.txt", "id,name,email\n1,Ann,a@example.com\n")
        directory.write("src/semi.txt", "id;name;email\n1;Ann;a@example.com\n")
        directory.write("src/skip/x.txt", "id,name,email\n1,Ann,a@example.com\n")
        let (selected, report) = batch(source, directory.file("out"), ["--include", "*.txt", "--exclude", "skip/**", "--exclude", "semi*", "--format", "csv"])
        #expect(selected.status == 0, "\(selected.stderr)")
        #expect(BatchFixtures.statuses(report) == ["data.txt": "masked"])
        #expect(String(decoding: Gzip.decompress(directory.read("out/data.txt.gz"), in: directory).output, as: UTF8.self).hasPrefix("id,name,email\n1,[REDACTED],"))

        // Without --format a file whose format cannot be told fails, and says why.
        let (unknown, _) = batch(source, directory.file("out3"), ["--include", "data.txt"])
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("--format"), "\(unknown.stderr)")

        // Output inside input, and two inputs with one output name, are refused before anything is written.
        let (inside, _) = batch(source, "\(source)/masked")
        #expect(inside.status == 2)
        #expect(inside.stderr.contains("overlap"), "\(inside.stderr)")
        #expect(!directory.exists("src/masked"))
        directory.write("src/users.csv", "id,name\n1,a\n")
        directory.write("src/users.csv.gz", BatchFixtures.gzip("id,name\n1,a\n", in: directory))
        let (collision, _) = batch(source, directory.file("out2"))
        #expect(collision.status == 2)
        #expect(collision.stderr.contains("users.csv.gz"), "\(collision.stderr)")

        // Two runs on one destination at once: the second is refused.
        directory.write("src/big.csv", BatchFixtures.bigCSV(megabytes: 8))
        let rules = directory.write("rules.yaml", BatchFixtures.rules)
        let first = BackgroundMask(["batch", "--rules", rules, "--input", source, "--output", directory.file("out4"), "--exclude", "users.csv*", "--threads", "1"], in: directory)
        #expect(first.wait(until: { directory.exists("out4/.mask-batch-staging") }))
        let second = Runner.mask(["batch", "--rules", rules, "--input", source, "--output", directory.file("out4"), "--exclude", "users.csv*"], in: directory)
        first.kill()
        #expect(second.status == 2, "\(second.stderr)")
        #expect(second.stderr.contains("another mask batch"), "\(second.stderr)")
    }
}

/// What the sharded-batch test needs of a bucket server (moto's S3, the GCS emulator).
protocol BucketTestServer {
    var scheme: String { get }
    func createBucket(in directory: TemporaryDirectory) -> String
    func upload(_ local: String, bucket: String, prefix: String, in directory: TemporaryDirectory)
    func objectKeys(bucket: String, prefix: String, in directory: TemporaryDirectory) -> Set<String>
    func download(bucket: String, prefix: String, to local: String, in directory: TemporaryDirectory)
}

extension S3TestServer: BucketTestServer {
    var scheme: String { "s3" }
    func objectKeys(bucket: String, prefix: String, in directory: TemporaryDirectory) -> Set<String> {
        Set(objects(bucket: bucket, prefix: prefix, in: directory).keys)
    }
}

extension GCSTestServer: BucketTestServer {
    var scheme: String { "gs" }
    func objectKeys(bucket: String, prefix: String, in directory: TemporaryDirectory) -> Set<String> {
        Set(objects(bucket: bucket, prefix: prefix, in: directory).keys)
    }
}

extension BatchFixtures {
    /// Sharded batches on a bucket, as a Kubernetes Indexed Job or an Argo fan-out runs them:
    /// two shards each commit their share (no run manifest, no `_SUCCESS`), `--finalize` refuses
    /// while a share is missing, then writes `_batch_manifest.json` and `_SUCCESS`; what a loader
    /// downloads is what pipe mode gives. `batch` runs `mask batch` with the arguments and a
    /// report file name, and returns the run and its report.
    static func shardsThenFinalize(
        on server: some BucketTestServer, in directory: TemporaryDirectory,
        batch: ([String], String) -> (RunResult, [String: Any])
    ) {
        let bucket = server.createBucket(in: directory)
        let local = directory.file("src")
        let expected = mixedTree(at: local, in: directory)
        server.upload(local, bucket: bucket, prefix: "raw/", in: directory)
        let arguments = ["--input", "\(server.scheme)://\(bucket)/raw", "--output", "\(server.scheme)://\(bucket)/masked/"]

        let (shard0, first) = batch(arguments + ["--shard", "0/2"], "shard0.json")
        #expect(shard0.status == 0, "\(shard0.stderr)")
        let early = batch(arguments + ["--finalize"], "early.json").0
        #expect(early.status == 1, "\(early.stderr)")
        #expect(early.stderr.contains("not masked yet"), "\(early.stderr)")
        var keys = server.objectKeys(bucket: bucket, prefix: "masked/", in: directory)
        #expect(!keys.contains("_SUCCESS") && !keys.contains("_batch_manifest.json"), "\(keys.sorted())")

        let (shard1, second) = batch(arguments + ["--shard", "1/2"], "shard1.json")
        #expect(shard1.status == 0, "\(shard1.stderr)")
        #expect((first["files_masked"] as? Int ?? 0) + (second["files_masked"] as? Int ?? 0) == expected.count, "\(first) \(second)")
        #expect((first["files_masked"] as? Int ?? 0) > 0 && (second["files_masked"] as? Int ?? 0) > 0, "both shards had work")
        let (finalized, report) = batch(arguments + ["--finalize"], "final.json")
        #expect(finalized.status == 0, "\(finalized.stderr)")
        #expect(report["status"] as? String == "succeeded", "\(report)")
        keys = server.objectKeys(bucket: bucket, prefix: "masked/", in: directory)
        #expect(keys.contains("_SUCCESS") && keys.contains("_batch_manifest.json"), "\(keys.sorted())")

        server.download(bucket: bucket, prefix: "masked/", to: directory.file("dl"), in: directory)
        expectSameAsPipeMode(expected, source: local, output: directory.file("dl"), rules: directory.file("rules.yaml"), in: directory)
    }
}
