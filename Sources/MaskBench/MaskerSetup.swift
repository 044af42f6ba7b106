import MaskCore
import MaskEngine
import MaskRules

/// The masker for a bench input, from the factory pipe mode uses (`InputMasker`).
struct MaskerSetup {
    var masker: any ChunkMasking
    var framing: RecordFraming
    /// Where the records start (after the CSV header).
    var bodyStart: Int
    var fieldNames: [String]
    var policies: [FieldPolicy]

    init(rules: CompiledRules, values: ValueMasker, options: BenchOptions) throws {
        // Rejects collected, as a run with --rejects would: a malformed record costs the same.
        let settings = MaskerSettings(collectRejects: true)
        let built: InputMasker
        switch options.format {
        case .csv:
            let header = options.input.withUnsafeBytes { CSVHeader(parsing: $0, dialect: options.dialect) }
            do {
                built = try InputMasker.csv(
                    firstRecord: Array(options.input[0..<header.record.end]), bomLength: header.bomLength, dialect: options.dialect,
                    values: values, settings: settings, inputName: options.inputName)
            } catch {
                throw BenchError(description: "\(error)")
            }
            framing = .csv(options.dialect)
            bodyStart = options.dialect.hasHeader ? header.record.end : header.bomLength
        case .jsonl:
            built = InputMasker.jsonl(byteOrderMark: [], values: values, settings: settings)
            framing = .lines
            bodyStart = 0
        }
        masker = built.masker
        fieldNames = built.fieldNames
        policies = built.policies
    }
}

/// Times each detector alone over the values that scan policies hand it.
///
/// The values are collected by running the real masker once over the first `profileBytes` of
/// the input (cut at a record boundary) with a `ScanRecorder` in its scratch, so CSV and JSONL
/// are profiled alike and exactly: the same unquoted or unescaped values, the same policies
/// and detector lists, keys and untouched numbers left out.
struct DetectorProfile {
    var passRates: [Double]
    var shares: [Double]
    var nanosecondsPerByte: [Double]
    var nanosecondsPerByteUnfiltered: [Double]

    static func measure(setup: MaskerSetup, values: ValueMasker, options: BenchOptions) -> DetectorProfile {
        let detectorCount = values.rules.detectors.count
        let recorder = ScanRecorder()
        var sampleEnd = min(options.input.count, setup.bodyStart + options.profileBytes)
        options.input.withUnsafeBytes { all in
            let window = UnsafeRawBufferPointer(rebasing: all[setup.bodyStart..<sampleEnd])
            // A cut record would be reported as malformed and scanned with every detector.
            if sampleEnd < all.count, let boundary = setup.framing.lastBoundary(in: window) { sampleEnd = setup.bodyStart + boundary }
            let recording = MaskScratch()
            recording.scanRecorder = recorder
            _ = setup.masker.mask(UnsafeRawBufferPointer(rebasing: all[setup.bodyStart..<sampleEnd]), scratch: recording)
        }
        let flat = recorder.bytes
        let items = recorder.values
        let profiledBytes = Double(max(sampleEnd - setup.bodyStart, 1))
        var passRates = Array(repeating: 0.0, count: detectorCount)
        var filtered = Array(repeating: 0.0, count: detectorCount)
        var unfiltered = Array(repeating: 0.0, count: detectorCount)
        let scratch = MaskScratch()
        var statistics = MaskStatistics(detectors: detectorCount, fields: 0)
        flat.withUnsafeBytes { buffer in
            for detector in 0..<detectorCount {
                let mine = items.filter { $0.1.contains(detector) }
                guard !mine.isEmpty else { continue }
                var passes = 0
                for (range, _) in mine where ValueMasker.prefilterPasses(values.detectors[detector].prefilter, UnsafeRawBufferPointer(rebasing: buffer[range])) {
                    passes += 1
                }
                passRates[detector] = Double(passes) / Double(mine.count)
                for usePrefilter in [true, false] {
                    let started = BenchRunner.now()
                    for (range, _) in mine {
                        values.detect(in: UnsafeRawBufferPointer(rebasing: buffer[range]), detectors: [detector], scratch: scratch,
                                      statistics: &statistics, usePrefilter: usePrefilter)
                    }
                    let elapsed = BenchRunner.now() - started
                    if usePrefilter { filtered[detector] = elapsed } else { unfiltered[detector] = elapsed }
                }
            }
        }
        let total = filtered.reduce(0, +)
        return DetectorProfile(
            passRates: passRates,
            shares: filtered.map { total > 0 ? $0 / total : 0 },
            nanosecondsPerByte: filtered.map { $0 * 1e9 / profiledBytes },
            nanosecondsPerByteUnfiltered: unfiltered.map { $0 * 1e9 / profiledBytes })
    }
}
