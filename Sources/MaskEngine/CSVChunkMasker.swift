import MaskCore
import MaskRules

/// A malformed record found in a chunk, located relative to the chunk.
public struct ChunkProblem: Sendable, Equatable {
    public var kind: DataError.Kind
    public var detail: String
    /// 1-based index of the record within the chunk.
    public var recordInChunk: Int
    /// Offset of the record's first byte within the chunk.
    public var offsetInChunk: Int

    public init(kind: DataError.Kind, detail: String, recordInChunk: Int, offsetInChunk: Int) {
        self.kind = kind
        self.detail = detail
        self.recordInChunk = recordInChunk
        self.offsetInChunk = offsetInChunk
    }
}

/// Something a detector found in a field, located without its value (`mask verify`).
public struct Finding: Sendable, Equatable {
    public var recordInChunk: Int
    public var offsetInChunk: Int
    /// Column name (CSV) or field path (JSON).
    public var field: String
    /// Index into the rules' detectors.
    public var detector: Int

    public init(recordInChunk: Int, offsetInChunk: Int, field: String, detector: Int) {
        self.recordInChunk = recordInChunk
        self.offsetInChunk = offsetInChunk
        self.field = field
        self.detector = detector
    }
}

/// What masking one chunk produced.
public struct MaskedChunk: Sendable {
    public var output: [UInt8]
    public var statistics: MaskStatistics
    public var problems: [ChunkProblem]
    /// Malformed records, masked by a raw scan with every detector (only with rejects enabled).
    public var rejects: [UInt8]

    public init(output: [UInt8], statistics: MaskStatistics, problems: [ChunkProblem], rejects: [UInt8]) {
        self.output = output
        self.statistics = statistics
        self.problems = problems
        self.rejects = rejects
    }
}

/// Masks record-aligned chunks of CSV.
public struct CSVChunkMasker: Sendable {
    public let plan: CSVColumnPlan
    public let values: ValueMasker
    public let tokenizer: CSVTokenizer
    public let maxRecordSize: Int
    /// Write malformed records, masked, to rejects instead of only reporting them.
    public let collectRejects: Bool
    let programs: [PolicyProgram]
    /// Per column: the policy kind to branch on, and the program unretained (`programs` keeps
    /// them alive), so that a field costs no retain and release of its program.
    let kinds: [PolicyProgram.Kind]
    let unretainedPrograms: [Unmanaged<PolicyProgram>]
    /// For rejects: every detector, tokens (what a column without a stronger policy gets).
    let scanEverything: PolicyProgram
    /// For rejects: a field that may belong to a protected column but cannot be told which.
    let redactUnaligned: PolicyProgram

    public init(plan: CSVColumnPlan, values: ValueMasker, dialect: CSVDialect, maxRecordSize: Int, collectRejects: Bool) {
        self.plan = plan
        self.values = values
        tokenizer = CSVTokenizer(dialect: dialect, maxRecordSize: maxRecordSize)
        scanEverything = PolicyProgram(.scan(detectors: Array(values.rules.detectors.indices), replacement: .token))
        redactUnaligned = PolicyProgram(.redact(token: Array("[REDACTED]".utf8)))
        self.maxRecordSize = maxRecordSize
        self.collectRejects = collectRejects
        let detectors = values.rules.detectors
        programs = plan.programs(values: values, maxRecordSize: maxRecordSize)
        kinds = programs.map(\.kind)
        unretainedPrograms = programs.map { Unmanaged.passUnretained($0) }
    }

    /// Masks every record of `chunk`, which starts at a record boundary and ends at one (or at
    /// the end of input).
    ///
    /// The loop over fields reads fields and programs through buffer pointers, counts changes in
    /// a local buffer and writes into `OutputBytes`: with arrays, every field cost retains,
    /// releases and uniqueness checks (~14% of masking CPU in a profile).
    public func mask(_ chunk: UnsafeRawBufferPointer, scratch: MaskScratch) -> MaskedChunk {
        var statistics = MaskStatistics(detectors: 0, fields: 0)
        var problems: [ChunkProblem] = []
        var rejects: [UInt8] = []
        // Written in place into the array handed on; rerun from the start if it outgrows the room.
        let output = OutputBytes.array(capacity: chunk.count + chunk.count / 8) { output in
            statistics = MaskStatistics(detectors: values.rules.detectors.count, fields: plan.policies.count)
            problems = []
            rejects = []
            maskRecords(chunk, scratch: scratch, into: &output, statistics: &statistics, problems: &problems, rejects: &rejects)
        }
        return MaskedChunk(output: output, statistics: statistics, problems: problems, rejects: rejects)
    }

    private func maskRecords(
        _ chunk: UnsafeRawBufferPointer, scratch: MaskScratch, into output: inout OutputBytes, statistics: inout MaskStatistics,
        problems: inout [ChunkProblem], rejects: inout [UInt8]
    ) {
        let delimiter = tokenizer.dialect.delimiter
        let expected = plan.expectedFieldCount
        let changes = UnsafeMutableBufferPointer<Int>.allocate(capacity: max(programs.count, 1))
        changes.initialize(repeating: 0)
        defer { changes.deallocate() }
        // A pending run of input bytes to copy verbatim; runs merge across fields and records.
        var copyStart = -1
        var copyEnd = -1
        var position = 0
        var recordIndex = 0
        let kinds = self.kinds
        let programs = unretainedPrograms
        kinds.withUnsafeBufferPointer { kinds in
        programs.withUnsafeBufferPointer { programs in
            while position < chunk.count {
                let record = tokenizer.nextRecord(in: chunk, from: position, fields: &scratch.fields)
                position = record.end
                if record.isBlankLine && expected != 1 {
                    // A blank line holds no record: it passes through as it came and is not counted.
                    if copyStart >= 0 && copyEnd == record.start { copyEnd = record.end } else {
                        if copyStart >= 0 { output.append(UnsafeRawBufferPointer(rebasing: chunk[copyStart..<copyEnd])) }
                        copyStart = record.start; copyEnd = record.end
                    }
                    continue
                }
                recordIndex += 1
                statistics.recordsIn += 1
                var problem = record.problem
                var detail = ""
                let fieldCount = scratch.fields.count
                if problem == nil && record.end - record.start > maxRecordSize {
                    problem = .recordTooLarge
                    detail = "\(record.end - record.start) bytes, limit \(maxRecordSize)"
                }
                if problem == nil && fieldCount != expected {
                    problem = .wrongFieldCount
                    detail = "expected \(expected) fields, found \(fieldCount)"
                }
                if let problem {
                    problems.append(ChunkProblem(kind: problem, detail: detail, recordInChunk: recordIndex, offsetInChunk: record.start))
                    if collectRejects {
                        statistics.recordsRejected += 1
                        maskReject(chunk, record: record, scratch: scratch, statistics: &statistics, into: &rejects)
                    }
                    continue
                }
                statistics.recordsOut += 1
                var emittedAny = false
                for column in 0..<fieldCount {
                    let field = scratch.fields.withUnsafeBufferPointer { $0[column] }
                    let kind = kinds[column]
                    if kind == .drop { continue }
                    var outcome = ValueMasker.Outcome.unchanged
                    if kind != .keep {
                        if kind == .null {
                            outcome = field.isEmpty && !field.quoted ? .unchanged : .null
                        } else if !field.hasEscapedQuotes {
                            outcome = programs[column]._withUnsafeGuaranteedRef { program in
                                values.apply(
                                    program, to: UnsafeRawBufferPointer(rebasing: chunk[field.start..<field.end]), scratch: scratch,
                                    statistics: &statistics)
                            }
                        } else {
                            outcome = tokenizer.withDecodedValue(of: field, in: chunk, scratch: &scratch.decoded) { value in
                                programs[column]._withUnsafeGuaranteedRef { program in
                                    values.apply(program, to: value, scratch: scratch, statistics: &statistics)
                                }
                            }
                        }
                    }
                    if (kind == .hash && outcome == .replaced || kind == .json) && scratch.hashedUnreadable { statistics.fieldUnreadable[column] += 1 }
                    if outcome == .unchanged {
                        let contiguous = emittedAny ? copyEnd + 1 == field.rawStart : copyEnd == field.rawStart
                        if copyStart >= 0 && contiguous {
                            copyEnd = field.rawEnd
                        } else {
                            if copyStart >= 0 { output.append(UnsafeRawBufferPointer(rebasing: chunk[copyStart..<copyEnd])) }
                            if emittedAny { output.append(delimiter) }
                            copyStart = field.rawStart
                            copyEnd = field.rawEnd
                        }
                    } else {
                        changes[column] += 1
                        if copyStart >= 0 {
                            output.append(UnsafeRawBufferPointer(rebasing: chunk[copyStart..<copyEnd]))
                            copyStart = -1
                        }
                        if emittedAny { output.append(delimiter) }
                        if outcome == .replaced {
                            scratch.replacement.withUnsafeBytes {
                                tokenizer.dialect.appendField($0, forceQuotes: field.quoted, to: &output)
                            }
                        }
                    }
                    emittedAny = true
                }
                if copyStart >= 0 && copyEnd == record.contentEnd {
                    copyEnd = record.end
                } else {
                    if copyStart >= 0 {
                        output.append(UnsafeRawBufferPointer(rebasing: chunk[copyStart..<copyEnd]))
                        copyStart = -1
                    }
                    output.append(UnsafeRawBufferPointer(rebasing: chunk[record.contentEnd..<record.end]))
                }
            }
        }
        if copyStart >= 0 { output.append(UnsafeRawBufferPointer(rebasing: chunk[copyStart..<copyEnd])) }
        }
        for column in 0..<programs.count { statistics.fieldChanges[column] += changes[column] }
    }
}

extension CSVChunkMasker {
    /// Writes a malformed record to the rejects, at least as masked as the output would have had
    /// it: every field is scanned with every detector, and a field whose column is protected
    /// (hash, redact, mask, null, drop) gets that column's policy when the record has the header's
    /// width, or is redacted whole when it has not and the field could belong to such a column
    /// (with k fields for n columns, field i lies somewhere in columns i-(k-n)...i or i...i+(n-k)).
    func maskReject(
        _ chunk: UnsafeRawBufferPointer, record: CSVRecordSpan, scratch: MaskScratch, statistics: inout MaskStatistics,
        into rejects: inout [UInt8]
    ) {
        let fields = scratch.fields
        let columns = programs.count
        let shift = fields.count - columns
        let delimiter = tokenizer.dialect.delimiter
        var first = true
        var decoded: [UInt8] = []
        for (index, field) in fields.enumerated() {
            var program = scanEverything
            if columns > 0 {
                let lower = max(0, min(index, index - shift))
                let upper = min(columns - 1, max(index, index - shift))
                let candidates = lower <= upper ? Array(programs[lower...upper]) : []
                let protected = candidates.filter { $0.kind != .keep && $0.kind != .scan }
                if shift == 0, let only = candidates.first, only.kind != .keep && only.kind != .scan {
                    program = only
                } else if !protected.isEmpty {
                    program = redactUnaligned
                }
            }
            if program.kind == .drop { continue }
            if !first { rejects.append(delimiter) }
            first = false
            let outcome: ValueMasker.Outcome
            if program.kind == .null {
                outcome = .null
            } else {
                outcome = tokenizer.withDecodedValue(of: field, in: chunk, scratch: &decoded) { value in
                    values.apply(program, to: value, scratch: scratch, statistics: &statistics)
                }
            }
            switch outcome {
            case .unchanged: rejects.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[field.rawStart..<field.rawEnd]))
            case .null: break
            case .replaced:
                scratch.replacement.withUnsafeBytes { tokenizer.dialect.appendField($0, forceQuotes: field.quoted, to: &rejects) }
            }
        }
        if record.end > record.contentEnd {
            rejects.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[record.contentEnd..<record.end]))
        } else {
            // The last record of the input, without a line end: the next reject must not join it.
            rejects.append(tokenizer.dialect.terminator)
        }
    }
}

/// A pure function from a record-aligned chunk to its masked form: what every input format
/// (CSV, JSONL) provides to the pipeline.
public protocol ChunkMasking: Sendable {
    func mask(_ chunk: UnsafeRawBufferPointer, scratch: MaskScratch) -> MaskedChunk
}

extension CSVChunkMasker: ChunkMasking {}
