import Foundation
import MaskTestSupport
import Testing

/// Issue 13: `mask rules suggest` writes a complete, fail-closed rules file from a sample; it
/// passes `mask rules check` and masks the sample with no finding under `mask verify`.
@Suite struct RulesSuggestTests {
    let directory = TemporaryDirectory()
    let strict = MaskBinary.rules("pii-strict.yaml")

    func suggest(_ input: String, _ extra: [String] = []) throws -> (rules: String, text: String) {
        let result = Runner.mask(["rules", "suggest", "--input", input, "--base", strict] + extra, in: directory)
        try #require(result.status == 0, "\(result.stderr)")
        let path = directory.write("suggested-\(UUID().uuidString).yaml", result.stdout)
        return (path, result.stdoutText)
    }

    /// The rules check, mask the sample, and the masked sample verifies clean.
    func roundTrip(_ input: String, rules: String, format: String) throws {
        let check = Runner.mask(["rules", "check", rules], in: directory)
        #expect(check.status == 0, "\(check.stderr)")
        let output = directory.file("masked-\(UUID().uuidString)")
        let masked = Runner.mask(["--rules", rules, "--input", input, "--output", output, "-q"], in: directory)
        try #require(masked.status == 0, "\(masked.stderr)")
        let verified = Runner.mask(["verify", "--rules", strict, "\(output)/part-00000.\(format).gz"], in: directory)
        #expect(verified.status == 0, "\(verified.stdoutText.prefix(2000))")
        #expect(verified.stdoutText.contains(" 0 finding(s)"))
    }

    /// `"name": policy  # evidence` lines of a suggested file.
    func fieldLines(_ text: String) -> [String: (policy: String, evidence: String)] {
        var lines: [String: (String, String)] = [:]
        let fields = text.components(separatedBy: "\nfields:\n")[1].components(separatedBy: "\n\n")[0]
        for line in fields.split(separator: "\n") {
            let parts = line.components(separatedBy: "  # ")
            let head = parts[0].trimmingCharacters(in: .whitespaces)
            guard let colon = head.range(of: "\": ") else { continue }
            let name = String(head[head.index(after: head.startIndex)..<colon.lowerBound])
            lines[name] = (String(head[colon.upperBound...]), parts.count > 1 ? parts[1] : "")
        }
        return lines
    }

    @Test(arguments: ["csv", "jsonl"])
    func theSyntheticExtractRoundTrips(format: String) throws {
        let input = directory.file("synthetic.\(format).gz")
        let plain = directory.file("synthetic.\(format)")
        let emitted = Runner.mask(["bench", "--rules", strict, "--synthetic", "3000", "--format", format, "--emit", plain], in: directory)
        try #require(emitted.status == 0, "\(emitted.stderr)")
        _ = Runner.run("/bin/gzip", ["-k", plain], environment: ["PATH": "/usr/bin:/bin"], in: directory)
        let (rules, text) = try suggest(input, ["--rows", "2000"])
        #expect(text.contains("\ndefault: error\n"))
        #expect(text.contains("key: env:MASK_HMAC_KEY"))
        #expect(text.contains("(2,000 records sampled)"))
        let fields = fieldLines(text)
        let email = format == "csv" ? "email" : "contact.email"
        #expect(fields[email]?.policy == "{ hash: { detector: email } }")
        #expect(fields[email]?.evidence == "2,000 of 2,000 sampled values are emails")
        #expect(fields["created_at"]?.policy == "keep")
        #expect(fields["amount"]?.policy == "keep")
        #expect(fields["notes"]?.policy == "scan")
        #expect(fields["notes"]?.evidence.contains("contain emails") == true)
        #expect(fields["user_agent"]?.policy == "scan")
        if format == "csv" {
            #expect(fields.keys.sorted() == ["amount", "country", "created_at", "currency", "email", "full_name", "id", "notes", "phone", "user_agent"])
            #expect(fields["full_name"]?.policy == "redact")
        } else {
            #expect(fields["orders[].phone"]?.policy == "{ hash: { detector: phone } }")
        }
        try roundTrip(plain, rules: rules, format: format)
    }

    @Test func nestedJSONLRoundTripsAndKeysThatHoldDataNeverBecomeRuleNames() throws {
        var lines: [String] = []
        for index in 0..<200 {
            lines.append(#"""
                {"id":\#(index),"user":{"profile":{"e\u006dail":"User\#(index)@Example.com","verified_email":\#(index % 2 == 0),"logins":\#(index % 7)},"tags":["vip","note \#(index)"]},"seen":"2024-03-0\#(1 + index % 9)T10:00:00Z","scores":{"ann\#(index)@example.com":\#(index)},"events":[{"ip":"203.0.113.\#(index % 250)","at":"2024-01-01 10:00:00"},{"msg":"call +1 415 555 \#(String(format: "%04d", 1000 + index))"}],"a.b":"dotted","uid":"6f1c2a3e-1b2c-4d5e-8f90-\#(String(format: "%012d", index))"}
                """#)
        }
        let input = directory.write("nested.jsonl", lines.joined(separator: "\n") + "\n")
        let (rules, text) = try suggest(input)
        let fields = fieldLines(text)
        #expect(!fields.keys.contains { $0.contains("@") }, "a map key that holds an email is never a rule name")
        #expect(fields["user.profile.email"]?.policy == "{ hash: { detector: email } }")
        #expect(fields["user.profile.verified_email"]?.policy == "keep", "\(fields["user.profile.verified_email"] as Any)")
        #expect(fields["user.profile.logins"]?.policy == "keep")
        #expect(fields["user.tags[]"]?.policy == "scan")
        #expect(fields["seen"]?.policy == "keep")
        #expect(fields["uid"]?.policy == "keep")
        #expect(fields["scores"]?.policy == "keep")
        #expect(fields["events[].ip"]?.policy == "{ hash: { normalize: trim } }")
        #expect(fields["events[].msg"]?.evidence.contains("contain phone numbers") == true)
        #expect(fields["a.b"]?.policy == "scan")
        try roundTrip(input, rules: rules, format: "jsonl")
    }

    @Test func everyLabelledColumnNameGetsThePolicyThePIIRulesGiveIt() throws {
        let text = try String(contentsOfFile: MaskBinary.rules("tests/column-names.tsv"), encoding: .utf8)
        let labels = text.split(separator: "\n").filter { !$0.hasPrefix("#") }.dropFirst().map { $0.split(separator: "\t").map(String.init) }
        let input = directory.write("names.csv", labels.map { $0[1] }.joined(separator: ",") + "\n" + labels.map { _ in "x" }.joined(separator: ",") + "\n")
        let (rules, suggested) = try suggest(input)
        #expect(fieldLines(suggested).count == labels.count)
        let report = directory.file("report.json")
        let masked = Runner.mask(["--rules", rules, "--input", input, "--report", report, "--compress", "none", "-q"], in: directory)
        try #require(masked.status == 0, "\(masked.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(directory.read("report.json"))) as! [String: Any]
        let fields = json["fields"] as! [[String: Any]]
        var wrong: [String] = []
        for (label, field) in zip(labels, fields) where field["policy"] as? String != label[2] || field["matched_by"] as? String != "exact" {
            wrong.append("\(label[1]): expected \(label[2]), got \(field["policy"] ?? "?") \(field["matched_by"] ?? "?")")
        }
        #expect(wrong.isEmpty, "\(wrong.joined(separator: "\n"))")
    }

    @Test func aHeaderThatHoldsDataIsRefusedAndNeverWrittenOut() throws {
        let input = directory.write("noheader.csv", "1,ann@example.com,x\n2,bob@example.com,y\n")
        let result = Runner.mask(["rules", "suggest", "--input", input, "--base", strict], in: directory)
        #expect(result.status == 1)
        #expect(result.stdout.isEmpty)
        #expect(!result.stderr.contains("ann@example.com"))
        let numbered = try suggest(input, ["--no-header"])
        #expect(fieldLines(numbered.text)["2"]?.policy == "{ hash: { detector: email } }")
    }
}
