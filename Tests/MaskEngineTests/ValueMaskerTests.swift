import Foundation
import MaskEngine
import MaskRules
import Testing

@Suite struct ValueMaskerTests {
    static let rules = try! RulesLoader.load(data: Data("""
        version: 1
        detectors:
          email: { pattern: '[a-z.]+@[a-z]+\\.[a-z]+', prefilter: "@", token: "<E>" }
          word: { pattern: 'example', token: "<W>" }
        default: scan
        """.utf8), path: "r.yaml")

    func scan(_ text: String) -> String {
        let masker = ValueMasker(rules: Self.rules, hasher: nil)
        let scratch = MaskScratch()
        var statistics = MaskStatistics(detectors: 2, fields: 1)
        return Array(text.utf8).withUnsafeBytes { bytes in
            switch masker.apply(Self.rules.defaultPolicy, to: bytes, scratch: scratch, statistics: &statistics) {
            case .unchanged: return text
            case .null: return "<null>"
            case .replaced: return "" // read below
            }
        } + ""
    }

    @Test func overlappingDetectionsKeepTheEarliestLongest() {
        let masker = ValueMasker(rules: Self.rules, hasher: nil)
        let scratch = MaskScratch()
        var statistics = MaskStatistics(detectors: 2, fields: 1)
        let text = "mail a.b@example.com or see example"
        Array(text.utf8).withUnsafeBytes { bytes in
            masker.detect(in: bytes, detectors: [0, 1], scratch: scratch, statistics: &statistics)
        }
        var output: [UInt8] = []
        Array(text.utf8).withUnsafeBytes { masker.scanRaw($0, scratch: scratch, into: &output) }
        #expect(String(decoding: output, as: UTF8.self) == "mail <E> or see <W>")
        #expect(statistics.detectorMatches == [1, 2])
    }

    @Test func prefilterSkipsValuesThatCannotMatch() {
        #expect(scan("no at sign here") == "no at sign here")
    }
}
