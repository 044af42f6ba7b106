import MaskCore
import Testing

func normalized(_ text: String, _ normalizer: Normalizer) -> String {
    var output: [UInt8] = []
    Array(text.utf8).withUnsafeBytes { normalizer.normalize($0, into: &output) }
    return String(decoding: output, as: UTF8.self)
}

@Suite struct NormalizerTests {
    static let us = Normalizer.e164(region: PhoneRegion.known["US"]!)
    static let jp = Normalizer.e164(region: PhoneRegion.known["JP"]!)
    static let gb = Normalizer.e164(region: PhoneRegion.known["GB"]!)

    @Test(arguments: ["+1 (415) 555-0123", "415.555.0123", "(415) 555-0123", "1-415-555-0123", "011 1 415 555 0123", "415-555-0123 x12"])
    func usNumbersReachE164(text: String) {
        #expect(normalized(text, Self.us) == "+14155550123")
    }

    @Test func japaneseNumbersReachE164() {
        #expect(normalized("090-1234-5678", Self.jp) == "+819012345678")
        #expect(normalized("03-1234-5678", Self.jp) == "+81312345678")
        #expect(normalized("+81 90-1234-5678", Self.jp) == "+819012345678")
        #expect(normalized("０９０−１２３４−５６７８", Self.jp) == "+819012345678")
    }

    @Test func britishTrunkZeroIsDropped() {
        #expect(normalized("020 7946 0958", Self.gb) == "+442079460958")
        #expect(normalized("+44 20 7946 0958", Self.gb) == "+442079460958")
    }

    /// Regions of one calling code that read the same digits write the same E.164, so a NANP
    /// number under `[US, CA]` (or GB and its crown dependencies under +44) is not ambiguous: it is
    /// written from its digits, whatever its grouping, and hashes alike however it is written.
    @Test func regionsOfOneCallingCodeAgree() throws {
        let nanp = PhoneFinder(regions: ["US", "CA"])
        let british = PhoneFinder(regions: ["GB", "JE", "GG", "IM"])
        for (finder, text, expected) in [
            (nanp, "4155550123", "14155550123"), (nanp, "14155550123", "14155550123"),
            (british, "02079460958", "442079460958"),
        ] {
            var digits = Array(text.utf8) + [UInt8](repeating: 0, count: 4)
            let written = digits.withUnsafeMutableBufferPointer {
                finder.writeE164(asciiDigits: $0.baseAddress!, count: text.utf8.count, international: false, unambiguousOnly: true)
            }
            let count = try #require(written, "\(text): one E.164 reading")
            #expect(String(decoding: digits[0..<count], as: UTF8.self) == expected)
        }
        // Different calling codes that both hold the digits stay ambiguous (read by grouping).
        var digits = Array("4155550123".utf8) + [0, 0, 0, 0]
        let mixed = PhoneFinder(regions: ["US", "BR"])
        let written = digits.withUnsafeMutableBufferPointer {
            mixed.writeE164(asciiDigits: $0.baseAddress!, count: 10, international: false, unambiguousOnly: true)
        }
        #expect(written == nil, "415 555 0123 is a US number and a Curitiba (BR) one")
        #expect(normalized("(415) 555-0123", .e164(region: PhoneRegion.known["US"]!, numbering: nanp)) == "+14155550123")
        #expect(normalized("415.555.0123", .e164(region: PhoneRegion.known["US"]!, numbering: nanp)) == "+14155550123")
    }

    @Test func lowercaseTrimsAndFoldsASCIIOnly() {
        #expect(normalized("  Ann@Example.COM ", .lowercase) == "ann@example.com")
        #expect(normalized("ÉCOLE@X.fr", .lowercase) == "\u{00C9}cole@x.fr")
    }

    @Test func digitsKeepsDigitsOnly() {
        #expect(normalized("4111-1111 1111-1111", .digits) == "4111111111111111")
    }
}

@Suite struct ValidatorTests {
    func accepts(_ validator: Validator, _ text: String) -> Bool {
        Array(text.utf8).withUnsafeBytes { validator.accepts($0) }
    }

    @Test func luhnAcceptsValidCardNumbers() {
        #expect(accepts(.luhn, "4111 1111 1111 1111"))
        #expect(accepts(.luhn, "378282246310005"))
        #expect(!accepts(.luhn, "4111 1111 1111 1112"))
    }

    @Test func digitCountCountsFullWidthDigits() {
        #expect(accepts(.digitCount(min: 10, max: 11), "０９０-１２３４-５６７８"))
        #expect(!accepts(.digitCount(min: 7, max: 15), "12-34"))
    }
}

@Suite struct PartialMaskTests {
    func masked(_ text: String, _ mask: PartialMask) -> String {
        var output: [UInt8] = []
        Array(text.utf8).withUnsafeBytes { mask.apply($0, into: &output) }
        return String(decoding: output, as: UTF8.self)
    }

    @Test func keepsTheEndsAndCountsCharactersNotBytes() {
        #expect(masked("4111111111111111", PartialMask(keepFirst: 0, keepLast: 4)) == "************1111")
        #expect(masked("山田太郎さん", PartialMask(keepFirst: 1, keepLast: 1)) == "山****ん")
    }

    @Test func tooShortValuesAreHiddenWhole() {
        #expect(masked("abc", PartialMask(keepFirst: 2, keepLast: 2)) == "***")
    }

    /// The pointer form (the hash path, on the stack) must stay within `maximumCount` and write
    /// what the array form appends, for every normaliser and region and for inputs that take
    /// each branch: international, 00 and 011 prefixes, NANP with a 1, trunk zeros, (0) trunks,
    /// extensions, full-width digits, no digits at all. A canary past the capacity catches an
    /// overrun that a count alone would not.
    @Test func pointerFormStaysWithinItsCapacityAndMatchesArrayForm() {
        let inputs = [
            "+1 (415) 555-0123", "415.555.0123", "1-415-555-0123", "011 1 415 555 0123", "415-555-0123 x12",
            "090-1234-5678", "０９０－１２３４－５６７８", "＋８１ ３ ９６５３ ５７０３", "+44 (0)20 7443 0072", "0044 20 7946 0958",
            "010 81 3 1234 5678", "0011 61 2 9899 1698", "020 7946 0958", "00", "0", "+", "", "no digits", "  Mixed.Case@Example.COM ",
            "12", "001 2", "1", "0151 86730113 ext. 12", "(02) 6911 1673", "98765 43210",
        ]
        var normalizers: [Normalizer] = [.none, .trim, .lowercase, .digits]
        for region in PhoneRegion.known.keys.sorted() { normalizers.append(.e164(region: PhoneRegion.known[region]!)) }
        for normalizer in normalizers {
            for text in inputs {
                let bytes = Array(text.utf8)
                var expected: [UInt8] = []
                bytes.withUnsafeBytes { normalizer.normalize($0, into: &expected) }
                let capacity = normalizer.maximumCount(forValueOf: bytes.count)
                let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity + 8)
                defer { buffer.deallocate() }
                buffer.initialize(repeating: 0xA5, count: capacity + 8)
                let count = bytes.withUnsafeBytes { normalizer.normalize($0, to: buffer) }
                #expect(count <= capacity)
                #expect((capacity..<capacity + 8).allSatisfy { buffer[$0] == 0xA5 }, "wrote past its capacity: \(normalizer) \(text)")
                #expect(Array(UnsafeBufferPointer(start: buffer, count: count)) == expected, "\(normalizer) \(text)")
            }
        }
    }
}
