import MaskCore
import Testing

/// The `email` normaliser: an address hashes alike whether its domain is written in U-labels or
/// A-labels, in any case, composed or not; the local part keeps its non-ASCII characters.
@Suite struct EmailNormalizerTests {
    @Test(arguments: [
        ("Ana@Bücher.Example", "ana@xn--bcher-kva.example"),
        ("ana@xn--bcher-kva.example", "ana@xn--bcher-kva.example"),
        ("ANA@XN--BCHER-KVA.EXAMPLE", "ana@xn--bcher-kva.example"),
        ("ivan@пример.рф", "ivan@xn--e1afmkfd.xn--p1ai"),
        ("Ivan@ПРИМЕР.РФ", "ivan@xn--e1afmkfd.xn--p1ai"),
        ("ivan@xn--e1afmkfd.xn--p1ai", "ivan@xn--e1afmkfd.xn--p1ai"),
        ("kenji@例え.テスト", "kenji@xn--r8jz45g.xn--zckzah"),
        ("kenji@例え。テスト", "kenji@xn--r8jz45g.xn--zckzah"),  // ideographic full stop between labels
        ("lin@臺網中心.TW", "lin@xn--fiqq24b10vi0d.tw"),
        ("  Mixed.Case@Example.COM ", "mixed.case@example.com"),
    ])
    func domainsReachLowercaseALabels(input: String, expected: String) {
        #expect(normalized(input, .email) == expected)
    }

    @Test func composedAndDecomposedDomainsHashAlike() {
        // "café" with U+00E9, and with e + U+0301 (combining acute accent)
        #expect(normalized("x@caf\u{00E9}.example", .email) == normalized("x@cafe\u{0301}.example", .email))
        #expect(normalized("x@caf\u{00E9}.example", .email) == "x@xn--caf-dma.example")
    }

    @Test func nonASCIILocalPartsAreKeptAsWritten() {
        // Only ASCII letters fold: whether JOSÉ and josé are one mailbox is the receiving system's choice.
        #expect(normalized("JOSÉ@Example.com", .email) == "jos\u{00C9}@example.com")
        #expect(normalized("Müller.Straße@example.de", .email) == "müller.straße@example.de")
        #expect(normalized("山田@例え.テスト", .email) == "山田@xn--r8jz45g.xn--zckzah")
    }

    @Test func whatIsNoAddressIsTrimmedAndLowercased() {
        #expect(normalized("  Abc ", .email) == "abc")
        #expect(normalized("a@xn--99999999999.example", .email) == "a@xn--99999999999.example")  // not Punycode: kept
        #expect(normalized("A@B@Example.org", .email) == "a@b@example.org")  // the domain follows the last @
    }

    @Test func staysWithinItsCapacity() {
        let inputs = [
            "", "@", "a@", "@b", "x@臺網中心.tw", "山田@例え.テスト", "x@" + String(repeating: "\u{10FFFF}", count: 40),
            "x@" + String(repeating: "é", count: 100) + "." + String(repeating: "日", count: 100), "x@\u{0080}.\u{0080}\u{0080}",
            "x@.." + String(repeating: "ü.", count: 50),
        ]
        for text in inputs {
            let bytes = Array(text.utf8)
            let capacity = Normalizer.email.maximumCount(forValueOf: bytes.count)
            let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity + 8)
            defer { buffer.deallocate() }
            buffer.initialize(repeating: 0xA5, count: capacity + 8)
            let count = bytes.withUnsafeBytes { Normalizer.email.normalize($0, to: buffer) }
            #expect(count <= capacity)
            #expect((capacity..<capacity + 8).allSatisfy { buffer[$0] == 0xA5 }, "wrote past its capacity: \(text)")
            #expect(String(decoding: UnsafeBufferPointer(start: buffer, count: count), as: UTF8.self) == normalized(text, .email))
        }
    }
}
