import Foundation
import MaskCore
import MaskEngine
import MaskRules
import Testing

/// Chunk maskers write into an array sized for the input plus an eighth; output that grows more
/// than that (long tokens for short values) must come out whole, the chunk masked again with room.
@Suite struct OutputGrowthTests {
    static let token = String(repeating: "T", count: 40)
    static let rules = try! RulesLoader.load(data: Data("""
        version: 1
        detectors:
          x: { pattern: 'x', token: "\(token)" }
        default: scan
        """.utf8), path: "r.yaml")

    @Test func outputBytesArrayRerunsWithMoreRoom() {
        var runs = 0
        let bytes = OutputBytes.array(capacity: 16) { output in
            runs += 1
            for index in 0..<100 { output.append(UInt8(index)) }
            [UInt8](repeating: 7, count: 50).withUnsafeBytes { output.append($0) }
        }
        #expect(bytes == (0..<100).map(UInt8.init) + Array(repeating: 7, count: 50))
        #expect(runs > 1)
    }

    @Test func csvOutputMuchLargerThanItsInput() {
        let input = Array(String(repeating: "x,x\n", count: 1000).utf8)
        let plan = try! CSVColumnPlan(names: ["a", "b"], rules: Self.rules)
        let masker = CSVChunkMasker(
            plan: plan, values: ValueMasker(rules: Self.rules, hasher: nil), dialect: CSVDialect(), maxRecordSize: 1 << 20,
            collectRejects: false)
        let masked = input.withUnsafeBytes { masker.mask($0, scratch: MaskScratch()) }
        #expect(String(decoding: masked.output, as: UTF8.self) == String(repeating: "\(Self.token),\(Self.token)\n", count: 1000))
        #expect(masked.statistics.recordsOut == 1000)
        #expect(masked.statistics.detectorMatches == [2000])
        #expect(masked.statistics.fieldChanges == [1000, 1000])
    }

    @Test func jsonlOutputMuchLargerThanItsInput() {
        let input = Array(String(repeating: "{\"a\":\"x\"}\n", count: 1000).utf8)
        let masker = JSONLChunkMasker(values: ValueMasker(rules: Self.rules, hasher: nil), maxRecordSize: 1 << 20, collectRejects: false)
        let masked = input.withUnsafeBytes { masker.mask($0, scratch: MaskScratch()) }
        #expect(String(decoding: masked.output, as: UTF8.self) == String(repeating: "{\"a\":\"\(Self.token)\"}\n", count: 1000))
        #expect(masked.statistics.recordsOut == 1000)
        #expect(masked.statistics.detectorMatches == [1000])
    }
}
