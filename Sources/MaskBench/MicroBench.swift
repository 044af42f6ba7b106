import Foundation
import MaskCompression
import MaskCore
import MaskEngine
import MaskPipeline
import MaskRules

/// Throughput of the hot kernels on their own, so a regression in one of them shows even when
/// the end-to-end figure hides it. A plain release-mode harness: each kernel runs `repeats`
/// times over the same in-memory input and the median is reported.
public enum MicroBench {
    public struct Result: Codable, Sendable {
        public var kernel: String
        public var unit: String
        public var median: Double
    }

    static func median(_ repeats: Int, _ body: () -> Void) -> Double {
        var times: [Double] = []
        for _ in 0..<repeats {
            let start = BenchRunner.now()
            body()
            times.append(BenchRunner.now() - start)
        }
        return times.sorted()[times.count / 2]
    }

    public static func run(rules: CompiledRules, csv: [UInt8], repeats: Int = 5) -> [Result] {
        var results: [Result] = []
        let megabytes = Double(csv.count) / 1e6
        // CSV tokenizer: every record split into fields.
        let tokenizer = CSVTokenizer(dialect: CSVDialect())
        var sink = 0
        let tokenize = median(repeats) {
            csv.withUnsafeBytes { bytes in
                var fields: [CSVField] = []
                var position = 0
                while position < bytes.count {
                    position = tokenizer.nextRecord(in: bytes, from: position, fields: &fields).end
                    sink &+= fields.count
                }
            }
        }
        results.append(Result(kernel: "csv tokenizer", unit: "MB/s", median: megabytes / tokenize))
        // Record framing (the chunker's boundary search).
        let framing = median(repeats) {
            csv.withUnsafeBytes { sink &+= RecordFraming.csv(CSVDialect()).lastBoundary(in: $0) ?? 0 }
        }
        results.append(Result(kernel: "csv record framing", unit: "MB/s", median: megabytes / framing))
        // Each detector over the raw bytes of the input, with and without its prefilter, per line.
        let values = ValueMasker(rules: rules, hasher: nil)
        let scratch = MaskScratch()
        var statistics = MaskStatistics(detectors: rules.detectors.count, fields: 0)
        var lines: [Range<Int>] = []
        var start = 0
        for index in csv.indices where csv[index] == 0x0A {
            lines.append(start..<index)
            start = index + 1
        }
        for (index, detector) in rules.detectors.enumerated() {
            for usePrefilter in [true, false] {
                let time = median(repeats) {
                    csv.withUnsafeBytes { bytes in
                        for line in lines {
                            values.detect(in: UnsafeRawBufferPointer(rebasing: bytes[line]), detectors: [index], scratch: scratch,
                                          statistics: &statistics, usePrefilter: usePrefilter)
                        }
                    }
                }
                results.append(Result(kernel: "detector \(detector.id) per line\(usePrefilter ? "" : ", no prefilter")", unit: "MB/s", median: megabytes / time))
            }
        }
        // HMAC-SHA256 per value.
        var settings = HashSettings.defaults
        settings.key = nil
        let hasher = KeyedHasher(keyBytes: Array("micro-bench-key-0123456789".utf8), settings: settings)
        let value = Array("someone.somewhere@example.com".utf8)
        var output: [UInt8] = []
        let count = 200_000
        let hmac = median(repeats) {
            value.withUnsafeBytes { bytes in
                for _ in 0..<count {
                    output.removeAll(keepingCapacity: true)
                    hasher.appendHash(of: bytes, to: &output)
                }
            }
        }
        results.append(Result(kernel: "hmac-sha256 per value", unit: "ns", median: hmac / Double(count) * 1e9))
        // Deflate at levels 1 (ISA-L) and 6 (libdeflate), as one member per chunk and as the
        // non-final span a single-member part is made of, and streaming gunzip.
        for level in [1, 6] {
            for (framing, encoder) in [("member", GzipMemberEncoder(level: level) as any ChunkEncoder), ("span", GzipSpanEncoder(level: level))] {
                var member: [UInt8] = []
                let time = median(repeats) {
                    member.removeAll(keepingCapacity: true)
                    csv.withUnsafeBytes { encoder.compress($0, appendingTo: &member) }
                }
                results.append(Result(kernel: "deflate level \(level) (\(framing))", unit: "MB/s", median: megabytes / time))
            }
        }
        var compressed: [UInt8] = []
        csv.withUnsafeBytes { GzipMemberEncoder(level: 6).compress($0, appendingTo: &compressed) }
        // Inflate alone, into memory written before (no page faults timed), as the reader does.
        var plain = [UInt8](repeating: 0, count: csv.count)
        let gunzip = median(repeats) {
            let decoder = try! GzipStreamDecoder()
            compressed.withUnsafeBytes { input in
                plain.withUnsafeMutableBytes { sink &+= (try? decoder.decompress(input, into: $0))?.produced ?? 0 }
            }
        }
        results.append(Result(kernel: "gunzip (ISA-L, streaming)", unit: "MB/s", median: megabytes / gunzip))
        // The serial stage as a run has it: the reader thread reading a file (plain, or gzip
        // inflated on the way) and cutting it into record-aligned chunks, nothing else. Whatever
        // the core count, a run cannot go faster than this.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mask-micro-\(getpid())")
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        for (name, bytes) in [("plain", csv), ("gzip", compressed)] {
            let path = directory.appendingPathComponent("input.\(name)").path
            guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else { continue }
            let time = median(repeats) {
                guard let source = try? InputSource(path: path) else { return }
                let chunker = Chunker(source: source, framing: .csv(CSVDialect()), targetSize: 2 << 20, maxRecordSize: 64 << 20)
                while let chunk = try? chunker.next() { sink &+= chunk.bytes.count }
            }
            results.append(Result(kernel: "serial stage: read, \(name == "gzip" ? "gunzip, " : "")frame (\(name) file)", unit: "MB/s", median: megabytes / time))
        }
        if sink == 42 { print("") }  // keeps the optimiser from dropping the loops
        return results
    }
}
