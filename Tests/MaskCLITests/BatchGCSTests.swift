import Foundation
import MaskTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `mask batch` on `gs://` against PyPI's gcp-storage-emulator, started by the tests on
/// 127.0.0.1 and found through `STORAGE_EMULATOR_HOST`, as Google's clients find it. Objects
/// are put and checked with Google's own Python client, never with mask's.
@Suite struct BatchGCSTests {
    let directory = TemporaryDirectory()
    let server = GCSTestServer.shared

    func batch(_ arguments: [String], environment: [String: String]? = nil, report: String = "report.json") -> (RunResult, [String: Any]) {
        let rules = directory.write("rules.yaml", BatchFixtures.rules)
        unlink(directory.file(report))
        let result = Runner.mask(
            ["batch", "--rules", rules, "--report", directory.file(report)] + arguments, environment: environment ?? server.environment, in: directory)
        return (result, BatchFixtures.json(directory.read(report)))
    }

    @Test func bucketToBucketWithResumableUploadsThenRerunSkipsAndForceRewritesTheSameBytes() throws {
        defer { directory.remove() }
        let bucket = server.createBucket(in: directory)
        let local = directory.file("src")
        var expected = BatchFixtures.mixedTree(at: local, in: directory)
        // Large enough that its output goes up in several resumable chunks (threshold and chunk below).
        directory.write("src/nested/big.csv", Fixtures.syntheticCSV(rows: 36000))
        expected["nested/big.csv"] = ("nested/big.csv.gz", ["--format", "csv"])
        directory.write("src/nested/users.parquet", "PAR1 not really")
        server.upload(local, bucket: bucket, prefix: "raw/2024-03-05/", in: directory)

        let arguments = [
            "--input", "gs://\(bucket)/raw/2024-03-05", "--output", "gs://\(bucket)/masked/2024-03-05/",
            "--multipart-threshold", "200K", "--part-size", "256K",
        ]
        let (first, report) = batch(arguments)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(report["files_masked"] as? Int == 6, "\(report)")
        #expect(report["source"] as? String == "gs://\(bucket)/raw/2024-03-05/")
        #expect(report["destination"] as? String == "gs://\(bucket)/masked/2024-03-05/")
        #expect(report["list_pages"] as? Int == 1)
        // What mask cannot read is reported, never passed over in silence.
        let skipped = (report["skipped"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
        #expect(skipped == ["nested/users.parquet", "notes/readme.txt"], "\(report)")
        #expect(report["skipped_count"] as? Int == 2)
        #expect(report["unsupported_count"] as? Int == 2)
        #expect(report["unsupported_extensions"] as? [String: Int] == [".parquet": 1, ".txt": 1])
        #expect(first.stderr.contains("warning: 2 files under the input in formats mask does not read, NOT masked (.parquet: 1, .txt: 1)"), "\(first.stderr)")

        // --fail-on-unsupported: exit 1 and nothing written.
        let (refused, refusal) = batch(arguments.prefix(2) + ["--output", "gs://\(bucket)/strict/", "--fail-on-unsupported"])
        #expect(refused.status == 1, "\(refused.stderr)")
        #expect(refused.stderr.contains("in formats mask does not read (.parquet: 1, .txt: 1) and --fail-on-unsupported is given"), "\(refused.stderr)")
        #expect(refusal["status"] as? String == "failed" && refusal["unsupported_count"] as? Int == 2)
        #expect(server.objects(bucket: bucket, prefix: "strict/", in: directory).isEmpty)

        let objects = server.objects(bucket: bucket, prefix: "masked/2024-03-05/", in: directory)
        let keys = objects.keys.sorted()
        #expect(keys == (expected.values.map(\.output) + expected.keys.map { "_manifests/\($0).json" } + ["_SUCCESS", "_batch_manifest.json"]).sorted())
        #expect(objects["nested/big.csv.gz"]!.size > 512 << 10, "not large enough for several chunks")

        // What a loader downloads is what pipe mode gives for the same inputs.
        server.download(bucket: bucket, prefix: "masked/2024-03-05/", to: directory.file("dl"), in: directory)
        BatchFixtures.expectSameAsPipeMode(expected, source: local, output: directory.file("dl"), rules: directory.file("rules.yaml"), in: directory)
        let manifest = BatchFixtures.json(directory.read("dl/_manifests/nested/big.csv.json"))
        let source = manifest["source"] as! [String: Any]
        #expect(source["uri"] as? String == "gs://\(bucket)/raw/2024-03-05/nested/big.csv")
        #expect((source["etag"] as? String)?.hasPrefix("md5:") == true, "\(source)")
        let run = BatchFixtures.json(directory.read("dl/_batch_manifest.json"))
        #expect(run["status"] as? String == "succeeded")

        // Rerun: everything skipped, nothing rewritten (same generations); --force: same bytes again.
        let (second, rerun) = batch(arguments)
        #expect(second.status == 0, "\(second.stderr)")
        #expect(rerun["files_skipped"] as? Int == 6, "\(rerun)")
        let afterRerun = server.objects(bucket: bucket, prefix: "masked/2024-03-05/", in: directory)
        for key in keys where !key.hasPrefix("_") {
            #expect(afterRerun[key]?.generation == objects[key]?.generation, "\(key) rewritten by a rerun")
        }
        let (forced, redone) = batch(arguments + ["--force"])
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(redone["files_masked"] as? Int == 6)
        let after = server.objects(bucket: bucket, prefix: "masked/2024-03-05/", in: directory)
        for key in keys where !key.hasPrefix("_") {
            #expect(after[key]?.md5 == objects[key]?.md5, "\(key) changed")
            #expect(after[key]?.generation != objects[key]?.generation, "\(key) not rewritten by --force")
        }

        // An input rewritten with other bytes is masked again; the others are not.
        directory.write("src/users.csv", Fixtures.syntheticCSV(rows: 301))
        server.python("gcs.bucket(sys.argv[1]).blob(sys.argv[2]).upload_from_filename(sys.argv[3])",
                      [bucket, "raw/2024-03-05/users.csv", directory.file("src/users.csv")], in: directory)
        let (third, changed) = batch(arguments)
        #expect(third.status == 0, "\(third.stderr)")
        #expect(BatchFixtures.statuses(changed).filter { $0.value == "masked" }.keys.sorted() == ["users.csv"])
    }

    @Test func killedMidUploadThenResumedGivesTheBytesOfACleanRun() throws {
        defer { directory.remove() }
        let bucket = server.createBucket(in: directory)
        let local = directory.file("src")
        try FileManager.default.createDirectory(atPath: local, withIntermediateDirectories: true)
        directory.write("src/a-big.csv", BatchFixtures.bigCSV(megabytes: 6))
        directory.write("src/c-big.csv", BatchFixtures.bigCSV(megabytes: 4))
        directory.write("src/d.jsonl", BatchFixtures.jsonl(rows: 50))
        server.upload(local, bucket: bucket, prefix: "in/", in: directory)
        let common = ["--input", "gs://\(bucket)/in", "--multipart-threshold", "512K", "--part-size", "256K"]
        let (reference, _) = batch(common + ["--output", "gs://\(bucket)/clean"])
        #expect(reference.status == 0, "\(reference.stderr)")

        // Killed while masking c-big.csv (one file at a time, largest first), then resumed.
        let work = directory.file("work")
        let run = BackgroundMask(
            ["batch", "--rules", directory.file("rules.yaml"), "--output", "gs://\(bucket)/out", "--threads", "1", "--parallel-files", "1", "--work-dir", work] + common,
            environment: server.environment, in: directory)
        let midFile = run.wait(until: {
            filesRecursively(work).contains { name in
                var info = stat()
                return name.contains("/1/out/.part-") && stat("\(work)/\(name)", &info) == 0 && info.st_size > 0
            }
        })
        #expect(midFile, "the run ended before it was killed: \(run.stderr)")
        #expect(run.kill())
        let killed = server.objects(bucket: bucket, prefix: "out/", in: directory)
        #expect(killed["_SUCCESS"] == nil)
        #expect(killed["_manifests/c-big.csv.json"] == nil)

        let (resumed, summary) = batch(common + ["--output", "gs://\(bucket)/out"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(BatchFixtures.statuses(summary) == ["a-big.csv": "skipped", "c-big.csv": "masked", "d.jsonl": "masked"])
        let out = server.objects(bucket: bucket, prefix: "out/", in: directory)
        let clean = server.objects(bucket: bucket, prefix: "clean/", in: directory)
        #expect(out["_SUCCESS"] != nil)
        let data = { (objects: [String: (size: Int, generation: String, md5: String)]) in
            objects.filter { !$0.key.hasPrefix("_") }.mapValues { "\($0.size) \($0.md5)" }
        }
        #expect(data(out) == data(clean), "resumed outputs differ from a clean run")
    }

    @Test func fromS3IntoGCSAndAMissingBucketIsAnIOError() throws {
        defer { directory.remove() }
        let s3 = S3TestServer.shared
        let source = s3.createBucket(in: directory)
        let target = server.createBucket(in: directory)
        let local = directory.file("src")
        let expected = BatchFixtures.mixedTree(at: local, in: directory)
        s3.upload(local, bucket: source, prefix: "day/", in: directory)
        let both = s3.environment.merging(server.environment) { a, _ in a }
        let (moved, report) = batch(["--input", "s3://\(source)/day/", "--output", "gs://\(target)/day/"], environment: both)
        #expect(moved.status == 0, "\(moved.stderr)")
        #expect(report["files_masked"] as? Int == expected.count)
        server.download(bucket: target, prefix: "day/", to: directory.file("dl"), in: directory)
        BatchFixtures.expectSameAsPipeMode(expected, source: local, output: directory.file("dl"), rules: directory.file("rules.yaml"), in: directory)

        let (missing, _) = batch(["--input", "gs://no-such-bucket-\(UInt32.random(in: 0...UInt32.max))/x/", "--output", directory.file("out")])
        #expect(missing.status == 3, "\(missing.stderr)")
        #expect(missing.stderr.contains("list gs://no-such-bucket-"), "\(missing.stderr)")
    }

    /// Two shards and `--finalize` on the bucket (`BatchFixtures.shardsThenFinalize`).
    @Test func shardsThenFinalizeOnTheBucket() throws {
        defer { directory.remove() }
        BatchFixtures.shardsThenFinalize(on: server, in: directory) { batch($0, report: $1) }
    }
}
