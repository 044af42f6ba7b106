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

/// The input formats `mask` reads.
public enum InputFormat: String, Sendable, CaseIterable {
    case csv
    case jsonl
    /// PostgreSQL `COPY … TO STDOUT` in its text format (`EscapedTextDialect.Flavor.postgres`).
    case pgtext
    /// MySQL / MariaDB `SELECT … INTO OUTFILE` and `mariadb --batch` (`EscapedTextDialect.Flavor.mysql`).
    case mysql

    /// Whether records are delimited fields (every format but JSONL).
    public var hasFields: Bool { self != .jsonl }

    /// The delimiter when none is given: CSV by the file name (`delimiter(fromPath:)`), tab for
    /// the database text formats (what `COPY` and `INTO OUTFILE` write by default).
    public static func delimiter(for format: InputFormat, path: String) -> UInt8 {
        switch format {
        case .csv, .jsonl: return delimiter(fromPath: path)
        case .pgtext, .mysql: return 0x09
        }
    }

    /// The escaped-text dialect of `pgtext` and `mysql` inputs, `nil` for CSV and JSONL.
    public func textDialect(_ dialect: CSVDialect, _ text: TextExportOptions) -> EscapedTextDialect? {
        let flavor: EscapedTextDialect.Flavor
        switch self {
        case .csv, .jsonl: return nil
        case .pgtext: flavor = .postgres
        case .mysql: flavor = .mysql
        }
        return EscapedTextDialect(
            flavor: flavor, delimiter: dialect.delimiter, hasHeader: dialect.hasHeader, escape: text.escape, enclose: text.enclose,
            nullString: text.nullString)
    }

    /// Guesses the format from a file name (`.csv`, `.tsv`, `.jsonl`, `.ndjson`, with `.gz`).
    public static func guess(fromPath path: String) -> InputFormat? {
        var name = path.lowercased()
        if name.hasSuffix(".gz") { name.removeLast(3) }
        if name.hasSuffix(".csv") || name.hasSuffix(".tsv") || name.hasSuffix(".psv") { return .csv }
        if name.hasSuffix(".jsonl") || name.hasSuffix(".ndjson") || name.hasSuffix(".json") { return .jsonl }
        return nil
    }

    /// The CSV delimiter a file name implies: tab for `.tsv`, `|` for `.psv` (with `.gz`), else `,`.
    public static func delimiter(fromPath path: String) -> UInt8 {
        var name = path.lowercased()
        if name.hasSuffix(".gz") { name.removeLast(3) }
        if name.hasSuffix(".tsv") { return 0x09 }
        if name.hasSuffix(".psv") { return UInt8(ascii: "|") }
        return UInt8(ascii: ",")
    }
}

/// How the database text formats spell what CSV has no word for (`--null-string`,
/// `--enclosed-by`, `--escaped-by`).
public struct TextExportOptions: Sendable, Equatable {
    /// A further spelling of NULL besides `\N` (`NULL` for `mariadb --batch`).
    public var nullString: [UInt8]?
    /// MySQL `ENCLOSED BY` (only `"`).
    public var enclose: UInt8?
    /// MySQL `ESCAPED BY`: `\` (default) or `"` (Cloud SQL).
    public var escape: UInt8 = EscapedTextDialect.backslash

    public init(nullString: [UInt8]? = nil, enclose: UInt8? = nil, escape: UInt8 = EscapedTextDialect.backslash) {
        self.nullString = nullString
        self.enclose = enclose
        self.escape = escape
    }
}

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
    /// Only look: write nothing, report where the rules' detectors find something in any field
    /// (`mask verify`; pass `CompiledRules.forVerification`).
    public var verifyOnly = false
    /// Called with a line for the user on stderr (warnings, summary).
    public var log: @Sendable (String) -> Void = { _ in }

    public init() {}
}

/// The result of a successful run.
public struct JobResult: Sendable {
    public var manifest: Manifest
    /// What `verifyOnly` found (record numbers are 1-based in the verified input).
    public var findings: [LocatedFinding] = []
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

extension CompiledRules {
    /// The same detectors, applied by `scan` to every field: what verification needs.
    public var forVerification: CompiledRules {
        var copy = self
        copy.fields = []
        copy.defaultPolicy = .scan(detectors: Array(detectors.indices), replacement: .token)
        return copy
    }
}

/// Why a run failed, sorted by the exit code the CLI maps it to.
public enum JobFailure: Error, CustomStringConvertible {
    case data(DataError)
    case usage(String)
    case io(String)
    /// `--verify` found personal data in the masked output (exit 1).
    case verification([LocatedFinding])

    public var description: String {
        switch self {
        case .data(let error): return error.description
        case .usage(let message), .io(let message): return message
        case .verification(let findings):
            return "verification failed: the masked output still holds data the verify rules detect:\n"
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
    public func run(source given: (any ByteSource)? = nil) throws -> JobResult {
        let started = Date()
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
        let prepared: (masker: any ChunkMasking, header: [UInt8], fieldNames: [String], policies: [FieldPolicy], dialect: CSVDialect)
        do {
            prepared = try prepare(chunker: chunker, values: values, inputName: shownName)
        } catch let error as OversizedRecord {
            throw JobFailure.data(DataError(kind: .recordTooLarge, detail: "no record end within \(error.limit) bytes", input: shownName, record: 1, byteOffset: error.offset))
        } catch let error as IOFailure {
            throw JobFailure.io(error.description)
        }
        statistics.fieldChanges = Array(repeating: 0, count: prepared.policies.count)
        statistics.fieldUnreadable = statistics.fieldChanges
        let verifier = try options.verifyRules.map { try makeVerifier(rules: $0.forVerification, maskedHeader: prepared.header, dialect: prepared.dialect) }
        let verifyOnlyMasker = options.verifyOnly ? try makeVerifier(rules: rules, maskedHeader: prepared.header, dialect: prepared.dialect) : nil

        let headerOutput = options.compress ? Self.compressed(prepared.header, level: options.level) : prepared.header
        let sink: OutputSink
        do {
            if options.verifyOnly {
                sink = DiscardSink()
            } else if let directory = options.outputDirectory {
                let ext = Self.partExtension(options.format, delimiter: options.dialect.delimiter) + (options.compress ? ".gz" : "")
                sink = try DirectorySink(
                    directory: directory, fileExtension: ext, header: headerOutput, maxPartSize: options.maxPartSize, overwrite: options.overwrite,
                    writeSuccessMarker: options.writeSuccessMarker, log: options.log)
            } else {
                sink = try StandardOutputSink(header: headerOutput)
            }
        } catch let error as UsageFailure {
            throw JobFailure.usage(error.description)
        } catch let error as IOFailure {
            throw JobFailure.io(error.description)
        }
        var rejects: RejectsWriter?
        do {
            rejects = try options.rejectsPath.map { try RejectsWriter(path: $0, header: prepared.header) }
        } catch {
            sink.abort()
            throw JobFailure.io("\(error)")
        }

        // `mask verify` reads with the same verifier that `--verify` runs on masked chunks.
        let masker: any ChunkMasking = verifyOnlyMasker ?? prepared.masker
        let compress = options.compress
        let level = options.level
        let progress = options.showProgress ? ProgressLine() : nil
        var warnings = 0
        var located: [LocatedFinding] = []
        do {
            try OrderedParallelMap.run(
                threads: options.threads, window: options.threads * 2 + 1,
                produce: { try chunker.next() },
                makeState: { WorkerState(level: compress ? level : nil) },
                transform: { chunk, state -> ProcessedChunk in
                    let masked = chunk.bytes.withUnsafeBytes { masker.mask($0, scratch: state.scratch) }
                    var output: [UInt8] = []
                    if let encoder = state.encoder {
                        masked.output.withUnsafeBytes { encoder.compress($0, appendingTo: &output) }
                    } else {
                        output = masked.output
                    }
                    var verified: [Finding] = []
                    if let verifier {
                        verified = masked.output.withUnsafeBytes { verifier.mask($0, scratch: state.scratch).findings }
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
                    for finding in masked.findings {
                        located.append(LocatedFinding(input: shownName, record: statistics.recordsIn + finding.recordInChunk,
                                                      byteOffset: processed.offset + finding.offsetInChunk, field: finding.field,
                                                      detector: rules.detectors[finding.detector].id))
                    }
                    statistics.merge(masked.statistics)
                    try sink.write(processed.output, records: masked.statistics.recordsOut)
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
            throw JobFailure.io("\(error)")
        }
        let finished = Date()
        let formatter = ISO8601DateFormatter()
        let manifest = Manifest(
            version: MaskVersion.current, status: "succeeded", input: inputName, format: options.format.rawValue,
            inputBytes: chunker.offset, inputCompressedBytes: source.compressedBytesRead,
            recordsIn: statistics.recordsIn, recordsOut: statistics.recordsOut, recordsRejected: statistics.recordsRejected,
            outputBytes: parts.reduce(0) { $0 + $1.bytes }, parts: parts,
            rules: .init(path: rules.path, fingerprint: rules.fingerprint), keyID: hasher?.keyID,
            detectors: rules.detectors.indices.map {
                .init(id: rules.detectors[$0].id, matches: statistics.detectorMatches[$0], validatorRejections: statistics.detectorRejections[$0],
                      matchLimitHits: statistics.detectorLimitHits[$0])
            },
            fields: prepared.fieldNames.indices.map {
                .init(name: prepared.fieldNames[$0], policy: prepared.policies[$0].name, changed: statistics.fieldChanges[$0],
                      unreadableByNormalizer: $0 < statistics.fieldUnreadable.count ? statistics.fieldUnreadable[$0] : 0)
            },
            threads: options.threads, compression: options.compress ? "gzip-\(options.level)" : "none",
            startedAt: formatter.string(from: started), finishedAt: formatter.string(from: finished),
            elapsedSeconds: (finished.timeIntervalSince(started) * 1000).rounded() / 1000)
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
        return JobResult(manifest: manifest, findings: located)
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

    /// Reads the header (CSV) and builds the format's masker.
    private func prepare(chunker: Chunker, values: ValueMasker, inputName: String) throws
        -> (masker: any ChunkMasking, header: [UInt8], fieldNames: [String], policies: [FieldPolicy], dialect: CSVDialect)
    {
        switch options.format {
        case .jsonl:
            // No header; a UTF-8 byte order mark, if the input starts with one, is carried like
            // a header (it starts every output part and the rejects file) instead of failing the
            // first record.
            let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
            var header: [UInt8] = []
            if try chunker.peek(minimum: 3).bytes.starts(with: bom) { header = try chunker.takePrefix(count: 3) }
            // Field rules are paths that need not occur in every record: no unknown-field check.
            let masker = JSONLChunkMasker(values: values, maxRecordSize: options.maxRecordSize, collectRejects: options.rejectsPath != nil)
            return (masker, header, masker.fieldNames, masker.policies, options.dialect)
        case .csv:
            let dialect = try Self.sniffDialect(options.dialect, chunker: chunker)
            let tokenizer = CSVTokenizer(dialect: dialect, maxRecordSize: options.maxRecordSize)
            let bomLength = try chunker.peek(minimum: 3).bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
            // The first record: the header, or (with --no-header) the record that fixes the column count.
            guard let first = try chunker.takeFirstRecord(skipping: bomLength), first.count > bomLength || dialect.hasHeader else {
                throw JobFailure.data(DataError(kind: .wrongFieldCount, detail: "the input is empty; expected a header", input: inputName, record: 0, byteOffset: 0))
            }
            var fields: [CSVField] = []
            let span = first.withUnsafeBytes { tokenizer.nextRecord(in: $0, from: bomLength, fields: &fields) }
            if let problem = span.problem {
                throw JobFailure.data(DataError(kind: problem, detail: dialect.hasHeader ? "in the header" : "", input: inputName, record: dialect.hasHeader ? 0 : 1, byteOffset: 0))
            }
            var scratch: [UInt8] = []
            let names: [String]
            if dialect.hasHeader {
                names = first.withUnsafeBytes { bytes in
                    fields.map { field in tokenizer.withDecodedValue(of: field, in: bytes, scratch: &scratch) { String(decoding: $0, as: UTF8.self) } }
                }
                try refuseDataAsHeader(names, values: values, inputName: inputName)
            } else {
                names = fields.indices.map { String($0 + 1) }
            }
            let plan: CSVColumnPlan
            do { plan = try CSVColumnPlan(names: names, rules: rules, requireExactFields: options.requireExactFields) } catch let error as PlanError { throw JobFailure.usage(error.description) }
            let masker = CSVChunkMasker(plan: plan, values: values, dialect: dialect, maxRecordSize: options.maxRecordSize,
                                        collectRejects: options.rejectsPath != nil)
            var header: [UInt8] = Array(first[0..<bomLength])
            if dialect.hasHeader {
                first.withUnsafeBytes { header += plan.maskedHeader($0, record: span, fields: fields, delimiter: dialect.delimiter) }
            } else {
                // Without a header the first record is data: put it back in front of the stream.
                chunker.pushBack(Array(first[bomLength...]))
            }
            return (masker, header, names, plan.policies, dialect)
        case .pgtext, .mysql:
            return try prepareText(options.format.textDialect(options.dialect, options.text)!, chunker: chunker, values: values, inputName: inputName)
        }
    }

    /// The header (or, with `--no-header`, the first record) of escaped text, read with the same
    /// rules as every record; names are decoded values.
    private func prepareText(_ text: EscapedTextDialect, chunker: Chunker, values: ValueMasker, inputName: String) throws
        -> (masker: any ChunkMasking, header: [UInt8], fieldNames: [String], policies: [FieldPolicy], dialect: CSVDialect)
    {
        guard let first = try chunker.takeFirstRecord(skipping: 0), !first.isEmpty || text.hasHeader else {
            throw JobFailure.data(DataError(kind: .wrongFieldCount, detail: "the input is empty; expected a header", input: inputName, record: 0, byteOffset: 0))
        }
        var fields: [CSVField] = []
        let span = first.withUnsafeBytes { text.nextRecord(in: $0, from: 0, fields: &fields) }!
        if let problem = span.problem {
            throw JobFailure.data(DataError(kind: problem, detail: text.hasHeader ? "in the header" : "", input: inputName, record: text.hasHeader ? 0 : 1, byteOffset: 0))
        }
        let names: [String]
        if text.hasHeader {
            var decoded: [UInt8] = []
            names = first.withUnsafeBytes { bytes in
                fields.map { field in
                    text.decode(UnsafeRawBufferPointer(rebasing: bytes[field.start..<field.end]), enclosed: field.quoted, into: &decoded)
                    return String(decoding: decoded, as: UTF8.self)
                }
            }
            try refuseDataAsHeader(names, values: values, inputName: inputName)
        } else {
            names = fields.indices.map { String($0 + 1) }
        }
        let plan: CSVColumnPlan
        do { plan = try CSVColumnPlan(names: names, rules: rules, requireExactFields: options.requireExactFields) } catch let error as PlanError { throw JobFailure.usage(error.description) }
        let masker = EscapedTextChunkMasker(plan: plan, values: values, dialect: text, maxRecordSize: options.maxRecordSize, collectRejects: options.rejectsPath != nil)
        var header: [UInt8] = []
        if text.hasHeader {
            first.withUnsafeBytes { header = plan.maskedHeader($0, record: span, fields: fields, delimiter: text.delimiter) }
        } else {
            chunker.pushBack(first)
        }
        return (masker, header, names, plan.policies, options.dialect)
    }

    /// `dialect` with the input's line end, read from its first bytes (see `sniffTerminator`),
    /// and the chunker set to frame by it.
    static func sniffDialect(_ dialect: CSVDialect, chunker: Chunker) throws -> CSVDialect {
        var sniffed = dialect
        var wanted = 64 * 1024
        while true {
            let (bytes, ended) = try chunker.peek(minimum: wanted)
            if let terminator = bytes.withUnsafeBytes({ dialect.sniffTerminator($0, endOfInput: ended || bytes.count >= 1 << 20) }) {
                sniffed.terminator = terminator
                break
            }
            wanted = bytes.count * 2
        }
        chunker.reframe(.csv(sniffed))
        return sniffed
    }

    /// A header is published in every part, in the manifest and in the summary: one whose names
    /// hold what a detector finds is a data row (`--no-header` forgotten, or the first line end
    /// lost) and must not go out as field names.
    private func refuseDataAsHeader(_ names: [String], values: ValueMasker, inputName: String) throws {
        let scratch = MaskScratch()
        var statistics = MaskStatistics(detectors: rules.detectors.count, fields: 0)
        let all = Array(rules.detectors.indices)
        for (index, name) in names.enumerated() {
            Array(name.utf8).withUnsafeBytes { values.detect(in: $0, detectors: all, scratch: scratch, statistics: &statistics) }
            if let detection = scratch.detections.first {
                throw JobFailure.data(DataError(
                    kind: .headerLooksLikeData,
                    detail: "field \(index + 1) holds what detector '\(rules.detectors[detection.detector].id)' finds; pass --no-header if the input has no header",
                    input: inputName, record: 0, byteOffset: 0))
            }
        }
    }

    /// A masker that rescans masked output and reports what it finds.
    private func makeVerifier(rules verification: CompiledRules, maskedHeader: [UInt8], dialect: CSVDialect) throws -> any ChunkMasking {
        let values = ValueMasker(rules: verification, hasher: nil)
        var scratchFields: [CSVField] = []
        switch options.format {
        case .csv:
            let names: [String]
            if dialect.hasHeader {
                names = maskedHeader.withUnsafeBytes { CSVHeader(parsing: $0, dialect: dialect).names }
            } else {
                names = []
            }
            let plan: CSVColumnPlan
            do {
                plan = try CSVColumnPlan(names: names.isEmpty ? ["1"] : names, rules: verification, requireExactFields: false)
            } catch let error as PlanError {
                throw JobFailure.usage(error.description)
            }
            return CSVVerifier(plan: plan, values: values, dialect: dialect, maxRecordSize: options.maxRecordSize)
        case .jsonl:
            return JSONLVerifier(values: values, maxRecordSize: options.maxRecordSize)
        case .pgtext, .mysql:
            let text = options.format.textDialect(dialect, options.text)!
            var names: [String] = []
            if text.hasHeader, maskedHeader.withUnsafeBytes({ text.nextRecord(in: $0, from: 0, fields: &scratchFields) }) != nil {
                var decoded: [UInt8] = []
                names = maskedHeader.withUnsafeBytes { bytes in
                    scratchFields.map { field in
                        text.decode(UnsafeRawBufferPointer(rebasing: bytes[field.start..<field.end]), enclosed: field.quoted, into: &decoded)
                        return String(decoding: decoded, as: UTF8.self)
                    }
                }
            }
            return EscapedTextVerifier(names: names, values: values, dialect: text)
        }
    }

    static func compressed(_ bytes: [UInt8], level: Int) -> [UInt8] {
        guard !bytes.isEmpty else { return [] }
        var output: [UInt8] = []
        bytes.withUnsafeBytes { GzipMemberEncoder(level: level).compress($0, appendingTo: &output) }
        return output
    }
}

/// Per-worker state: match data and scratch buffers, and a deflate compressor.
final class WorkerState {
    let scratch = MaskScratch()
    let encoder: GzipMemberEncoder?
    init(level: Int?) { encoder = level.map { GzipMemberEncoder(level: $0) } }
}

/// A chunk after masking and compression, on its way to the ordered writer.
struct ProcessedChunk: @unchecked Sendable {
    var offset: Int
    var inputBytes: Int
    var output: [UInt8]
    var masked: MaskedChunk
    /// Findings of `--verify` in this chunk's masked output.
    var verified: [Finding] = []
}

public enum MaskVersion {
    public static let current = "0.1.0"
}
