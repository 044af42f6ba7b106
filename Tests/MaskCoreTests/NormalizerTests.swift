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
}
