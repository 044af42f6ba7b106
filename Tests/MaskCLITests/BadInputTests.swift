import Foundation
import MaskTestSupport
import Testing

/// Malformed input: a clear error with record and byte offset, exit 1, nothing half-written,
/// or (with --rejects) masked rejects and a complete output.
@Suite struct BadInputTests {
    let directory = TemporaryDirectory()

    func run(_ csv: String, _ extra: [String] = []) -> RunResult {
        let rulesPath = directory.write("r-\(UUID().uuidString).yaml", Fixtures.everyPolicyRules)
        let input = directory.write("in-\(UUID().uuidString).csv", csv)
        return Runner.mask(["--rules", rulesPath] + extra, stdin: input, in: directory)
    }

    @Test func raggedRowIsAnErrorWithRecordAndOffset() throws {
        let csv = "id,email\n1,a@example.com\n2,b@example.com,extra\n3,c@example.com\n"
        let result = run(csv, ["--compress", "none"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("<stdin>: record 2 at byte offset 25: wrong number of fields (expected 2 fields, found 3)"), "\(result.stderr)")
        #expect(!result.stdoutText.contains("b@example.com"))
    }

    @Test(arguments: ["1K", "64K"])
    func errorOffsetsDoNotDependOnChunking(chunkSize: String) throws {
        var csv = "id,email\n"
        for row in 1...300 { csv += "\(row),user\(row)@example.com\n" }
        let offset = csv.utf8.count
        csv += "301,\"unterminated,x@example.com\n302,y@example.com\n"
        let result = run(csv, ["--compress", "none", "--chunk-size", chunkSize])
        #expect(result.status == 1)
        #expect(result.stderr.contains("record 301 at byte offset \(offset): unterminated quoted field"), "\(result.stderr)")
        #expect(!result.stdoutText.contains("x@example.com"))
    }

    @Test func aQuoteInsideAnUnquotedFieldIsData() throws {
        // As PostgreSQL's loaders, Python's csv and csv-spectrum read it: the value is `ab"c"d@…`.
        let result = run("id,email\n1,ab\"c\"d@example.com\n", ["--compress", "none"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!result.stdoutText.contains("example.com"))
    }

    @Test func oversizedRecordIsAnError() throws {
        let big = String(repeating: "x", count: 5000)
        let result = run("id,email\n1,a@example.com\n2,\(big)\n", ["--compress", "none", "--max-record-size", "1K", "--chunk-size", "1K"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("record 2 at byte offset 25: record larger than --max-record-size"), "\(result.stderr)")
    }

    @Test func failedRunLeavesNothingInTheOutputDirectory() throws {
        let csv = "id,email\n1,a@example.com\n2,b@example.com,extra\n"
        let result = run(csv, ["--output", directory.file("out")])
        #expect(result.status == 1)
        #expect(directory.list("out").isEmpty, "left behind: \(directory.list("out"))")
        // Hidden temporaries are gone too.
        let all = (try? FileManager.default.contentsOfDirectory(atPath: directory.file("out"))) ?? []
        #expect(all.isEmpty)
    }

    @Test func rejectsAreMaskedAndTheRunGoesOn() throws {
        let csv = "id,email,notes\n1,a@example.com,ok\n2,b@example.com,\"x\",leak@example.com 415-555-0123\n3,c@example.com,fine\n"
        let rejects = directory.file("rejects.csv")
        let result = run(csv, ["--output", directory.file("out"), "--rejects", rejects, "--compress", "none"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("warning: <stdin>: record 2 at byte offset 34"), "\(result.stderr)")
        let rejected = String(decoding: directory.read("rejects.csv"), as: UTF8.self)
        #expect(rejected.hasPrefix("id,email,notes\n"))
        #expect(rejected.contains("[EMAIL]") && rejected.contains("[PHONE]"))
        #expect(!rejected.contains("leak@example.com") && !rejected.contains("b@example.com"))
        let manifest = try JSONSerialization.jsonObject(with: Data(directory.read("out/_manifest.json"))) as! [String: Any]
        #expect(manifest["records_in"] as? Int == 3)
        #expect(manifest["records_out"] as? Int == 2)
        #expect(manifest["records_rejected"] as? Int == 1)
        let part = String(decoding: directory.read("out/part-00000.csv"), as: UTF8.self)
        #expect(part.split(separator: "\n").count == 3)
    }

    @Test func closedStdoutEndsQuietly() throws {
        let rulesPath = directory.write("r.yaml", Fixtures.everyPolicyRules)
        let input = directory.write("big.csv", Fixtures.syntheticCSV(rows: 40000))
        let result = Runner.run("/bin/sh", ["-c", "'\(MaskBinary.path)' --rules '\(rulesPath)' --compress none --chunk-size 64K < '\(input)' | head -c 100 > /dev/null; echo \"status=${PIPESTATUS:-0}\""], environment: ["MASK_HMAC_KEY": Runner.key, "PATH": "/usr/bin:/bin"], in: directory)
        #expect(result.status == 0)
        #expect(!result.stderr.contains("error"), "\(result.stderr)")
    }

    @Test func unreadableInputIsAnIOError() throws {
        let rulesPath = directory.write("r.yaml", Fixtures.everyPolicyRules)
        let result = Runner.mask(["--rules", rulesPath, "--input", directory.file("missing.csv")], in: directory)
        #expect(result.status == 3)
        #expect(result.stderr.contains("cannot open input"))
    }
}
