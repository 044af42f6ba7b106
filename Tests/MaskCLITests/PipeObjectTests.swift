import Foundation
import MaskTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Pipe mode reading one object and writing an object prefix (s3:// on moto, gs:// on the GCS
/// emulator), committed as a local `--output` folder is: parts, `_manifest.json`, `_SUCCESS` last.
@Suite struct PipeObjectTests {
    let directory = TemporaryDirectory()

    func mask(_ arguments: [String], environment: [String: String]) -> RunResult {
        let rules = directory.write("rules.yaml", BatchFixtures.rules)
        return Runner.mask(["--rules", rules] + arguments, environment: environment, in: directory)
    }

    /// The same input masked into a local folder: what every object must equal, byte for byte.
    func localReference(_ input: String, _ extra: [String]) -> [String: [UInt8]] {
        let out = directory.file("reference-\(UUID().uuidString)")
        let result = mask(["--input", input, "--output", out] + extra, environment: [:])
        #expect(result.status == 0, "\(result.stderr)")
        var files: [String: [UInt8]] = [:]
        for name in filesRecursively(out) where name != "_manifest.json" { files[name] = Array(FileManager.default.contents(atPath: "\(out)/\(name)")!) }
        return files
    }

    func downloaded(_ folder: String) -> [String: [UInt8]] {
        var files: [String: [UInt8]] = [:]
        for name in filesRecursively(folder) where name != "_manifest.json" { files[name] = Array(FileManager.default.contents(atPath: "\(folder)/\(name)")!) }
        return files
    }

    @Test func oneS3ObjectToAnS3PrefixInPartsThenOverwriteRemovesStaleParts() throws {
        defer { directory.remove() }
        let server = S3TestServer.shared
        let bucket = server.createBucket(in: directory)
        directory.write("src/day/users.csv.gz", BatchFixtures.gzip(Fixtures.syntheticCSV(rows: 20000), in: directory))
        server.upload(directory.file("src"), bucket: bucket, prefix: "", in: directory)
        let parts = ["--max-part-size", "100K", "--chunk-size", "32K"]
        let reference = localReference(directory.file("src/day/users.csv.gz"), parts)
        #expect(reference.keys.filter { $0.hasPrefix("part-") }.count > 1)

        let first = mask(["--input", "s3://\(bucket)/day/users.csv.gz", "--output", "s3://\(bucket)/masked/users/", "--report", directory.file("r.json")] + parts, environment: server.environment)
        #expect(first.status == 0, "\(first.stderr)")
        server.download(bucket: bucket, prefix: "masked/users/", to: directory.file("dl"), in: directory)
        #expect(downloaded(directory.file("dl")) == reference)
        let manifest = BatchFixtures.json(directory.read("dl/_manifest.json"))
        #expect(manifest["input"] as? String == "s3://\(bucket)/day/users.csv.gz")
        #expect(BatchFixtures.json(directory.read("r.json"))["records_in"] as? Int == 20000)

        // A second run into the same prefix is refused without --overwrite, as a local folder is.
        let again = mask(["--input", "s3://\(bucket)/day/users.csv.gz", "--output", "s3://\(bucket)/masked/users/"], environment: server.environment)
        #expect(again.status == 2, "\(again.stderr)")
        #expect(again.stderr.contains("--overwrite"))
        // With it, one part now: the earlier run's other parts are gone.
        let replaced = mask(["--input", "s3://\(bucket)/day/users.csv.gz", "--output", "s3://\(bucket)/masked/users/", "--overwrite"], environment: server.environment)
        #expect(replaced.status == 0, "\(replaced.stderr)")
        let keys = server.objects(bucket: bucket, prefix: "masked/users/", in: directory).keys.sorted()
        #expect(keys == ["_SUCCESS", "_manifest.json", "part-00000.csv.gz"])
    }

    @Test func gcsObjectKilledBeforeTheManifestLeavesNoSuccessAndARerunCommits() throws {
        defer { directory.remove() }
        let server = GCSTestServer.shared
        let bucket = server.createBucket(in: directory)
        directory.write("src/exports/events.jsonl", BatchFixtures.jsonl(rows: 6000))
        server.upload(directory.file("src"), bucket: bucket, prefix: "", in: directory)
        let parts = ["--max-part-size", "64K", "--chunk-size", "32K"]
        let reference = localReference(directory.file("src/exports/events.jsonl"), parts)
        #expect(reference.keys.filter { $0.hasPrefix("part-") }.count > 1)

        let arguments = ["--input", "gs://\(bucket)/exports/events.jsonl", "--output", "gs://\(bucket)/masked/events"] + parts
        let killed = mask(arguments, environment: server.environment.merging(["MASK_FAULT_POINT": "pipe.part-uploaded"]) { $1 })
        #expect(killed.status != 0)
        let left = server.objects(bucket: bucket, prefix: "masked/events/", in: directory)
        #expect(left["_SUCCESS"] == nil && left["_manifest.json"] == nil, "\(left.keys)")
        #expect(left.keys.contains("part-00000.jsonl.gz"))

        let resumed = mask(arguments + ["--overwrite"], environment: server.environment)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        server.download(bucket: bucket, prefix: "masked/events/", to: directory.file("dl"), in: directory)
        #expect(downloaded(directory.file("dl")) == reference)

        // One object to standard output.
        let piped = mask(["--input", "gs://\(bucket)/exports/events.jsonl", "--compress", "none"], environment: server.environment)
        #expect(piped.status == 0, "\(piped.stderr)")
        let local = mask(["--input", directory.file("src/exports/events.jsonl"), "--compress", "none"], environment: [:])
        #expect(piped.stdout == local.stdout && !piped.stdout.isEmpty)

        // A missing object is an I/O error naming it.
        let missing = mask(["--input", "gs://\(bucket)/exports/nope.jsonl"], environment: server.environment)
        #expect(missing.status == 3, "\(missing.stderr)")
        #expect(missing.stderr.contains("gs://\(bucket)/exports/nope.jsonl"), "\(missing.stderr)")
    }
}

/// `mask rules suggest --input gs://…` and `s3://…`: the sample is one object, read as a local
/// file would be and named by its URL.
@Suite struct SuggestFromObjectTests {
    let directory = TemporaryDirectory()

    @Test func aSampleObjectGivesTheSameRulesAsTheLocalFile() throws {
        defer { directory.remove() }
        let local = directory.write("src/day/users.csv", Fixtures.syntheticCSV(rows: 2000))
        let strict = MaskBinary.rules("pii-strict.yaml")
        let expected = Runner.mask(["rules", "suggest", "--input", local, "--base", strict], in: directory)
        try #require(expected.status == 0, "\(expected.stderr)")
        let gcs = GCSTestServer.shared
        let gcsBucket = gcs.createBucket(in: directory)
        gcs.upload(directory.file("src"), bucket: gcsBucket, prefix: "", in: directory)
        let s3 = S3TestServer.shared
        let s3Bucket = s3.createBucket(in: directory)
        s3.upload(directory.file("src"), bucket: s3Bucket, prefix: "", in: directory)
        for (url, environment) in [("gs://\(gcsBucket)/day/users.csv", gcs.environment), ("s3://\(s3Bucket)/day/users.csv", s3.environment)] {
            let suggested = Runner.mask(["rules", "suggest", "--input", url, "--base", strict], environment: environment, in: directory)
            #expect(suggested.status == 0, "\(url): \(suggested.stderr)")
            // The same rules, but for the sample's name in the comments.
            #expect(suggested.stdoutText.replacingOccurrences(of: url, with: local) == expected.stdoutText, "\(url)")
            let written = directory.write("suggested.yaml", suggested.stdout)
            #expect(Runner.mask(["rules", "check", written], in: directory).status == 0)
        }
        let missing = Runner.mask(["rules", "suggest", "--input", "gs://\(gcsBucket)/day/nope.csv", "--base", strict], environment: gcs.environment, in: directory)
        #expect(missing.status == 3, "\(missing.stderr)")
        #expect(missing.stderr.contains("no such object"), "\(missing.stderr)")
    }
}
