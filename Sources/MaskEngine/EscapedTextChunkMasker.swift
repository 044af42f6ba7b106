import MaskCore
import MaskRules

/// Masks record-aligned chunks of PostgreSQL COPY text and MySQL exports (`EscapedTextDialect`).
///
/// The same splice as `CSVChunkMasker` (untouched fields and the bytes between them are copied
/// as runs of the input), kept apart from it so that CSV's hot loop pays nothing for escapes.
/// What differs is the value: each field is decoded before a policy sees it, so detectors,
/// normalisers and hashes work on `a<TAB>415-555-0104`, not on `a\t415-555-0104`, and a
/// replacement is encoded back in the same dialect. NULL (`\N`, or the declared null string) is
/// not a value: it stays NULL under every policy.
public struct EscapedTextChunkMasker: Sendable {
    public let plan: CSVColumnPlan
    public let values: ValueMasker
    public let dialect: EscapedTextDialect
    public let maxRecordSize: Int
    public let collectRejects: Bool
    let programs: [PolicyProgram]
    let kinds: [PolicyProgram.Kind]
    /// The programs unretained (`programs` keeps them alive): no retain and release per field,
    /// as in `CSVChunkMasker`.
    let unretainedPrograms: [Unmanaged<PolicyProgram>]
    let scanEverything: PolicyProgram
    let redactUnaligned: PolicyProgram

    public init(plan: CSVColumnPlan, values: ValueMasker, dialect: EscapedTextDialect, maxRecordSize: Int, collectRejects: Bool) {
        self.plan = plan
        self.values = values
        self.dialect = dialect
        self.maxRecordSize = maxRecordSize
        self.collectRejects = collectRejects
        // As CSV's: a pattern-matched hash changes only values its detector recognises.
        let detectors = values.rules.detectors
        programs = plan.programs(values: values, maxRecordSize: maxRecordSize)
        kinds = programs.map(\.kind)
        unretainedPrograms = programs.map { Unmanaged.passUnretained($0) }
        scanEverything = PolicyProgram(.scan(detectors: Array(values.rules.detectors.indices), replacement: .token))
        redactUnaligned = PolicyProgram(.redact(token: Array("[REDACTED]".utf8)))
    }

    public func mask(_ chunk: UnsafeRawBufferPointer, scratch: MaskScratch) -> MaskedChunk {
        var statistics = MaskStatistics(detectors: 0, fields: 0)
        var problems: [ChunkProblem] = []
        var rejects: [UInt8] = []
        let output = OutputBytes.array(capacity: chunk.count + chunk.count / 8) { output in
            statistics = MaskStatistics(detectors: values.rules.detectors.count, fields: plan.policies.count)
            problems = []
            rejects = []
            maskRecords(chunk, scratch: scratch, into: &output, statistics: &statistics, problems: &problems, rejects: &rejects)
        }
        return MaskedChunk(output: output, statistics: statistics, problems: problems, rejects: rejects)
    }

    /// The policy's outcome for one field: NULL and empty values are left alone, others decoded
    /// when they hold escapes.
    @inline(__always)
    private func outcome(
        of field: CSVField, program: PolicyProgram, in chunk: UnsafeRawBufferPointer, scratch: MaskScratch, statistics: inout MaskStatistics
    ) -> ValueMasker.Outcome {
        scratch.replacementIsEncoded = false
        let raw = UnsafeRawBufferPointer(rebasing: chunk[field.start..<field.end])
        if !field.quoted && dialect.isNull(raw) { return .unchanged }
        if program.kind == .null { return .null }
        if !field.hasEscapedQuotes {
            let outcome = values.apply(program, to: raw, scratch: scratch, statistics: &statistics)
            // The value is its raw bytes: a scan's untouched text can be written as it came.
            if outcome == .replaced && program.kind == .scan { splice(raw, enclosed: field.quoted, scratch: scratch, offsets: nil) }
            return outcome
        }
        guard program.kind == .scan else {
            dialect.decode(raw, enclosed: field.quoted, into: &scratch.decoded)
            return scratch.decoded.withUnsafeBytes { values.apply(program, to: $0, scratch: scratch, statistics: &statistics) }
        }
        // A scan changes only what it finds: the substitutes are spliced into the raw bytes, so
        // the rest of the value keeps its escapes as written (`\x41`, `\<TAB>`, `\\`).
        dialect.decode(raw, enclosed: field.quoted, into: &scratch.decoded, offsets: &scratch.decodedOffsets)
        let outcome = scratch.decoded.withUnsafeBytes { values.apply(program, to: $0, scratch: scratch, statistics: &statistics) }
        if outcome == .replaced { splice(raw, enclosed: field.quoted, scratch: scratch, offsets: scratch.decodedOffsets) }
        return outcome
    }

    /// Turns a scan's replacement into the raw bytes with each detection's substitute (escaped)
    /// in place of the raw bytes it was decoded from.
    /// - Parameter offsets: raw offset of each decoded byte (`nil`: the value is its raw bytes).
    private func splice(_ raw: UnsafeRawBufferPointer, enclosed: Bool, scratch: MaskScratch, offsets: [Int]?) {
        var spliced: [UInt8] = []
        spliced.reserveCapacity(raw.count + scratch.replacement.count)
        func rawOffset(_ decoded: Int) -> Int { offsets?[decoded] ?? decoded }
        var decodedCursor = 0
        for (index, detection) in scratch.detections.enumerated() {
            spliced.append(contentsOf: UnsafeRawBufferPointer(rebasing: raw[rawOffset(decodedCursor)..<rawOffset(detection.range.lowerBound)]))
            scratch.replacement.withUnsafeBytes { replacement in
                dialect.appendEscaped(UnsafeRawBufferPointer(rebasing: replacement[scratch.replacementPieces[index]]), enclosed: enclosed, to: &spliced)
            }
            decodedCursor = detection.range.upperBound
        }
        spliced.append(contentsOf: UnsafeRawBufferPointer(rebasing: raw[rawOffset(decodedCursor)...]))
        scratch.replacement = spliced
        scratch.replacementIsEncoded = true
    }

    /// Writes the replacement left by `outcome(of:…)`: encoded as a field, or as it is when it
    /// is already a splice of the raw bytes (with the field's enclosing quotes).
    @inline(__always)
    private func appendReplacement(enclosed: Bool, scratch: MaskScratch, to output: inout [UInt8]) {
        if scratch.replacementIsEncoded {
            if enclosed, let enclose = dialect.enclose { output.append(enclose) }
            output.append(contentsOf: scratch.replacement)
            if enclosed, let enclose = dialect.enclose { output.append(enclose) }
        } else {
            scratch.replacement.withUnsafeBytes { dialect.appendField($0, enclosed: enclosed, to: &output) }
        }
    }

    @inline(__always)
    private func appendReplacement(enclosed: Bool, scratch: MaskScratch, to output: inout OutputBytes) {
        if scratch.replacementIsEncoded {
            if enclosed, let enclose = dialect.enclose { output.append(enclose) }
            output.append(contentsOf: scratch.replacement)
            if enclosed, let enclose = dialect.enclose { output.append(enclose) }
        } else {
            scratch.replacement.withUnsafeBytes { dialect.appendField($0, enclosed: enclosed, to: &output) }
        }
    }

    private func maskRecords(
        _ chunk: UnsafeRawBufferPointer, scratch: MaskScratch, into output: inout OutputBytes, statistics: inout MaskStatistics,
        problems: inout [ChunkProblem], rejects: inout [UInt8]
    ) {
        let delimiter = dialect.delimiter
        let expected = plan.expectedFieldCount
        let changes = UnsafeMutableBufferPointer<Int>.allocate(capacity: max(programs.count, 1))
        changes.initialize(repeating: 0)
        defer { changes.deallocate() }
        var copyStart = -1
        var copyEnd = -1
        var position = 0
        var recordIndex = 0
        func flush(_ output: inout OutputBytes) {
            if copyStart >= 0 { output.append(UnsafeRawBufferPointer(rebasing: chunk[copyStart..<copyEnd])) }
            copyStart = -1
        }
        kinds.withUnsafeBufferPointer { kinds in
        unretainedPrograms.withUnsafeBufferPointer { programs in
        while position < chunk.count {
            guard let record = dialect.nextRecord(in: chunk, from: position, fields: &scratch.fields) else { break }
            position = record.end
            if record.isBlankLine && expected != 1 || dialect.isEndOfDataMarker(record, in: chunk) {
                // A blank line holds no record, nor does PostgreSQL's `\.` end-of-data line: they
                // pass through as they came and are not counted.
                if copyStart >= 0 && copyEnd == record.start { copyEnd = record.end } else {
                    flush(&output)
                    copyStart = record.start
                    copyEnd = record.end
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
                let outcome: ValueMasker.Outcome = kind == .keep
                    ? .unchanged
                    : programs[column]._withUnsafeGuaranteedRef { self.outcome(of: field, program: $0, in: chunk, scratch: scratch, statistics: &statistics) }
                if (kind == .hash && outcome == .replaced || kind == .json) && scratch.hashedUnreadable { statistics.fieldUnreadable[column] += 1 }
                if outcome == .unchanged {
                    let contiguous = emittedAny ? copyEnd + 1 == field.rawStart : copyEnd == field.rawStart
                    if copyStart >= 0 && contiguous {
                        copyEnd = field.rawEnd
                    } else {
                        flush(&output)
                        if emittedAny { output.append(delimiter) }
                        copyStart = field.rawStart
                        copyEnd = field.rawEnd
                    }
                } else {
                    changes[column] += 1
                    flush(&output)
                    if emittedAny { output.append(delimiter) }
                    if outcome == .replaced {
                        appendReplacement(enclosed: field.quoted, scratch: scratch, to: &output)
                    } else {
                        output.append(contentsOf: dialect.nullToken)
                    }
                }
                emittedAny = true
            }
            if copyStart >= 0 && copyEnd == record.contentEnd {
                copyEnd = record.end
            } else {
                flush(&output)
                output.append(UnsafeRawBufferPointer(rebasing: chunk[record.contentEnd..<record.end]))
            }
        }
        }
        }
        flush(&output)
        for column in 0..<programs.count { statistics.fieldChanges[column] += changes[column] }
    }

    /// A malformed record for the rejects, at least as masked as the output would have had it
    /// (the rules of `CSVChunkMasker.maskReject`): every field scanned with every detector, a
    /// protected column's policy when the record has the header's width, else any field that
    /// could belong to a protected column redacted whole.
    func maskReject(
        _ chunk: UnsafeRawBufferPointer, record: CSVRecordSpan, scratch: MaskScratch, statistics: inout MaskStatistics,
        into rejects: inout [UInt8]
    ) {
        let fields = scratch.fields
        let columns = programs.count
        let shift = fields.count - columns
        var first = true
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
            if !first { rejects.append(dialect.delimiter) }
            first = false
            switch outcome(of: field, program: program, in: chunk, scratch: scratch, statistics: &statistics) {
            case .unchanged: rejects.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[field.rawStart..<field.rawEnd]))
            case .null: rejects.append(contentsOf: dialect.nullToken)
            case .replaced: appendReplacement(enclosed: field.quoted, scratch: scratch, to: &rejects)
            }
        }
        if record.end > record.contentEnd {
            rejects.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[record.contentEnd..<record.end]))
        } else {
            rejects.append(0x0A)
        }
    }
}

extension EscapedTextChunkMasker: ChunkMasking {}

/// Rescans masked escaped text (`mask verify`, `--verify`): every decoded value, every detector.
public struct EscapedTextVerifier: ChunkScanning {
    public let names: [String]
    public let values: ValueMasker
    public let dialect: EscapedTextDialect

    public init(names: [String], values: ValueMasker, dialect: EscapedTextDialect) {
        self.names = names
        self.values = values
        self.dialect = dialect
    }

    public func scan(_ chunk: UnsafeRawBufferPointer, scratch: MaskScratch) -> ScannedChunk {
        var statistics = MaskStatistics(detectors: values.rules.detectors.count, fields: 0)
        var findings: [Finding] = []
        var problems: [ChunkProblem] = []
        let detectors = Array(values.rules.detectors.indices)
        var decoded: [UInt8] = []
        var position = 0
        var record = 0
        while position < chunk.count, let span = dialect.nextRecord(in: chunk, from: position, fields: &scratch.fields) {
            position = span.end
            if span.isBlankLine || dialect.isEndOfDataMarker(span, in: chunk) { continue }
            record += 1
            statistics.recordsIn += 1
            if let problem = span.problem {
                problems.append(ChunkProblem(kind: problem, detail: "", recordInChunk: record, offsetInChunk: span.start))
                continue
            }
            statistics.recordsOut += 1
            for (column, field) in scratch.fields.enumerated() where !field.isEmpty {
                let raw = UnsafeRawBufferPointer(rebasing: chunk[field.start..<field.end])
                if !field.quoted && dialect.isNull(raw) { continue }
                dialect.decode(raw, enclosed: field.quoted, into: &decoded)
                decoded.withUnsafeBytes { values.detect(in: $0, detectors: detectors, scratch: scratch, statistics: &statistics) }
                for detection in scratch.detections {
                    let name = column < names.count ? names[column] : String(column + 1)
                    findings.append(Finding(recordInChunk: record, offsetInChunk: span.start, field: name, detector: detection.detector))
                }
            }
        }
        return ScannedChunk(statistics: statistics, problems: problems, findings: findings)
    }
}
