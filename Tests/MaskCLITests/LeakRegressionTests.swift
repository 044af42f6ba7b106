import Foundation
import MaskTestSupport
import Testing

/// Issue 11 ("Nothing leaks, nothing is lost"): each way personal data reached a loader, or a
/// record vanished, with exit 0 — reproduced through the real binary.
@Suite struct LeakRegressionTests {
    let directory = TemporaryDirectory()

    func run(_ input: String, rules: String = Fixtures.everyPolicyRules, _ extra: [String]) -> RunResult {
        let rulesPath = directory.write("r-\(UUID().uuidString).yaml", rules)
        let inputPath = directory.write("in-\(UUID().uuidString)", input)
        return Runner.mask(["--rules", rulesPath, "--compress", "none"] + extra, stdin: inputPath, in: directory)
    }

    func report(_ name: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(directory.read(name))) as! [String: Any]
    }

    @Test(arguments: [1, 2])
    func carriageReturnLineEndsAreRecords(threads: Int) throws {
        let input = "id,email,phone\r1,ann@example.com,+1 415 555 0123\r2,bob@example.com,+1 415 555 0199\r"
        let result = run(input, ["--threads", String(threads), "--report", directory.file("cr.json")])
        #expect(result.status == 0, "\(result.stderr)")
        let output = result.stdoutText
        #expect(!output.contains("example.com") && !output.contains("555"), "\(output)")
        // Byte-faithful: still CR line ends, three lines.
        #expect(output.utf8.filter { $0 == 0x0D }.count == 3 && !output.utf8.contains(0x0A))
        #expect(try report("cr.json")["records_in"] as? Int == 2)
        // And verify reads the same records.
        let masked = directory.write("masked-cr.csv", output)
        let verify = Runner.mask(["verify", "--rules", MaskBinary.rules("pii.yaml"), masked], in: directory)
        #expect(verify.status == 0 && verify.stdoutText.contains("2 records"), "\(verify.stdoutText)\(verify.stderr)")
    }

    @Test func aStrayQuoteRejectsOneRecordAndTheRejectIsMaskedByItsColumns() throws {
        var input = "id,phone,notes\n"
        for row in 1...50 { input += "\(row),41555500\(String(format: "%02d", row)),ok\n" }
        input += "51,4155550051,\"5 tall\n"
        for row in 52...99 { input += "\(row),41555500\(String(format: "%02d", row)),\"fine\"\n" }
        let result = run(input, ["--rejects", directory.file("rejects.csv"), "--report", directory.file("q.json"), "--chunk-size", "1K"])
        #expect(result.status == 0, "\(result.stderr)")
        let summary = try report("q.json")
        #expect(summary["records_in"] as? Int == 99)
        #expect(summary["records_out"] as? Int == 98)
        #expect(summary["records_rejected"] as? Int == 1)
        #expect(!result.stdoutText.contains("415555"))
        let rejects = String(decoding: directory.read("rejects.csv"), as: UTF8.self)
        // The hashed phone column is hashed in the reject as in the output, not left in clear.
        #expect(!rejects.contains("4155550051"), "\(rejects)")
        #expect(rejects.hasPrefix("id,phone,notes\n51,"))
    }

    @Test func aRejectWithTheWrongWidthRedactsWhatCouldBeAProtectedColumn() throws {
        let input = "id,phone,notes\n1,4155550001,a,b@example.com,415-555-0009\n2,4155550002,ok\n"
        let result = run(input, ["--rejects", directory.file("wide.csv")])
        #expect(result.status == 0, "\(result.stderr)")
        let rejects = String(decoding: directory.read("wide.csv"), as: UTF8.self)
        #expect(!rejects.contains("415555") && !rejects.contains("b@example.com"), "\(rejects)")
    }

    @Test func aFirstRowThatIsDataIsRefusedAndNeverPublished() throws {
        let input = "ann.lee@example.com,4155550001,x\n1,4155550002,y\n"
        let out = directory.file("out-header")
        let result = run(input, ["--output", out])
        #expect(result.status == 1)
        #expect(result.stderr.contains("does not look like a header") && result.stderr.contains("--no-header"), "\(result.stderr)")
        #expect(!result.stderr.contains("ann.lee"))
        #expect(directory.list("out-header").isEmpty)
        // With --no-header the same input masks.
        let fixed = run(input, rules: "version: 1\n\(Fixtures.detectors)\ndefault: scan\n", ["--no-header"])
        #expect(fixed.status == 0 && !fixed.stdoutText.contains("example.com"), "\(fixed.stderr)")
    }

    @Test func jsonlRejectsDecodeEscapesBeforeScanning() throws {
        let input = "{\"a\":\"bob\\u0040example.com\",\"b\":1\n{\"a\":\"ok\"}\n"
        let result = run(input, rules: Fixtures.scanAllRules, ["--format", "jsonl", "--rejects", directory.file("j.jsonl")])
        #expect(result.status == 0, "\(result.stderr)")
        let rejects = String(decoding: directory.read("j.jsonl"), as: UTF8.self)
        #expect(!rejects.contains("example.com") && rejects.contains("[EMAIL]"), "\(rejects)")
    }

    @Test func aSearchThatHitsTheMatchLimitFailsClosed() throws {
        let rules = """
            version: 1
            detectors:
              secret:
                pattern: '(x+x+)+y|SECRET[0-9]+'
            fields:
              id: keep
            default: scan
            """
        let input = "id,notes\n1,\(String(repeating: "x", count: 25)) SECRET123\n2,SECRET9 fine\n"
        let result = run(input, rules: rules, ["--report", directory.file("limit.json")])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!result.stdoutText.contains("SECRET1") && !result.stdoutText.contains("SECRET9"), "\(result.stdoutText)")
        #expect(result.stderr.contains("match limit"))
        let detectors = try report("limit.json")["detectors"] as! [[String: Any]]
        #expect(detectors.first?["match_limit_hits"] as? Int == 1)
    }

    @Test func emailsAsJSONKeysAreHashedAndVerifySeesKeys() throws {
        let input = "{\"scores\":{\"ann@example.com\":5,\"plain\":1}}\n"
        let result = run(input, ["--format", "jsonl"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!result.stdoutText.contains("example.com") && result.stdoutText.contains("\"plain\":1"), "\(result.stdoutText)")
        let raw = directory.write("keys.jsonl", input)
        let verify = Runner.mask(["verify", "--rules", MaskBinary.rules("pii.yaml"), raw], in: directory)
        #expect(verify.status == 1 && verify.stdoutText.contains("scores (a key)"), "\(verify.stdoutText)\(verify.stderr)")
    }

    @Test func framingIsLinearInTheRecordSize() throws {
        // One 40 MB record: with the old framing (rescan per read) this took seconds; the test
        // checks the outcome and the bound on memory, not the time.
        let big = String(repeating: "a", count: 40 << 20)
        let result = run("id,notes\n1,\"\(big)\"\n2,ok\n", rules: Fixtures.keepAllRules, ["--max-record-size", "64M", "--report", directory.file("big.json")])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try report("big.json")["records_in"] as? Int == 2)
        #expect(result.stdout.count == 9 + 2 + (40 << 20) + 3 + 5)
    }
}
