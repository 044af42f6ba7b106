import MaskCore
import MaskRules

/// Reads record-aligned chunks of masked output and reports what detectors still find there:
/// the other half of the engine, which verifies instead of masking (nothing is written).
public protocol ChunkScanning: Sendable {
    func scan(_ chunk: UnsafeRawBufferPointer, scratch: MaskScratch) -> ScannedChunk
}

/// What a scanner found in one chunk.
public struct ScannedChunk: Sendable {
    /// Records read (`recordsIn`) and read as records (`recordsOut`).
    public var statistics: MaskStatistics
    /// Records that are not CSV or JSON at all: such a file proves nothing.
    public var problems: [ChunkProblem]
    public var findings: [Finding]
}

/// Rescans masked CSV: every field, every detector, findings only.
///
/// Verification never fails a record for its width, only for what it holds; a record that is
/// not CSV at all (an unterminated quote) is a data error like anywhere else, so a broken file
/// can never pass as clean.
struct CSVVerifier: ChunkScanning {
    let plan: CSVColumnPlan
    let values: ValueMasker
    let dialect: CSVDialect
    let maxRecordSize: Int

    func scan(_ chunk: UnsafeRawBufferPointer, scratch: MaskScratch) -> ScannedChunk {
        var statistics = MaskStatistics(detectors: values.rules.detectors.count, fields: 0)
        var findings: [Finding] = []
        var problems: [ChunkProblem] = []
        let tokenizer = CSVTokenizer(dialect: dialect, maxRecordSize: maxRecordSize)
        let detectors = Array(values.rules.detectors.indices)
        var decoded: [UInt8] = []
        var position = 0
        var record = 0
        while position < chunk.count {
            let span = tokenizer.nextRecord(in: chunk, from: position, fields: &scratch.fields)
            position = span.end
            if span.isBlankLine { continue }
            record += 1
            statistics.recordsIn += 1
            if let problem = span.problem {
                problems.append(ChunkProblem(kind: problem, detail: "", recordInChunk: record, offsetInChunk: span.start))
                continue
            }
            statistics.recordsOut += 1
            for (column, field) in scratch.fields.enumerated() where !field.isEmpty {
                tokenizer.withDecodedValue(of: field, in: chunk, scratch: &decoded) { value in
                    values.detect(in: value, detectors: detectors, scratch: scratch, statistics: &statistics)
                }
                for detection in scratch.detections {
                    let name = column < plan.names.count && dialect.hasHeader ? plan.names[column] : String(column + 1)
                    findings.append(Finding(recordInChunk: record, offsetInChunk: span.start, field: name, detector: detection.detector))
                }
            }
        }
        return ScannedChunk(statistics: statistics, problems: problems, findings: findings)
    }
}

/// Rescans masked JSONL line by line: every string value, every detector.
struct JSONLVerifier: ChunkScanning {
    let values: ValueMasker
    let maxRecordSize: Int

    func scan(_ chunk: UnsafeRawBufferPointer, scratch: MaskScratch) -> ScannedChunk {
        var statistics = MaskStatistics(detectors: values.rules.detectors.count, fields: 0)
        var findings: [Finding] = []
        var problems: [ChunkProblem] = []
        let detectors = Array(values.rules.detectors.indices)
        var decoded: [UInt8] = []
        var lineStart = 0
        var record = 0
        for index in 0...chunk.count where index == chunk.count || chunk[index] == 0x0A {
            defer { lineStart = index + 1 }
            // Blank lines are not records, as in JSONL masking.
            guard UnsafeRawBufferPointer(rebasing: chunk[lineStart..<index]).contains(where: { $0 != 0x20 && $0 != 0x09 && $0 != 0x0D }) else { continue }
            record += 1
            statistics.recordsIn += 1
            var scanner = JSONScanner(chunk, start: lineStart, end: index)
            // Containers from the root down, named as rules name fields: `contact`, `orders[]`.
            var path: [String] = []
            var pendingKey: String?
            func content() -> UnsafeRawBufferPointer {
                UnsafeRawBufferPointer(rebasing: chunk[(scanner.tokenStart + 1)..<(scanner.tokenEnd - 1)])
            }
            func name(_ key: String?) -> String {
                (path + (key.map { [$0] } ?? [])).filter { !$0.isEmpty }.joined(separator: ".")
            }
            scan: while true {
                switch scanner.next() {
                case .end:
                    statistics.recordsOut += 1
                    break scan
                case .error:
                    let reason = scanner.error.map { " (\($0))" } ?? ""
                    problems.append(ChunkProblem(kind: .invalidJSON, detail: "not a JSON value\(reason)", recordInChunk: record, offsetInChunk: lineStart))
                    break scan
                case .key:
                    decoded.removeAll(keepingCapacity: true)
                    JSONString.decode(content(), into: &decoded)
                    pendingKey = String(decoding: decoded, as: UTF8.self)
                    // Keys are data too (objects used as maps): a finding names the container.
                    decoded.withUnsafeBytes { values.detect(in: $0, detectors: detectors, scratch: scratch, statistics: &statistics) }
                    for detection in scratch.detections {
                        findings.append(Finding(recordInChunk: record, offsetInChunk: lineStart, field: name(nil) + " (a key)", detector: detection.detector))
                    }
                case .string:
                    decoded.removeAll(keepingCapacity: true)
                    JSONString.decode(content(), into: &decoded)
                    decoded.withUnsafeBytes { values.detect(in: $0, detectors: detectors, scratch: scratch, statistics: &statistics) }
                    for detection in scratch.detections {
                        findings.append(Finding(recordInChunk: record, offsetInChunk: lineStart, field: name(pendingKey), detector: detection.detector))
                    }
                    pendingKey = nil
                case .objectStart:
                    path.append(pendingKey ?? "")
                    pendingKey = nil
                case .arrayStart:
                    path.append((pendingKey ?? "") + "[]")
                    pendingKey = nil
                case .objectEnd, .arrayEnd:
                    if !path.isEmpty { path.removeLast() }
                default:
                    pendingKey = nil
                }
            }
        }
        return ScannedChunk(statistics: statistics, problems: problems, findings: findings)
    }
}
