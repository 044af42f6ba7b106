import Foundation
import MaskTestSupport
import Testing

/// Issue 13: `mask verify` with rules/pii-strict.yaml is a gate a pipeline can keep on. It finds
/// every planted IPv4 address, card number and IBAN (catch rate), and nothing in correctly masked
/// output or among browser versions, build numbers and device serials (false alarms).
@Suite struct VerifyStrictTests {
    let directory = TemporaryDirectory()

    /// A deterministic generator (SplitMix64), so that a failure reproduces.
    struct Generator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
        mutating func digits(_ count: Int) -> String { String((0..<count).map { _ in Character(String(below(10))) }) }
        mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }
    }

    static func luhnCheckDigit(_ body: String) -> Int {
        var sum = 0
        for (position, character) in body.reversed().enumerated() {
            var value = character.wholeNumberValue!
            if position % 2 == 0 { value *= 2; if value > 9 { value -= 9 } }
            sum += value
        }
        return (10 - sum % 10) % 10
    }

    static func ibanCheckDigits(country: String, bban: String) -> String {
        var remainder = 0
        for character in bban + country + "00" {
            if let digit = character.wholeNumberValue {
                remainder = (remainder * 10 + digit) % 97
            } else {
                remainder = (remainder * 100 + Int(character.asciiValue! - 55)) % 97
            }
        }
        let check = 98 - remainder
        return check < 10 ? "0\(check)" : "\(check)"
    }

    static func grouped(_ text: String, by size: Int) -> String {
        stride(from: 0, to: text.count, by: size).map { start in
            let from = text.index(text.startIndex, offsetBy: start)
            return String(text[from..<(text.index(from, offsetBy: size, limitedBy: text.endIndex) ?? text.endIndex)])
        }.joined(separator: " ")
    }

    func plantedIPs(_ random: inout Generator, _ count: Int) -> [String] {
        (0..<count).map { _ in
            let address = (0..<4).map { index in String(index == 0 ? 1 + random.below(223) : random.below(256)) }.joined(separator: ".")
            return random.pick(["Login from \(address) using app v3.1.4", "ip=\(address);", "client (\(address)) retried", address, "peer \(address):443 reset"])
        }
    }

    func plantedCards(_ random: inout Generator, _ count: Int) -> [String] {
        (0..<count).map { _ in
            let (prefix, length) = random.pick([("4", 16), ("51", 16), ("55", 16), ("2221", 16), ("34", 15), ("37", 15), ("6011", 16), ("35", 16), ("62", 19), ("4", 13)])
            let body = prefix + random.digits(length - prefix.count - 1)
            let number = body + String(Self.luhnCheckDigit(body))
            switch random.below(3) {
            case 0: return "card \(number) on file"
            case 1: return "paid with " + Self.grouped(number, by: 4)
            default: return Self.grouped(number, by: 4).replacingOccurrences(of: " ", with: "-")
            }
        }
    }

    func plantedIBANs(_ random: inout Generator, _ count: Int) -> [String] {
        (0..<count).map { _ in
            let (country, bban): (String, String) = random.pick([
                ("DE", random.digits(18)), ("GB", "WEST" + random.digits(14)), ("FR", random.digits(21) + "M" + random.digits(1)),
                ("NL", "ABNA" + random.digits(10)), ("ES", random.digits(20)), ("IT", "X" + random.digits(22)), ("CH", random.digits(17)),
            ])
            let iban = country + Self.ibanCheckDigits(country: country, bban: bban) + bban
            return random.below(2) == 0 ? "IBAN \(iban)" : "transfer to " + Self.grouped(iban, by: 4) + " today"
        }
    }

    /// What a strict detector must not take for an address, a card or an IBAN.
    func hardNegatives(_ random: inout Generator, _ count: Int) -> [String] {
        (0..<count).map { _ in
            switch random.below(12) {
            case 0: return "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/\(110 + random.below(20)).0.0.0 Safari/537.36"
            case 1: return "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/121.0.\(5000 + random.below(1500)).\(random.below(200)) Mobile Safari/537.36 Edg/121.0.2277.\(random.below(200))"
            case 2: return "Upgraded to app v\(random.below(20)).\(random.below(20)).\(random.below(200)).\(random.below(200))"
            case 3: return "build \(random.below(20)).0.\(random.below(30000)).\(random.below(5000)), version \(random.below(9)).\(random.below(9)).\(random.below(9)).\(random.below(9))"
            case 4: return "Device serial SN\(1_000_000_000 + random.below(8_999_999_999)), firmware \(random.below(30)).\(random.below(10)).\(random.below(200)).\(random.below(100))"
            case 5: return "Tracking 1Z\(random.digits(3))AA1\(random.digits(10)) via UPS"
            case 6:
                let body = "4" + random.digits(14)
                return "ref \(body)\((Self.luhnCheckDigit(body) + 1) % 10)"  // Luhn fails
            case 7:
                let bban = random.digits(18)
                let check = Int(Self.ibanCheckDigits(country: "DE", bban: bban))!
                let wrong = check == 97 ? 2 : check + 1
                return "DE\(wrong < 10 ? "0" : "")\(wrong)\(bban)"  // mod-97 fails
            case 8: return "SKU \(["AB", "QX", "ZZ"][random.below(3)])\(random.digits(2))-\(random.digits(4))-\(random.digits(4))-\(random.digits(4))"
            case 9: return "order ORD-2024-\(random.digits(6)) shipped 2024-03-0\(1 + random.below(9)) 12:3\(random.below(10)):00"
            // Outside every card network's ranges, whatever the check digit.
            case 10: return "id \(random.pick(["1", "7", "8", "9"]))\(random.digits(15)) created \(1_700_000_000 + random.below(10_000_000))"
            default: return "network 10.\(random.below(256)).0.0/16 and 120.0.0.0, lib-1.2.3.4"
            }
        }
    }

    func csv(_ texts: [String]) -> String {
        "id,text\n" + texts.enumerated().map { "\($0.offset + 1),\"\($0.element.replacingOccurrences(of: "\"", with: "\"\""))\"" }.joined(separator: "\n") + "\n"
    }

    func verify(_ file: String) -> RunResult {
        Runner.mask(["verify", "--rules", MaskBinary.rules("pii-strict.yaml"), file], in: directory)
    }

    func summary(_ result: RunResult) -> [String] {
        result.stdoutText.split(separator: "\n").filter { $0.hasPrefix("summary: ") }.map { String($0.split(separator: " ", maxSplits: 2)[2]) }
    }

    @Test func everyPlantedAddressCardAndIBANIsFound() throws {
        var random = Generator(state: 13)
        for (detector, texts) in [("ipv4", plantedIPs(&random, 300)), ("card", plantedCards(&random, 300)), ("iban", plantedIBANs(&random, 300))] {
            let file = directory.write("\(detector).csv", csv(texts))
            let result = verify(file)
            #expect(result.status == 1, "\(detector): \(result.stderr)")
            #expect(summary(result) == ["text: \(detector) × 300 (first at record 1)"], "\(detector): \(result.stdoutText.suffix(2000))")
        }
    }

    @Test func versionsBuildNumbersSerialsAndFailedChecksAreNotFindings() throws {
        var random = Generator(state: 2026)
        let file = directory.write("negatives.csv", csv(hardNegatives(&random, 3000)))
        let result = verify(file)
        #expect(result.status == 0, "\(result.stdoutText.prefix(3000))")
        #expect(result.stdoutText.contains("3000 records checked, 0 finding(s)"))
    }

    @Test func theREADMERecipeVerifiesTheExampleAndTheSyntheticExtractsClean() throws {
        let example = "\(MaskBinary.repositoryRoot)/examples/customers.csv"
        let strict = MaskBinary.rules("pii-strict.yaml")
        let recipe = Runner.mask(["--rules", strict, "--verify", strict, "--input", example, "--output", directory.file("customers"), "-q"], in: directory)
        #expect(recipe.status == 0, "\(recipe.stderr)")
        for format in ["csv", "jsonl"] {
            let input = directory.file("synthetic.\(format)")
            let emitted = Runner.mask(["bench", "--rules", strict, "--synthetic", "5000", "--format", format, "--emit", input], in: directory)
            try #require(emitted.status == 0, "\(emitted.stderr)")
            let masked = Runner.mask(["--rules", strict, "--verify", strict, "--input", input, "--output", directory.file("masked-\(format)"), "-q"], in: directory)
            #expect(masked.status == 0, "\(format): \(masked.stderr)")
            let part = directory.file("masked-\(format)/part-00000.\(format).gz")
            let verified = verify(part)
            #expect(verified.status == 0, "\(format): \(verified.stdoutText.prefix(2000))")
            #expect(verified.stdoutText.contains("5000 records checked, 0 finding(s)"))

            // Masked with pii.yaml (emails and phones only), what is left is exactly the IPv4
            // addresses the generator planted in the notes: each one, and nothing else.
            let text = try String(contentsOfFile: input, encoding: .utf8)
            let planted = text.components(separatedBy: "Login from ").count - 1
            #expect(planted > 100)
            let light = directory.file("light.\(format)")
            let lightResult = Runner.mask(["--rules", MaskBinary.rules("pii.yaml"), "--input", input, "--compress", "none", "-q"], in: directory)
            try #require(lightResult.status == 0)
            FileManager.default.createFile(atPath: light, contents: Data(lightResult.stdout))
            let found = verify(light)
            #expect(found.status == 1)
            #expect(summary(found).count == 1 && summary(found)[0].hasPrefix("notes: ipv4 × \(planted) "), "\(summary(found))")
        }
    }
}
