#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import MaskCompression
import MaskCore
import MaskEngine
import MaskRules

/// Everything a pipe-mode run needs besides the rules: runtime behaviour, set by flags.
public struct JobOptions: Sendable {
    public var input: String?
    public var format: InputFormat = .csv
    public var dialect = CSVDialect()
    /// NULL spelling and quoting of `pgtext` and `mysql` inputs.
    public var text = TextExportOptions()
    public var threads = max(1, ProcessInfo.processInfo.activeProcessorCount)
    public var chunkSize = 2 << 20
    public var maxRecordSize = 16 << 20
    public var compress = true
    /// With `compress`: gzip or zstd (one frame per chunk).
    public var codec = OutputCodec.gzip
    /// With gzip: one member per part, or one per chunk.
    public var gzipMembers = GzipMembers.single
    public var level = 6
    public var outputDirectory: String?
    public var maxPartSize = 256 << 20
    public var overwrite = false
    public var rejectsPath: String?
    /// `--report FILE` (`-` is standard output). Written after the output is committed; a report
    /// that then cannot be written is a warning, not a failed run (README, "--report").
    public var reportPath: String?
    /// `--output DIR` ends with `_SUCCESS`; `mask extract` turns it off in its table folders, whose
    /// one success marker is the extract's own.
    public var writeSuccessMarker = true
    public var showProgress = false
    /// Exact field names in the rules must be columns of the input (see `CSVColumnPlan`).
    public var requireExactFields = true
    /// Rescan every masked chunk with these rules (every field, every detector) and fail the run
    /// if anything is found (`--verify`).
    public var verifyRules: CompiledRules?
    /// Called with a line for the user on stderr (warnings, summary).
    public var log: @Sendable (String) -> Void = { _ in }

    public init() {}
}

/// The result of a successful run.
public struct JobResult: Sendable {
    public var manifest: Manifest
}

/// A detector hit in masked data, named by place, never by value.
public struct LocatedFinding: Sendable, CustomStringConvertible {
    public var input: String
    public var record: Int
    public var byteOffset: Int
    public var field: String
    public var detector: String

    public var description: String {
        byteOffset < 0
            ? "\(input): record \(record), field \(field): looks like \(detector)"
            : "\(input): record \(record) at byte offset \(byteOffset), field \(field): looks like \(detector)"
    }
}

extension LocatedFinding {
    /// Findings counted per field and detector, most frequent first, each with the first record
    /// it was seen in: `notes: ipv4 × 39 (first at record 12)`. A gate's log shows what kind of
    /// leak it is and where to look, however many findings there are.
    public static func summary(_ findings: [LocatedFinding]) -> [String] {
        var counts: [String: (field: String, detector: String, count: Int, first: Int)] = [:]
        var order: [String] = []
        for finding in findings {
            let key = finding.field + "\u{0}" + finding.detector
            if let existing = counts[key] {
                counts[key] = (existing.field, existing.detector, existing.count + 1, min(existing.first, finding.record))
            } else {
                counts[key] = (finding.field, finding.detector, 1, finding.record)
                order.append(key)
            }
        }
        let sorted = order.map { counts[$0]! }.sorted { $0.count != $1.count ? $0.count > $1.count : $0.first < $1.first }
        return sorted.map { "\(DisplayName.of($0.field)): \($0.detector) × \($0.count) (first at record \($0.first))" }
    }
}

/// Why a run failed, sorted by the exit code the CLI maps it to.
public enum JobFailure: CategorizedFailure {
    case data(DataError)
    case usage(String)
    case io(String)
    /// `--verify` found personal data in the masked output (exit 1).
    case verification([LocatedFinding])

    public var category: FailureCategory {
        switch self {
        case .data: return .data
        case .verification: return .verification
        case .usage: return .usage
        case .io: return .io
        }
    }

    public var description: String {
        switch self {
        case .data(let error): return error.description
        case .usage(let message), .io(let message): return message
        case .verification(let findings):
            return "verification failed: the masked output still holds data the verify rules detect (by field and detector, in the first chunk with findings):\n"
                + LocatedFinding.summary(findings).map { "  \($0)" }.joined(separator: "\n") + "\n"
                + findings.prefix(20).map { "  \($0)" }.joined(separator: "\n")
                + (findings.count > 20 ? "\n  … and \(findings.count - 20) more in this chunk" : "")
        }
    }
}

/// One pipe-mode run: input → chunks → workers (mask + deflate) → ordered sink.
public struct MaskJob {
    public let rules: CompiledRules
    public let hasher: KeyedHasher?
    public let options: JobOptions

    public init(rules: CompiledRules, hasher: KeyedHasher?, options: JobOptions) {
        self.rules = rules
        self.hasher = hasher
        self.options = options
    }

    /// - Parameter source: where the bytes come from; `options.input` (a file or stdin) when nil.
    ///
    /// A run that fails after its `--report` destination was checked still writes the report,
    /// with status "failed", the error and the counts reached, so a scheduler's log and its
    /// artefacts tell the same story. Nothing of the output is visible then.
    public func run(source given: (any ByteSource)? = nil) throws -> JobResult {
        let started = Date()
        var reached = RunReached()
        do {
            return try execute(source: given, started: started, reached: &reached)
        } catch let failure as JobFailure {
            if reached.reportChecked, let report = options.reportPath {
                let manifest = failedManifest(failure, reached: reached, started: started)
                do { try OutputFile.write(try manifest.encoded(), to: report, standardOutputDash: true, sweepStale: true) } catch {
                    options.log("warning: the run failed, and its report could not be written either: \(error)")
                }
            }
            throw failure
        }
    }

    /// How far a run got, for the report of a failed one.
    struct RunReached {
        var inputName: String?
        var reportChecked = false
        var inputBytes = 0
        var compressedBytes: Int?
        var statistics: MaskStatistics?
        var fieldNames: [String] = []
        var policies: [FieldPolicy] = []
        var matchedBy: [MatchKind] = []
        var patterns: [String?] = []
    }

    private func failedManifest(_ failure: JobFailure, reached: RunReached, started: Date) -> Manifest {
        let statistics = reached.statistics ?? MaskStatistics(detectors: rules.detectors.count, fields: reached.policies.count)
        var manifest = manifest(
            status: "failed", inputName: reached.inputName ?? options.input ?? "<stdin>", inputBytes: reached.inputBytes,
            compressedBytes: reached.compressedBytes, statistics: statistics, parts: [],
            fields: FieldListing(names: reached.fieldNames, policies: reached.policies, matchedBy: reached.matchedBy, patterns: reached.patterns),
            started: started)
        let category: String
        switch failure.category {
        case .data: category = "data"
        case .verification: category = "verification"
        case .usage: category = "usage"
        case .io: category = "io"
        case .store: category = "store"
        }
        manifest.error = .init(category: category, message: failure.description)
        return manifest
    }

    /// The fields as the report lists them: columns (CSV) or rule slots (JSONL), with how each
    /// got its policy.
    struct FieldListing {
        var names: [String]
        var policies: [FieldPolicy]
        var matchedBy: [MatchKind]
        /// The pattern that matched, per field (pattern-matched fields only).
        var patterns: [String?]

        init(names: [String], policies: [FieldPolicy], matchedBy: [MatchKind], patterns: [String?]) {
            self.names = names
            self.policies = policies
            self.matchedBy = matchedBy.count == names.count ? matchedBy : Array(repeating: .default, count: names.count)
            self.patterns = patterns.count == names.count ? patterns : Array(repeating: nil, count: names.count)
        }

        init(_ masker: InputMasker) {
            self.init(names: masker.fieldNames, policies: masker.policies, matchedBy: masker.matchedBy, patterns: masker.patterns)
        }
    }

    private func manifest(
        status: String, inputName: String, inputBytes: Int, compressedBytes: Int?, statistics: MaskStatistics, parts: [PartInfo],
        fields listing: FieldListing, started: Date
    ) -> Manifest {
        let finished = Date()
        let formatter = ISO8601DateFormatter()
        let fieldNames = listing.names, policies = listing.policies
        var manifest = Manifest(
            version: MaskVersion.current, status: status, input: inputName, format: options.format.rawValue,
            inputBytes: inputBytes, inputCompressedBytes: compressedBytes,
            recordsIn: statistics.recordsIn, recordsOut: statistics.recordsOut, recordsRejected: statistics.recordsRejected,
            outputBytes: parts.reduce(0) { $0 + $1.bytes }, parts: parts,
            rules: .init(path: rules.path, fingerprint: rules.fingerprint), keyID: hasher?.keyID,
            detectors: rules.detectors.indices.map {
                .init(id: rules.detectors[$0].id, matches: statistics.detectorMatches[$0], validatorRejections: statistics.detectorRejections[$0],
                      matchLimitHits: statistics.detectorLimitHits[$0])
            },
            fields: fieldNames.indices.map {
                .init(name: fieldNames[$0], policy: policies[$0].name, changed: $0 < statistics.fieldChanges.count ? statistics.fieldChanges[$0] : 0,
                      matchedBy: listing.matchedBy[$0].rawValue, rule: listing.patterns[$0],
                      unreadableByNormalizer: $0 < statistics.fieldUnreadable.count ? statistics.fieldUnreadable[$0] : 0,
                      key: Self.namedKey(of: policies[$0]))
            },
            threads: options.threads, compression: options.compress ? "\(options.codec.rawValue)-\(options.level)" : "none",
            startedAt: formatter.string(from: started), finishedAt: formatter.string(from: finished),
            elapsedSeconds: (finished.timeIntervalSince(started) * 1000).rounded() / 1000)
        manifest.paths = statistics.pathChanges.filter { $0.slot < policies.count }.map {
            .init(path: $0.path, policy: policies[$0.slot].name, changed: $0.changed, matchedBy: listing.matchedBy[$0.slot].rawValue,
                  rule: listing.patterns[$0.slot])
        }
        if options.compress && options.codec == .gzip { manifest.gzipMembers = options.gzipMembers.rawValue }
        manifest.dropped = fieldNames.indices.filter { policies[$0] == .drop }.map { fieldNames[$0] }
        if let named = hasher?.named, !named.isEmpty { manifest.keyIDs = named.mapValues(\.keyID) }
        return manifest
    }

    private func execute(source given: (any ByteSource)?, started: Date, reached: inout RunReached) throws -> JobResult {
        let source: any ByteSource
        if let given {
            source = given
        } else {
            do { source = try InputSource(path: options.input) } catch let error as IOFailure { throw JobFailure.io(error.description) }
        }
        let inputName = source.name
        // For messages: a name with a newline or an escape sequence must not forge a log line.
        let shownName = DisplayName.of(inputName)
        if let report = options.reportPath {
            do { try OutputFile.preflight(report, standardOutputDash: true, createdFolder: options.outputDirectory) } catch let error as IOFailure { throw JobFailure.io("--report: \(error)") }
        }
        reached.inputName = inputName
        reached.reportChecked = true
        let textDialect = options.format.textDialect(options.dialect, options.text)
        let framing: RecordFraming
        switch options.format {
        case .csv: framing = .csv(options.dialect)
        case .jsonl: framing = .lines
        case .pgtext, .mysql: framing = .escapedText(textDialect!)
        }
        let chunker = Chunker(
            source: source, framing: framing,
            targetSize: options.chunkSize, maxRecordSize: options.maxRecordSize)
        let values = ValueMasker(rules: rules, hasher: hasher)
        var statistics = MaskStatistics(detectors: rules.detectors.count, fields: 0)

        // The header is read before any worker starts: the plan (which column gets which policy)
        // depends on it, and a rules file naming a missing column must fail before output exists.
        let prepared: (masker: InputMasker, dialect: CSVDialect)
        do {
            prepared = try prepare(chunker: chunker, values: values, inputName: shownName)
        } catch let error as OversizedRecord {
            throw JobFailure.data(DataError(kind: .recordTooLarge, detail: "no record end within \(error.limit) bytes", input: shownName, record: 1, byteOffset: error.offset))
        } catch let error as IOFailure {
            throw JobFailure.io(error.description)
        }
        let header = prepared.masker.header
        statistics.fieldChanges = Array(repeating: 0, count: prepared.masker.policies.count)
        statistics.fieldUnreadable = statistics.fieldChanges
        reached.fieldNames = prepared.masker.fieldNames
        reached.policies = prepared.masker.policies
        reached.matchedBy = prepared.masker.matchedBy
        reached.patterns = prepared.masker.patterns
        let verifier: (any ChunkScanning)?
        do {
            verifier = try options.verifyRules.map {
                try InputMasker.verifier(
                    rules: $0, format: options.format, dialect: prepared.dialect, text: textDialect, maskedHeader: header, maxRecordSize: options.maxRecordSize)
            }
        } catch let error as PlanError {
            throw JobFailure.usage(error.description)
        }

        let singleMember = options.compress && options.codec == .gzip && options.gzipMembers == .single
        let members = options.gzipMembers
        let headerOutput = options.compress ? Self.compressed(header, codec: options.codec, level: options.level, members: members) : OutputUnit(bytes: header)
        let sink: OutputSink
        do {
            if let directory = options.outputDirectory {
                let ext = Self.partExtension(options.format, delimiter: options.dialect.delimiter) + (options.compress ? options.codec.fileExtension : "")
                sink = try DirectorySink(
                    directory: directory, fileExtension: ext, header: headerOutput, singleMember: singleMember, maxPartSize: options.maxPartSize,
                    overwrite: options.overwrite, writeSuccessMarker: options.writeSuccessMarker, log: options.log)
            } else {
                sink = try StandardOutputSink(header: headerOutput, singleMember: singleMember)
            }
        } catch let error as UsageFailure {
            throw JobFailure.usage(error.description)
        } catch let error as IOFailure {
            throw JobFailure.io(error.description)
        }
        var rejects: RejectsWriter?
        do {
            rejects = try options.rejectsPath.map { try RejectsWriter(path: $0, header: header) }
        } catch {
            sink.abort()
            throw JobFailure.io("\(error)")
        }

        let masker = prepared.masker.masker
        let compress = options.compress
        let codec = options.codec
        let level = options.level
        let progress = options.showProgress ? ProgressLine() : nil
        var warnings = 0
        do {
            try OrderedParallelMap.run(
                threads: options.threads, window: options.threads * 2 + 1,
                produce: { try chunker.next() },
                makeState: { WorkerState(encoder: compress ? codec.makeEncoder(level: level, members: members) : nil) },
                transform: { chunk, state -> ProcessedChunk in
                    let masked = chunk.bytes.withUnsafeBytes { masker.mask($0, scratch: state.scratch) }
                    var output = OutputUnit(bytes: [])
                    if let encoder = state.encoder {
                        masked.output.withUnsafeBytes { plain in
                            encoder.compress(plain, appendingTo: &output.bytes)
                            if singleMember { output.check(plain) }
                        }
                    } else {
                        output.bytes = masked.output
                    }
                    var verified: [Finding] = []
                    if let verifier {
                        verified = masked.output.withUnsafeBytes { verifier.scan($0, scratch: state.scratch).findings }
                    }
                    return ProcessedChunk(offset: chunk.offset, inputBytes: chunk.bytes.count, output: output, masked: masked, verified: verified)
                },
                consume: { processed in
                    let masked = processed.masked
                    for problem in masked.problems {
                        let error = DataError(
                            kind: problem.kind, detail: problem.detail, input: shownName,
                            record: statistics.recordsIn + problem.recordInChunk,
                            byteOffset: processed.offset + problem.offsetInChunk)
                        guard rejects != nil else { throw JobFailure.data(error) }
                        warnings += 1
                        if warnings <= 10 { options.log("warning: \(error) (written masked to \(DisplayName.of(options.rejectsPath!)))") }
                    }
                    if !masked.rejects.isEmpty { try rejects!.write(masked.rejects) }
                    if !processed.verified.isEmpty {
                        let detectorNames = options.verifyRules!.detectors.map(\.id)
                        throw JobFailure.verification(processed.verified.map {
                            LocatedFinding(input: "\(shownName) (masked output)", record: statistics.recordsOut + $0.recordInChunk, byteOffset: -1,
                                           field: $0.field, detector: detectorNames[$0.detector])
                        })
                    }
                    statistics.merge(masked.statistics)
                    try sink.write(processed.output, records: masked.statistics.recordsOut)
                    reached.statistics = statistics
                    reached.inputBytes = processed.offset + processed.inputBytes
                    reached.compressedBytes = source.compressedBytesRead
                    progress?.update(records: statistics.recordsIn, bytes: processed.offset + processed.inputBytes)
                })
        } catch {
            sink.abort()
            rejects?.abort()
            progress?.finish()
            switch error {
            case let failure as JobFailure: throw failure
            case let oversized as OversizedRecord:
                throw JobFailure.data(DataError(
                    kind: .recordTooLarge, detail: "no record end within \(oversized.limit) bytes; an unterminated quote?",
                    input: shownName, record: statistics.recordsIn + 1, byteOffset: oversized.offset))
            case let failure as IOFailure: throw JobFailure.io(failure.description)
            case is BrokenPipe: throw error
            default: throw JobFailure.io("\(error)")
            }
        }
        progress?.finish()
        if warnings > 10 { options.log("warning: \(warnings - 10) more malformed records written to \(DisplayName.of(options.rejectsPath!))") }
        for (index, hits) in statistics.detectorLimitHits.enumerated() where hits > 0 {
            options.log("warning: detector '\(rules.detectors[index].id)' hit PCRE2's match limit on \(hits) value(s); each was replaced whole by its token (simplify the pattern)")
        }

        // The rejects are committed before the output: a failure there must fail the run while
        // nothing of it is visible yet.
        let parts: [PartInfo]
        do {
            parts = try sink.finish()
            try rejects?.commit()
        } catch {
            sink.abort()
            rejects?.abort()
            if error is BrokenPipe { throw error }  // the single member's trailer, to a reader that left
            throw JobFailure.io("\(error)")
        }
        let manifest = manifest(
            status: "succeeded", inputName: inputName, inputBytes: chunker.offset, compressedBytes: source.compressedBytesRead,
            statistics: statistics, parts: parts, fields: FieldListing(prepared.masker), started: started)
        let encoded: [UInt8]
        do {
            encoded = try manifest.encoded()
            try sink.publish(manifest: encoded)
        } catch {
            sink.abort()
            throw JobFailure.io("\(error)")
        }
        // The output is committed (`_SUCCESS` written, or every byte on stdout): failing the run
        // now would make an orchestrator retry a run that is done, and the retry refuse to
        // overwrite it. The report is the one thing missing, and the warning says so.
        if let report = options.reportPath {
            do { try OutputFile.write(encoded, to: report, standardOutputDash: true, sweepStale: true) } catch {
                options.log("warning: the output is committed, but the report could not be written: \(error)")
            }
        }
        return JobResult(manifest: manifest)
    }

    /// What parts are named: `.csv`, `.tsv` (tab-separated CSV), `.jsonl`; `.txt` for the
    /// database text formats, whose escapes a CSV loader would not read.
    static func partExtension(_ format: InputFormat, delimiter: UInt8) -> String {
        switch format {
        case .csv: return delimiter == 0x09 ? ".tsv" : ".csv"
        case .jsonl: return ".jsonl"
        case .pgtext, .mysql: return ".txt"
        }
    }

    /// Reads the start of the input and builds its masker (`InputMasker`, the one factory).
    private func prepare(chunker: Chunker, values: ValueMasker, inputName: String) throws -> (masker: InputMasker, dialect: CSVDialect) {
        let start = try InputStart.read(chunker, format: options.format, dialect: options.dialect, inputName: inputName)
        let settings = MaskerSettings(
            maxRecordSize: options.maxRecordSize, collectRejects: options.rejectsPath != nil, requireExactFields: options.requireExactFields)
        switch options.format {
        case .jsonl:
            // Field rules are paths that need not occur in every record: no unknown-field check.
            return (InputMasker.jsonl(byteOrderMark: start.firstRecord, values: values, settings: settings), start.dialect)
        case .csv, .pgtext, .mysql:
            do {
                let masker: InputMasker
                if let text = options.format.textDialect(options.dialect, options.text) {
                    masker = try InputMasker.escapedText(firstRecord: start.firstRecord, text: text, values: values, settings: settings, inputName: inputName)
                } else {
                    masker = try InputMasker.csv(
                        firstRecord: start.firstRecord, bomLength: start.bomLength, dialect: start.dialect, values: values, settings: settings,
                        inputName: inputName)
                }
                return (masker, start.dialect)
            } catch let error as PlanError {
                throw JobFailure.usage(error.description)
            } catch let error as DataError {
                throw JobFailure.data(error)
            }
        }
    }

    /// The `hash.keys` name a field's policy hashes with, if any.
    static func namedKey(of policy: FieldPolicy) -> String? {
        if case .hash(_, let options) = policy { return options.key }
        return nil
    }

    static func compressed(_ bytes: [UInt8], codec: OutputCodec, level: Int, members: GzipMembers) -> OutputUnit {
        var output = OutputUnit(bytes: [])
        guard !bytes.isEmpty else { return output }
        bytes.withUnsafeBytes { plain in
            codec.makeEncoder(level: level, members: members).compress(plain, appendingTo: &output.bytes)
            output.check(plain)
        }
        return output
    }
}

/// Per-worker state: match data and scratch buffers, and a deflate compressor.
final class WorkerState {
    let scratch = MaskScratch()
    let encoder: (any ChunkEncoder)?
    init(encoder: (any ChunkEncoder)?) { self.encoder = encoder }
}

/// A chunk after masking and compression, on its way to the ordered writer.
struct ProcessedChunk: Sendable {
    var offset: Int
    var inputBytes: Int
    var output: OutputUnit
    var masked: MaskedChunk
    /// Findings of `--verify` in this chunk's masked output.
    var verified: [Finding] = []
}

public enum MaskVersion {
    public static let current = "0.1.0"
}
