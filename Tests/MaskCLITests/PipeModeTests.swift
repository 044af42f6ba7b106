import Foundation
import MaskTestSupport
import Testing

/// Pipe mode through the real binary: policies, CSV fidelity, hashing.
@Suite struct PipeModeTests {
    let directory = TemporaryDirectory()

    func maskPlain(_ csv: String, rules: String = Fixtures.everyPolicyRules, extra: [String] = [], environment: [String: String] = [:]) -> RunResult {
        let rulesPath = directory.write("rules-\(UUID().uuidString).yaml", rules)
        let input = directory.write("in-\(UUID().uuidString).csv", csv)
        return Runner.mask(["--rules", rulesPath, "--compress", "none"] + extra, stdin: input, environment: environment, in: directory)
    }

    @Test func everyPolicyDoesWhatItSays() throws {
        let csv = "id,name,email,phone,card,secret,nickname,notes,other\n"
            + "7,Ann Lee,Ann@Example.com,+1 (415) 555-0123,4111111111111111,s3cr3t,annie,\"write to bob@example.org or call 415-555-0199\",ann@example.com\n"
        let result = maskPlain(csv)
        try #require(result.status == 0, "\(result.stderr)")
        let lines = result.stdoutText.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines[0] == "id,name,email,phone,card,nickname,notes,other")
        let fields = lines[1].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        #expect(fields[0] == "7")
        #expect(fields[1] == "[REDACTED]")
        #expect(fields[2].count == 16 && fields[2].allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
        #expect(fields[3].count == 16 && fields[3] != fields[2])
        #expect(fields[4] == "************1111")
        #expect(fields[5] == "")
        #expect(fields[6] == "\"write to [EMAIL] or call [PHONE]\"")
        #expect(fields[7] == "ann@example.com", "default keep leaves other columns alone")
        #expect(!result.stdoutText.contains("s3cr3t"))
        #expect(!result.stdoutText.contains("Ann@Example.com"))
    }

    @Test func untouchedBytesComeOutExactly() throws {
        let csv = "\u{FEFF}a,b,c\r\n\"x, y\",,\"multi\r\nline \"\"q\"\"\"\r\n1,\"\",3\r\n\r\n4,5,6"
        let result = maskPlain(csv, rules: Fixtures.keepAllRules)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == Array(csv.utf8))
    }

    @Test func changedFieldsAreQuotedOnlyWhenNeeded() throws {
        let rules = """
            version: 1
            fields:
              a: { redact: { token: "x,y" } }
              b: { redact: { token: "plain" } }
              c: { redact: { token: "say \\"hi\\"" } }
            default: keep
            """
        let result = maskPlain("a,b,c,d\n1,\"2\",3,\"4\"\n", rules: rules)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdoutText == "a,b,c,d\n\"x,y\",\"plain\",\"say \"\"hi\"\"\",\"4\"\n")
    }

    @Test(arguments: [("\t", "\t"), ("|", "|"), (";", ";")])
    func otherDelimitersWork(flag: String, separator: String) throws {
        let csv = ["id", "email", "notes"].joined(separator: separator) + "\n"
            + ["1", "a@example.com", "x,y b@example.com"].joined(separator: separator) + "\n"
        let result = maskPlain(csv, extra: ["--delimiter", flag])
        try #require(result.status == 0, "\(result.stderr)")
        let row = result.stdoutText.split(separator: "\n")[1].components(separatedBy: separator)
        #expect(row.count == 3)
        #expect(row[1].count == 16)
        #expect(row[2] == "x,y [EMAIL]")
    }

    @Test func noHeaderNamesColumnsByNumber() throws {
        let rules = """
            version: 1
            fields:
              "2": redact
            default: keep
            """
        let result = maskPlain("1,secret,x\n2,other,y\n", rules: rules, extra: ["--no-header"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdoutText == "1,[REDACTED],x\n2,[REDACTED],y\n")
    }

    @Test func hashingIsKeyedAndDeterministic() throws {
        let csv = "email\nAnn@Example.com\nann@example.com \n"
        let first = maskPlain(csv)
        try #require(first.status == 0, "\(first.stderr)")
        let again = maskPlain(csv)
        let otherKey = maskPlain(csv, environment: ["MASK_HMAC_KEY": "another-key-0123456789"])
        #expect(first.status == 0 && otherKey.status == 0)
        let lines = first.stdoutText.split(separator: "\n")
        #expect(lines[1] == lines[2], "email normalisation: case and spaces do not change the hash")
        #expect(first.stdout == again.stdout)
        #expect(otherKey.stdoutText.split(separator: "\n")[1] != lines[1])
    }

    @Test func phoneSpellingsHashAlike() throws {
        let csv = "phone\n+1 (415) 555-0123\n415.555.0123\n(415) 555-0123\n1-415-555-0123\n415-555-0124\n"
        let result = maskPlain(csv)
        try #require(result.status == 0, "\(result.stderr)")
        let lines = result.stdoutText.split(separator: "\n").map(String.init)
        #expect(Set(lines[1...4]).count == 1)
        #expect(lines[5] != lines[1])
    }

    @Test func hashEncodingLengthAndPrefixFollowTheRules() throws {
        let rules = """
            version: 1
            fields:
              v: hash
            default: keep
            hash: { key: env:MASK_HMAC_KEY, encoding: hex, length: 64, prefix: "h_" }
            """
        let result = maskPlain("v\nabc\n", rules: rules)
        try #require(result.status == 0, "\(result.stderr)")
        let value = String(result.stdoutText.split(separator: "\n")[1])
        #expect(value.hasPrefix("h_") && value.count == 66)
        // HMAC-SHA256("test-key-0123456789abcdef", "abc"), computed independently with Python's hmac.
        let expected = Runner.run("/usr/bin/env", ["python3", "-c", "import hmac,hashlib; print(hmac.new(b'\(Runner.key)', b'abc', hashlib.sha256).hexdigest())"], environment: ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin"], in: directory)
        #expect(value == "h_" + expected.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    @Test func invalidUTF8IsScannedNotPassedThrough() throws {
        var bytes = Array("notes\n".utf8)
        bytes += [0xFF, 0xFE] + Array(" mail a@example.com ".utf8) + [0xC3] + Array(" end\n".utf8)
        let rulesPath = directory.write("scan.yaml", Fixtures.scanAllRules)
        let input = directory.write("bad-utf8.csv", bytes)
        let result = Runner.mask(["--rules", rulesPath, "--compress", "none"], stdin: input, in: directory)
        #expect(result.status == 0, "\(result.stderr)")
        var expected = Array("notes\n".utf8)
        expected += [0xFF, 0xFE] + Array(" mail [EMAIL] ".utf8) + [0xC3] + Array(" end\n".utf8)
        #expect(result.stdout == expected)
    }

    @Test func gzipInputIsDetectedByMagicBytes() throws {
        let csv = Fixtures.syntheticCSV(rows: 200)
        let plain = directory.write("in.csv", csv)
        _ = Runner.run("/bin/gzip", ["-k", "-f", plain], environment: ["PATH": "/usr/bin:/bin"], in: directory)
        let rulesPath = directory.write("r.yaml", Fixtures.everyPolicyRules)
        let fromPlain = Runner.mask(["--rules", rulesPath, "--compress", "none"], stdin: plain, in: directory)
        let fromGzip = Runner.mask(["--rules", rulesPath, "--compress", "none", "--input", plain + ".gz"], in: directory)
        #expect(fromPlain.status == 0 && fromGzip.status == 0, "\(fromGzip.stderr)")
        #expect(fromPlain.stdout == fromGzip.stdout)
    }

    @Test func gzipOutputReadsBackWithGzipAndPython() throws {
        let csv = Fixtures.syntheticCSV(rows: 3000)
        let rulesPath = directory.write("r.yaml", Fixtures.everyPolicyRules)
        let input = directory.write("in.csv", csv)
        let plain = Runner.mask(["--rules", rulesPath, "--compress", "none"], stdin: input, in: directory)
        let gzipped = Runner.mask(["--rules", rulesPath, "--chunk-size", "16K"], stdin: input, in: directory)
        #expect(gzipped.status == 0, "\(gzipped.stderr)")
        let path = directory.write("out.csv.gz", gzipped.stdout)
        let test = Runner.run("/bin/gzip", ["-t", path], environment: ["PATH": "/usr/bin:/bin"], in: directory)
        #expect(test.status == 0, "gzip -t: \(test.stderr)")
        #expect(Gzip.decompress(gzipped.stdout, in: directory).output == plain.stdout)
        let digest = plain.stdout.withUnsafeBytes { bytes in
            Runner.run("/usr/bin/env", ["python3", "-c", "import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],'rb').read()).hexdigest())", directory.write("plain.csv", plain.stdout)], environment: ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin"], in: directory).stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        #expect(Gzip.pythonDigest(of: path, in: directory) == digest)
    }

    @Test func emptyInputWithHeaderOnlyGivesTheHeader() throws {
        let result = maskPlain("id,email\n")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdoutText == "id,email\n")
    }
}
