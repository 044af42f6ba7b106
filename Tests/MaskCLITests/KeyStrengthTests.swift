import Foundation
import MaskTestSupport
import Testing

/// HMAC keys too weak to use are refused (exit 2) without ever printing them; a `file:` key
/// loses one trailing newline (LF or CRLF) and only that; good keys keep their key id.
@Suite struct KeyStrengthTests {
    let directory = TemporaryDirectory()

    static let envRules = """
        version: 1
        fields: { email: hash }
        hash: { key: env:MASK_HMAC_KEY }
        """

    func run(envKey: String) -> RunResult {
        let rules = directory.write("env.yaml", Self.envRules)
        let input = directory.write("in.csv", "email\na@example.com\n")
        return Runner.mask(["--rules", rules, "--input", input, "--compress", "none"], environment: ["MASK_HMAC_KEY": envKey], in: directory)
    }

    func run(fileKey: [UInt8], name: String = "key") -> RunResult {
        let keyFile = directory.write(name, fileKey)
        let rules = directory.write("file-\(name).yaml", """
            version: 1
            fields: { email: hash }
            hash: { key: "file:\(keyFile)" }
            """)
        let input = directory.write("in.csv", "email\na@example.com\n")
        // No MASK_HMAC_KEY at all: the file is the only key.
        return Runner.mask(["--rules", rules, "--input", input, "--compress", "none"], environment: ["MASK_HMAC_KEY": ""], in: directory)
    }

    func expectRefused(_ result: RunResult, _ reason: String, key: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(result.status == 2, "\(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.stdout.isEmpty, sourceLocation: sourceLocation)
        #expect(result.stderr.contains("is refused"), "\(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.stderr.contains(reason), "\(result.stderr)", sourceLocation: sourceLocation)
        #expect(!result.stderr.contains(key), "the key was printed: \(result.stderr)", sourceLocation: sourceLocation)
    }

    @Test func sixteenSpacesAreRefused() {
        let spaces = String(repeating: " ", count: 16)
        expectRefused(run(envKey: spaces), "0 bytes that are not whitespace", key: spaces)
        expectRefused(run(fileKey: Array((spaces + "\n").utf8)), "0 bytes that are not whitespace after trimming its trailing newline (LF)", key: spaces)
    }

    @Test func fifteenBytesPlusANewlineAreRefused() {
        let key = "k3y-0f-15-bytes"
        #expect(key.utf8.count == 15)
        expectRefused(run(fileKey: Array((key + "\n").utf8)), "it has 15 bytes after trimming its trailing newline (LF); at least 16 are required", key: key)
        expectRefused(run(fileKey: Array((key + "\r\n").utf8), name: "crlf"), "it has 15 bytes after trimming its trailing newline (CRLF)", key: key)
        expectRefused(run(envKey: key), "it has 15 bytes; at least 16 are required", key: key)
    }

    @Test func oneRepeatedByteIsRefused() {
        let key = String(repeating: "a", count: 16)
        expectRefused(run(envKey: key), "one byte repeated 16 times", key: key)
        expectRefused(run(fileKey: Array((key + "\n").utf8)), "one byte repeated 16 times", key: key)
    }

    @Test func whitespacePaddingDoesNotCountTowardsTheMinimum() {
        // 24 bytes, but only 12 of them are not whitespace.
        let key = "ab cd ef gh ij kl\t\t\t\t\t\t\t"
        expectRefused(run(envKey: key), "12 bytes that are not whitespace", key: "ab cd ef gh ij kl")
    }

    @Test func onlyOneTrailingNewlineIsTrimmed() {
        let key = Runner.key
        let result = run(fileKey: Array((key + "\n\n").utf8))
        expectRefused(result, "still ends with a line break after trimming its trailing newline (LF)", key: key)
        expectRefused(run(fileKey: Array((key + "\r").utf8), name: "cr"), "still ends with a line break", key: key)
    }

    @Test func goodKeysPassAndKeepTheirKeyID() throws {
        let envRun = run(envKey: Runner.key)
        #expect(envRun.status == 0, "\(envRun.stderr)")
        for (name, bytes) in [("lf", Array((Runner.key + "\n").utf8)), ("crlf", Array((Runner.key + "\r\n").utf8)), ("bare", Array(Runner.key.utf8))] {
            let fileRun = run(fileKey: bytes, name: name)
            #expect(fileRun.status == 0, "\(name): \(fileRun.stderr)")
            #expect(fileRun.stdout == envRun.stdout, "\(name)")
        }
        // Leading or inner whitespace is part of the key, not trimmed.
        let padded = run(envKey: " " + Runner.key)
        #expect(padded.status == 0, "\(padded.stderr)")
        #expect(padded.stdout != envRun.stdout)
        // The key id is HMAC-SHA256(key, "mask key id v1") cut to 12 hex digits, as before.
        let rules = directory.write("env.yaml", Self.envRules)
        let input = directory.write("in.csv", "email\na@example.com\n")
        let out = Runner.mask(["--rules", rules, "--input", input, "--output", directory.file("out")], in: directory)
        #expect(out.status == 0, "\(out.stderr)")
        let manifest = try JSONSerialization.jsonObject(with: Data(directory.read("out/_manifest.json"))) as? [String: Any]
        #expect(manifest?["key_id"] as? String == "ea9a20c2505c")
    }
}
