import Foundation
import MaskTestSupport
import Testing

/// No partial masks, as a property (issue 15): whatever stands next to an address, the shipped
/// `email` detector replaces all of it or, where the neighbour can continue it (a letter before
/// the local part, a letter after the top-level domain), the longer address, never a piece.
/// No character of the local part or the domain may stay visible beside `[EMAIL]`.
///
/// Every address is put between neighbours of every class, on each side and on both, at the
/// start of a value and inside a sentence, and the lines go through the real CLI
/// (`mask --format jsonl`), as data would.
@Suite struct EmailBoundaryTests {
    /// Addresses of the classes the detector must find whole (written for this test).
    static let addresses = [
        // ASCII: dots, plus addressing, subdomains, hyphens, long top-level domains
        "jane.doe@example.com", "k@example.photography", "a_b-c+d@mail.example.co.uk",
        // every RFC 5322 atext character outside quotes
        "o'neil@example.ie", "orders+eu/returns=desk@shop.example", "!x#y$z%@example.net", "a&b*c?d`e^f@example.com",
        "x{y}z|w~@example.io",
        // Japanese carriers: consecutive dots, a dot before the @
        "taro..yamada.@docomo.ne.jp",
        // RFC 6531 local parts, IDNA domains in U-labels and A-labels
        "josé.garcía@example.com", "élodie@example.fr", "müller@bücher.de", "ольга@пример.рф", "σοφία@παράδειγμα.ελ",
        "山田@例え.テスト", "花子.山田@例え.jp", "kenji@例え.テスト", "민준@예시.한국", "pelé@exemplo.com.br", "ken東.smith@example.jp",
        "ivan@xn--e1afmkfd.xn--p1ai", "ana@xn--bcher-kva.example",
    ]

    /// One or two characters of each class: ASCII letters and digits, each atext punctuation
    /// character and the dot, Latin-1, Greek, Cyrillic, CJK and Hangul letters, spaces, brackets,
    /// quotes, other ASCII and Japanese punctuation.
    static let neighbours: [String] =
        ["a", "Z", "0", "7"] + "!#$%&'*+-/=?^_`{|}~.".map(String.init)
        + ["é", "ß", "λ", "ж", "山", "の", "カ", "ー", "한"]
        + [" ", "\t", "\u{3000}", "(", ")", "[", "]", "<", ">", "\"", "“", "”", "«", "»", "「", "」", "。", "、", "（", "）", "：", "・", ",", ";", ":", "@", "\\"]

    struct Case {
        var address: String
        var before: String
        var after: String
        var text: String
    }

    static let cases: [Case] = {
        var cases: [Case] = []
        for address in addresses {
            for before in neighbours + [""] {
                for after in neighbours + [""] {
                    cases.append(Case(address: address, before: before, after: after, text: before + address + after))
                }
                cases.append(Case(address: address, before: "see " + before, after: " today", text: "see " + before + address + " today"))
            }
            for after in neighbours {
                cases.append(Case(address: address, before: "see ", after: after + " today", text: "see " + address + after + " today"))
            }
        }
        return cases
    }()

    /// Where no detection at all is right: an ASCII digit after an ASCII top-level domain makes
    /// it alphanumeric (`jane.doe@example.com7`), which is not an address, and no shorter piece of
    /// it is one either. Nothing else may leave an address unmasked.
    static func mayBeRefused(_ item: Case) -> Bool {
        guard let first = item.after.unicodeScalars.first, ("0"..."9").contains(first) else { return false }
        let tld = item.address.split(separator: ".").last!
        return tld.allSatisfy { $0.isASCII && $0.isLetter }
    }

    @Test func noCharacterOfAnAddressStaysVisibleBesideItsToken() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        var input = ""
        for (index, item) in Self.cases.enumerated() {
            let line = try JSONSerialization.data(withJSONObject: ["id": index, "text": item.text])
            input += String(decoding: line, as: UTF8.self) + "\n"
        }
        let path = directory.write("lines.jsonl", input)
        let result = Runner.mask(
            ["--rules", MaskBinary.rules("pii.yaml"), "--format", "jsonl", "--compress", "none"], stdin: path, in: directory)
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdoutText.split(separator: "\n")
        try #require(lines.count == Self.cases.count)
        var failures: [String] = []
        for line in lines {
            let record = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let index = try #require(record["id"] as? Int)
            let masked = try #require(record["text"] as? String)
            let item = Self.cases[index]
            let pieces = masked.components(separatedBy: "[EMAIL]")
            if pieces.count == 1 {
                if !Self.mayBeRefused(item) { failures.append("not masked: \(item.text)") }
                continue
            }
            // One token, standing for a span that contains the whole address: what is left
            // before it is a prefix of the text before the address, what is left after it a
            // suffix of the text after it.
            guard pieces.count == 2, item.before.unicodeScalars.starts(with: pieces[0].unicodeScalars),
                item.after.unicodeScalars.reversed().starts(with: pieces[1].unicodeScalars.reversed())
            else {
                failures.append("cut: \(item.text) -> \(masked)")
                continue
            }
        }
        #expect(failures.count == 0, "\(failures.count) of \(Self.cases.count) lines:\n\(failures.prefix(40).joined(separator: "\n"))")
    }
}
