import Foundation
import MaskTestSupport
import Testing

/// `hash: { keep_domain: true }` and named keys (`hash.keys`, `key: NAME`).
@Suite struct HashOptionsTests {
    let directory = TemporaryDirectory()

    static let rules = """
        version: 1
        detectors:
          email:
            pattern: '[a-z0-9._%+\\-]+@[a-z0-9.\\-]+\\.[a-z]{2,}'
            prefilter: "@"
            normalize: lowercase
        hash:
          key: env:MASK_HMAC_KEY
          keys:
            partners: env:PARTNER_KEY
        fields:
          email: { hash: { detector: email, keep_domain: true } }
          contact: { hash: { detector: email } }
          partner_email: { hash: { detector: email, key: partners } }
        default: keep
        """

    func run(_ input: String, environment: [String: String] = ["PARTNER_KEY": "partner-key-0123456789abcdef"]) -> RunResult {
        let rules = directory.write("rules.yaml", Self.rules)
        let path = directory.write("in.csv", input)
        return Runner.mask(["--rules", rules, "--input", path, "--compress", "none", "--report", directory.file("report.json")],
                           environment: environment, in: directory)
    }

    @Test func keepDomainHashesTheAddressAndKeepsItsDomain() throws {
        let result = run("email,contact,partner_email\nAnn.Lee@Example.COM,ann.lee@example.com,ann.lee@example.com\nn/a,,\n")
        try #require(result.status == 0, "\(result.stderr)")
        let lines = result.stdoutText.split(separator: "\n", omittingEmptySubsequences: false).map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        let kept = lines[1][0], plain = lines[1][1], partner = lines[1][2]
        #expect(kept.hasSuffix("@example.com"), "\(kept)")
        // The hash before the domain is the hash of the whole (normalised) address: it joins with
        // a column hashed with the same key without keep_domain.
        #expect(kept == plain + "@example.com", "\(kept) vs \(plain)")
        #expect(!result.stdoutText.contains("ann.lee") && !result.stdoutText.contains("Ann.Lee"))
        // A different key: the same address, another hash, not joinable.
        #expect(partner != plain && !partner.isEmpty)
        #expect(lines[2][0] != "n/a" && !lines[2][0].contains("@"), "a value without @ is hashed whole: \(lines[2][0])")
        let report = try #require(JSONSerialization.jsonObject(with: Data(directory.read("report.json"))) as? [String: Any])
        let keyIDs = try #require(report["key_ids"] as? [String: String])
        #expect(keyIDs.keys.sorted() == ["partners"])
        #expect(keyIDs["partners"] != report["key_id"] as? String)
        let fields = try #require(report["fields"] as? [[String: Any]])
        #expect(fields.first { $0["name"] as? String == "partner_email" }?["key"] as? String == "partners")
        #expect(ReportSchema.violations("manifest", [directory.file("report.json")], in: directory) == nil)
    }

    @Test func aMissingNamedKeyIsAUsageErrorThatNamesIt() {
        let result = run("email,contact,partner_email\na@example.com,,\n", environment: ["PARTNER_KEY": ""])
        #expect(result.status == 2, "\(result.stderr)")
        #expect(result.stderr.contains("PARTNER_KEY") && result.stderr.contains("hash.keys.partners"), "\(result.stderr)")
    }

    @Test func aFieldNamingAnUnknownKeyIsARulesError() {
        let rules = directory.write("bad.yaml", Self.rules.replacingOccurrences(of: "key: partners", with: "key: vendors"))
        let result = Runner.mask(["rules", "check", rules], in: directory)
        #expect(result.status == 2)
        #expect(result.stderr.contains("vendors"), "\(result.stderr)")
    }
}
