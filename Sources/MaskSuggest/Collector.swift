import MaskCore
import MaskEngine
import MaskRules

/// Counts, per field of the sample, what its values look like (`FieldEvidence`).
struct Collector {
    let values: ValueMasker
    let detectorCount: Int
    let dialect: CSVDialect
    let limit: Int
    let scratch = MaskScratch()
    var statistics: MaskStatistics
    /// Fields in the order first seen (CSV: header order).
    var order: [String] = []
    var fields: [String: FieldEvidence] = [:]
    var records = 0
    var header: [String]?
    var fieldBuffer: [CSVField] = []
    var decoded: [UInt8] = []

    init(values: ValueMasker, detectors: Int, dialect: CSVDialect, limit: Int) {
        self.values = values
        detectorCount = detectors
        self.dialect = dialect
        self.limit = limit
        statistics = MaskStatistics(detectors: detectors, fields: 0)
    }

    mutating func evidence(_ name: String, _ update: (inout FieldEvidence) -> Void) {
        if fields[name] == nil {
            fields[name] = FieldEvidence(name: name, detectors: detectorCount)
            order.append(name)
        }
        update(&fields[name]!)
    }

    // MARK: CSV

    mutating func csv(_ bytes: UnsafeRawBufferPointer, offset: Int, input: String) throws {
        let tokenizer = CSVTokenizer(dialect: dialect)
        var position = offset == 0 && bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        while position < bytes.count && records < limit {
            let record = tokenizer.nextRecord(in: bytes, from: position, fields: &fieldBuffer)
            position = record.end
            if record.isBlankLine { continue }
            if let problem = record.problem {
                throw SuggestFailure.data("\(DisplayName.of(input)): record \(records + 1) at byte offset \(offset + record.start): \(problem.rawValue)")
            }
            let fieldsOfRecord = fieldBuffer
            if header == nil {
                if dialect.hasHeader {
                    header = fieldsOfRecord.map { field in
                        tokenizer.withDecodedValue(of: field, in: bytes, scratch: &decoded) { String(decoding: $0, as: UTF8.self) }
                    }
                    try refuseDataAsHeader(header!, input: input)
                    for name in header! { evidence(name) { _ in } }
                    continue
                }
                header = fieldsOfRecord.indices.map { String($0 + 1) }
                for name in header! { evidence(name) { _ in } }
            }
            guard fieldsOfRecord.count == header!.count else {
                throw SuggestFailure.data(
                    "\(DisplayName.of(input)): record \(records + 1) at byte offset \(offset + record.start): wrong number of fields (expected \(header!.count) fields, found \(fieldsOfRecord.count))")
            }
            records += 1
            var scratchBytes = decoded
            for (index, field) in fieldsOfRecord.enumerated() {
                let name = header![index]
                tokenizer.withDecodedValue(of: field, in: bytes, scratch: &scratchBytes) { value in
                    observe(value, as: name, isString: true)
                }
            }
            decoded = scratchBytes
        }
    }

    /// The header is copied into the suggested rules: names in which a detector finds something
    /// are a data row taken for the header (as `mask` refuses it), never written out.
    mutating func refuseDataAsHeader(_ names: [String], input: String) throws {
        let all = Array(0..<detectorCount)
        for (index, name) in names.enumerated() {
            Array(name.utf8).withUnsafeBytes { values.detect(in: $0, detectors: all, scratch: scratch, statistics: &statistics) }
            if let detection = scratch.detections.first {
                throw SuggestFailure.data(
                    "\(DisplayName.of(input)): the first record does not look like a header (field \(index + 1) holds what detector '\(values.rules.detectors[detection.detector].id)' finds; pass --no-header if the input has no header)")
            }
        }
    }

    // MARK: JSONL

    /// One open container while walking a line.
    struct Frame {
        var path: String
        var isObject: Bool
        var memberPath: String = ""
    }

    mutating func jsonl(_ bytes: UnsafeRawBufferPointer, offset: Int, input: String) throws {
        var position = 0
        while position < bytes.count && records < limit {
            var end = position
            while end < bytes.count && bytes[end] != 0x0A { end += 1 }
            let lineStart = position
            position = end + 1
            var first = lineStart
            while first < end && (bytes[first] == 0x20 || bytes[first] == 0x09 || bytes[first] == 0x0D) { first += 1 }
            if first == end { continue }
            records += 1
            if let error = walk(bytes, from: lineStart, to: end) {
                throw SuggestFailure.data("\(DisplayName.of(input)): record \(records) at byte offset \(offset + lineStart): invalid JSON (\(error))")
            }
        }
    }

    /// Walks one JSON line, observing every leaf under its path.
    mutating func walk(_ bytes: UnsafeRawBufferPointer, from start: Int, to end: Int) -> JSONSyntaxError? {
        var scanner = JSONScanner(bytes, start: start, end: end)
        var frames: [Frame] = [Frame(path: "", isObject: false)]
        func valuePath(_ frames: [Frame], _ depth: Int) -> String {
            frames[depth].isObject ? frames[depth].memberPath : frames[depth].path + "[]"
        }
        var key: [UInt8] = []
        while true {
            let token = scanner.next()
            switch token {
            case .end: return nil
            case .error: return scanner.error
            case .key:
                let depth = scanner.depth
                let content = UnsafeRawBufferPointer(rebasing: bytes[(scanner.tokenStart + 1)..<(scanner.tokenEnd - 1)])
                key.removeAll(keepingCapacity: true)
                if scanner.tokenHasEscapes { JSONString.decode(content, into: &key) } else { key.append(contentsOf: content) }
                let parent = frames[depth].path
                let name = String(decoding: key, as: UTF8.self)
                if keyHoldsData(key) || !Self.nameable(name) {
                    // An object used as a map (keys are emails, ids...), or a key no path can
                    // name: its values count under the map's own path, never under the key.
                    frames[depth].memberPath = parent
                    if !parent.isEmpty { evidence(parent) { $0.keysWithData += 1 } }
                } else {
                    frames[depth].memberPath = parent.isEmpty ? name : parent + "." + name
                }
            case .objectStart, .arrayStart:
                let depth = scanner.depth
                let path = depth > 1 ? valuePath(frames, depth - 1) : ""
                let frame = Frame(path: path, isObject: token == .objectStart)
                if frames.count > depth { frames[depth] = frame } else { frames.append(frame) }
            case .objectEnd, .arrayEnd:
                break
            case .string, .number, .trueLiteral, .falseLiteral, .nullLiteral:
                let path = valuePath(frames, scanner.depth)
                guard !path.isEmpty else { continue }
                switch token {
                case .string:
                    let content = UnsafeRawBufferPointer(rebasing: bytes[(scanner.tokenStart + 1)..<(scanner.tokenEnd - 1)])
                    if scanner.tokenHasEscapes {
                        decoded.removeAll(keepingCapacity: true)
                        JSONString.decode(content, into: &decoded)
                        let copy = decoded
                        copy.withUnsafeBytes { observe($0, as: path, isString: true) }
                    } else {
                        observe(content, as: path, isString: true)
                    }
                case .nullLiteral:
                    evidence(path) { $0.nulls += 1 }
                default:
                    observe(UnsafeRawBufferPointer(rebasing: bytes[scanner.tokenStart..<scanner.tokenEnd]), as: path, isString: false)
                }
            }
        }
    }

    /// A key can be named in a rules file as an exact path segment (a key with `.` can: the
    /// masker compares the rendered path, though it cannot tell it from a nested one).
    static func nameable(_ key: String) -> Bool {
        !key.isEmpty && !key.contains("*") && !key.hasPrefix("~") && FieldPath.problem(in: key) == nil
    }

    mutating func keyHoldsData(_ key: [UInt8]) -> Bool {
        let all = Array(0..<detectorCount)
        key.withUnsafeBytes { values.detect(in: $0, detectors: all, scratch: scratch, statistics: &statistics) }
        return !scratch.detections.isEmpty
    }

    // MARK: Values

    mutating func observe(_ value: UnsafeRawBufferPointer, as name: String, isString: Bool) {
        var lower = 0
        var upper = value.count
        while lower < upper && (value[lower] == 0x20 || value[lower] == 0x09) { lower += 1 }
        while upper > lower && (value[upper - 1] == 0x20 || value[upper - 1] == 0x09) { upper -= 1 }
        let trimmed = UnsafeRawBufferPointer(rebasing: value[lower..<upper])
        if trimmed.isEmpty {
            evidence(name) { $0.empty += 1 }
            return
        }
        let all = Array(0..<detectorCount)
        values.detect(in: trimmed, detectors: all, scratch: scratch, statistics: &statistics)
        let detections = scratch.detections
        let shape = Shape(of: trimmed)
        evidence(name) { field in
            field.values += 1
            var seen = Set<Int>()
            for detection in detections where seen.insert(detection.detector).inserted {
                field.contains[detection.detector] += 1
                if detection.range == 0..<trimmed.count { field.whole[detection.detector] += 1 }
            }
            switch shape {
            case .boolean: field.booleans += 1
            case .integer(let digits):
                field.integers += 1
                if digits < 7 { field.shortIntegers += 1 }
            case .decimal: field.decimals += 1
            case .timestamp: field.timestamps += 1
            case .uuid: field.uuids += 1
            case .text: break
            }
        }
    }
}

/// What a value looks like, by its bytes alone.
enum Shape: Equatable {
    case boolean
    case integer(digits: Int)
    case decimal
    case timestamp
    case uuid
    case text

    init(of value: UnsafeRawBufferPointer) {
        let bytes = Array(value)
        let lowered = String(decoding: bytes.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }, as: UTF8.self)
        if ["true", "false", "t", "f", "yes", "no", "y", "n"].contains(lowered) { self = .boolean; return }
        func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }
        var body = bytes[...]
        if body.first == UInt8(ascii: "-") || body.first == UInt8(ascii: "+") { body = body.dropFirst() }
        if !body.isEmpty && body.allSatisfy(isDigit) { self = .integer(digits: body.count); return }
        if let dot = body.firstIndex(of: UInt8(ascii: ".")), dot > body.startIndex, dot < body.endIndex - 1,
            body[..<dot].allSatisfy(isDigit), body[(dot + 1)...].allSatisfy({ isDigit($0) || $0 == 0x65 || $0 == 0x45 || $0 == 0x2D || $0 == 0x2B })
        {
            self = .decimal
            return
        }
        // 2024-01-18, 2024-01-18 12:28:36+00, 2024-01-18T12:28:36.123Z, 12:28, 12:28:36
        if bytes.count >= 10 && bytes[0..<4].allSatisfy(isDigit) && bytes[4] == 0x2D && bytes[5..<7].allSatisfy(isDigit) && bytes[7] == 0x2D
            && bytes[8..<10].allSatisfy(isDigit)
            && bytes[10...].allSatisfy({ isDigit($0) || [0x20, 0x3A, 0x2E, 0x2B, 0x2D, 0x54, 0x5A].contains($0) })
        {
            self = .timestamp
            return
        }
        if (bytes.count == 5 || bytes.count == 8) && bytes.enumerated().allSatisfy({ ($0.offset % 3 == 2) ? $0.element == 0x3A : isDigit($0.element) }) {
            self = .timestamp
            return
        }
        if bytes.count == 36 && bytes.enumerated().allSatisfy({ [8, 13, 18, 23].contains($0.offset) ? $0.element == 0x2D : Self.isHex($0.element) }) {
            self = .uuid
            return
        }
        self = .text
    }

    static func isHex(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x66) || (byte >= 0x41 && byte <= 0x46)
    }
}
