import Foundation
import MaskTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// SIGKILL at every step of the commit protocols (`MASK_FAULT_POINT`, see `FaultPoint`): the kill
/// must leave nothing a loader would take for a result, and the same command run again must
/// finish the job with the bytes of a clean run and leave no temporary behind.
@Suite struct CrashSafetyTests {
    let directory = TemporaryDirectory()

    static let pipePoints = [
        "pipe.masking", "pipe.parts-written", "pipe.journal-written", "pipe.old-output-removed", "pipe.part-renamed",
        "pipe.parts-renamed", "pipe.manifest-written", "pipe.success-written",
    ]
    static let batchPoints = ["batch.staged", "batch.output-renamed", "batch.file-committed", "batch.run-manifest-written", "batch.success-written"]
    static let extractPoints = [
        "extract.tables-staged", "extract.journal-written", "extract.table-moved", "extract.tables-moved", "extract.summary-written",
        "extract.success-written",
    ]
    /// Status of a process killed by SIGKILL, as `Runner` reports it.
    static let killed: Int32 = 128 + SIGKILL

    /// Every file under `root`, relative, hidden ones included.
    static func allFiles(_ root: String) -> [String] {
        var found: [String] = []
        guard let walker = FileManager.default.enumerator(atPath: root) else { return [] }
        while let relative = walker.nextObject() as? String { found.append(relative) }
        return found.sorted()
    }

    /// Leftovers of a dead run: temporaries and staging folders.
    static func leftovers(_ root: String) -> [String] {
        allFiles(root).filter { path in
            let name = (path as NSString).lastPathComponent
            return name.hasSuffix(".tmp") || name.hasPrefix(".mask-staging") || name.hasPrefix(".mask-batch-staging")
        }
    }

    /// The loader-visible data files under `root` (no component starting with `.` or `_`), with
    /// their bytes.
    static func dataFiles(_ root: String) -> [String: [UInt8]] {
        var files: [String: [UInt8]] = [:]
        for relative in allFiles(root) where !relative.split(separator: "/").contains(where: { $0.hasPrefix(".") || $0.hasPrefix("_") }) {
            var isFolder: ObjCBool = false
            if FileManager.default.fileExists(atPath: "\(root)/\(relative)", isDirectory: &isFolder), !isFolder.boolValue {
                files[relative] = Array(FileManager.default.contents(atPath: "\(root)/\(relative)") ?? Data())
            }
        }
        return files
    }

    /// Compressed bytes equal, and (so a failure says more) decompressed bytes too.
    func expectSameOutputs(_ root: String, as clean: String, _ point: String) {
        let got = Self.dataFiles(root)
        let expected = Self.dataFiles(clean)
        #expect(got.keys.sorted() == expected.keys.sorted(), "\(point)")
        for (name, bytes) in expected {
            guard let other = got[name] else { continue }
            #expect(Gzip.decompress(other, in: directory).output == Gzip.decompress(bytes, in: directory).output, "\(point): \(name) decompressed")
            #expect(other == bytes, "\(point): \(name)")
        }
    }

    /// No `_SUCCESS` anywhere, and a visible part only in a folder marked `_COMMITTING`.
    func expectNothingLoaderVisible(_ root: String, _ point: String) {
        let files = Self.allFiles(root)
        #expect(!files.contains { ($0 as NSString).lastPathComponent == "_SUCCESS" }, "\(point): \(files)")
        for part in files where (part as NSString).lastPathComponent.hasPrefix("part-") && !part.hasPrefix(".") {
            let folder = (part as NSString).deletingLastPathComponent
            let journal = folder.isEmpty ? "_COMMITTING" : "\(folder)/_COMMITTING"
            let marked = files.contains(journal) || files.contains("_COMMITTING")
            #expect(marked, "\(point): \(part) visible without _SUCCESS or _COMMITTING")
        }
    }

    @Test func pipeOutputSurvivesAKillAtEveryCommitStep() throws {
        let rules = directory.write("r.yaml", Fixtures.everyPolicyRules)
        let input = directory.write("in.csv", Fixtures.syntheticCSV(rows: 6000))
        func command(_ out: String) -> [String] {
            ["--rules", rules, "--input", input, "--output", directory.file(out), "--max-part-size", "16K", "--chunk-size", "16K",
             "--threads", "2", "--report", directory.file("\(out).json")]
        }
        let clean = Runner.mask(command("clean"), in: directory)
        try #require(clean.status == 0, "\(clean.stderr)")
        try #require(directory.list("clean").filter { $0.hasPrefix("part-") }.count > 2)
        for point in Self.pipePoints {
            let out = "out-\(point)"
            let crashed = Runner.mask(command(out), environment: ["MASK_FAULT_POINT": point], in: directory)
            #expect(crashed.status == Self.killed, "\(point): \(crashed.status) \(crashed.stderr)")
            if point == "pipe.success-written" {
                // Committed before the kill: the data is complete, the journal a leftover.
                expectSameOutputs(directory.file(out), as: directory.file("clean"), point)
                let again = Runner.mask(command(out), in: directory)
                #expect(again.status == 2 && again.stderr.contains("--overwrite"), "\(point): \(again.stderr)")
                #expect(!directory.exists("\(out)/_COMMITTING"), "\(point)")
            } else {
                expectNothingLoaderVisible(directory.file(out), point)
                let again = Runner.mask(command(out), in: directory)
                #expect(again.status == 0, "\(point): \(again.stderr)")
                #expect(directory.list(out).filter { $0.hasPrefix("_") } == ["_SUCCESS", "_manifest.json"], "\(point): \(directory.list(out))")
            }
            expectSameOutputs(directory.file(out), as: directory.file("clean"), point)
            let manifest = BatchFixtures.json(directory.read("\(out)/_manifest.json"))
            let expected = BatchFixtures.json(directory.read("clean/_manifest.json"))
            #expect(NSArray(array: manifest["parts"] as? [Any] ?? []) == NSArray(array: expected["parts"] as? [Any] ?? []), "\(point)")
        }
        #expect(Self.leftovers(directory.path).isEmpty, "\(Self.leftovers(directory.path))")
    }

    /// What random kills leave (a part or a report half-written by a process that is gone) is
    /// removed by the next run; a committed folder still needs --overwrite.
    @Test func deadRunsTemporariesAreRemovedAndCommittedRunsStayProtected() throws {
        let rules = directory.write("r.yaml", Fixtures.everyPolicyRules)
        let input = directory.write("in.csv", Fixtures.syntheticCSV(rows: 50))
        try FileManager.default.createDirectory(atPath: directory.file("out"), withIntermediateDirectories: true)
        let deadPID = "99999999"  // above any pid_max: no such process
        directory.write("out/.part-00000.csv.gz.\(deadPID).tmp", "half a part")
        directory.write("out/._manifest.json.\(deadPID).tmp", "{")
        directory.write(".report.json.\(deadPID).tmp", "{")
        let command = ["--rules", rules, "--input", input, "--output", directory.file("out"), "--report", directory.file("report.json")]
        let run = Runner.mask(command, in: directory)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(Self.leftovers(directory.path).isEmpty, "\(Self.leftovers(directory.path))")
        #expect(directory.list("out") == ["_SUCCESS", "_manifest.json", "part-00000.csv.gz"])
        // Parts of a run older than the journal (no _COMMITTING, no _SUCCESS) are not ours to drop.
        unlink(directory.file("out/_SUCCESS"))
        let refused = Runner.mask(command, in: directory)
        #expect(refused.status == 2 && refused.stderr.contains("--overwrite"), "\(refused.stderr)")
    }

    @Test func batchSurvivesAKillAtEveryCommitStep() throws {
        let rules = directory.write("rules.yaml", BatchFixtures.rules)
        let source = directory.file("src")
        try FileManager.default.createDirectory(atPath: "\(source)/day/sub", withIntermediateDirectories: true)
        directory.write("src/day/a.tsv", BatchFixtures.tsv(rows: 300))
        directory.write("src/day/sub/b.jsonl", BatchFixtures.jsonl(rows: 200))
        directory.write("src/day/c.tsv", BatchFixtures.tsv(rows: 4000, seed: 7))
        func command(_ out: String) -> [String] {
            ["batch", "--rules", rules, "--input", source, "--output", directory.file(out), "--parallel-files", "1", "--threads", "2",
             "--max-part-size", "16K", "--chunk-size", "16K", "--report", directory.file("\(out).json")]
        }
        let clean = Runner.mask(command("clean"), in: directory)
        try #require(clean.status == 0, "\(clean.stderr)")
        try #require(Self.dataFiles(directory.file("clean")).count > 3)
        for point in Self.batchPoints {
            let out = "out-\(point)"
            let crashed = Runner.mask(command(out), environment: ["MASK_FAULT_POINT": point], in: directory)
            #expect(crashed.status == Self.killed, "\(point): \(crashed.status) \(crashed.stderr)")
            if point != "batch.success-written" {
                #expect(!directory.exists("\(out)/_SUCCESS"), "\(point)")
            }
            // What a file's manifest lists is there, whole: a loader reading manifests sees
            // complete files only.
            for manifestPath in Self.allFiles(directory.file("\(out)/_manifests")) where manifestPath.hasSuffix(".json") {
                let manifest = BatchFixtures.json(directory.read("\(out)/_manifests/\(manifestPath)"))
                for output in manifest["outputs"] as? [[String: Any]] ?? [] {
                    let bytes = directory.read("\(out)/\(output["file"] as! String)")
                    #expect(bytes.count == output["bytes"] as? Int, "\(point): \(output["file"]!)")
                }
            }
            let again = Runner.mask(command(out), in: directory)
            #expect(again.status == 0, "\(point): \(again.stderr)")
            #expect(directory.exists("\(out)/_SUCCESS"), "\(point)")
            expectSameOutputs(directory.file(out), as: directory.file("clean"), point)
            let manifests = Self.allFiles(directory.file("\(out)/_manifests"))
            #expect(manifests == Self.allFiles(directory.file("clean/_manifests")), "\(point)")
        }
        #expect(Self.leftovers(directory.path).isEmpty, "\(Self.leftovers(directory.path))")
    }

    @Test func extractSurvivesAKillAtEveryCommitStep() throws {
        let cluster = PostgresCluster.shared
        let database = cluster.createDatabase()
        let (status, output) = cluster.psql(
            """
            CREATE TABLE users (id int, email text, phone text);
            INSERT INTO users SELECT g, 'user' || g || '@example.com', '+1 415 555 ' || (1000 + g) FROM generate_series(1, 300) g;
            CREATE TABLE orders (id int, contact text);
            INSERT INTO orders SELECT g, 'call 090-1234-' || lpad(g::text, 4, '0') FROM generate_series(1, 3000) g;
            """, database: database)
        try #require(status == 0, "\(output)")
        func command(_ out: String) -> [String] {
            ["extract", "--from", cluster.url(database: database), "--schema", "public", "--rules", MaskBinary.rules("pii.yaml"),
             "--output", directory.file(out), "--max-part-size", "16K", "--threads", "2"]
        }
        let clean = Runner.mask(command("clean"), in: directory)
        try #require(clean.status == 0, "\(clean.stderr)")
        #expect(directory.list("clean") == ["_SUCCESS", "_extract.json", "public.orders", "public.users"])
        // One success marker for the snapshot: none in the table folders.
        #expect(directory.list("clean/public.users") == ["_manifest.json", "part-00000.csv.gz"])
        for point in Self.extractPoints {
            let out = "out-\(point)"
            let crashed = Runner.mask(command(out), environment: ["MASK_FAULT_POINT": point], in: directory)
            #expect(crashed.status == Self.killed, "\(point): \(crashed.status) \(crashed.stderr)")
            if point == "extract.success-written" {
                expectSameOutputs(directory.file(out), as: directory.file("clean"), point)
                let again = Runner.mask(command(out), in: directory)
                #expect(again.status == 2 && again.stderr.contains("--overwrite"), "\(point): \(again.stderr)")
                #expect(!directory.exists("\(out)/_COMMITTING"), "\(point)")
            } else {
                expectNothingLoaderVisible(directory.file(out), point)
                let again = Runner.mask(command(out), in: directory)
                #expect(again.status == 0, "\(point): \(again.stderr)")
                #expect(directory.list(out) == ["_SUCCESS", "_extract.json", "public.orders", "public.users"], "\(point): \(directory.list(out))")
            }
            expectSameOutputs(directory.file(out), as: directory.file("clean"), point)
            #expect(!Self.allFiles(directory.file(out)).contains { $0.hasSuffix("_COMMITTING") }, "\(point)")
        }
        #expect(Self.leftovers(directory.path).isEmpty, "\(Self.leftovers(directory.path))")
    }
}
