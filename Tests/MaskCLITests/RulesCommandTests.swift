import Foundation
import MaskTestSupport
import Testing

/// `mask rules check|test` and rules problems found before any data is read.
@Suite struct RulesCommandTests {
    let directory = TemporaryDirectory()

    @Test(arguments: ["pii.yaml", "pii-strict.yaml"])
    func shippedRulesPassTheirOwnExamples(file: String) throws {
        let check = Runner.mask(["rules", "check", MaskBinary.rules(file)], in: directory)
        #expect(check.status == 0, "\(check.stdoutText)\(check.stderr)")
        let test = Runner.mask(["rules", "test", MaskBinary.rules(file)], in: directory)
        #expect(test.status == 0, "\(test.stdoutText)\(test.stderr)")
        #expect(test.stdoutText.contains(" 0 failed"))
    }

    @Test func failingExampleFailsRulesTest() throws {
        let rules = directory.write("bad-example.yaml", """
            version: 1
            detectors:
              digits:
                pattern: '\\d+'
                examples: { match: ["12a"], no_match: ["abc"] }
            """)
        let result = Runner.mask(["rules", "test", rules], in: directory)
        #expect(result.status == 1)
        #expect(result.stdoutText.contains("FAIL detector digits (line 3): expected to match all of \"12a\", found [\"12\"]"), "\(result.stdoutText)")
        #expect(result.stdoutText.contains("1 passed, 1 failed"))
    }

    @Test func everyProblemIsReportedWithItsLine() throws {
        let rules = directory.write("broken.yaml", """
            version: 1
            detectors:
              email:
                pattern: '[a-z+@'
                colour: blue
            fields:
              email: hash
              name: obliterate
            """)
        let result = Runner.mask(["rules", "check", rules], in: directory)
        #expect(result.status == 2)
        #expect(result.stderr.contains("broken.yaml:4: detectors.email.pattern: missing terminating ] for character class at pattern offset 6"), "\(result.stderr)")
        #expect(result.stderr.contains("broken.yaml:5: detectors.email: unknown key 'colour'"))
        #expect(result.stderr.contains("broken.yaml:8: fields.name: unknown policy 'obliterate'"))
        #expect(result.stderr.contains("a field uses 'hash' but 'hash.key' is not set"))
    }

    @Test func keysNeverComeFromTheRulesFile() throws {
        let rules = directory.write("inline-key.yaml", """
            version: 1
            fields: { email: hash }
            hash: { key: "sup3r-secret-value" }
            """)
        let result = Runner.mask(["rules", "check", rules], in: directory)
        #expect(result.status == 2)
        #expect(result.stderr.contains("hash.key must be env:VARIABLE or file:PATH"))
        #expect(!result.stderr.contains("sup3r-secret-value"))
    }

    @Test func unknownColumnIsAUsageErrorBeforeOutput() throws {
        let rules = directory.write("r.yaml", """
            version: 1
            fields: { emial: redact }
            default: keep
            """)
        let input = directory.write("in.csv", "id,email\n1,a@example.com\n")
        let result = Runner.mask(["--rules", rules, "--input", input, "--output", directory.file("out")], in: directory)
        #expect(result.status == 2)
        #expect(result.stderr.contains("r.yaml:2: unknown column 'emial'"), "\(result.stderr)")
        #expect(!directory.exists("out/_SUCCESS"))
    }

    @Test func missingKeyIsAUsageError() throws {
        let rules = directory.write("r.yaml", Fixtures.everyPolicyRules)
        let input = directory.write("in.csv", "id,email\n1,a@example.com\n")
        let result = Runner.mask(["--rules", rules, "--input", input], environment: ["MASK_HMAC_KEY": ""], in: directory)
        #expect(result.status == 2)
        #expect(result.stderr.contains("environment variable MASK_HMAC_KEY (hash.key) is not set"))
    }

    @Test func keyFileWorksAndMatchesTheSameKeyFromTheEnvironment() throws {
        let keyFile = directory.write("key", Runner.key + "\n")
        let fromFile = directory.write("file.yaml", """
            version: 1
            fields: { email: hash }
            hash: { key: "file:\(keyFile)" }
            """)
        let fromEnv = directory.write("env.yaml", """
            version: 1
            fields: { email: hash }
            hash: { key: env:MASK_HMAC_KEY }
            """)
        let input = directory.write("in.csv", "email\na@example.com\n")
        let a = Runner.mask(["--rules", fromFile, "--input", input, "--compress", "none"], environment: ["MASK_HMAC_KEY": ""], in: directory)
        let b = Runner.mask(["--rules", fromEnv, "--input", input, "--compress", "none"], in: directory)
        #expect(a.status == 0 && b.status == 0, "\(a.stderr)")
        #expect(a.stdout == b.stdout)
    }
}
