import MaskCore
import MaskEngine
import MaskRules

/// Rescans masked CSV: every field, every detector, findings only (the output is thrown away).
///
/// Without a header the column count is not known up front, so each record is checked against
/// its own width: verification never fails a record for its shape, only for what it holds.
struct CSVVerifier: ChunkMasking {
    let plan: CSVColumnPlan
    let values: ValueMasker
    let dialect: CSVDialect
    let maxRecordSize: Int

    func mask(_ chunk: UnsafeRawBufferPointer, scratch: MaskScratch) -> MaskedChunk {
        var statistics = MaskStatistics(detectors: values.rules.detectors.count, fields: 0)
        var findings: [Finding] = []
        let tokenizer = CSVTokenizer(dialect: dialect)
        let detectors = Array(values.rules.detectors.indices)
        var decoded: [UInt8] = []
        var position = 0
        var record = 0
        while position < chunk.count {
            let span = tokenizer.nextRecord(in: chunk, from: position, fields: &scratch.fields)
            position = span.end
            if span.isBlankLine { continue }
            record += 1
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
        return MaskedChunk(output: [], statistics: statistics, problems: [], rejects: [], findings: findings)
    }
}

/// Rescans masked JSONL line by line: every string value, every detector.
struct JSONLVerifier: ChunkMasking {
    let values: ValueMasker
    let maxRecordSize: Int

    func mask(_ chunk: UnsafeRawBufferPointer, scratch: MaskScratch) -> MaskedChunk {
        var statistics = MaskStatistics(detectors: values.rules.detectors.count, fields: 0)
        var findings: [Finding] = []
        let detectors = Array(values.rules.detectors.indices)
        var decoded: [UInt8] = []
        var lineStart = 0
        var record = 0
        for index in 0...chunk.count where index == chunk.count || chunk[index] == 0x0A {
            defer { lineStart = index + 1 }
            guard index > lineStart else { continue }
            record += 1
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
                case .end, .error:
                    break scan
                case .key:
                    decoded.removeAll(keepingCapacity: true)
                    JSONString.decode(content(), into: &decoded)
                    pendingKey = String(decoding: decoded, as: UTF8.self)
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
        return MaskedChunk(output: [], statistics: statistics, problems: [], rejects: [], findings: findings)
    }
}
