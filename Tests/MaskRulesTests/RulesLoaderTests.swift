import Foundation
import MaskRules
import Testing

@Suite struct RulesLoaderTests {
    func problems(_ yaml: String) -> [String] {
        do {
            _ = try RulesLoader.load(data: Data(yaml.utf8), path: "r.yaml")
            return []
        } catch let error as RulesError {
            return error.problems.map(\.description)
        } catch {
            return ["\(error)"]
        }
    }

    @Test func validFileCompiles() throws {
        let rules = try RulesLoader.load(data: Data("""
            version: 1
            detectors:
              email: { pattern: '[a-z]+@[a-z]+\\.[a-z]+', prefilter: "@" }
            fields:
              "*mail*": hash
              id: keep
            default: scan
            hash: { key: env:K, encoding: hex, length: 20, prefix: "h:" }
            """.utf8), path: "r.yaml")
        #expect(rules.detectors.map(\.id) == ["email"])
        #expect(rules.policy(forField: "E_MAIL_ADDRESS") == .hash(.auto))
        #expect(rules.policy(forField: "id") == .keep)
        #expect(rules.policy(forField: "other") == .scan(detectors: [0], replacement: .token))
        #expect(rules.hash.length == 20 && rules.hash.encoding == .hex)
        #expect(rules.fingerprint.count == 16)
    }

    @Test(arguments: [
        ("version: 1\nbogus: 1\n", "r.yaml:2: rules file: unknown key 'bogus'"),
        ("detectors: {}\n", "r.yaml:1: missing 'version: 1'"),
        ("version: 1\ndetectors:\n  d: { pattern: '(a' }\n", "r.yaml:3: detectors.d.pattern: missing closing parenthesis at pattern offset 2"),
        ("version: 1\ndetectors:\n  d: { pattern: 'a*' }\n", "r.yaml:3: detectors.d.pattern: the pattern matches the empty string"),
        ("version: 1\ndetectors:\n  d: { token: x }\n", "r.yaml:3: detectors.d: missing 'pattern'"),
        ("version: 1\nfields: { a: { scan: { detectors: [nope] } } }\n", "r.yaml:2: fields.a.scan.detectors: unknown detector 'nope'"),
        ("version: 1\nfields: { a: { mask: { keep_last: -1 } } }\n", "r.yaml:2: fields.a.mask.keep_last must be an integer in 0...1000"),
        ("version: 1\ndefault: drop\n", "r.yaml:2: default: 'drop' is not allowed as the default policy"),
        ("version: 1\nhash: { key: env:K, length: 50, encoding: base64url }\n", "r.yaml:2: hash.length: base64url digests have at most 43 characters"),
        ("version: 1\n  bad: [\n", "r.yaml:2: YAML syntax"),
    ])
    func invalidFilesNameLineAndReason(yaml: String, expected: String) {
        let found = problems(yaml)
        #expect(found.contains { $0.hasPrefix(expected) }, "got \(found)")
    }
}
