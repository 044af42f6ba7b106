import Foundation
import MaskTestSupport
import Testing

/// `--format jsonl` through the real binary: field paths, every policy at every depth, byte
/// fidelity, malformed lines, rejects, gzip and thread-count independence.
@Suite struct JSONLTests {
    let directory = TemporaryDirectory()

    static let detectors = Fixtures.detectors

    /// One key per policy, at any depth (`*.x` also matches at the top level).
    static let policyPerKeyRules = """
        version: 1
        \(detectors)
        fields:
          "*.h": hash
          "*.r": redact
          "*.m": { mask: { keep_last: 4 } }
          "*.n": "null"
          "*.d": drop
          "*.k": keep
          "*.s": scan
        default: keep
        hash: { key: env:MASK_HMAC_KEY }
        """

    static let pathRules = """
        version: 1
        \(detectors)
        fields:
          contact.email: hash
          "orders[].phone": { hash: { detector: phone } }
          name: redact
          "*.ssn": drop
          tags[]: redact
          profile: redact
          profile.id: keep
        default: scan
        hash: { key: env:MASK_HMAC_KEY }
        """

    func mask(
        _ jsonl: String, rules: String = JSONLTests.policyPerKeyRules, extra: [String] = ["--format", "jsonl", "--compress", "none"]
    ) -> RunResult {
        mask(Array(jsonl.utf8), rules: rules, extra: extra)
    }

    func mask(_ bytes: [UInt8], rules: String, extra: [String] = ["--format", "jsonl", "--compress", "none"]) -> RunResult {
        let rulesPath = directory.write("rules-\(UUID().uuidString).yaml", rules)
        let input = directory.write("in-\(UUID().uuidString).jsonl", bytes)
        return Runner.mask(["--rules", rulesPath] + extra, stdin: input, in: directory)
    }

    /// The keyed hash `mask` gives `value` in a CSV column under `hash` with `normalize`:
    /// JSON and CSV extracts masked with one key must join.
    func csvHash(_ value: String, normalize: String = "auto") -> String {
        let rules = """
            version: 1
            \(Self.detectors)
            fields:
              v: { hash: { normalize: \(normalize) } }
            hash: { key: env:MASK_HMAC_KEY }
            """
        let rulesPath = directory.write("csv-\(UUID().uuidString).yaml", rules)
        let input = directory.write("in-\(UUID().uuidString).csv", "v\n\"\(value)\"\n")
        let result = Runner.mask(["--rules", rulesPath, "--compress", "none"], stdin: input, in: directory)
        let line = String(result.stdoutText.split(separator: "\n")[1])
        return line.hasPrefix("\"") ? String(line.dropFirst().dropLast()) : line
    }

    @Test func everyPolicyWorksAtEveryDepth() throws {
        let members = #""h":"Ann@Example.com","r":"Ann Lee","m":"4111111111111111","n":"annie","d":"s3cr3t","k":"keep a@b.io","s":"mail bob@example.org or 415-555-0199""#
        let line = #"{"id":7,\#(members),"o":{\#(members),"p":{"q":{\#(members)}}},"a":[{\#(members)},{\#(members)}]}"# + "\n"
        let result = mask(line)
        try #require(result.status == 0, "\(result.stderr)")
        let hash = csvHash("Ann@Example.com", normalize: "lowercase")
        #expect(hash.count == 16)
        let masked = #""h":"\#(hash)","r":"[REDACTED]","m":"************1111","n":null,"k":"keep a@b.io","s":"mail [EMAIL] or [PHONE]""#
        let expected = #"{"id":7,\#(masked),"o":{\#(masked),"p":{"q":{\#(masked)}}},"a":[{\#(masked)},{\#(masked)}]}"# + "\n"
        #expect(result.stdoutText == expected)
    }

    @Test func pathsNameNestedFieldsAndArrayElements() throws {
        let line = #"{"id":1,"name":"Ann","contact":{"email":"Ann@Example.com","phone":"415-555-0123"},"orders":[{"id":"o1","phone":"+1 (415) 555-0123"},{"id":"o2","phone":"415.555.0123"}],"ssn":"1","x":{"ssn":"2","y":3},"tags":["vip",42,null,{"t":"x"}],"profile":{"id":9,"bio":"b","n":[true]}}"# + "\n"
        let result = mask(line, rules: Self.pathRules)
        try #require(result.status == 0, "\(result.stderr)")
        let email = csvHash("Ann@Example.com", normalize: "lowercase")
        let phone = csvHash("+1 (415) 555-0123", normalize: "e164")
        let expected = #"{"id":1,"name":"[REDACTED]","contact":{"email":"\#(email)","phone":"[PHONE]"},"orders":[{"id":"o1","phone":"\#(phone)"},{"id":"o2","phone":"\#(phone)"}],"x":{"y":3},"tags":["[REDACTED]","[REDACTED]",null,{"t":"[REDACTED]"}],"profile":{"id":9,"bio":"[REDACTED]","n":["[REDACTED]"]}}"# + "\n"
        #expect(result.stdoutText == expected)
    }

    @Test func globsMatchAcrossSegmentsAndIgnoreCase() throws {
        let rules = """
            version: 1
            fields:
              "*email*": redact
              "items[].*.sku": redact
            default: keep
            """
        let line = #"{"Contact":{"Work_EMAIL":"a","id":1},"emails":["b",{"x":"c"}],"mail":"d","items":[{"p":{"sku":"e","n":2}}],"sku":"f"}"# + "\n"
        let result = mask(line, rules: rules)
        try #require(result.status == 0, "\(result.stderr)")
        #expect(result.stdoutText == #"{"Contact":{"Work_EMAIL":"[REDACTED]","id":1},"emails":["[REDACTED]",{"x":"[REDACTED]"}],"mail":"d","items":[{"p":{"sku":"[REDACTED]","n":2}}],"sku":"f"}"# + "\n")
    }

    @Test func reportCountsChangesPerFieldRuleAndDefault() throws {
        let rulesPath = directory.write("r.yaml", Self.pathRules)
        let input = directory.write("in.jsonl", #"{"contact":{"email":"a@b.io"},"notes":"x@y.io","ssn":"1"}"# + "\n" + #"{"contact":{"email":"c@d.io"}}"# + "\n")
        let report = directory.file("report.json")
        let result = Runner.mask(["--rules", rulesPath, "--input", input, "--report", report, "--compress", "none"], in: directory)
        #expect(result.status == 0, "\(result.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(directory.read("report.json"))) as! [String: Any]
        #expect(json["format"] as? String == "jsonl")
        #expect(json["records_in"] as? Int == 2)
        let fields = json["fields"] as! [[String: Any]]
        #expect(fields.map { $0["name"] as! String } == ["contact.email", "orders[].phone", "name", "*.ssn", "tags[]", "profile", "profile.id", "(default)"])
        #expect(fields.first { $0["name"] as? String == "contact.email" }?["changed"] as? Int == 2)
        #expect(fields.first { $0["name"] as? String == "*.ssn" }?["changed"] as? Int == 1)
        #expect(fields.first { $0["name"] as? String == "(default)" }?["policy"] as? String == "scan")
        #expect(fields.first { $0["name"] as? String == "(default)" }?["changed"] as? Int == 1)
        let detectors = json["detectors"] as! [[String: Any]]
        #expect(detectors.first { $0["id"] as? String == "email" }?["matches"] as? Int == 1)
    }

    @Test(arguments: [
        (#"{"d":1,"a":2,"b":3}"#, #"{"a":2,"b":3}"#),
        (#"{"a":1,"d":2,"b":3}"#, #"{"a":1,"b":3}"#),
        (#"{"a":1,"b":2,"d":3}"#, #"{"a":1,"b":2}"#),
        (#"{"d":1}"#, #"{}"#),
        (#"{ "d" : 1 , "a" : 2 }"#, #"{ "a" : 2 }"#),
        (#"{ "a" : 1 , "d" : 2 }"#, #"{ "a" : 1 }"#),
        (#"{"d":1,"d":2,"a":3}"#, #"{"a":3}"#),
        (#"{"a":1,"d":2,"d":3}"#, #"{"a":1}"#),
        (#"{"d":1,"a":2,"d":3,"b":4,"d":5}"#, #"{"a":2,"b":4}"#),
        (#"{"d":{"x":[1,{"y":2}]},"a":[{"d":"x","b":1},{"b":2,"d":[]}]}"#, #"{"a":[{"b":1},{"b":2}]}"#),
        (#"{"o":{"d":"x"},"d":[1,2]}"#, #"{"o":{}}"#),
        (#"[{"d":1},{"a":1,"d":2}]"#, #"[{},{"a":1}]"#),
    ])
    func droppedKeysTakeTheRightComma(input: String, expected: String) throws {
        let result = mask(input + "\n")
        try #require(result.status == 0, "\(result.stderr)")
        #expect(result.stdoutText == expected + "\n")
    }

    @Test func droppedArrayElementsTakeTheRightComma() throws {
        let rules = """
            version: 1
            fields:
              "x[]": drop
            default: keep
            """
        let result = mask(#"{"x":[1,"two",{"t":3},[4]],"y":[1]}"# + "\n" + #"{"x":[],"z":{"x":[5]}}"# + "\n", rules: rules)
        try #require(result.status == 0, "\(result.stderr)")
        #expect(result.stdoutText == #"{"x":[],"y":[1]}"# + "\n" + #"{"x":[],"z":{"x":[5]}}"# + "\n")
    }

    @Test func nullReplacesWholeValuesAndKeepsNulls() throws {
        let result = mask(#"{"n":{"a":"x@y.io"},"o":{"n":[1,2]},"p":{"n":null},"q":[{"n":5},{"n":false},{"n":""}]}"# + "\n")
        try #require(result.status == 0, "\(result.stderr)")
        #expect(result.stdoutText == #"{"n":null,"o":{"n":null},"p":{"n":null},"q":[{"n":null},{"n":null},{"n":null}]}"# + "\n")
    }

    @Test func nonStringValuesUnderHashRedactAndMaskBecomeStrings() throws {
        let result = mask(#"{"h":12345,"r":true,"m":-12345.5,"s":4155550123,"k":1,"o":{"r":null,"h":""}}"# + "\n")
        try #require(result.status == 0, "\(result.stderr)")
        let hash = csvHash("12345", normalize: "trim")
        #expect(result.stdoutText == #"{"h":"\#(hash)","r":"[REDACTED]","m":"****45.5","s":4155550123,"k":1,"o":{"r":null,"h":""}}"# + "\n")
    }

    @Test func innerRulesWinOverTheContainersRule() throws {
        let result = mask(#"{"r":{"a":"x","k":"kept","b":[1,"y",{"k":2}],"d":"gone"}}"# + "\n")
        try #require(result.status == 0, "\(result.stderr)")
        #expect(result.stdoutText == #"{"r":{"a":"[REDACTED]","k":"kept","b":["[REDACTED]","[REDACTED]",{"k":2}]}}"# + "\n")
    }

    @Test func escapedValuesAreDecodedBeforeDetectionAndHashing() throws {
        let line = #"{"s":"write to ann\u0040example.com now","h":"Ann\u0040Example.com","s2":"\"quoted\" a@b.io\n\u00e9"}"# + "\n"
        let rules = Self.policyPerKeyRules.replacingOccurrences(of: "\"*.s\": scan", with: "\"*.s*\": scan")
        let result = mask(line, rules: rules)
        try #require(result.status == 0, "\(result.stderr)")
        let hash = csvHash("ann@example.com", normalize: "lowercase")
        #expect(result.stdoutText == #"{"s":"write to [EMAIL] now","h":"\#(hash)","s2":"\"quoted\" [EMAIL]\né"}"# + "\n")
    }

    @Test func escapedKeysMatchRulesAndStayAsWritten() throws {
        let line = #"{"contact":{"em\u0061il":"Ann@Example.com"},"n\u0061me":"Ann","\"odd\" key":"a@b.io"}"# + "\n"
        let result = mask(line, rules: Self.pathRules)
        try #require(result.status == 0, "\(result.stderr)")
        let hash = csvHash("Ann@Example.com", normalize: "lowercase")
        #expect(result.stdoutText == #"{"contact":{"em\u0061il":"\#(hash)"},"n\u0061me":"[REDACTED]","\"odd\" key":"[EMAIL]"}"# + "\n")
    }

    @Test func keepAllRulesGiveByteIdenticalOutput() throws {
        var text = "\u{FEFF}"
        text += #"{"big":12345678901234567890,"e":1.0E+2,"z":-0.0,"f":1e-7,"t":true,"nil":null}"# + "\n"
        text += #"  { "spaced" :  [ 1 , 2 ] ,"u":"日本語 é 😀","esc":"tab\there \u00e9 \ud83d\ude00 \/ \"q\""}  "# + "\r\n"
        text += "\n   \t \r\n"
        text += #"[{"top":"array"},[],{}]"# + "\n"
        text += #"{"last":"line without a line feed"}"#
        let result = mask(text, rules: Fixtures.keepAllRules)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == Array(text.utf8))
    }

    @Test func numbersUnicodeAndUntouchedEscapesSurviveMasking() throws {
        let line = #"{"n1":12345678901234567890,"n2":1.0E+2,"n3":-0.0,"u":"日本語 😀 ok","esc":"a\tb\u00e9","s":"x@y.io","k":"\u0041"}"# + "\r\n"
        let result = mask(line)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdoutText == #"{"n1":12345678901234567890,"n2":1.0E+2,"n3":-0.0,"u":"日本語 😀 ok","esc":"a\tb\u00e9","s":"[EMAIL]","k":"\u0041"}"# + "\r\n")
    }

    @Test func blankLinesPassThroughAndAreNotCounted() throws {
        let rulesPath = directory.write("r.yaml", Self.policyPerKeyRules)
        let text = "\n" + #"{"s":"a@b.io"}"# + "\n  \n\r\n" + #"{"s":"none"}"# + "\n\n"
        let input = directory.write("in.jsonl", text)
        let report = directory.file("report.json")
        let result = Runner.mask(["--rules", rulesPath, "--input", input, "--compress", "none", "--report", report], in: directory)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdoutText == "\n" + #"{"s":"[EMAIL]"}"# + "\n  \n\r\n" + #"{"s":"none"}"# + "\n\n")
        let json = try JSONSerialization.jsonObject(with: Data(directory.read("report.json"))) as! [String: Any]
        #expect(json["records_in"] as? Int == 2)
        #expect(json["records_out"] as? Int == 2)
    }

    @Test func invalidUTF8IsScannedAndReencodedValidly() throws {
        var bytes = Array(#"{"s":""#.utf8) + [0xFF] + Array(" mail a@b.io ".utf8) + [0xC3] + Array(#"","k":""#.utf8) + [0xFF] + Array(#""}"#.utf8) + [0x0A]
        bytes += Array(#"{"s":""#.utf8) + [0xFE] + Array(#" nothing to find"}"#.utf8) + [0x0A]
        let result = mask(bytes, rules: Self.policyPerKeyRules)
        #expect(result.status == 0, "\(result.stderr)")
        var expected = Array(#"{"s":"\#u{FFFD} mail [EMAIL] \#u{FFFD}","k":""#.utf8) + [0xFF] + Array(#""}"#.utf8) + [0x0A]
        expected += Array(#"{"s":""#.utf8) + [0xFE] + Array(#" nothing to find"}"#.utf8) + [0x0A]
        #expect(result.stdout == expected)
    }

    @Test(arguments: [
        (#"{"s":"a\qb"}"#, "invalid escape sequence at byte 7 of the line"),
        (#"{"s":"a@b.io""#, "the line ends before the value is complete at byte 13 of the line"),
        (#"{"s":"x"} {"t":1}"#, "characters after the top-level value at byte 10 of the line"),
        (#"{"s":"\ud800 x@y.io"}"#, "unpaired UTF-16 surrogate in a \\u escape at byte 6 of the line"),
        (#""just a string""#, "the top-level value is not an object or an array at byte 0 of the line"),
        (#"{"a":[1,]}"#, "expected a value at byte 8 of the line"),
    ])
    func malformedLineIsADataErrorWithLineAndOffset(line: String, detail: String) throws {
        let good = #"{"s":"ok"}"# + "\n"
        let text = good + "\n" + good + line + "\n" + good
        let result = mask(text)
        #expect(result.status == 1)
        let offset = (good + "\n" + good).utf8.count
        #expect(result.stderr.contains("<stdin>: record 3 at byte offset \(offset): invalid JSON (\(detail))"), "\(result.stderr)")
        #expect(!result.stdoutText.contains("x@y.io") && !result.stdoutText.contains("a@b.io"))
    }

    @Test func controlCharacterInAStringIsADataError() throws {
        let bytes = Array(#"{"s":"a"#.utf8) + [0x09] + Array(#"b"}"#.utf8) + [0x0A]
        let result = mask(bytes, rules: Self.policyPerKeyRules)
        #expect(result.status == 1)
        #expect(result.stderr.contains("record 1 at byte offset 0: invalid JSON (unescaped control character in a string at byte 7 of the line)"), "\(result.stderr)")
    }

    @Test func nestingDeeperThan64IsADataError() throws {
        let fine = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect(mask(fine + "\n").status == 0)
        let result = mask(fine + "\n" + deep + "\n")
        #expect(result.status == 1)
        #expect(result.stderr.contains("record 2 at byte offset 129: invalid JSON (nesting deeper than 64 objects and arrays at byte 64 of the line)"), "\(result.stderr)")
    }

    @Test(arguments: ["1", "100", "4K"])
    func errorOffsetsDoNotDependOnChunking(chunkSize: String) throws {
        var text = ""
        for row in 1...300 { text += #"{"id":\#(row),"s":"user\#(row)@example.com"}"# + "\n" }
        let offset = text.utf8.count
        text += #"{"id":301,"s":"x@example.com","#
        text += "\n" + #"{"id":302}"# + "\n"
        let result = mask(text, extra: ["--format", "jsonl", "--compress", "none", "--chunk-size", chunkSize])
        #expect(result.status == 1)
        #expect(result.stderr.contains("record 301 at byte offset \(offset): invalid JSON (the line ends before the value is complete at byte 30 of the line)"), "\(result.stderr)")
    }

    @Test func rejectsAreMaskedAndTheRunGoesOn() throws {
        let rulesPath = directory.write("r.yaml", Self.policyPerKeyRules)
        let text = #"{"s":"a@b.io"}"# + "\n" + #"{"s":"leak@example.com", "p":"415-555-0123" trailing}"# + "\n" + #"{"s":"fine"}"# + "\n" + #"{"h":"\x"}"# + "\n"
        let input = directory.write("in.jsonl", text)
        let rejects = directory.file("rejects.jsonl")
        let result = Runner.mask(["--rules", rulesPath, "--input", input, "--output", directory.file("out"), "--rejects", rejects, "--compress", "none"], in: directory)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("warning: \(input): record 2 at byte offset 15: invalid JSON (expected ',' or '}' at byte 44 of the line)"), "\(result.stderr)")
        let rejected = String(decoding: directory.read("rejects.jsonl"), as: UTF8.self)
        #expect(rejected == #"{"s":"[EMAIL]", "p":"[PHONE]" trailing}"# + "\n" + #"{"h":"\x"}"# + "\n")
        #expect(directory.list("out") == ["_SUCCESS", "_manifest.json", "part-00000.jsonl"])
        #expect(String(decoding: directory.read("out/part-00000.jsonl"), as: UTF8.self) == #"{"s":"[EMAIL]"}"# + "\n" + #"{"s":"fine"}"# + "\n")
        let manifest = try JSONSerialization.jsonObject(with: Data(directory.read("out/_manifest.json"))) as! [String: Any]
        #expect(manifest["records_in"] as? Int == 4)
        #expect(manifest["records_out"] as? Int == 2)
        #expect(manifest["records_rejected"] as? Int == 2)
    }

    @Test func gzipRoundTripAndFormatFromTheFileName() throws {
        let text = Self.syntheticJSONL(rows: 2000)
        let plainPath = directory.write("extract.jsonl", text)
        _ = Runner.run("/bin/gzip", ["-k", "-f", plainPath], environment: ["PATH": "/usr/bin:/bin"], in: directory)
        let rulesPath = directory.write("r.yaml", Self.pathRules)
        // No --format: `.jsonl.gz` says JSONL (CSV would fail on these lines).
        let fromGzip = Runner.mask(["--rules", rulesPath, "--input", plainPath + ".gz", "--output", directory.file("out")], in: directory)
        #expect(fromGzip.status == 0, "\(fromGzip.stderr)")
        #expect(directory.list("out") == ["_SUCCESS", "_manifest.json", "part-00000.jsonl.gz"])
        let plain = Runner.mask(["--rules", rulesPath, "--format", "jsonl", "--compress", "none"], stdin: plainPath, in: directory)
        #expect(plain.status == 0, "\(plain.stderr)")
        #expect(plain.stdout.count > 10000)
        let part = directory.read("out/part-00000.jsonl.gz")
        let test = Runner.run("/bin/gzip", ["-t", directory.file("out/part-00000.jsonl.gz")], environment: ["PATH": "/usr/bin:/bin"], in: directory)
        #expect(test.status == 0, "gzip -t: \(test.stderr)")
        #expect(Gzip.decompress(part, in: directory).output == plain.stdout)
        // Every output line is valid JSON and nothing detectable is left.
        let lines = plain.stdout.split(separator: 0x0A)
        #expect(lines.count == 2000)
        for line in lines {
            #expect((try? JSONSerialization.jsonObject(with: Data(line))) != nil, "\(String(decoding: line, as: UTF8.self))")
        }
        #expect(!plain.stdoutText.contains("@example.com"))
        let manifest = try JSONSerialization.jsonObject(with: Data(directory.read("out/_manifest.json"))) as! [String: Any]
        #expect(manifest["format"] as? String == "jsonl")
        #expect(manifest["input_bytes"] as? Int == text.utf8.count)
    }

    @Test func outputIsIdenticalForAnyThreadCountAndChunkSize() throws {
        let rulesPath = directory.write("r.yaml", Self.pathRules)
        let input = directory.write("in.jsonl", Self.syntheticJSONL(rows: 6000))
        var outputs: [[UInt8]] = []
        for (threads, size) in [("1", "2M"), ("2", "64K"), ("4", "64K"), ("2", "1"), ("2", "4K")] {
            let result = Runner.mask(["--rules", rulesPath, "--input", input, "--threads", threads, "--chunk-size", size, "--compress", "none"], in: directory)
            #expect(result.status == 0, "\(result.stderr)")
            outputs.append(result.stdout)
        }
        #expect(outputs[0].count > 100_000)
        #expect(outputs.allSatisfy { $0 == outputs[0] })
        let one = Runner.mask(["--rules", rulesPath, "--input", input, "--threads", "1", "--chunk-size", "64K"], in: directory)
        let two = Runner.mask(["--rules", rulesPath, "--input", input, "--threads", "2", "--chunk-size", "64K"], in: directory)
        #expect(one.status == 0 && two.status == 0)
        #expect(one.stdout == two.stdout)
        #expect(Gzip.decompress(one.stdout, in: directory).output == outputs[0])
    }

    @Test func byteOrderMarkIsKeptAndRecordsStillParse() throws {
        let result = mask("\u{FEFF}" + #"{"s":"a@b.io"}"# + "\n")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == [0xEF, 0xBB, 0xBF] + Array((#"{"s":"[EMAIL]"}"# + "\n").utf8))
    }

    @Test func emptyInputGivesEmptyOutput() throws {
        let result = mask("")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.isEmpty)
    }

    @Test func exactPathsNeedNotExistInTheInput() throws {
        let result = mask(#"{"other":"x"}"# + "\n", rules: Self.pathRules)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdoutText == #"{"other":"x"}"# + "\n")
    }

    @Test func invalidFieldPathsAreRulesErrorsWithTheirLine() throws {
        let rules = """
            version: 1
            fields:
              contact..email: hash
              "orders[0].phone": redact
              "tags[]x": drop
              ".lead": keep
            default: keep
            hash: { key: env:MASK_HMAC_KEY }
            """
        let result = mask(#"{"a":1}"# + "\n", rules: rules)
        #expect(result.status == 2)
        #expect(result.stderr.contains(":3: fields.contact..email: empty segment in the field path"), "\(result.stderr)")
        #expect(result.stderr.contains(":4: fields.orders[0].phone: '[' must be followed directly by ']'"), "\(result.stderr)")
        #expect(result.stderr.contains(":5: fields.tags[]x: only '[]' or '.' may follow '[]'"), "\(result.stderr)")
        #expect(result.stderr.contains(":6: fields..lead: empty segment"), "\(result.stderr)")
    }

    /// Nested records like an Airbyte or API dump: escapes, unicode, arrays of objects, PII in
    /// free text, numbers in several spellings.
    static func syntheticJSONL(rows: Int) -> String {
        var text = ""
        var state: UInt64 = 7
        func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state >> 33
        }
        let names = ["Ann Lee", "José Álvarez", "山口翼", "O\\\"Brien, Pat", "Ann\\u0020Lee"]
        let notes = [
            "no pii here", "mail me at a.b@example.com, thanks", "two lines\\nwith +1 415 555 0123",
            "order ORD-2024-000123 on 2024-03-05", "quoted \\\"word\\\" and x@y.io", "", "esc \\u0040 x\\u0040example.com",
        ]
        for row in 1...rows {
            let name = names[Int(next() % UInt64(names.count))]
            let email = "user\(next() % 10000)@Example.com"
            let phone = ["+1 (415) 555-01\(10 + next() % 80)", "090-1234-\(1000 + next() % 8999)", ""][Int(next() % 3)]
            let note = notes[Int(next() % UInt64(notes.count))]
            let amount = ["12.50", "1.0E+2", "-0.0", "12345678901234567890", "7"][Int(next() % 5)]
            var orders: [String] = []
            for index in 0..<Int(next() % 3) {
                orders.append(#"{"id":"o\#(row)-\#(index)","phone":"\#(phone)","note":"\#(note)"}"#)
            }
            text += #"{"id":\#(row),"name":"\#(name)","contact":{"email":"\#(email)","phone":"\#(phone)"},"amount":\#(amount),"notes":"\#(note)","orders":[\#(orders.joined(separator: ","))],"ssn":"123-45-6789","tags":["a","b"]}"#
            text += row % 97 == 0 ? "\r\n" : "\n"
        }
        return text
    }
}
