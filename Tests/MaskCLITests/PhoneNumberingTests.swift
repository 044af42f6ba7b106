import Foundation
import MaskTestSupport
import Testing

/// The built-in phone detector of `rules/pii.yaml` on material nobody here wrote:
/// libphonenumber's own example number of every type of every region, formatted by
/// libphonenumber (the `phonenumbers` package) in E.164, international and national form, run
/// through the real CLI. Also the hashing contract (a national number and its international
/// form hash alike) and the no-partial-mask property over generated neighbours.
@Suite struct PhoneNumberingTests {
    /// `python3` writes `kind<TAB>region<TAB>formatted` lines: every example number, E.164 and
    /// international for every region, national for the regions `rules/pii.yaml` names.
    static func examples(in directory: TemporaryDirectory, regions: [String]) throws -> [(kind: String, region: String, number: String)] {
        let script = """
            import sys, phonenumbers as p
            from phonenumbers import PhoneNumberType as T, PhoneNumberFormat as F
            national = set(sys.argv[1].split(","))
            types = [T.FIXED_LINE, T.MOBILE, T.TOLL_FREE, T.PREMIUM_RATE, T.SHARED_COST, T.VOIP, T.PERSONAL_NUMBER, T.UAN]
            seen = set()
            for region in sorted(p.SUPPORTED_REGIONS):
                for t in types:
                    n = p.example_number_for_type(region, t)
                    if n is None or not p.is_valid_number(n) or (region, n.national_number) in seen:
                        continue
                    seen.add((region, n.national_number))
                    print("e164", region, p.format_number(n, F.E164), sep="\\t")
                    print("international", region, p.format_number(n, F.INTERNATIONAL), sep="\\t")
                    if region in national:
                        print("national", region, p.format_number(n, F.NATIONAL), sep="\\t")
            """
        let path = directory.file("examples.py")
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        let result = Runner.run("/usr/bin/env", ["python3", path, regions.joined(separator: ",")], environment: ProcessInfo.processInfo.environment, in: directory)
        try #require(result.status == 0, "python3 with phonenumbers (make test-deps installs it): \(result.stderr)")
        return result.stdoutText.split(separator: "\n").map {
            let parts = $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            return (parts[0], parts[1], parts[2])
        }
    }

    static let shippedRegions = ["US", "CA", "GB", "JP", "DE", "FR", "IN", "AU", "BR"]

    /// JSON string literal of `text`.
    static func json(_ text: String) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: [text], options: [.withoutEscapingSlashes]), as: UTF8.self)
            .dropFirst().dropLast().description
    }

    /// Masks `texts` (one JSONL record each, field `text`) with the shipped rules and returns the
    /// masked texts in order.
    static func scanned(_ texts: [String], in directory: TemporaryDirectory) throws -> [String] {
        let input = directory.file("input-\(UUID().uuidString).jsonl")
        try texts.map { "{\"text\":\(json($0))}" }.joined(separator: "\n").appending("\n").write(toFile: input, atomically: true, encoding: .utf8)
        let result = Runner.mask(["--rules", MaskBinary.rules("pii.yaml"), "--format", "jsonl", "--compress", "none", "--input", input], in: directory)
        try #require(result.status == 0, "\(result.stderr)")
        return try result.stdoutText.split(separator: "\n").map {
            let object = try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
            return object["text"] as! String
        }
    }

    @Test func everyRegionsExampleNumbersAreFoundWhole() throws {
        let directory = try TemporaryDirectory()
        let examples = try Self.examples(in: directory, regions: Self.shippedRegions)
        try #require(examples.count > 1000, "expected libphonenumber's examples, got \(examples.count)")
        // Neutral sentences: the number alone between words and punctuation.
        let templates = ["Call %@ today.", "Tel: %@", "%@", "Contact: %@ (office)"]
        var texts: [String] = []
        for (index, example) in examples.enumerated() {
            texts.append(templates[index % templates.count].replacingOccurrences(of: "%@", with: example.number))
        }
        let masked = try Self.scanned(texts, in: directory)
        try #require(masked.count == texts.count)
        var found: [String: (hit: Int, total: Int)] = [:]
        var misses: [String: [String]] = [:]
        for (index, example) in examples.enumerated() {
            let expected = templates[index % templates.count].replacingOccurrences(of: "%@", with: "[PHONE]")
            let hit = masked[index] == expected
            found[example.kind, default: (0, 0)].hit += hit ? 1 : 0
            found[example.kind, default: (0, 0)].total += 1
            if !hit { misses[example.kind, default: []].append("\(example.region) \(example.number) -> \(masked[index])") }
        }
        for kind in ["e164", "international"] {
            let (hit, total) = found[kind] ?? (0, 0)
            let recall = Double(hit) / Double(max(total, 1))
            #expect(recall >= 0.98, "\(kind): \(hit)/\(total) found whole; missed e.g. \(misses[kind]?.prefix(15) ?? [])")
        }
        let (hit, total) = found["national"] ?? (0, 0)
        #expect(Double(hit) / Double(max(total, 1)) >= 0.95, "national (\(Self.shippedRegions)): \(hit)/\(total); missed \(misses["national"] ?? [])")
    }

    /// A national number and its international spelling give one keyed hash, for every example
    /// number of every region the shipped rules name, with that region first in `regions`
    /// (national numbers are read in the first region they are valid in, as written).
    @Test func nationalAndInternationalFormsHashAlike() throws {
        let directory = try TemporaryDirectory()
        let examples = try Self.examples(in: directory, regions: Self.shippedRegions)
        var checked = 0
        var differing: [String] = []
        for region in Self.shippedRegions {
            var national: [String: String] = [:]
            var international: [String: String] = [:]
            for example in examples where example.region == region {
                let key = String(example.number.filter(\.isNumber).suffix(6))
                if example.kind == "national" { national[key] = example.number }
                if example.kind == "international" { international[key] = example.number }
            }
            let pairs = national.keys.sorted().compactMap { key in international[key].map { (national[key]!, $0) } }
            let order = [region] + Self.shippedRegions.filter { $0 != region }
            let rules = directory.file("hash-\(region).yaml")
            try """
                version: 1
                hash:
                  key: env:MASK_HMAC_KEY
                detectors:
                  phone:
                    builtin: phone
                    regions: [\(order.joined(separator: ", "))]
                    normalize: e164
                fields:
                  national: { hash: { detector: phone } }
                  international: { hash: { detector: phone } }
                """.write(toFile: rules, atomically: true, encoding: .utf8)
            let input = directory.file("pairs-\(region).csv")
            try (["national,international"] + pairs.map { "\"\($0.0)\",\"\($0.1)\"" }).joined(separator: "\n").appending("\n")
                .write(toFile: input, atomically: true, encoding: .utf8)
            let result = Runner.mask(["--rules", rules, "--input", input, "--compress", "none"], in: directory)
            try #require(result.status == 0, "\(result.stderr)")
            let rows = result.stdoutText.split(separator: "\n").dropFirst()
            try #require(rows.count == pairs.count)
            for (row, pair) in zip(rows, pairs) {
                checked += 1
                let cells = row.split(separator: ",")
                if cells.count != 2 || cells[0] != cells[1] { differing.append("\(region): \(pair.0) / \(pair.1)") }
            }
        }
        #expect(checked > 30, "\(checked) pairs")
        #expect(differing.isEmpty, "\(differing.count) of \(checked) pairs hash differently: \(differing)")
    }

    /// No partial masks: with any neighbour on either side, a number is either masked whole
    /// (the token may take in a neighbour that continues it) or left as it is; no digit of it
    /// is ever left beside the token.
    @Test func numbersAreNeverMaskedInPart() throws {
        let directory = try TemporaryDirectory()
        let examples = try Self.examples(in: directory, regions: Self.shippedRegions)
        var numbers = examples.filter { $0.kind == "international" }.enumerated().filter { $0.offset % 9 == 0 }.map(\.element.number)
        numbers += examples.filter { $0.kind == "national" }.enumerated().filter { $0.offset % 3 == 0 }.map(\.element.number)
        let neighbours = [
            "", " ", "a", "Z", "x", "é", "ж", "東", "ー", "。", "（", "）", "0", "7", "０", "-", ".", "/", "+", "(", ")", "@",
            "_", "#", ":", ",", ";", "'", "\"", "[", "]", "<", ">", "\u{00A0}", "\u{3000}", "abc", "12", "-5", ".5", " 5",
            " 12", " 123", "x204", " ext. 5", "call", "forme", "deadbeef", "/x12",
        ]
        var cases: [(left: String, number: String, right: String)] = []
        for (index, number) in numbers.enumerated() {
            for (offset, left) in neighbours.enumerated() where (offset + index) % 3 == 0 {
                for (position, right) in neighbours.enumerated() where (position + index + offset) % 4 == 0 {
                    cases.append((left, number, right))
                }
            }
        }
        let masked = try Self.scanned(cases.map { "\($0.left)\($0.number)\($0.right)" }, in: directory)
        try #require(masked.count == cases.count)
        var partial: [String] = []
        for (result, example) in zip(masked, cases) {
            let text = example.left + example.number + example.right
            if result == text { continue }  // not found: a miss, not a leak of part of it
            guard let token = result.range(of: "[PHONE]") else {
                partial.append("\(text) -> \(result)")
                continue
            }
            // What is left beside the token must be the neighbours (or what remains of them).
            let before = String(result[..<token.lowerBound]), after = String(result[token.upperBound...])
            if !example.left.hasPrefix(before) || !example.right.hasSuffix(after) {
                partial.append("\(text) -> \(result)")
            }
        }
        #expect(partial.isEmpty, "\(partial.count) of \(cases.count) partial masks, e.g. \(partial.prefix(12))")
    }
}
