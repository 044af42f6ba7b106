import Foundation
import MaskTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// What `mask batch` does with what it finds under --input and --output besides plain files:
/// entries it cannot mask (reported, never silently), symbolic links (never followed out of the
/// input, never written through in the output) and names that would collide.
@Suite struct BatchInputTreeTests {
    let directory = TemporaryDirectory()

    func batch(_ source: String, _ output: String, _ extra: [String] = [], report: String = "report.json") -> (RunResult, [String: Any]) {
        let rules = directory.write("rules.yaml", BatchFixtures.rules)
        unlink(directory.file(report))
        let result = Runner.mask(["batch", "--rules", rules, "--input", source, "--output", output, "--report", directory.file(report)] + extra, in: directory)
        return (result, BatchFixtures.json(directory.read(report)))
    }

    func mkdir(_ name: String) {
        try! FileManager.default.createDirectory(atPath: directory.file(name), withIntermediateDirectories: true)
    }

    func symlink(_ name: String, to target: String) {
        #expect(Glibc.symlink(target, directory.file(name)) == 0, "symlink \(name): \(String(cString: strerror(errno)))")
    }

    /// Skipped entries of a report (or run manifest): name -> reason.
    static func skipped(_ report: [String: Any]) -> [String: String] {
        var result: [String: String] = [:]
        for entry in report["skipped"] as? [[String: Any]] ?? [] { result[entry["name"] as! String] = entry["reason"] as? String }
        return result
    }

    @Test func entriesThatAreNotMaskedAreReportedAndFailOnSkippedWritesNothing() throws {
        defer { directory.remove() }
        let source = directory.file("src")
        mkdir("src/sub")
        directory.write("src/users.csv", Fixtures.syntheticCSV(rows: 20))
        directory.write("src/sub/notes.txt", "id,email\n1,ann@example.com\n")
        directory.write("src/sub/events.parquet", "PAR1")
        // Hidden names and markers stay ignored without a word (documented).
        directory.write("src/.hidden.csv", "id,email\n1,ann@example.com\n")
        directory.write("src/_SUCCESS", "")
        // A FIFO: opening it would block the run; it must be reported, never opened.
        #expect(mkfifo(directory.file("src/queue.csv"), 0o644) == 0)
        // A socket.
        let socketPath = directory.file("src/agent.csv")
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in socketPath.utf8.enumerated() { raw[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        #expect(bound == 0, "bind: \(String(cString: strerror(errno)))")
        close(descriptor)
        // A name that is not UTF-8 (Latin-1 "é"), holding personal data.
        let badName = Array(source.utf8) + Array("/caf".utf8) + [0xE9] + Array(".csv".utf8)
        let badDescriptor = open(badName.map { CChar(bitPattern: $0) } + [0], O_WRONLY | O_CREAT, 0o644)
        #expect(badDescriptor >= 0)
        _ = "id,email\n1,ann@example.com\n".withCString { write(badDescriptor, $0, strlen($0)) }
        close(badDescriptor)
        symlink("src/gone.csv", to: "nowhere.csv")
        let badFolder = Array(source.utf8) + Array("/sub/d".utf8) + [0xFF]
        #expect(Glibc.mkdir(badFolder.map { CChar(bitPattern: $0) } + [0], 0o755) == 0)
        directory.write("src/sub/d\u{FFFD}", "not the folder\n")  // what a lossy decoding would read instead

        let expected = [
            "sub/notes.txt": "not an input format (.csv, .tsv, .psv, .jsonl, .ndjson, .json, optionally .gz; --include selects others)",
            "sub/events.parquet": "not an input format (.csv, .tsv, .psv, .jsonl, .ndjson, .json, optionally .gz; --include selects others)",
            "queue.csv": "not a regular file (FIFO)",
            "agent.csv": "not a regular file (socket)",
            "caf\\xe9.csv": "name is not valid UTF-8",
            "gone.csv": "dangling symlink",
            "sub/d\\xff": "name is not valid UTF-8 (a folder: nothing under it was read)",
            "sub/d\u{FFFD}": "not an input format (.csv, .tsv, .psv, .jsonl, .ndjson, .json, optionally .gz; --include selects others)",
        ]
        let out = directory.file("out")
        let (run, report) = batch(source, out)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(BatchFixtures.statuses(report) == ["users.csv": "masked"])
        #expect(Self.skipped(report) == expected, "\(report["skipped"] ?? "none")")
        #expect(Self.skipped(BatchFixtures.json(directory.read("out/_batch_manifest.json"))) == expected)
        #expect(run.stderr.contains("8 entries under the input not masked:"), "\(run.stderr)")
        #expect(run.stderr.contains("skipped caf\\xe9.csv: name is not valid UTF-8"), "\(run.stderr)")
        #expect(run.stderr.contains("skipped queue.csv: not a regular file (FIFO)"), "\(run.stderr)")
        #expect(directory.exists("out/_SUCCESS"))

        // --fail-on-skipped: exit 1 before anything is written; the report says why.
        let strict = directory.file("strict")
        let (refused, refusal) = batch(source, strict, ["--fail-on-skipped"])
        #expect(refused.status == 1, "\(refused.stderr)")
        #expect(refused.stderr.contains("--fail-on-skipped"), "\(refused.stderr)")
        #expect(refused.stderr.contains("skipped sub/events.parquet"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: strict), "\(filesRecursively(strict))")
        #expect(refusal["status"] as? String == "failed")
        #expect(Self.skipped(refusal) == expected)
        #expect(BatchFixtures.statuses(refusal) == ["users.csv": "cancelled"])
        #expect(refused.stderr.contains("1 files: 0 masked, 0 skipped, 0 failed, 1 not started"), "\(refused.stderr)")

        // Only what --exclude leaves out is not reported: the user chose it.
        for name in ["src/sub/notes.txt", "src/sub/events.parquet", "src/queue.csv", "src/agent.csv", "src/gone.csv"] { unlink(directory.file(name)) }
        unlink(badName.map { CChar(bitPattern: $0) } + [0])
        rmdir(badFolder.map { CChar(bitPattern: $0) } + [0])
        unlink(directory.file("src/sub/d\u{FFFD}"))
        directory.write("src/data.parquet", "PAR1")
        let (excluded, clean) = batch(source, strict, ["--fail-on-skipped", "--exclude", "*.parquet"])
        #expect(excluded.status == 0, "\(excluded.stderr)")
        #expect(Self.skipped(clean).isEmpty && (clean["skipped"] as? [Any])?.isEmpty == true)
        #expect(!excluded.stderr.contains("not masked"), "\(excluded.stderr)")
        #expect(directory.exists("strict/users.csv.gz") && directory.exists("strict/_SUCCESS"))

        // Many: the first 20 on stderr, then a count; all of them in the report.
        for index in 0..<25 { directory.write("src/n\(String(format: "%02d", index)).txt", "x\n") }
        let (many, manyReport) = batch(source, directory.file("many"), ["--exclude", "*.parquet"])
        #expect(many.status == 0, "\(many.stderr)")
        #expect(Self.skipped(manyReport).count == 25)
        #expect(many.stderr.contains("skipped n19.txt") && !many.stderr.contains("skipped n20.txt"), "\(many.stderr)")
        #expect(many.stderr.contains("… and 5 more"), "\(many.stderr)")
    }

    @Test func symbolicLinksOutOfTheInputAreSkippedUnlessFollowed() throws {
        defer { directory.remove() }
        mkdir("src")
        mkdir("outside/dir")
        directory.write("src/in.csv", Fixtures.syntheticCSV(rows: 10))
        directory.write("outside/secret.csv", "id,name,email\n1,Ann,ann@example.com\n")
        directory.write("outside/dir/x.csv", "id,name,email\n2,Bob,bob@example.com\n")
        symlink("src/secret.csv", to: "../outside/secret.csv")
        symlink("src/linked", to: directory.file("outside/dir"))
        symlink("src/null.csv", to: "/dev/null")
        // Links that stay inside the input are followed; a link to an ancestor is a cycle.
        symlink("src/alias.csv", to: "in.csv")
        symlink("src/loop", to: ".")

        let source = directory.file("src")
        let (run, report) = batch(source, directory.file("out"))
        #expect(run.status == 0, "\(run.stderr)")
        #expect(BatchFixtures.statuses(report) == ["alias.csv": "masked", "in.csv": "masked"])
        #expect(Self.skipped(report) == [
            "secret.csv": "symlink out of the input folder", "linked": "symlink out of the input folder",
            "null.csv": "symlink out of the input folder", "loop": "symlink cycle",
        ])
        #expect(!directory.exists("out/secret.csv.gz") && !directory.exists("out/linked"))
        #expect(directory.read("out/alias.csv.gz") == directory.read("out/in.csv.gz"))
        #expect(filesRecursively(directory.file("out")) == [
            "_SUCCESS", "_batch_manifest.json", "_manifests/alias.csv.json", "_manifests/in.csv.json", "alias.csv.gz", "in.csv.gz",
        ])
        // --fail-on-skipped refuses such a tree.
        let (strict, _) = batch(source, directory.file("strict"), ["--fail-on-skipped"])
        #expect(strict.status == 1, "\(strict.stderr)")
        #expect(!directory.exists("strict"))

        // --follow-symlinks: links out are read (and a device behind one is still refused); cycles are still reported.
        let (followed, all) = batch(source, directory.file("followed"), ["--follow-symlinks"])
        #expect(followed.status == 0, "\(followed.stderr)")
        #expect(BatchFixtures.statuses(all) == ["alias.csv": "masked", "in.csv": "masked", "linked/x.csv": "masked", "secret.csv": "masked"])
        #expect(Self.skipped(all) == ["loop": "symlink cycle", "null.csv": "not a regular file (character device)"])
        let secret = String(decoding: Gzip.decompress(directory.read("followed/secret.csv.gz"), in: directory).output, as: UTF8.self)
        #expect(secret.hasPrefix("id,name,email\n1,[REDACTED],") && !secret.contains("ann@example.com"), "\(secret)")
        #expect(directory.exists("followed/linked/x.csv.gz"))
    }

    @Test func symbolicLinksInsideTheOutputAreRefusedBeforeAnythingIsWritten() throws {
        defer { directory.remove() }
        mkdir("src/sub")
        mkdir("elsewhere")
        directory.write("src/top.csv", Fixtures.syntheticCSV(rows: 10))
        directory.write("src/sub/a.csv", Fixtures.syntheticCSV(rows: 10))
        let source = directory.file("src")

        // A folder of the outputs is a link.
        mkdir("out")
        symlink("out/sub", to: directory.file("elsewhere"))
        let (refused, _) = batch(source, directory.file("out"))
        #expect(refused.status == 2, "\(refused.stderr)")
        #expect(refused.stderr.contains("\(directory.file("out/sub")) -> \(directory.file("elsewhere"))"), "\(refused.stderr)")
        #expect(directory.list("elsewhere").isEmpty)
        #expect(directory.list("out") == ["sub"], "\(directory.list("out"))")

        // The manifests' folder is a link.
        unlink(directory.file("out/sub"))
        symlink("out/_manifests", to: directory.file("elsewhere"))
        let (manifests, _) = batch(source, directory.file("out"))
        #expect(manifests.status == 2, "\(manifests.stderr)")
        #expect(manifests.stderr.contains("out/_manifests"), "\(manifests.stderr)")
        #expect(directory.list("elsewhere").isEmpty && directory.list("out") == ["_manifests"])

        // A marker the run writes is a link (replacing the link would do, but nothing in the destination is a link).
        unlink(directory.file("out/_manifests"))
        directory.write("elsewhere/keep", "precious\n")
        symlink("out/_SUCCESS", to: directory.file("elsewhere/keep"))
        let (marker, _) = batch(source, directory.file("out"))
        #expect(marker.status == 2, "\(marker.stderr)")
        #expect(marker.stderr.contains("out/_SUCCESS"), "\(marker.stderr)")
        #expect(directory.read("elsewhere/keep") == Array("precious\n".utf8))

        // Without links, the same destination works; the link the user named as --output is theirs.
        unlink(directory.file("out/_SUCCESS"))
        symlink("named", to: directory.file("out"))
        let (clean, _) = batch(source, directory.file("named"))
        #expect(clean.status == 0, "\(clean.stderr)")
        #expect(directory.exists("out/sub/a.csv.gz") && directory.exists("out/_SUCCESS"))
        #expect(directory.list("elsewhere") == ["keep"])
    }

    @Test func localInputsWithOneOutputNameAreRefusedAllNamed() throws {
        defer { directory.remove() }
        mkdir("src")
        directory.write("src/a.csv", "id,name\n1,a\n")
        directory.write("src/a.csv.gz", BatchFixtures.gzip("id,name\n1,a\n", in: directory))
        directory.write("src/a.csv.GZ", BatchFixtures.gzip("id,name\n1,a\n", in: directory))
        directory.write("src/b.csv", "id,name\n1,a\n")
        directory.write("src/b.part-00000.csv", "id,name\n1,a\n")
        let (collision, _) = batch(directory.file("src"), directory.file("out"))
        #expect(collision.status == 2, "\(collision.stderr)")
        #expect(collision.stderr.contains("a.csv, a.csv.GZ, a.csv.gz -> a.csv.gz"), "\(collision.stderr)")
        #expect(collision.stderr.contains("b.part-00000.csv -> b.part-00000.csv.gz, a part name of b.csv"), "\(collision.stderr)")
        #expect(!directory.exists("out"))
    }
}

/// The same on object storage (moto): keys that differ only in slashes, and objects that are not inputs.
@Suite struct BatchS3KeyTests {
    let directory = TemporaryDirectory()
    let server = S3TestServer.shared

    func batch(_ arguments: [String]) -> (RunResult, [String: Any]) {
        let rules = directory.write("rules.yaml", BatchFixtures.rules)
        unlink(directory.file("report.json"))
        let result = Runner.mask(
            ["batch", "--rules", rules, "--report", directory.file("report.json")] + arguments, environment: server.environment, in: directory)
        return (result, BatchFixtures.json(directory.read("report.json")))
    }

    /// Puts `body` under each key, as given (no path normalisation).
    func put(_ bucket: String, _ objects: [String: String]) {
        let encoded = String(decoding: try! JSONSerialization.data(withJSONObject: objects), as: UTF8.self)
        server.python("""
            for key, body in json.loads(sys.argv[2]).items():
                s3.put_object(Bucket=sys.argv[1], Key=key, Body=body.encode())
            """, [bucket, encoded], in: directory)
    }

    @Test func keysThatDifferOnlyInSlashesAreRefusedAllNamed() throws {
        defer { directory.remove() }
        let bucket = server.createBucket(in: directory)
        let csv = "id,name,email\n1,Ann,ann@example.com\n"
        put(bucket, [
            "in/a/x.csv": csv, "in/a//x.csv": csv.replacingOccurrences(of: "Ann", with: "Bea"), "in//a/x.csv": csv, "in/ok.csv": csv,
            // An output name that is also a folder of another output.
            "in/f.csv.gz/y.csv": csv, "in/f.csv": csv,
        ])
        #expect(Set(server.objects(bucket: bucket, prefix: "in/", in: directory).keys) == ["a/x.csv", "a//x.csv", "/a/x.csv", "ok.csv", "f.csv.gz/y.csv", "f.csv"])

        for output in ["s3://\(bucket)/out", directory.file("local-out")] {
            let (refused, _) = batch(["--input", "s3://\(bucket)/in", "--output", output])
            #expect(refused.status == 2, "\(refused.stderr)")
            #expect(refused.stderr.contains("/a/x.csv, a//x.csv, a/x.csv -> a/x.csv.gz"), "\(refused.stderr)")
            #expect(refused.stderr.contains("f.csv -> f.csv.gz, a folder of the output of f.csv.gz/y.csv"), "\(refused.stderr)")
            #expect(server.objects(bucket: bucket, prefix: "out", in: directory).isEmpty)
            #expect(!directory.exists("local-out"))
        }

        // One of them alone is masked under the key without the empty segment.
        let (single, report) = batch(["--input", "s3://\(bucket)/in", "--output", "s3://\(bucket)/out", "--exclude", "a/x.csv", "--exclude", "/a/x.csv", "--exclude", "f.csv", "--exclude", "f.csv.gz/*"])
        #expect(single.status == 0, "\(single.stderr)")
        #expect(BatchFixtures.statuses(report) == ["a//x.csv": "masked", "ok.csv": "masked"])
        let keys = Set(server.objects(bucket: bucket, prefix: "out/", in: directory).keys)
        #expect(keys == ["a/x.csv.gz", "ok.csv.gz", "_manifests/a/x.csv.json", "_manifests/ok.csv.json", "_SUCCESS", "_batch_manifest.json"], "\(keys)")
        server.download(bucket: bucket, prefix: "out/", to: directory.file("dl"), in: directory)
        let text = String(decoding: Gzip.decompress(directory.read("dl/a/x.csv.gz"), in: directory).output, as: UTF8.self)
        #expect(text.hasPrefix("id,name,email\n1,[REDACTED],") && !text.contains("ann@example.com"), "\(text)")
        let manifest = BatchFixtures.json(directory.read("dl/_manifests/a/x.csv.json"))
        #expect((manifest["source"] as? [String: Any])?["uri"] as? String == "s3://\(bucket)/in/a//x.csv")
    }

    @Test func objectsThatAreNotInputsAreReported() throws {
        defer { directory.remove() }
        let bucket = server.createBucket(in: directory)
        put(bucket, [
            "in/users.csv": "id,name,email\n1,Ann,ann@example.com\n", "in/2024/events.parquet": "PAR1", "in/readme.txt": "x",
            "in/a/../z.csv": "id\n1\n", "in/_SUCCESS": "", "in/.staging/x.csv": "id\n1\n", "in/folder/": "",
        ])
        let expected = [
            "2024/events.parquet": "not an input format (.csv, .tsv, .psv, .jsonl, .ndjson, .json, optionally .gz; --include selects others)",
            "readme.txt": "not an input format (.csv, .tsv, .psv, .jsonl, .ndjson, .json, optionally .gz; --include selects others)",
            "a/../z.csv": "'.' or '..' in the key",
        ]
        let (run, report) = batch(["--input", "s3://\(bucket)/in", "--output", "s3://\(bucket)/out"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(BatchFixtures.statuses(report) == ["users.csv": "masked"])
        #expect(BatchInputTreeTests.skipped(report) == expected, "\(report["skipped"] ?? "none")")
        #expect(run.stderr.contains("3 entries under the input not masked:"), "\(run.stderr)")
        server.download(bucket: bucket, prefix: "out/", to: directory.file("dl"), in: directory)
        #expect(BatchInputTreeTests.skipped(BatchFixtures.json(directory.read("dl/_batch_manifest.json"))) == expected)

        let (strict, refusal) = batch(["--input", "s3://\(bucket)/in", "--output", "s3://\(bucket)/strict", "--fail-on-skipped"])
        #expect(strict.status == 1, "\(strict.stderr)")
        #expect(refusal["status"] as? String == "failed" && BatchInputTreeTests.skipped(refusal) == expected)
        #expect(server.objects(bucket: bucket, prefix: "strict", in: directory).isEmpty)
    }
}
