import MaskCore
import Testing

/// Every token of `text` as (token, exact bytes of its span), or the error that ends the scan.
func scan(_ text: String) -> (tokens: [(JSONScanner.Token, String)], error: JSONSyntaxError?) {
    scan(Array(text.utf8))
}

func scan(_ bytes: [UInt8]) -> (tokens: [(JSONScanner.Token, String)], error: JSONSyntaxError?) {
    bytes.withUnsafeBytes { buffer in
        var scanner = JSONScanner(buffer, start: 0, end: buffer.count)
        var tokens: [(JSONScanner.Token, String)] = []
        while true {
            let token = scanner.next()
            if token == .end { return (tokens, nil) }
            if token == .error { return (tokens, scanner.error) }
            let span = UnsafeRawBufferPointer(rebasing: buffer[scanner.tokenStart..<scanner.tokenEnd])
            tokens.append((token, String(decoding: span, as: UTF8.self)))
        }
    }
}

/// The decoded contents of the first string or key token of `json`.
func decodedFirstString(_ json: String) -> [UInt8] {
    Array(json.utf8).withUnsafeBytes { buffer in
        var scanner = JSONScanner(buffer, start: 0, end: buffer.count)
        while true {
            let token = scanner.next()
            guard token != .end && token != .error else { return [] }
            if token == .string || token == .key {
                var output: [UInt8] = []
                JSONString.decode(UnsafeRawBufferPointer(rebasing: buffer[(scanner.tokenStart + 1)..<(scanner.tokenEnd - 1)]), into: &output)
                return output
            }
        }
    }
}

func quoted(_ bytes: [UInt8]) -> String {
    var output: [UInt8] = []
    bytes.withUnsafeBytes { JSONString.appendQuoted($0, to: &output) }
    return String(decoding: output, as: UTF8.self)
}

@Suite struct JSONScannerTests {
    @Test func nestedObjectsAndArraysGiveTokensWithExactSpans() {
        let result = scan(#" { "a" : [1, -0.0, "x"], "b":{"c":true,"d":null}, "e":[] ,"f":false}  "#)
        #expect(result.error == nil)
        #expect(result.tokens.map(\.0) == [
            .objectStart, .key, .arrayStart, .number, .number, .string, .arrayEnd,
            .key, .objectStart, .key, .trueLiteral, .key, .nullLiteral, .objectEnd,
            .key, .arrayStart, .arrayEnd, .key, .falseLiteral, .objectEnd,
        ])
        #expect(result.tokens.map(\.1) == [
            "{", "\"a\"", "[", "1", "-0.0", "\"x\"", "]", "\"b\"", "{", "\"c\"", "true", "\"d\"", "null", "}",
            "\"e\"", "[", "]", "\"f\"", "false", "}",
        ])
    }

    @Test func depthAndContainerKindAreTracked() {
        Array(#"{"a":[{"b":1}]}"#.utf8).withUnsafeBytes { buffer in
            var scanner = JSONScanner(buffer, start: 0, end: buffer.count)
            var seen: [(JSONScanner.Token, Int, Bool)] = []
            while case let token = scanner.next(), token != .end, token != .error {
                seen.append((token, scanner.depth, scanner.inObject))
            }
            #expect(seen.map(\.1) == [1, 1, 2, 3, 3, 3, 2, 1, 0])
            #expect(seen.map(\.2) == [true, true, false, true, true, true, false, true, false])
        }
    }

    @Test(arguments: ["12345678901234567890", "1.0E+2", "-0.0", "0", "-1e-7", "3.25e10", "0.5E-0"])
    func numbersAreReportedAsWritten(number: String) {
        let result = scan("[\(number)]")
        #expect(result.error == nil)
        #expect(result.tokens[1].0 == .number)
        #expect(result.tokens[1].1 == number)
    }

    @Test func escapesAreDecoded() {
        #expect(decodedFirstString(#"["q\"b\\s\/\b\f\n\r\t."]"#) == Array("q\"b\\s/\u{8}\u{C}\n\r\t.".utf8))
        #expect(decodedFirstString(#"["ann\u0040example.com"]"#) == Array("ann@example.com".utf8))
        #expect(decodedFirstString(#"["caf\u00e9 \u20AC \u65E5"]"#) == Array("café € 日".utf8))
        #expect(decodedFirstString(#"["\ud83d\ude00!"]"#) == Array("😀!".utf8))
        #expect(decodedFirstString(#"["\uD83D\uDE00"]"#) == [0xF0, 0x9F, 0x98, 0x80])
        #expect(decodedFirstString(#"["\u0000x"]"#) == [0x00, 0x78])
        #expect(decodedFirstString(#"{"em\u0061il":1}"#) == Array("email".utf8))
        #expect(decodedFirstString(#"["plain, no escapes"]"#) == Array("plain, no escapes".utf8))
    }

    @Test func stringsWithEscapesAreFlagged() {
        Array(#"{"a":"x","b\n":"y\"z"}"#.utf8).withUnsafeBytes { buffer in
            var scanner = JSONScanner(buffer, start: 0, end: buffer.count)
            var flags: [Bool] = []
            while case let token = scanner.next(), token != .end, token != .error {
                if token == .string || token == .key { flags.append(scanner.tokenHasEscapes) }
            }
            #expect(flags == [false, false, true, true])
        }
    }

    @Test func bytesAboveASCIIAreStringContent() {
        let result = scan([0x5B, 0x22, 0xFF, 0xC3, 0x28, 0xE6, 0x97, 0xA5, 0x22, 0x5D])
        #expect(result.error == nil)
        #expect(result.tokens.map(\.0) == [.arrayStart, .string, .arrayEnd])
    }

    @Test func longStringsAreScannedAcrossWordBoundaries() {
        for length in 0..<40 {
            let body = String(repeating: "a", count: length)
            for special in ["\\\"", "\\n", "\\u0041"] {
                let text = "[\"\(body)\(special)\(body)\"]"
                let result = scan(text)
                #expect(result.error == nil, "\(text)")
                #expect(result.tokens.count == 3)
            }
            let control = scan(Array("[\"\(body)".utf8) + [0x01] + Array("\"]".utf8))
            #expect(control.error == JSONSyntaxError(.controlCharacter, at: 2 + length))
        }
    }

    @Test func whitespaceAndCarriageReturnAroundTokensIsAllowed() {
        #expect(scan("\t{ \"a\" :\r 1 }\r").error == nil)
    }

    @Test(arguments: [
        (#"{"a":1"#, JSONSyntaxError.Reason.truncated, 6),
        (#"{"a":"#, .truncated, 5),
        (#"{"a":"abc"#, .unterminatedString, 9),
        (#"{"a":"ab\"#, .unterminatedString, 9),
        (#"{"a":1} x"#, .trailingCharacters, 8),
        (#"{"a":1}}"#, .trailingCharacters, 7),
        (#"[]{}"#, .trailingCharacters, 2),
        (#"{"a":"\x"}"#, .invalidEscape, 6),
        (#"{"a":"\u12G4"}"#, .invalidEscape, 6),
        (#"{"a":"\u12"}"#, .invalidEscape, 6),
        (#"{"a":"\ud800"}"#, .loneSurrogate, 6),
        (#"{"a":"x\udc00"}"#, .loneSurrogate, 7),
        (#"{"a":"\ud800\u0041"}"#, .loneSurrogate, 6),
        (#"{"a":"\ud800\ud800"}"#, .loneSurrogate, 6),
        (#"{"a":01}"#, .invalidNumber, 5),
        (#"{"a":1.}"#, .invalidNumber, 5),
        (#"{"a":.5}"#, .expectedValue, 5),
        (#"{"a":-}"#, .invalidNumber, 5),
        (#"{"a":1e}"#, .invalidNumber, 5),
        (#"{"a":+1}"#, .expectedValue, 5),
        (#"{"a":1.2.3}"#, .invalidNumber, 5),
        (#"{"a":tru}"#, .invalidLiteral, 5),
        (#"{"a":nul"#, .invalidLiteral, 5),
        (#"{"a":True}"#, .expectedValue, 5),
        (#"{"a":truex}"#, .expectedCommaOrObjectEnd, 9),
        (#"{"a" 1}"#, .expectedColon, 5),
        (#"{"a":1,}"#, .expectedKey, 7),
        (#"{a:1}"#, .expectedKey, 1),
        (#"{'a':1}"#, .expectedKey, 1),
        (#"[1,]"#, .expectedValue, 3),
        (#"[1 2]"#, .expectedCommaOrArrayEnd, 3),
        (#"[1}"#, .expectedCommaOrArrayEnd, 2),
        (#"{"a":1]"#, .expectedCommaOrObjectEnd, 6),
        (#"{"a":1 "b":2}"#, .expectedCommaOrObjectEnd, 7),
        (#"{"a":}"#, .expectedValue, 5),
        (#""a string""#, .topLevelScalar, 0),
        (#"  42"#, .topLevelScalar, 2),
        (#"null"#, .topLevelScalar, 0),
        (#""#, .expectedValue, 0),
        (#"x"#, .expectedValue, 0),
    ])
    func malformedLinesAreRejectedWithReasonAndOffset(text: String, reason: JSONSyntaxError.Reason, offset: Int) {
        let result = scan(text)
        #expect(result.error == JSONSyntaxError(reason, at: offset), "\(text)")
    }

    @Test func rawControlCharactersInStringsAreRejected() {
        #expect(scan(Array(#"{"a":"x"#.utf8) + [0x09] + Array(#"y"}"#.utf8)).error == JSONSyntaxError(.controlCharacter, at: 7))
        #expect(scan(Array(#"{"a":""#.utf8) + [0x00] + Array(#""}"#.utf8)).error == JSONSyntaxError(.controlCharacter, at: 6))
        #expect(scan(Array(#"{""#.utf8) + [0x1F] + Array(#"":1}"#.utf8)).error == JSONSyntaxError(.controlCharacter, at: 2))
    }

    @Test func nestingIsLimitedTo64Levels() {
        let deepest = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect(scan(deepest).error == nil)
        let objects = String(repeating: #"{"a":"#, count: 63) + "[]" + String(repeating: "}", count: 63)
        #expect(scan(objects).error == nil)
        let tooDeep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect(scan(tooDeep).error == JSONSyntaxError(.tooDeep, at: 64))
    }

    @Test func scanningStopsAtTheGivenEndAndReportsOffsetsFromTheStart() {
        let bytes = Array("xx{\"a\":\"\\q\"}\nyy".utf8)
        bytes.withUnsafeBytes { buffer in
            var scanner = JSONScanner(buffer, start: 2, end: 12)
            while case let token = scanner.next(), token != .end, token != .error {}
            #expect(scanner.error == JSONSyntaxError(.invalidEscape, at: 6))
            #expect(scanner.error?.description == "invalid escape sequence at byte 6 of the line")
        }
    }

    @Test func replacementsAreEncodedAsValidJSONStrings() {
        #expect(quoted(Array("plain".utf8)) == #""plain""#)
        #expect(quoted([]) == #""""#)
        #expect(quoted(Array("say \"hi\" \\ now".utf8)) == #""say \"hi\" \\ now""#)
        #expect(quoted(Array("a\nb\tc\r\u{8}\u{C}".utf8)) == #""a\nb\tc\r\b\f""#)
        #expect(quoted([0x01, 0x1F, 0x7F]) == "\"\\u0001\\u001f\u{7F}\"")
        #expect(quoted(Array("日本 café 😀".utf8)) == "\"日本 café 😀\"")
    }

    @Test func invalidUTF8InAReplacementBecomesReplacementCharacters() {
        // A lone lead byte, a stray continuation byte, an overlong, a surrogate, a truncated sequence.
        let bytes: [UInt8] = [0x61, 0xC3, 0x62, 0x80, 0xC0, 0xAF, 0xED, 0xA0, 0x80, 0xE6, 0x97]
        let text = quoted(bytes)
        #expect(text == "\"a\u{FFFD}b\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}\"")
        #expect(scan("[\(text)]").error == nil)
    }

    @Test func encodingThenDecodingGivesTheValueBack() {
        let values = ["", "x", "\"\\/\u{0}\u{1F}\n", "日本語 and ascii", "tab\there", String(repeating: "long ", count: 30)]
        for value in values {
            let text = quoted(Array(value.utf8))
            #expect(scan("[\(text)]").error == nil, "\(text)")
            #expect(decodedFirstString("[\(text)]") == Array(value.utf8))
        }
    }
}
