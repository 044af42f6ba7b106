import Foundation
import MaskTestSupport
import Testing

/// Issue 13: name globs match words, and pattern rules leave flag, count, id and timestamp
/// columns about the thing alone. Driven through the binary on `rules/tests/column-names.tsv`,
/// a few hundred real column names labelled by hand.
@Suite struct ColumnNameTests {
    let directory = TemporaryDirectory()

    struct Label {
        var source: String
        var column: String
        var treatment: String
        var matchedBy: String
    }

    static func labels() throws -> [Label] {
        let text = try String(contentsOfFile: MaskBinary.rules("tests/column-names.tsv"), encoding: .utf8)
        let lines = text.split(separator: "\n").filter { !$0.hasPrefix("#") }.dropFirst()
        return lines.map { line in
            let cells = line.split(separator: "\t").map(String.init)
            return Label(source: cells[0], column: cells[1], treatment: cells[2], matchedBy: cells[3])
        }
    }

    func report(_ csv: String, rules: String) throws -> (RunResult, [[String: Any]]) {
        let input = directory.write("in-\(UUID().uuidString).csv", csv)
        let report = directory.file("report-\(UUID().uuidString).json")
        let result = Runner.mask(["--rules", rules, "--input", input, "--report", report, "--compress", "none", "-q"], in: directory)
        guard result.status == 0 else { return (result, []) }
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report))) as! [String: Any]
        return (result, json["fields"] as! [[String: Any]])
    }

    @Test func everyLabelledColumnGetsItsExpectedTreatmentUnderThePIIRules() throws {
        let labels = try Self.labels()
        #expect(labels.count >= 300)
        #expect(Set(labels.map(\.column)).count == labels.count, "each column once")
        let header = labels.map(\.column).joined(separator: ",")
        let row = labels.map { _ in "x" }.joined(separator: ",")
        let (result, fields) = try report(header + "\n" + row + "\n", rules: MaskBinary.rules("pii.yaml"))
        try #require(result.status == 0, "\(result.stderr)")
        try #require(fields.count == labels.count)
        var wrong: [String] = []
        for (label, field) in zip(labels, fields) {
            #expect(field["name"] as? String == label.column)
            let policy = field["policy"] as? String, matchedBy = field["matched_by"] as? String
            if policy != label.treatment || matchedBy != label.matchedBy {
                wrong.append("\(label.source) \(label.column): expected \(label.treatment)/\(label.matchedBy), got \(policy ?? "?")/\(matchedBy ?? "?")")
            }
        }
        #expect(wrong.isEmpty, "\(wrong.joined(separator: "\n"))")
    }

    @Test func issue13FlagCountAndTimestampColumnsComeOutByteForByte() throws {
        let csv = "email,email_opt_in,phone_verified,emails_sent,password_changed_at,hotel_id,telemetry_ms,classname,verified_email,EmailPromotion\n"
            + "Ann@Example.com,true,false,12,2024-01-02 03:04:05+00,884213,1200,Biology,true,2\n"
        let (result, fields) = try report(csv, rules: MaskBinary.rules("pii.yaml"))
        try #require(result.status == 0, "\(result.stderr)")
        let masked = Runner.mask(["--rules", MaskBinary.rules("pii.yaml"), "--compress", "none", "-q"], stdin: directory.write("flags.csv", csv), in: directory)
        let lines = masked.stdoutText.split(separator: "\n").map(String.init)
        try #require(lines.count == 2)
        let values = lines[1].split(separator: ",").map(String.init)
        #expect(values[0] != "Ann@Example.com" && values[0].count == 16, "the email column is hashed")
        #expect(Array(values.dropFirst()) == ["true", "false", "12", "2024-01-02 03:04:05+00", "884213", "1200", "Biology", "true", "2"])
        // `verified_email` is matched by `*email*` (hash), but `true` is not an email: scanned, kept.
        #expect(fields.first { $0["name"] as? String == "verified_email" }?["changed"] as? Int == 0)
    }

    @Test func aTildeGlobMatchesCharactersWhenThatIsWhatIsMeant() throws {
        let rules = directory.write("tilde.yaml", """
            version: 1
            fields:
              "~*tel*": redact
              "*phone*": redact
            default: keep
            """)
        let csv = "hotel_id,telephone,mobilePhone,phonebook_size\n7,+1 415 555 0123,+1 415 555 0124,3\n"
        let result = Runner.mask(["--rules", rules, "--compress", "none", "-q"], stdin: directory.write("t.csv", csv), in: directory)
        try #require(result.status == 0, "\(result.stderr)")
        #expect(result.stdoutText == "hotel_id,telephone,mobilePhone,phonebook_size\n[REDACTED],[REDACTED],[REDACTED],3\n")
    }

    @Test func jsonPathsChangedByAPatternOrTheDefaultAreListedWithTheirCounts() throws {
        let input = directory.write("in.jsonl", #"{"contact":{"work_email":"a@b.io","email_verified":true},"notes":"call 415-555-0123"}"# + "\n"
            + #"{"contact":{"work_email":"c@d.io"},"notes":"none"}"# + "\n")
        let report = directory.file("j.json")
        let result = Runner.mask(["--rules", MaskBinary.rules("pii.yaml"), "--input", input, "--report", report, "--compress", "none", "-q"], in: directory)
        try #require(result.status == 0, "\(result.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(directory.read("j.json"))) as! [String: Any]
        let paths = json["paths"] as! [[String: Any]]
        #expect(paths.map { $0["path"] as! String } == ["contact.work_email", "notes"])
        #expect(paths.map { $0["changed"] as! Int } == [2, 1])
        #expect(paths.map { $0["matched_by"] as! String } == ["pattern", "default"])
        #expect(paths[0]["rule"] as? String == "*email*")
        #expect(result.stdoutText.contains(#""email_verified":true"#))
    }
}
