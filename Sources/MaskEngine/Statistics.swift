/// Counts gathered while masking; merged across chunks in input order.
public struct MaskStatistics: Sendable, Equatable, Codable {
    /// Data records read (the header excluded), malformed ones included.
    public var recordsIn = 0
    /// Records written to the output.
    public var recordsOut = 0
    /// Malformed records written, masked, to `--rejects`.
    public var recordsRejected = 0
    /// Matches per detector (index as in `CompiledRules.detectors`).
    public var detectorMatches: [Int]
    /// Regex matches a validator declined, per detector.
    public var detectorRejections: [Int]
    /// Values a detector's search gave up on (PCRE2 match or depth limit), per detector: each
    /// was replaced whole by the detector's token, since nothing proved it clean.
    public var detectorLimitHits: [Int]
    /// Values changed per input column / field rule.
    public var fieldChanges: [Int]
    /// JSONL: values changed per path, for paths whose rule is a pattern or the default policy
    /// (the report lists them: JSON has no header naming them in advance). Sorted by path.
    public var pathChanges: [PathChange] = []
    /// Values per column / field rule that its hash normaliser could not read (a phone column
    /// holding `n/a`): hashed as they are (trimmed) instead, so they stay distinct.
    public var fieldUnreadable: [Int] = []

    public init(detectors: Int, fields: Int) {
        detectorMatches = Array(repeating: 0, count: detectors)
        detectorRejections = Array(repeating: 0, count: detectors)
        detectorLimitHits = Array(repeating: 0, count: detectors)
        fieldChanges = Array(repeating: 0, count: fields)
        fieldUnreadable = Array(repeating: 0, count: fields)
    }

    public mutating func merge(_ other: MaskStatistics) {
        recordsIn += other.recordsIn
        recordsOut += other.recordsOut
        recordsRejected += other.recordsRejected
        for index in detectorMatches.indices { detectorMatches[index] += other.detectorMatches[index] }
        for index in detectorRejections.indices { detectorRejections[index] += other.detectorRejections[index] }
        for index in detectorLimitHits.indices { detectorLimitHits[index] += other.detectorLimitHits[index] }
        if fieldChanges.count < other.fieldChanges.count {
            fieldChanges += Array(repeating: 0, count: other.fieldChanges.count - fieldChanges.count)
        }
        for index in other.fieldChanges.indices { fieldChanges[index] += other.fieldChanges[index] }
        if fieldUnreadable.count < other.fieldUnreadable.count {
            fieldUnreadable += Array(repeating: 0, count: other.fieldUnreadable.count - fieldUnreadable.count)
        }
        for index in other.fieldUnreadable.indices { fieldUnreadable[index] += other.fieldUnreadable[index] }
        if !other.pathChanges.isEmpty {
            if pathChanges.isEmpty {
                pathChanges = other.pathChanges
            } else {
                var merged = Dictionary(pathChanges.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
                for change in other.pathChanges { merged[change.path, default: PathChange(path: change.path, slot: change.slot, changed: 0)].changed += change.changed }
                pathChanges = merged.values.sorted { $0.path < $1.path }
            }
        }
    }
}

/// Values changed under one JSON path (see `MaskStatistics.pathChanges`).
public struct PathChange: Sendable, Equatable, Codable {
    public var path: String
    /// The statistics slot (rule, or the default) the path resolved to.
    public var slot: Int
    public var changed: Int

    public init(path: String, slot: Int, changed: Int) {
        self.path = path
        self.slot = slot
        self.changed = changed
    }
}
