#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Foundation
import Synchronization
import MaskSynthetic
import MaskCompression
import MaskCore
import MaskEngine
import MaskRules

/// What to bench: one input, held in memory, and how to run it.
public struct BenchOptions: Sendable {
    public var input: [UInt8]
    public var inputName: String
    public var format: SyntheticExtract.Format
    public var dialect = CSVDialect()
    public var threads = 1
    public var iterations = 5
    public var warmups = 1
    public var chunkSize = 2 << 20
    /// Also deflate each masked chunk at this level (nil: mask only).
    public var deflateLevel: Int?
    /// Bytes of input used for the per-detector profile.
    public var profileBytes = 8 << 20

    public init(input: [UInt8], inputName: String, format: SyntheticExtract.Format) {
        self.input = input
        self.inputName = inputName
        self.format = format
    }
}

/// Figures for one rule set.
public struct RuleSetReport: Codable, Sendable {
    public struct Rate: Codable, Sendable {
        public var median: Double
        public var min: Double
        public var max: Double
    }

    public struct DetectorFigures: Codable, Sendable {
        public var id: String
        public var matches: Int
        public var validatorRejections: Int
        /// Share of scanned values whose prefilter said "maybe".
        public var prefilterPassRate: Double
        /// Share of the detectors' total time spent in this one.
        public var timeShare: Double
        /// Detector time per byte of profiled input.
        public var nanosecondsPerByte: Double
        /// The same without its prefilter (the regex on every scanned value).
        public var nanosecondsPerByteWithoutPrefilter: Double

        enum CodingKeys: String, CodingKey {
            case id, matches
            case validatorRejections = "validator_rejections"
            case prefilterPassRate = "prefilter_pass_rate"
            case timeShare = "time_share"
            case nanosecondsPerByte = "nanoseconds_per_byte"
            case nanosecondsPerByteWithoutPrefilter = "nanoseconds_per_byte_without_prefilter"
        }
    }

    public struct FieldFigures: Codable, Sendable {
        public var name: String
        public var policy: String
        public var changed: Int
    }

    public var rules: String
    public var fingerprint: String
    public var inputBytes: Int
    public var records: Int
    public var iterations: Int
    public var threads: Int
    public var deflateLevel: Int?
    public var megabytesPerSecond: Rate
    public var recordsPerSecond: Rate
    public var detectors: [DetectorFigures]
    public var fields: [FieldFigures]

    enum CodingKeys: String, CodingKey {
        case rules, fingerprint, records, iterations, threads, detectors, fields
        case inputBytes = "input_bytes"
        case deflateLevel = "deflate_level"
        case megabytesPerSecond = "megabytes_per_second"
        case recordsPerSecond = "records_per_second"
    }
}

public struct BenchReport: Codable, Sendable {
    public var schemaVersion = ReportJSON.schemaVersion
    public var tool = "mask bench"
    public var input: String
    public var format: String
    /// How the input was read: always replayed from memory.
    public var inputMode = "in-memory replay"
    public var profileMethod = "each detector run alone over the values the scan policies handed it in one real masking pass over the profiled sample (recorded, CSV and JSONL alike), timed per pass"
    public var ruleSets: [RuleSetReport]

    enum CodingKeys: String, CodingKey {
        case schemaVersion = "schema_version"
        case tool, input, format
        case inputMode = "input_mode"
        case profileMethod = "profile_method"
        case ruleSets = "rule_sets"
    }

    public init(input: String, format: String, ruleSets: [RuleSetReport]) {
        self.input = input
        self.format = format
        self.ruleSets = ruleSets
    }
}

public struct BenchError: CategorizedFailure {
    public var description: String
    public var category: FailureCategory { .usage }
}

public enum BenchRunner {
    public static func run(rules: CompiledRules, options: BenchOptions) throws -> RuleSetReport {
        let hasher = rules.usesHash ? KeyedHasher(keyBytes: Array("mask-bench-throwaway-key".utf8), settings: rules.hash) : nil
        let values = ValueMasker(rules: rules, hasher: hasher)
        let setup = try MaskerSetup(rules: rules, values: values, options: options)
        let chunks = options.input.withUnsafeBytes { split($0, from: setup.bodyStart, framing: setup.framing, size: options.chunkSize) }

        var statistics = MaskStatistics(detectors: rules.detectors.count, fields: setup.fieldNames.count)
        var seconds: [Double] = []
        for iteration in 0..<(options.warmups + options.iterations) {
            let (elapsed, stats) = timeOnePass(chunks: chunks, options: options, masker: setup.masker, detectorCount: rules.detectors.count)
            if iteration == 0 { statistics = stats }
            if iteration >= options.warmups { seconds.append(elapsed) }
        }
        let bytes = Double(options.input.count)
        let sortedSeconds = seconds.sorted()
        let median = sortedSeconds[sortedSeconds.count / 2]
        let rate = { (amount: Double) in
            RuleSetReport.Rate(median: amount / median, min: amount / sortedSeconds.last!, max: amount / sortedSeconds.first!)
        }
        let profile = DetectorProfile.measure(setup: setup, values: values, options: options)
        let detectors = rules.detectors.indices.map { index in
            RuleSetReport.DetectorFigures(
                id: rules.detectors[index].id,
                matches: statistics.detectorMatches[index],
                validatorRejections: statistics.detectorRejections[index],
                prefilterPassRate: profile.passRates[index],
                timeShare: profile.shares[index],
                nanosecondsPerByte: profile.nanosecondsPerByte[index],
                nanosecondsPerByteWithoutPrefilter: profile.nanosecondsPerByteUnfiltered[index])
        }
        let fields = setup.fieldNames.indices.map {
            RuleSetReport.FieldFigures(name: setup.fieldNames[$0], policy: setup.policies[$0].name,
                                       changed: $0 < statistics.fieldChanges.count ? statistics.fieldChanges[$0] : 0)
        }
        return RuleSetReport(
            rules: rules.path, fingerprint: rules.fingerprint, inputBytes: options.input.count, records: statistics.recordsIn,
            iterations: options.iterations, threads: options.threads, deflateLevel: options.deflateLevel,
            megabytesPerSecond: rate(bytes / 1_000_000), recordsPerSecond: rate(Double(statistics.recordsIn)),
            detectors: detectors, fields: fields)
    }

    /// Record-aligned chunk ranges of the input body.
    static func split(_ bytes: UnsafeRawBufferPointer, from start: Int, framing: RecordFraming, size: Int) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        var position = start
        while position < bytes.count {
            let limit = min(bytes.count, position + size)
            var end = limit
            if limit < bytes.count {
                var window = limit
                while true {
                    if let boundary = framing.lastBoundary(in: UnsafeRawBufferPointer(rebasing: bytes[position..<window])) {
                        end = position + boundary
                        break
                    }
                    if window == bytes.count { end = bytes.count; break }
                    window = min(bytes.count, window + size)
                }
            }
            ranges.append(position..<end)
            position = end
        }
        return ranges
    }

    static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

    /// Masks (and optionally deflates) every chunk on `threads` threads; returns the wall time.
    static func timeOnePass(chunks: [Range<Int>], options: BenchOptions, masker: any ChunkMasking, detectorCount: Int) -> (Double, MaskStatistics) {
        let next = Atomic<Int>(0)
        let merged = Mutex<[Int: MaskStatistics]>([:])
        let input = options.input
        let started = now()
        DispatchQueue.concurrentPerform(iterations: options.threads) { _ in
            let scratch = MaskScratch()
            // What a run writes by default: one member per part, so each chunk a non-final span.
            let encoder = options.deflateLevel.map { GzipSpanEncoder(level: $0) }
            var compressed: [UInt8] = []
            while true {
                let index = next.wrappingAdd(1, ordering: .relaxed).oldValue
                guard index < chunks.count else { return }
                let masked = input.withUnsafeBytes { masker.mask(UnsafeRawBufferPointer(rebasing: $0[chunks[index]]), scratch: scratch) }
                if let encoder {
                    compressed.removeAll(keepingCapacity: true)
                    masked.output.withUnsafeBytes { encoder.compress($0, appendingTo: &compressed) }
                }
                merged.withLock { $0[index] = masked.statistics }
            }
        }
        let elapsed = now() - started
        var total = MaskStatistics(detectors: detectorCount, fields: 0)
        let results = merged.withLock { $0 }
        for index in chunks.indices { if let stats = results[index] { total.merge(stats) } }
        return (elapsed, total)
    }
}
