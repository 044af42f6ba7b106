import Foundation
import MaskCore
import MaskEngine
import MaskRules
import Testing

/// Regression tests for the email and phone detectors of the shipped `rules/pii.yaml` (issue 7):
/// one representative case per failure class found on the labeled accuracy corpus
/// (`../shared/accuracy`, see `benchmarks/accuracy/README.md`). Each case lists exactly what
/// `ValueMasker.detect` must find, as (detector, matched text), in order.
@Suite struct DetectionAccuracyTests {
    static let rules: CompiledRules = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        return try! RulesLoader.load(path: root.appendingPathComponent("rules/pii.yaml").path)
    }()

    /// What the default `scan` policy finds in `text`: (detector id, matched text) in order.
    func detected(_ text: String) -> [String] {
        let rules = Self.rules
        let masker = ValueMasker(rules: rules, hasher: nil)
        let scratch = MaskScratch()
        var statistics = MaskStatistics(detectors: rules.detectors.count, fields: 1)
        return Array(text.utf8).withUnsafeBytes { bytes in
            masker.detect(
                in: bytes, detectors: Array(rules.detectors.indices), scratch: scratch, statistics: &statistics)
            return scratch.detections.map {
                "\(rules.detectors[$0.detector].id):" + String(decoding: bytes[$0.range], as: UTF8.self)
            }
        }
    }

    // MARK: emails

    @Test(arguments: [
        // written straight into Japanese text
        ("連絡はtaro@example.co.jpまでお願いします", ["email:taro@example.co.jp"]),
        ("メール（yuki@example.ne.jp）またはお電話", ["email:yuki@example.ne.jp"]),
        // mailto:, query strings, brackets, quotes and trailing punctuation stay outside
        ("mailto:jane.doe@example.com?subject=hi", ["email:jane.doe@example.com"]),
        ("Reply-To: John Miller <kwatanabe@hq.copperleaf.museum>.", ["email:kwatanabe@hq.copperleaf.museum"]),
        ("'jane@example.com'; (sales@example.net).", ["email:jane@example.com", "email:sales@example.net"]),
        // plus addressing, subdomains, long top-level domains, capitals
        ("cust email ethan.lee+a@hq.tyrelltech.ne.jp, KANDERSON@REDIFFMAIL.COM", [
            "email:ethan.lee+a@hq.tyrelltech.ne.jp", "email:KANDERSON@REDIFFMAIL.COM",
        ]),
        // image names with a scale label, hosts without a dot, numeric domains, package specifiers
        ("see report@2x.png, logo@2x.webp, icon@1.5x.avif and sprite@3x.json", []),
        ("Ping root@localhost or admin@intranet; deploy@10.0.0.5", []),
        ("npm i @babel/core@7.22.5 lodash@4.17.21; cc @hannah_davis", []),
    ])
    func emails(text: String, expected: [String]) {
        #expect(detected(text) == expected)
    }

    // MARK: phones

    @Test(arguments: [
        // E.164 written without separators
        ("Phone is +13032424733 Forwarded", ["phone:+13032424733"]),
        // national numbers with a trunk 0 in every grouping: IN 6-5, GB 5-6, DE 4-8, FR pairs, AU 4-3-3
        ("Tried 098384 11324 instead.", ["phone:098384 11324"]),
        ("cust phone 07369 655157, acct 96502381", ["phone:07369 655157"]),
        ("Office: 0151 86730113 / 01 57 96 86 43 / 0469 191 372", [
            "phone:0151 86730113", "phone:01 57 96 86 43", "phone:0469 191 372",
        ]),
        // area codes in parentheses (US, AU, BR) are part of the number
        ("Hotline (02) 6911 1673 (24/7), or (11) 97204-6212", ["phone:(02) 6911 1673", "phone:(11) 97204-6212"]),
        // full-width digits, hyphens and plus signs; full-width brackets around stay outside
        ("電話：０８０－８４２２－３２１９", ["phone:０８０－８４２２－３２１９"]),
        ("担当：中村\u{3000}TEL ＋８１ ３ ２０１７ ５４７４\u{3000}FAX +81 3 3976 8231", [
            "phone:＋８１ ３ ２０１７ ５４７４", "phone:+81 3 3976 8231",
        ]),
        ("またはお電話（０１１－８４１－１３３６）でお願いします。", ["phone:０１１－８４１－１３３６"]),
        // extensions stay outside the span
        ("call me at +1 (415) 555-0123 x204 tomorrow", ["phone:+1 (415) 555-0123"]),
        ("Office: 099817 94082, ext. 214; 03-1234-5678 内線12", ["phone:099817 94082", "phone:03-1234-5678"]),
        // a (0) trunk after the country code
        ("T: +44 (0)20 7443 0072, +49 (0)89 36526825", ["phone:+44 (0)20 7443 0072", "phone:+49 (0)89 36526825"]),
        // the national-number length of a country code ends the match before the next number
        ("Call +44 20 7946 0958 24/7 or +33 1 30 45 14 42 2024-03-05", [
            "phone:+44 20 7946 0958", "phone:+33 1 30 45 14 42",
        ]),
        // unseparated national numbers only right after a label (or a JP mobile)
        ("Tel: 0312345678; left voicemail at 4155550123; 連絡先変更: 08034270567", [
            "phone:0312345678", "phone:4155550123", "phone:08034270567",
        ]),
        ("acct 4155550123 created 1704632499 (ms 1704632499123)", []),
    ])
    func phones(text: String, expected: [String]) {
        #expect(detected(text) == expected)
    }

    @Test(arguments: [
        // versions, IPv4, dates and times
        "Deployed 3.6.2.2994 to 10.221.44.2 at 2016-01-05 11:14:43.842; firmware v6.19.87",
        "released 11.11.2016, due 1.8.2015, on 01/08/2017 and 2022/04/22 (20240305)",
        // amounts and coordinates
        "total USD 59184.27, $46,471.19, €883.969,20, ¥7,375,834",
        "Store location (-71.772861, 0.386011), 63.4898, 152.1138",
        // order, invoice and ticket ids
        "Order ORD-2024-000123, SO-123-45678, INV-2024-0042, PO 4888254, #900414",
        // postcodes
        "Shipping to Munich 〒604-3341, ZIP 85232-3307, 01234-5678, CEP 01310-100",
        // SSN-like, card, tracking, ISBN, IBAN numbers
        "SSN on file ending 181 42 3599 (078-05-1120)",
        "Card 4111 1111 1111 1111, 6011-0778-6414-5240, 5536523068872640",
        "Tracking number 9580 2608 6875, 0412 3456 7890, 9400 1000 0000 0000 0000 00, 1Z146AA81477864591",
        "ISBN 8-422-50926-9, 978-4-12-345678-9, 9788287452977; IBAN DE89 3704 0044 0532 0130 00",
        // UUID and hash fragments
        "Ref 97334ae0-574a-613a-0ac4-b75d95bed2dc, commit 8ba194b5cfe7f4b2686a9ee0a02972a001a1cc35",
        // placeholders made of one digit
        "phone 000-0000-0000 or (555) 555-5555",
    ])
    func hardNegatives(text: String) {
        #expect(detected(text) == [])
    }

    // MARK: the phone validator and the E.164 normaliser

    func accepts(_ text: String) -> Bool {
        Array(text.utf8).withUnsafeBytes { Validator.phone.accepts($0) }
    }

    @Test func phoneValidatorCountsDigitsPerNumberingFamily() {
        #expect(accepts("+44 (0)20 7443 0072"))  // the (0) trunk is not counted
        #expect(accepts("＋８１－９０－９２８２－８５１７"))
        #expect(accepts("0044 20 7946 0958"))
        #expect(accepts("030 84570373") && accepts("0151 1234 5678") && accepts("(011) 91234-5678"))
        #expect(!accepts("05.11.2023"))  // 8 digits with a trunk 0
        #expect(!accepts("01234-5678"))  // zip+4
        #expect(!accepts("0412 3456 7890"))  // 12 digits in fours: a tracking number
        #expect(!accepts("+1 415 555 5555"))  // a run of seven equal digits
        #expect(!accepts("+12 345"))
    }

    func e164(_ text: String, _ region: String = "US") -> String {
        var output: [UInt8] = []
        Array(text.utf8).withUnsafeBytes { Normalizer.e164(region: PhoneRegion.known[region]!).normalize($0, into: &output) }
        return String(decoding: output, as: UTF8.self)
    }

    @Test func e164DropsTheParenthesisedTrunkAndReadsThe00Prefix() {
        #expect(e164("+44 (0)20 7946 0958") == "+442079460958")
        #expect(e164("＋４９ （０）８９ ３６５２６８２５") == "+498936526825")
        #expect(e164("0044 20 7946 0958") == "+442079460958")
        #expect(e164("0044 20 7946 0958", "JP") == "+442079460958")
        #expect(e164("020 7946 0958", "GB") == "+442079460958")
    }
}
