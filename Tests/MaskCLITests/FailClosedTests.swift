import Foundation
import MaskTestSupport
import Testing

/// Issue 13, "fail closed": `default: error` refuses what nobody reviewed, renamed columns fail in
/// batch as in pipe mode, and new columns holding personal data are protected by the shipped rules.
@Suite struct FailClosedTests {
    let directory = TemporaryDirectory()

    /// rules/pii-fail-closed.yaml with `extra` exact rules added at the top of `fields:`.
    func failClosedRules(_ extra: [String]) throws -> String {
        let text = try String(contentsOfFile: MaskBinary.rules("pii-fail-closed.yaml"), encoding: .utf8)
        let added = text.replacingOccurrences(of: "\nfields:\n", with: "\nfields:\n" + extra.map { $0 + "\n" }.joined())
        return directory.write("fail-closed-\(UUID().uuidString).yaml", added)
    }

    @Test func newColumnsBetweenTwoRunsAreRefusedWithAPasteReadySnippet() throws {
        let reviewed = ["  id: keep", "  created_at: keep", "  country: keep", "  notes: scan"]
        let rules = try failClosedRules(reviewed)
        let example = "\(MaskBinary.repositoryRoot)/examples/customers.csv"
        let first = Runner.mask(["--rules", rules, "--input", example, "--output", directory.file("day1"), "-q"], in: directory)
        try #require(first.status == 0, "\(first.stderr)")

        // Day 2: the source table grew columns (one with quotes in its name).
        let lines = try String(contentsOfFile: example, encoding: .utf8).components(separatedBy: "\n")
        var grown = "loyalty_tier,date_of_birth,\"odd \"\"name\"\"\",\(lines[0])\n"
        grown += "gold,1990-01-02,x,\(lines[1])\n"
        let input = directory.write("day2.csv", grown)
        let second = Runner.mask(["--rules", rules, "--input", input, "--output", directory.file("day2"), "-q"], in: directory)
        #expect(second.status == 2)
        #expect(second.stderr.contains("no rule names 2 columns of the input: loyalty_tier, odd \"name\""), "\(second.stderr)")
        #expect(!directory.exists("day2"), "nothing written")
        #expect(!second.stderr.contains("date_of_birth"), "a pattern rule names it")

        // The snippet pastes as it is.
        let snippet = second.stderr.components(separatedBy: "\n").filter { $0.hasPrefix("  \"") }
        #expect(snippet == ["  \"loyalty_tier\": scan", "  \"odd \\\"name\\\"\": scan"])
        let pasted = try failClosedRules(reviewed + snippet)
        let report = directory.file("report.json")
        let third = Runner.mask(["--rules", pasted, "--input", input, "--output", directory.file("day2"), "--report", report, "-q"], in: directory)
        #expect(third.status == 0, "\(third.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(directory.read("report.json"))) as! [String: Any]
        let fields = Dictionary(uniqueKeysWithValues: (json["fields"] as! [[String: Any]]).map { ($0["name"] as! String, $0) })
        #expect(fields["date_of_birth"]?["matched_by"] as? String == "pattern")
        #expect(fields["date_of_birth"]?["policy"] as? String == "null")
        #expect(fields["loyalty_tier"]?["matched_by"] as? String == "exact")
    }

    @Test func underTheDefaultScanNewColumnsAreMarkedAsHandledByTheDefault() throws {
        let input = directory.write("in.csv", "id,loyalty_tier,referrer,email\n1,gold,ann@example.com,bob@example.com\n")
        let report = directory.file("report.json")
        let result = Runner.mask(["--rules", MaskBinary.rules("pii.yaml"), "--input", input, "--report", report, "--compress", "none", "-q"], in: directory)
        try #require(result.status == 0, "\(result.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(directory.read("report.json"))) as! [String: Any]
        let fields = Dictionary(uniqueKeysWithValues: (json["fields"] as! [[String: Any]]).map { ($0["name"] as! String, $0) })
        #expect(fields["referrer"]?["matched_by"] as? String == "default")
        #expect(fields["referrer"]?["changed"] as? Int == 1)
        #expect(fields["loyalty_tier"]?["matched_by"] as? String == "default")
        #expect(fields["loyalty_tier"]?["changed"] as? Int == 0)
        #expect(result.stdoutText.contains(",gold,[EMAIL],"))
    }

    @Test func newColumnsHoldingPersonalDataAreProtectedByThePIIRules() throws {
        let csv = "date_of_birth,dob,national_id,passport_no,home_address,given_name,surname\n"
            + "1990-01-02,1991-03-04,AB123456C,X1234567,1 Main St,Ann,Lee\n"
        let result = Runner.mask(["--rules", MaskBinary.rules("pii.yaml"), "--compress", "none", "-q"], stdin: directory.write("new.csv", csv), in: directory)
        try #require(result.status == 0, "\(result.stderr)")
        #expect(result.stdoutText == "date_of_birth,dob,national_id,passport_no,home_address,given_name,surname\n,,,,[REDACTED],[REDACTED],[REDACTED]\n")
    }

    @Test func jsonlStringsUnderUnnamedPathsAreADataErrorOrAReject() throws {
        let rules = try failClosedRules(["  id: keep"])
        let input = directory.write("in.jsonl", #"{"id":"1","email":"a@b.io","n":3,"ok":true}"# + "\n"
            + #"{"id":"2","profile":{"bio":"call 415-555-0123","age":40}}"# + "\n")
        let failed = Runner.mask(["--rules", rules, "--input", input, "--compress", "none"], in: directory)
        #expect(failed.status == 1)
        #expect(failed.stdout.isEmpty)
        #expect(failed.stderr.contains("record 2 at byte offset 44: a string value at a path no rule names (default: error) (path profile.bio;"), "\(failed.stderr)")
        #expect(!failed.stderr.contains("415-555-0123"))

        let rejects = directory.file("rejects.jsonl")
        let rejected = Runner.mask(["--rules", rules, "--input", input, "--compress", "none", "--rejects", rejects, "-q"], in: directory)
        #expect(rejected.status == 0, "\(rejected.stderr)")
        #expect(rejected.stdoutText.hasPrefix(#"{"id":"1","email":""#) && rejected.stdoutText.hasSuffix(#"","n":3,"ok":true}"# + "\n"))
        let rejectText = String(decoding: directory.read("rejects.jsonl"), as: UTF8.self)
        // After the refused value the rest is read lexically: values under unnamed keys are redacted whole.
        #expect(rejectText == #"{"id":"2","profile":{"bio":"[REDACTED]","age":"[REDACTED]"}}"# + "\n")
    }

    @Test func inBatchAnUnreviewedOrRenamedColumnFailsItsFileAlone() throws {
        let source = directory.file("src")
        try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
        _ = directory.write("src/good.csv", "id,email\n1,ann@example.com\n")
        _ = directory.write("src/new_column.csv", "id,email,nickname\n1,ann@example.com,annie\n")
        _ = directory.write("src/renamed.csv", "id,email_address\n1,ann@example.com\n")
        let rules = directory.write("batch.yaml", """
            version: 1
            detectors:
              email: { pattern: '[a-z]+@[a-z]+\\.[a-z]+', prefilter: "@", normalize: lowercase }
            fields:
              id: keep
              email: hash
              "*email*": { hash: { detector: email } }
            default: error
            hash: { key: env:MASK_HMAC_KEY }
            """)
        let report = directory.file("batch.json")
        let result = Runner.mask(["batch", "--rules", rules, "--input", source, "--output", directory.file("out"), "--report", report, "-q"], in: directory)
        #expect(result.status == 1, "\(result.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(directory.read("batch.json"))) as! [String: Any]
        let files = Dictionary(uniqueKeysWithValues: (json["files"] as! [[String: Any]]).map { ($0["input"] as! String, $0) })
        #expect(files["good.csv"]?["status"] as? String == "masked")
        #expect(files["new_column.csv"]?["status"] as? String == "failed")
        #expect((files["new_column.csv"]?["error"] as? String)?.contains("nickname") == true)
        #expect(files["renamed.csv"]?["status"] as? String == "failed")
        #expect((files["renamed.csv"]?["error"] as? String)?.contains("unknown column 'email'") == true)

        let allowed = Runner.mask(
            ["batch", "--rules", rules, "--input", source, "--output", directory.file("out2"), "--report", report, "--allow-missing-fields", "-q"],
            in: directory)
        #expect(allowed.status == 1)
        let again = try JSONSerialization.jsonObject(with: Data(directory.read("batch.json"))) as! [String: Any]
        let statuses = Dictionary(uniqueKeysWithValues: (again["files"] as! [[String: Any]]).map { ($0["input"] as! String, $0["status"] as! String) })
        #expect(statuses == ["good.csv": "masked", "new_column.csv": "failed", "renamed.csv": "masked"])
    }

    @Test func theFailClosedRulesHoldThePIIRulesDetectorsAndFields() throws {
        func section(_ file: String) throws -> String {
            let text = try String(contentsOfFile: MaskBinary.rules(file), encoding: .utf8)
            let body = text.components(separatedBy: "\nversion: 1\n")[1]
            return body.components(separatedBy: "\n# Every other field")[0]
        }
        #expect(try section("pii-fail-closed.yaml") == section("pii.yaml"), "copy pii.yaml's detectors and fields into pii-fail-closed.yaml")
    }

    @Test func errorIsOnlyADefaultPolicy() throws {
        let rules = directory.write("bad.yaml", "version: 1\nfields:\n  a: error\n")
        let result = Runner.mask(["rules", "check", rules], in: directory)
        #expect(result.status == 2)
        #expect(result.stderr.contains("fields.a: 'error' is only allowed as the default policy"), "\(result.stderr)")
    }
}
