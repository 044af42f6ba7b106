import Foundation
import MaskRegex
import MaskRules
import Testing

/// The start filter (anchored attempts at the positions the leading lookbehinds allow) must find
/// exactly what PCRE2's own search finds, from every start offset, on the shipped detectors.
@Suite struct StartFilterTests {
    static let rules: CompiledRules = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        return try! RulesLoader.load(path: root.appendingPathComponent("rules/pii.yaml").path)
    }()

    /// The rules' own examples, each also inside contexts that the lookbehinds refuse or allow.
    static let subjects: [[UInt8]] = {
        var texts: [String] = []
        for detector in rules.detectors {
            texts += detector.examples.match + detector.examples.noMatch + detector.examples.finds.map(\.text)
        }
        texts += [
            "2023-01-01 00:33:03+00", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/111.0.6445.62 Safari/537.36",
            "Call back on 06-2755-3542 after 6pm. 領収書", "SKU SB-458-0574 backordered until 2024-11-25.",
        ]
        let contexts = ["", "a", "1", "1-", "1 ", "x:", "/", "_", "+", "#", "１", "１－", "＋", "é", "—", " ", "(", "\u{a0}"]
        var subjects: [[UInt8]] = []
        for text in texts {
            for before in contexts {
                subjects.append(Array((before + text).utf8))
                subjects.append(Array((before + text + before).utf8))
            }
        }
        // Invalid UTF-8 next to candidates.
        subjects.append([0xEF, 0x34, 0x31, 0x35, 0x2D, 0x35, 0x35, 0x35, 0x2D, 0x30, 0x31, 0x32, 0x33])
        subjects.append([0x80] + Array("+1 415 555 0123".utf8) + [0xFF])
        subjects.append(Array("a@".utf8) + [0xC3] + Array("b.example.com x@y.example.org".utf8))
        // Pseudo-random strings over the characters both patterns care about.
        let alphabet = Array("0123456789 +-./()@._%xa#:,".utf8).map { [$0] } + ["０", "－", "＋", "（", "）", "é", "\u{a0}"].map { Array($0.utf8) }
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        for _ in 0..<3000 {
            var subject: [UInt8] = []
            for _ in 0..<(Int(seed % 40) + 1) {
                seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                subject += alphabet[Int((seed >> 33) % UInt64(alphabet.count))]
            }
            subjects.append(subject)
        }
        return subjects
    }()

    /// The shipped rules' pattern detectors (the built-in phone detector has no pattern).
    static var patterns: [(id: String, pattern: CompiledPattern)] {
        rules.detectors.compactMap { detector in
            if case .pattern(let pattern) = detector.matcher { return (detector.id, pattern) }
            return nil
        }
    }

    @Test func shippedDetectorsUseTheFilter() {
        #expect(!Self.patterns.isEmpty)
        for (id, pattern) in Self.patterns {
            #expect(pattern.usesStartFilter, "\(id)")
        }
    }

    @Test func filteredSearchFindsWhatPCRE2Finds() throws {
        let scratch = MatchScratch()
        for detector in Self.patterns {
            let plain = try CompiledPattern(detector.pattern.source, startFilter: false)
            #expect(!plain.usesStartFilter)
            var matches = 0
            for subject in Self.subjects {
                subject.withUnsafeBytes { bytes in
                    for offset in 0...bytes.count {
                        let expected = plain.firstMatch(in: bytes, from: offset, scratch: scratch)
                        let found = detector.pattern.firstMatch(in: bytes, from: offset, scratch: scratch)
                        if expected != nil { matches += 1 }
                        #expect(found == expected, "\(detector.id) in \(Array(subject)) from \(offset)")
                    }
                }
            }
            #expect(matches > 100, "\(detector.id): the corpus must exercise matches")
        }
    }

    @Test func patternsTheFilterCannotReadGetNone() throws {
        // Backtracking verbs and \G change what a search means; a leading positive lookbehind or
        // a quantified class says nothing the filter can use.
        for source in ["(*COMMIT)(?<![a-z])[0-9]+", "(?<![a-z])\\G[0-9]+", "(?<=[a-z])[0-9]+", "(?<![a-z]{2})[0-9]+", "(?<![^a-z])[0-9]+"] {
            #expect(!(try CompiledPattern(source)).usesStartFilter, "\(source)")
        }
        #expect(try CompiledPattern("(?i)(?<![a-z])[0-9]+").usesStartFilter)
        #expect(try CompiledPattern("(?x) # comment\n (?<! [0-9] [.] ) [0-9]+").usesStartFilter)
    }

    @Test func caselessClassesRefuseBothCases() throws {
        let pattern = try CompiledPattern("(?i)(?<![a-c0-9])[0-9]+")
        let scratch = MatchScratch()
        Array("B12 x34".utf8).withUnsafeBytes { bytes in
            #expect(pattern.firstMatch(in: bytes, from: 0, scratch: scratch) == 5..<7)
        }
    }
}
