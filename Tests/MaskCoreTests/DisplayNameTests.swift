import MaskCore
import Testing

@Suite struct DisplayNameTests {
    @Test func ordinaryNamesAreUnchanged() {
        for name in ["users.csv", "/data/2024-03-05/Ünïcødé 名前.csv.gz", "s3://bucket/a b/c.jsonl", ""] {
            #expect(DisplayName.of(name) == name)
        }
    }

    @Test func controlCharactersAndLookalikesAreEscaped() {
        #expect(DisplayName.of("a\nb") == "a\\nb")
        #expect(DisplayName.of("a\r\tb") == "a\\r\\tb")
        #expect(DisplayName.of("x\u{1B}[2Ky") == "x\\x1b[2Ky")
        #expect(DisplayName.of("\u{0}\u{7F}\u{85}") == "\\x00\\x7f\\x85")
        #expect(DisplayName.of("a\u{2028}b\u{202E}c") == "a\\u{2028}b\\u{202e}c")
        // The backslash too, so an escaped name and a name that spells the escape differ.
        #expect(DisplayName.of("a\\nb") == "a\\\\nb")
        #expect(DisplayName.of("a\\nb") != DisplayName.of("a\nb"))
    }

    @Test func bytesThatAreNotUTF8AreShownAsHex() {
        #expect(DisplayName.of(bytes: Array("ok.csv".utf8)) == "ok.csv")
        #expect(DisplayName.of(bytes: [0x61, 0xFF, 0x62]) == "a\\xffb")
        // An overlong encoding of '/', a surrogate, a truncated sequence: each byte on its own.
        #expect(DisplayName.of(bytes: [0xC0, 0xAF]) == "\\xc0\\xaf")
        #expect(DisplayName.of(bytes: [0xED, 0xA0, 0x80]) == "\\xed\\xa0\\x80")
        #expect(DisplayName.of(bytes: [0x61, 0xE2, 0x82]) == "a\\xe2\\x82")
        #expect(DisplayName.of(bytes: Array("é\n".utf8)) == "é\\n")
    }
}
