import Foundation
import MaskCore
import MaskEngine
import MaskRules

/// What a verification found in one input.
public struct VerifyResult: Sendable {
    /// The input's name as given (`<stdin>` for standard input).
    public var input: String
    public var recordsChecked: Int
    /// In input order; record numbers are 1-based (0: the CSV header).
    public var findings: [LocatedFinding]
}

/// `mask verify`: scans one masked input with every detector of the rules over every field or
/// string value, in parallel and in order like a masking run, writing nothing.
///
/// A record that cannot be read (an unterminated quote, invalid JSON) is a data error: a file
/// that is not records proves nothing either way, so it must not pass as clean.
///
/// It reads with the same job description as a masking run (`JobOptions`: input, format,
/// dialect, threads, chunk and record sizes); the settings about output are not used.
public struct VerifyJob {
    public let rules: CompiledRules
    public let options: JobOptions

    public init(rules: CompiledRules, options: JobOptions) {
        self.rules = rules.forVerification
        self.options = options
    }

    public func run() throws -> VerifyResult {
        let source: InputSource
        do { source = try InputSource(path: options.input) } catch let error as IOFailure { throw JobFailure.io(error.description) }
        let shownName = DisplayName.of(source.name)
        let text = options.format.textDialect(options.dialect, options.text)
        let framing: RecordFraming
        switch options.format {
        case .csv: framing = .csv(options.dialect)
        case .jsonl: framing = .lines
        case .pgtext, .mysql: framing = .escapedText(text!)
        }
        let chunker = Chunker(source: source, framing: framing, targetSize: options.chunkSize, maxRecordSize: options.maxRecordSize)
        var findings: [LocatedFinding] = []
        var records = 0
        do {
            let start = try InputStart.read(chunker, format: options.format, dialect: options.dialect, inputName: shownName)
            let scanner: any ChunkScanning
            do {
                scanner = try InputMasker.verifier(
                    rules: rules, format: options.format, dialect: start.dialect, text: text, maskedHeader: start.firstRecord,
                    maxRecordSize: options.maxRecordSize)
            } catch let error as PlanError {
                throw JobFailure.usage(error.description)
            }
            if options.format != .jsonl && start.dialect.hasHeader {
                // The header goes out with every part: a name that holds personal data is a leak too.
                let names = InputMasker.headerNames(of: start.firstRecord, dialect: start.dialect, text: text)
                findings += InputMasker.headerDetections(names, values: ValueMasker(rules: rules, hasher: nil)).map {
                    LocatedFinding(input: shownName, record: 0, byteOffset: 0, field: "column \($0.column + 1) of the header", detector: rules.detectors[$0.detector].id)
                }
            }
            let detectorNames = rules.detectors.map(\.id)
            try OrderedParallelMap.run(
                threads: options.threads, window: options.threads * 2 + 1,
                produce: { try chunker.next() },
                makeState: { MaskScratch() },
                transform: { chunk, scratch in (chunk.offset, chunk.bytes.withUnsafeBytes { scanner.scan($0, scratch: scratch) }) },
                consume: { (offset: Int, scanned: ScannedChunk) in
                    if let problem = scanned.problems.first {
                        throw JobFailure.data(DataError(
                            kind: problem.kind, detail: problem.detail, input: shownName,
                            record: records + problem.recordInChunk, byteOffset: offset + problem.offsetInChunk))
                    }
                    for finding in scanned.findings {
                        findings.append(LocatedFinding(
                            input: shownName, record: records + finding.recordInChunk, byteOffset: offset + finding.offsetInChunk,
                            field: finding.field, detector: detectorNames[finding.detector]))
                    }
                    records += scanned.statistics.recordsIn
                })
        } catch let oversized as OversizedRecord {
            throw JobFailure.data(DataError(
                kind: .recordTooLarge, detail: "no record end within \(oversized.limit) bytes; an unterminated quote?",
                input: shownName, record: records + 1, byteOffset: oversized.offset))
        } catch let failure as IOFailure {
            throw JobFailure.io(failure.description)
        }
        return VerifyResult(input: source.name, recordsChecked: records, findings: findings)
    }
}
