import Foundation
import MaskTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `mask batch` against a local S3-compatible server (moto) that the tests start themselves.
@Suite struct BatchS3Tests {
    let directory = TemporaryDirectory()
    let server = S3TestServer.shared

    func batch(_ arguments: [String], report: String = "report.json") -> (RunResult, [String: Any]) {
        let rules = directory.write("rules.yaml", BatchFixtures.rules)
        unlink(directory.file(report))
        let result = Runner.mask(["batch", "--rules", rules, "--report", directory.file(report)] + arguments, environment: server.environment, in: directory)
        return (result, BatchFixtures.json(directory.read(report)))
    }

    @Test func bucketToBucketWithPagedListingAndMultipartUploads() throws {
        defer { directory.remove() }
        let bucket = server.createBucket(in: directory)
        let local = directory.file("src")
        var expected = BatchFixtures.mixedTree(at: local, in: directory)
        // Large enough that its output goes up in several parts (threshold and part size below).
        directory.write("src/nested/big.csv", Fixtures.syntheticCSV(rows: 12000))
        expected["nested/big.csv"] = ("nested/big.csv.gz", ["--format", "csv"])
        server.upload(local, bucket: bucket, prefix: "raw/2024-03-05/", in: directory)

        let arguments = [
            "--input", "s3://\(bucket)/raw/2024-03-05", "--output", "s3://\(bucket)/masked/2024-03-05/",
            "--page-size", "2", "--multipart-threshold", "200K", "--part-size", "\(S3TestServer.minimumPartSize)",
        ]
        let (first, report) = batch(arguments)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(report["files_masked"] as? Int == 6, "\(report)")
        // 10 objects listed 2 per page (6 inputs and 4 that are not inputs).
        #expect(report["list_pages"] as? Int == 5)
        #expect((report["source"] as? String) == "s3://\(bucket)/raw/2024-03-05/")

        let objects = server.objects(bucket: bucket, prefix: "masked/2024-03-05/", in: directory)
        let keys = objects.keys.sorted()
        #expect(keys == (expected.values.map(\.output) + expected.keys.map { "_manifests/\($0).json" } + ["_SUCCESS", "_batch_manifest.json"]).sorted())
        let big = objects["nested/big.csv.gz"]!
        #expect(big.size > 200 << 10)
        #expect(big.etag.hasSuffix("-\((big.size + S3TestServer.minimumPartSize - 1) / S3TestServer.minimumPartSize)"), "not a multipart upload: \(big.etag)")
        #expect(objects["users.csv.gz"]!.etag.count == 32)
        #expect(server.incompleteUploads(bucket: bucket, prefix: "", in: directory) == 0)

        // What a loader downloads is what pipe mode gives for the same inputs.
        server.download(bucket: bucket, prefix: "masked/2024-03-05/", to: directory.file("dl"), in: directory)
        BatchFixtures.expectSameAsPipeMode(expected, source: local, output: directory.file("dl"), rules: directory.file("rules.yaml"), in: directory)
        let manifest = BatchFixtures.json(directory.read("dl/_manifests/nested/big.csv.json"))
        let source = manifest["source"] as! [String: Any]
        #expect(source["etag"] as? String != nil && source["uri"] as? String == "s3://\(bucket)/raw/2024-03-05/nested/big.csv")

        // Rerun: everything skipped without reading an input; --force: same bytes again.
        let (second, rerun) = batch(arguments)
        #expect(second.status == 0, "\(second.stderr)")
        #expect(rerun["files_skipped"] as? Int == 6)
        let (forced, redone) = batch(arguments + ["--force"])
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(redone["files_masked"] as? Int == 6)
        let after = server.objects(bucket: bucket, prefix: "masked/2024-03-05/", in: directory)
        for key in keys where !key.hasPrefix("_") {
            #expect(after[key]?.etag == objects[key]?.etag, "\(key) changed")
        }
    }

    @Test func badFileKilledRunAndLeftoverUploads() throws {
        defer { directory.remove() }
        let bucket = server.createBucket(in: directory)
        let local = directory.file("src")
        try FileManager.default.createDirectory(atPath: local, withIntermediateDirectories: true)
        directory.write("src/a-big.csv", BatchFixtures.bigCSV(megabytes: 6))
        directory.write("src/b-bad.csv", "id,name,email\n1,Ann,a@example.com\n2,\"Bob,b@example.com\n")
        directory.write("src/c-big.csv", BatchFixtures.bigCSV(megabytes: 4))
        directory.write("src/d.jsonl", BatchFixtures.jsonl(rows: 50))
        server.upload(local, bucket: bucket, prefix: "in/", in: directory)

        // S3 to a local folder: the bad file fails alone.
        let (mixed, report) = batch(["--input", "s3://\(bucket)/in", "--output", directory.file("local-out")])
        #expect(mixed.status == 1, "\(mixed.stderr)")
        #expect(mixed.stderr.contains("b-bad.csv"), "\(mixed.stderr)")
        #expect(BatchFixtures.statuses(report) == ["a-big.csv": "masked", "b-bad.csv": "failed", "c-big.csv": "masked", "d.jsonl": "masked"])
        #expect(!directory.exists("local-out/_SUCCESS"))

        // Clean reference run into the bucket, without the bad file.
        let common = ["--input", "s3://\(bucket)/in", "--exclude", "b-bad.csv", "--multipart-threshold", "512K", "--part-size", "128K"]
        let (reference, _) = batch(common + ["--output", "s3://\(bucket)/clean"])
        #expect(reference.status == 0, "\(reference.stderr)")

        // Killed while masking c-big.csv (one file at a time, largest first: after a-big.csv; second by
        // name without the bad file, so staging folder 1), then resumed.
        let work = directory.file("work")
        let run = BackgroundMask(
            ["batch", "--rules", directory.file("rules.yaml"), "--output", "s3://\(bucket)/out", "--threads", "1", "--parallel-files", "1", "--work-dir", work] + common,
            environment: server.environment, in: directory)
        let midFile = run.wait(until: {
            filesRecursively(work).contains { name in
                var info = stat()
                return name.contains("/1/out/.part-") && stat("\(work)/\(name)", &info) == 0 && info.st_size > 0
            }
        })
        #expect(midFile, "the run ended before it was killed: \(String(decoding: directory.read(".background-stderr"), as: UTF8.self))")
        #expect(run.kill())
        let killed = server.objects(bucket: bucket, prefix: "out/", in: directory)
        #expect(killed["_SUCCESS"] == nil)
        #expect(killed["_manifests/c-big.csv.json"] == nil)
        // As if it had been killed during a multipart upload: the next run aborts what was left open.
        server.startAbandonedUpload(bucket: bucket, key: "out/c-big.csv.gz", in: directory)
        #expect(server.incompleteUploads(bucket: bucket, prefix: "out/", in: directory) == 1)

        let (resumed, summary) = batch(common + ["--output", "s3://\(bucket)/out"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("aborted an unfinished upload"), "\(resumed.stderr)")
        #expect(BatchFixtures.statuses(summary) == ["a-big.csv": "skipped", "c-big.csv": "masked", "d.jsonl": "masked"])
        #expect(server.incompleteUploads(bucket: bucket, prefix: "", in: directory) == 0)
        let out = server.objects(bucket: bucket, prefix: "out/", in: directory)
        let clean = server.objects(bucket: bucket, prefix: "clean/", in: directory)
        #expect(out["_SUCCESS"] != nil)
        let data = { (objects: [String: (size: Int, etag: String)]) in objects.filter { !$0.key.hasPrefix("_") }.mapValues { "\($0.size) \($0.etag)" } }
        #expect(data(out) == data(clean), "resumed outputs differ from a clean run")
        #expect(out["c-big.csv.gz"]?.etag.contains("-") == true)
    }

    /// Two shards and `--finalize` on the bucket (`BatchFixtures.shardsThenFinalize`).
    @Test func shardsThenFinalizeOnTheBucket() throws {
        defer { directory.remove() }
        BatchFixtures.shardsThenFinalize(on: server, in: directory) { batch($0, report: $1) }
    }
}
