import Foundation
import MaskTestSupport
import Testing

/// Every JSON document `mask` writes matches its schema in `schemas/` (snake_case keys, a
/// `schema_version`, no key the schema does not declare), including the report of a failed run.
@Suite struct ReportSchemaTests {
    let directory = TemporaryDirectory()

    func json(_ path: String) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(directory.read(path))) as? [String: Any])
    }

    @Test func pipeManifestAndReportMatchTheSchema() throws {
        let result = Runner.mask(["--rules", MaskBinary.rules("pii.yaml"), "--input", "\(MaskBinary.repositoryRoot)/examples/customers.csv",
                                  "--output", directory.file("out"), "--report", directory.file("report.json")], in: directory)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(ReportSchema.violations("manifest", [directory.file("out/_manifest.json"), directory.file("report.json")], in: directory) == nil)
        #expect(try json("report.json")["schema_version"] as? Int == 1)
    }

    @Test func aFailedPipeRunStillWritesItsReportAndNothingElse() throws {
        directory.write("bad.csv", "id,email\n1,a@example.com\n2,\"never closed\n")
        let result = Runner.mask(["--rules", MaskBinary.rules("pii.yaml"), "--input", directory.file("bad.csv"),
                                  "--output", directory.file("out"), "--report", directory.file("report.json")], in: directory)
        #expect(result.status == 1, "\(result.stderr)")
        #expect(directory.list("out").isEmpty, "a failed run leaves nothing a loader would pick up")
        #expect(ReportSchema.violations("manifest", [directory.file("report.json")], in: directory) == nil)
        let report = try json("report.json")
        #expect(report["status"] as? String == "failed")
        let error = try #require(report["error"] as? [String: String])
        #expect(error["category"] == "data")
        #expect(error["message"]?.contains("record 2 at byte offset") == true)
        #expect((report["parts"] as? [Any])?.isEmpty == true)
        #expect(report["records_out"] as? Int == 0, "the counts the run reached: the failing chunk wrote nothing")
        #expect(!String(decoding: directory.read("report.json"), as: UTF8.self).contains("a@example.com"))
    }

    @Test func aRunThatFailsOnItsRulesWritesNoReport() {
        // Before the report's destination is checked there is no run to report on: a usage
        // error prints and exits 2, and creates nothing.
        directory.write("rules.yaml", "detectors: [\n")
        let result = Runner.mask(["--rules", directory.file("rules.yaml"), "--input", "\(MaskBinary.repositoryRoot)/examples/customers.csv",
                                  "--report", directory.file("report.json")], in: directory)
        #expect(result.status == 2)
        #expect(!FileManager.default.fileExists(atPath: directory.file("report.json")))
    }

    @Test func batchSummaryAndFileManifestsMatchTheirSchemas() throws {
        try FileManager.default.createDirectory(atPath: directory.file("in/sub"), withIntermediateDirectories: true)
        directory.write("in/a.csv", "id,email\n1,a@example.com\n")
        directory.write("in/sub/b.jsonl", "{\"email\":\"b@example.com\"}\n")
        directory.write("in/c.parquet", "PAR1")
        let result = Runner.mask(["batch", "--rules", MaskBinary.rules("pii.yaml"), "--input", directory.file("in"),
                                  "--output", directory.file("out"), "--report", directory.file("report.json")], in: directory)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(ReportSchema.violations("batch-summary", [directory.file("report.json"), directory.file("out/_batch_manifest.json")], in: directory) == nil)
        #expect(ReportSchema.violations(
            "batch-file-manifest", [directory.file("out/_manifests/a.csv.json"), directory.file("out/_manifests/sub/b.jsonl.json")], in: directory) == nil)
    }

    @Test func benchReportMatchesTheSchema() {
        let result = Runner.mask(["bench", "--rules", MaskBinary.rules("pii.yaml"), "--synthetic", "500", "--iterations", "1", "--json"], in: directory)
        #expect(result.status == 0, "\(result.stderr)")
        directory.write("bench.json", result.stdoutText)
        #expect(ReportSchema.violations("bench-report", [directory.file("bench.json")], in: directory) == nil)
    }

    @Test func aSchemaThatDeclaresACamelCaseKeyIsRefused() {
        // The validator is the naming rule's check: it must fail on a document with an
        // undeclared key and on a schema with a camelCase property.
        directory.write("doc.json", "{\"schema_version\": 1, \"recordsIn\": 3}")
        #expect(ReportSchema.violations("extract-summary", [directory.file("doc.json")], in: directory)?.contains("recordsIn") == true)
    }
}
