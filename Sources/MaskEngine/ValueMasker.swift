#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MaskCore
import MaskRegex
import MaskRules

/// Per-worker mutable state. Never shared between threads.
public final class MaskScratch {
    public let match = MatchScratch()
    /// The detections of the last `ValueMasker.detect` call.
    public internal(set) var detections: [Detection] = []
    var normalized: [UInt8] = []
    var decoded: [UInt8] = []
    /// For the JSON inside a column: the masker of the cell runs on its own scratch, since the
    /// column's masker still holds the record's fields and buffers in this one.
    lazy var nested = MaskScratch()
    var replacement: [UInt8] = []
    /// Where each detection's substitute lies in `replacement` after a scan (one range per
    /// detection, in order): lets a format splice substitutes into the value's raw bytes.
    var replacementPieces: [Range<Int>] = []
    /// Raw offsets of decoded bytes (`EscapedTextDialect.decode(_:enclosed:into:offsets:)`).
    var decodedOffsets: [Int] = []
    /// The replacement is already encoded for its format (a splice), not a value to encode.
    var replacementIsEncoded = false
    /// Set by every `hash`: whether the value's normaliser could not read it and the value was
    /// hashed as it is (trimmed) instead (`MaskStatistics.fieldUnreadable`).
    public internal(set) var hashedUnreadable = false
    public var fields: [CSVField] = []
    /// Set only by `mask bench`'s detector profile (nil everywhere else: one branch per scanned
    /// value): records what the scan policies hand to the detectors.
    public var scanRecorder: ScanRecorder?

    public init() {
        detections.reserveCapacity(16)
        normalized.reserveCapacity(256)
        replacement.reserveCapacity(1024)
    }
}

/// The values scan policies hand to the detectors, as the real masker sees them (after CSV
/// unquoting, JSON unescaping and path resolution), so that a per-detector profile times exactly
/// that work for either format rather than an approximation of it.
public final class ScanRecorder {
    /// The values, back to back.
    public private(set) var bytes: [UInt8] = []
    /// Each value's range in `bytes` and the detectors it was scanned with.
    public private(set) var values: [(range: Range<Int>, detectors: [Int])] = []

    public init() {}

    func record(_ value: UnsafeRawBufferPointer, detectors: [Int]) {
        let start = bytes.count
        bytes.append(contentsOf: value)
        values.append((start..<bytes.count, detectors))
    }
}

/// One detector match inside a value.
public struct Detection: Sendable, Equatable {
    public var range: Range<Int>
    public var detector: Int
}

/// A detector as the hot loop needs it: a class, so that reaching it costs one retain instead of
/// copying a struct full of arrays (a profile showed those copies at several percent).
public final class DetectorRuntime: Sendable {
    public let id: String
    let matcher: DetectorMatcher
    public let prefilter: Prefilter
    let validators: [Validator]
    let token: [UInt8]
    /// `token`, read without a retain (`UnsafeRawBufferPointer.constantCopy(of:)`).
    nonisolated(unsafe) let tokenBytes: UnsafeRawBufferPointer
    let normalizer: Normalizer
    /// The prefilter unpacked for the hot loop, so that testing it copies (and retains) no enum
    /// payload per value: 0 none, 1 one byte (`memchr` for `prefilterByte`), 2 minimum digits,
    /// 3 anything else (`ValueMasker.prefilterPasses`).
    let prefilterKind: UInt8
    let prefilterByte: UInt8
    let prefilterMinimum: Int
    /// The matcher unpacked, unretained (`matcher` keeps it alive): switching over the enum
    /// copied its payload, a retain and a release of an object every worker shares, per value.
    let unretainedPattern: Unmanaged<CompiledPattern>?
    let unretainedPhoneFinder: Unmanaged<PhoneFinder>?

    init(_ detector: CompiledDetector) {
        id = detector.id
        matcher = detector.matcher
        prefilter = detector.prefilter
        validators = detector.validators
        token = detector.token
        tokenBytes = .constantCopy(of: detector.token)
        normalizer = detector.normalizer
        var kind: UInt8 = 3
        var byte: UInt8 = 0
        var minimum = 0
        switch detector.prefilter {
        case .none: kind = 0
        case .anyLiteral(let literals) where literals.count == 1 && literals[0].count == 1: kind = 1; byte = literals[0][0]
        case .minimumDigits(let digits): kind = 2; minimum = digits
        case .anyLiteral: break
        }
        prefilterKind = kind
        prefilterByte = byte
        prefilterMinimum = minimum
        switch detector.matcher {
        case .pattern(let pattern):
            unretainedPattern = Unmanaged.passUnretained(pattern)
            unretainedPhoneFinder = nil
        case .phoneNumbers(let finder):
            unretainedPattern = nil
            unretainedPhoneFinder = Unmanaged.passUnretained(finder)
        }
    }

    deinit {
        tokenBytes.deallocate()
    }

    /// `ValueMasker.prefilterPasses(prefilter, value)`, without touching the enum.
    @inline(__always)
    func prefilterPasses(_ value: UnsafeRawBufferPointer) -> Bool {
        switch prefilterKind {
        case 0: return true
        case 1:
            guard let base = value.baseAddress else { return false }
            return memchr(base, Int32(prefilterByte), value.count) != nil
        case 2: return ValueMasker.reachesDigits(prefilterMinimum, in: value)
        default: return ValueMasker.prefilterPasses(prefilter, value)
        }
    }
}

/// A field policy compiled for the hot loop: a payload-free `kind` to branch on, and the
/// payloads beside it.
public final class PolicyProgram: Sendable {
    public enum Kind: UInt8, Sendable {
        case keep, drop, null, redact, mask, hash, scan, error
        /// A column holding JSON with rules for paths inside it (`_airbyte_data.email`).
        case json
    }

    public let kind: Kind
    public let policy: FieldPolicy
    let token: [UInt8]
    /// `token`, read without a retain (`UnsafeRawBufferPointer.constantCopy(of:)`).
    nonisolated(unsafe) let tokenBytes: UnsafeRawBufferPointer
    let partialMask: PartialMask
    let normalization: HashNormalization
    /// `normalization` unpacked: whether each value picks its normaliser (`auto`), else the one
    /// normaliser. Switching over `normalization` per value copied its payload, the E.164
    /// normaliser's box, which every worker shares (a retain and a release of one object from
    /// both threads, per value).
    let normalizesByValue: Bool
    let fixedNormalizer: Normalizer
    /// `keep_domain`, and the named key of a `hash` rule.
    let hashOptions: HashOptions
    let detectors: [Int]
    let replacement: ScanReplacement
    /// For a `hash: { detector: … }` rule matched by a pattern: the detector whose prefilter a
    /// value must pass to be hashed (-1: hash every value). The others are scanned. The prefilter
    /// is unpacked here (as `DetectorRuntime` does) so the check costs no array access or retain.
    let recognizer: Int
    let recognizerKind: UInt8
    let recognizerByte: UInt8
    let recognizerMinimum: Int
    let recognizerPrefilter: Prefilter
    /// `.json`: the masker of the JSON inside the column (its rules relative to the column).
    let cell: JSONLChunkMasker?

    /// - Parameter matchedBy: how the field got the policy; a pattern makes a detector's hash
    ///   recognise its values first (see `HashNormalization.detector`).
    /// - Parameter cell: for a column holding JSON, the masker of what is inside (the kind is
    ///   then `.json`, and `policy` the column's own, which is the default inside).
    public init(_ policy: FieldPolicy, matchedBy: MatchKind = .exact, detectors compiled: [CompiledDetector] = [], cell: JSONLChunkMasker? = nil) {
        self.policy = policy
        self.cell = cell
        var token: [UInt8] = []
        var partialMask = PartialMask(keepFirst: 0, keepLast: 0)
        var normalization = HashNormalization.auto
        var hashOptions = HashOptions()
        var detectors: [Int] = []
        var replacement = ScanReplacement.token
        var chosen = Kind.keep
        switch policy {
        case .keep: chosen = .keep
        case .drop: chosen = .drop
        case .null: chosen = .null
        case .redact(let redactToken): chosen = .redact; token = redactToken
        case .mask(let mask): chosen = .mask; partialMask = mask
        case .hash(let normalizer, let options): chosen = .hash; normalization = normalizer; hashOptions = options
        case .scan(let scanned, let how): chosen = .scan; detectors = scanned; replacement = how
        case .error: chosen = .error
        }
        kind = cell != nil ? .json : chosen
        self.token = token
        tokenBytes = .constantCopy(of: token)
        self.partialMask = partialMask
        self.normalization = normalization
        switch normalization {
        case .auto:
            normalizesByValue = true
            fixedNormalizer = .trim
        case .fixed(let fixed), .detector(_, let fixed):
            normalizesByValue = false
            fixedNormalizer = fixed
        }
        self.hashOptions = hashOptions
        var recognizer = -1
        var prefilter = Prefilter.none
        if matchedBy == .pattern, case .hash(.detector(let index, _), _) = policy, index < compiled.count, compiled[index].prefilter != .none {
            recognizer = index
            prefilter = compiled[index].prefilter
            self.detectors = Array(compiled.indices)
        } else {
            self.detectors = detectors
        }
        var kind: UInt8 = 3
        var byte: UInt8 = 0
        var minimum = 0
        switch prefilter {
        case .none: kind = 0
        case .anyLiteral(let literals) where literals.count == 1 && literals[0].count == 1: kind = 1; byte = literals[0][0]
        case .minimumDigits(let digits): kind = 2; minimum = digits
        case .anyLiteral: break
        }
        self.recognizer = recognizer
        recognizerKind = kind
        recognizerByte = byte
        recognizerMinimum = minimum
        recognizerPrefilter = prefilter
        self.replacement = replacement
    }
}

extension PolicyProgram {
    /// Whether `value` passes the recognizer's prefilter (see `recognizer`).
    @inline(__always)
    func recognizes(_ value: UnsafeRawBufferPointer) -> Bool {
        switch recognizerKind {
        case 0: return true
        case 1:
            guard let base = value.baseAddress else { return false }
            return memchr(base, Int32(recognizerByte), value.count) != nil
        case 2: return ValueMasker.reachesDigits(recognizerMinimum, in: value)
        default: return ValueMasker.prefilterPasses(recognizerPrefilter, value)
        }
    }
}

/// Applies field policies and detectors to single values. Format-agnostic: CSV and JSON call it
/// with the decoded value of a field.
///
/// A class, though it holds only constants: as a 216-byte struct it was copied (a `memcpy` onto
/// the stack) before every `apply` the chunk maskers made, once per field; passed as a reference
/// it is not (CSV masking 2-3% faster, both binaries run at once).
public final class ValueMasker: Sendable {
    public let rules: CompiledRules
    public let hasher: KeyedHasher?
    /// The hasher's engines, reached in the hot loop without copying the hasher (see
    /// `KeyedHasher.engine`): the default key's, and the named keys' by name.
    let hashEngine: KeyedHasher.Engine?
    let namedHashEngines: [String: KeyedHasher.Engine]
    public let detectors: [DetectorRuntime]
    /// The same, unretained (`detectors` keeps them alive), for the detect loop: each worker
    /// retaining the shared runtime per value bounced its reference count between the cores.
    let unretainedDetectors: [Unmanaged<DetectorRuntime>]
    /// Every detector, by index: what a value no policy can read is scanned with (a JSON cell that
    /// is not JSON, a malformed record), made once rather than per value.
    let everyDetector: [Int]

    /// `@` and what follows the last `@` of a normalised email, lower-cased (ASCII): the domain
    /// `keep_domain` keeps. Nothing for a value without `@` (it is hashed whole, as always).
    static func appendDomain(of normalized: UnsafeRawBufferPointer, to output: inout [UInt8]) {
        guard let at = normalized.lastIndex(of: UInt8(ascii: "@")), at + 1 < normalized.count else { return }
        output.append(UInt8(ascii: "@"))
        for byte in normalized[(at + 1)...] { output.append(byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte) }
    }

    /// - Parameter hasher: required when `rules.usesHash`; detection alone (`rules test`) needs none.
    public init(rules: CompiledRules, hasher: KeyedHasher?) {
        self.rules = rules
        self.hasher = hasher
        hashEngine = hasher?.engine
        namedHashEngines = hasher?.named.mapValues(\.engine) ?? [:]
        detectors = rules.detectors.map(DetectorRuntime.init)
        unretainedDetectors = detectors.map { Unmanaged.passUnretained($0) }
        everyDetector = Array(rules.detectors.indices)
    }

    /// The outcome of a policy on one value.
    public enum Outcome: Equatable {
        /// Leave the original bytes in place.
        case unchanged
        /// Replace the value by `scratch.replacement`.
        case replaced
        /// Emit a null (CSV: empty unquoted field).
        case null
    }

    /// Applies `policy` to `value`; a replacement is left in `scratch.replacement`.
    /// Empty values stay as they are under every policy but `null`: there is nothing to protect,
    /// and hashing "" would make every empty value join every other.
    public func apply(
        _ program: PolicyProgram, to value: UnsafeRawBufferPointer, scratch: MaskScratch, statistics: inout MaskStatistics
    ) -> Outcome {
        switch program.kind {
        case .keep, .drop, .error:
            // `.error` never reaches here with a value: CSV refuses the column before any data,
            // JSONL fails the record on a string under it (numbers and literals are kept).
            return .unchanged
        case .null:
            return .null
        case .redact:
            guard !value.isEmpty else { return .unchanged }
            // One replaceSubrange: emptying and appending cost twice as much per value.
            scratch.replacement.replaceSubrange(0..<scratch.replacement.count, with: program.tokenBytes)
            return .replaced
        case .mask:
            guard !value.isEmpty else { return .unchanged }
            program.partialMask.apply(value, into: &scratch.replacement)
            return .replaced
        case .hash:
            guard !value.isEmpty else { return .unchanged }
            if program.recognizer >= 0 && !program.recognizes(value) {
                // Not this detector's kind of value (a flag, a count): scanned, not hashed.
                detect(in: value, detectors: program.detectors, scratch: scratch, statistics: &statistics)
                guard !scratch.detections.isEmpty else { return .unchanged }
                buildScanReplacement(value, replacement: .token, scratch: scratch)
                return .replaced
            }
            // The normaliser is used where the program holds it, never copied into a variable:
            // a copy of the boxed E.164 normaliser cost a retain and a release per value.
            if program.normalizesByValue {
                hash(value, normalizedBy: autoNormalizer(for: value, scratch: scratch), program, scratch)
            } else {
                hash(value, normalizedBy: program.fixedNormalizer, program, scratch)
            }
            return .replaced
        case .scan:
            guard !value.isEmpty else { return .unchanged }
            detect(in: value, detectors: program.detectors, scratch: scratch, statistics: &statistics)
            guard !scratch.detections.isEmpty else { return .unchanged }
            buildScanReplacement(value, replacement: program.replacement, scratch: scratch)
            return .replaced
        case .json:
            return maskJSONCell(value, with: program.cell!, scratch: scratch, statistics: &statistics)
        }
    }

    /// The keyed hash of `value` under `normalizer` (or trimmed, when the normaliser cannot read
    /// it: a value it cannot read would collapse with every other such value, `n/a` and
    /// `unknown` both `+1`, so it is hashed as it is, and counted), into `scratch.replacement`.
    @inline(__always)
    func hash(_ value: UnsafeRawBufferPointer, normalizedBy normalizer: Normalizer, _ program: PolicyProgram, _ scratch: MaskScratch) {
        scratch.hashedUnreadable = !normalizer.canRead(value)
        if scratch.hashedUnreadable {
            hashNormalized(value, by: .trim, program, scratch)
        } else {
            hashNormalized(value, by: normalizer, program, scratch)
        }
    }

    @inline(__always)
    private func hashNormalized(_ value: UnsafeRawBufferPointer, by normalizer: Normalizer, _ program: PolicyProgram, _ scratch: MaskScratch) {
        let key = program.hashOptions.key
        let keepDomain = program.hashOptions.keepDomain
        let capacity = normalizer.maximumCount(forValueOf: value.count)
        if capacity <= 512 {
            // Emails and phones: normalised on the stack and hashed from there.
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: capacity) { buffer in
                let count = normalizer.normalize(value, to: buffer.baseAddress!)
                let normalized = UnsafeRawBufferPointer(start: buffer.baseAddress!, count: count)
                setKeyedHash(of: normalized, key: key, in: &scratch.replacement)
                if keepDomain { Self.appendDomain(of: normalized, to: &scratch.replacement) }
            }
        } else {
            normalizer.normalize(value, into: &scratch.normalized)
            scratch.normalized.withUnsafeBytes { normalized in
                setKeyedHash(of: normalized, key: key, in: &scratch.replacement)
                if keepDomain { Self.appendDomain(of: normalized, to: &scratch.replacement) }
            }
        }
    }

    /// The JSON inside a column, masked by the byte-faithful JSON masker under the rules for
    /// paths inside it: untouched bytes stay as they are, `null` stays null. A cell that is not
    /// one JSON document on one line (not JSON, or pretty-printed over several lines) is never
    /// passed raw: it is scanned with every detector, as a reject is, and counted as unreadable
    /// (`scratch.hashedUnreadable`). A string under a path no rule reviews, with the column's
    /// policy `error`, redacts the cell whole.
    static let redactedCell = Array("[REDACTED]".utf8)

    func maskJSONCell(_ value: UnsafeRawBufferPointer, with cell: JSONLChunkMasker, scratch: MaskScratch, statistics: inout MaskStatistics) -> Outcome {
        scratch.hashedUnreadable = false
        guard let base = value.baseAddress, !value.isEmpty else { return .unchanged }
        var masked: MaskedChunk?
        if memchr(base, 0x0A, value.count) == nil {
            masked = cell.mask(value, scratch: scratch.nested)
        }
        guard let masked, masked.problems.isEmpty, masked.statistics.recordsOut == 1 else {
            scratch.hashedUnreadable = true
            if masked?.problems.first?.kind == .unreviewedField {
                scratch.replacement.removeAll(keepingCapacity: true)
                scratch.replacement.append(contentsOf: Self.redactedCell)
                return .replaced
            }
            detect(in: value, detectors: everyDetector, scratch: scratch, statistics: &statistics)
            guard !scratch.detections.isEmpty else { return .unchanged }
            buildScanReplacement(value, replacement: .token, scratch: scratch)
            return .replaced
        }
        for index in statistics.detectorMatches.indices where index < masked.statistics.detectorMatches.count {
            statistics.detectorMatches[index] += masked.statistics.detectorMatches[index]
            statistics.detectorRejections[index] += masked.statistics.detectorRejections[index]
            statistics.detectorLimitHits[index] += masked.statistics.detectorLimitHits[index]
        }
        if masked.output.count == value.count && masked.output.withUnsafeBytes({ memcmp($0.baseAddress!, base, value.count) == 0 }) {
            return .unchanged
        }
        scratch.replacement.removeAll(keepingCapacity: true)
        scratch.replacement.append(contentsOf: masked.output)
        return .replaced
    }

    /// Convenience for callers outside the hot loop.
    public func apply(
        _ policy: FieldPolicy, to value: UnsafeRawBufferPointer, scratch: MaskScratch, statistics: inout MaskStatistics
    ) -> Outcome {
        apply(PolicyProgram(policy), to: value, scratch: scratch, statistics: &statistics)
    }

    /// Replaces `output` by the keyed hash of `normalized` under the rules' named key `key`, or
    /// the default key, through the engines. Neither the hasher nor an engine is bound to a
    /// local: copying the hasher struct, and even retaining an engine, showed per hashed value.
    @inline(__always)
    func setKeyedHash(of normalized: UnsafeRawBufferPointer, key: String?, in output: inout [UInt8]) {
        if let key { namedHashEngines[key]!.setHash(of: normalized, in: &output) }
        else { hashEngine!.setHash(of: normalized, in: &output) }
    }

    /// The normaliser of the first detector that matches the whole (trimmed) value, else trim.
    func autoNormalizer(for value: UnsafeRawBufferPointer, scratch: MaskScratch) -> Normalizer {
        var lower = 0
        var upper = value.count
        while lower < upper && (value[lower] == 0x20 || value[lower] == 0x09) { lower += 1 }
        while upper > lower && (value[upper - 1] == 0x20 || value[upper - 1] == 0x09) { upper -= 1 }
        let trimmed = UnsafeRawBufferPointer(rebasing: value[lower..<upper])
        for detector in detectors where Self.prefilterPasses(detector.prefilter, trimmed) {
            switch detector.matcher {
            case .pattern(let pattern):
                if let range = pattern.firstMatch(in: trimmed, from: 0, scratch: scratch.match), range == 0..<trimmed.count {
                    return detector.normalizer
                }
                _ = scratch.match.takeFailure()
            case .phoneNumbers(let finder):
                if finder.firstMatch(in: trimmed) == 0..<trimmed.count { return detector.normalizer }
            }
        }
        return .trim
    }

    /// Finds what `detectors` match in `value`, into `scratch.detections`, sorted and without
    /// overlaps (an earlier start wins; at the same start the longer match wins).
    /// - Parameter usePrefilter: false only to measure what the prefilter saves (`mask bench`).
    public func detect(
        in value: UnsafeRawBufferPointer, detectors: [Int], scratch: MaskScratch, statistics: inout MaskStatistics,
        usePrefilter: Bool = true
    ) {
        // Most values have no detection: clearing an empty array still costs a replaceSubrange.
        if !scratch.detections.isEmpty { scratch.detections.removeAll(keepingCapacity: true) }
        if let recorder = scratch.scanRecorder { recorder.record(value, detectors: detectors) }
        for index in detectors {
            // Reached unretained: a retain and a release per value of a runtime, pattern or
            // finder that every worker shares bounced its reference count between the cores.
            unretainedDetectors[index]._withUnsafeGuaranteedRef { detector in
                guard !usePrefilter || detector.prefilterPasses(value) else { return }
                if let finder = detector.unretainedPhoneFinder {
                    finder._withUnsafeGuaranteedRef { findNumbers($0, of: detector, index, in: value, scratch, &statistics) }
                } else {
                    detector.unretainedPattern!._withUnsafeGuaranteedRef { findMatches($0, of: detector, index, in: value, scratch, &statistics) }
                }
            }
        }
        if scratch.detections.count > 1 {
            scratch.detections.sort {
                $0.range.lowerBound != $1.range.lowerBound
                    ? $0.range.lowerBound < $1.range.lowerBound : $0.range.count > $1.range.count
            }
            // Compacted in place: no new array per value that has several matches.
            var kept = 0
            var end = 0
            for index in scratch.detections.indices where scratch.detections[index].range.lowerBound >= end {
                end = scratch.detections[index].range.upperBound
                scratch.detections[kept] = scratch.detections[index]
                kept += 1
            }
            scratch.detections.removeSubrange(kept...)
        }
    }

    /// The phone detector's numbers in `value`, into `scratch.detections`.
    @inline(__always)
    private func findNumbers(
        _ finder: PhoneFinder, of detector: DetectorRuntime, _ index: Int, in value: UnsafeRawBufferPointer, _ scratch: MaskScratch,
        _ statistics: inout MaskStatistics
    ) {
        finder.matches(in: value) { range, _ in
            if detector.validators.isEmpty || detector.validators.allSatisfy({ $0.accepts(UnsafeRawBufferPointer(rebasing: value[range])) }) {
                scratch.detections.append(Detection(range: range, detector: index))
                statistics.detectorMatches[index] += 1
            } else {
                statistics.detectorRejections[index] += 1
            }
        }
    }

    /// A pattern's matches in `value`, into `scratch.detections`.
    @inline(__always)
    private func findMatches(
        _ pattern: CompiledPattern, of detector: DetectorRuntime, _ index: Int, in value: UnsafeRawBufferPointer, _ scratch: MaskScratch,
        _ statistics: inout MaskStatistics
    ) {
        var offset = 0
        while offset < value.count {
            guard let range = pattern.firstMatch(in: value, from: offset, scratch: scratch.match) else {
                if scratch.match.takeFailure() != nil {
                    // The search gave up (a pattern that backtracks catastrophically on this
                    // value): fail closed, the whole value is this detector's finding.
                    statistics.detectorLimitHits[index] += 1
                    scratch.detections.removeAll { $0.detector == index }
                    scratch.detections.append(Detection(range: 0..<value.count, detector: index))
                }
                return
            }
            let matched = UnsafeRawBufferPointer(rebasing: value[range])
            if detector.validators.allSatisfy({ $0.accepts(matched) }) {
                scratch.detections.append(Detection(range: range, detector: index))
                statistics.detectorMatches[index] += 1
                offset = range.upperBound
            } else {
                // A declined candidate may hide a valid match that starts inside it.
                statistics.detectorRejections[index] += 1
                offset = range.lowerBound + 1
            }
        }
    }

    /// `value` with each detection replaced, into `scratch.replacement`.
    func buildScanReplacement(_ value: UnsafeRawBufferPointer, replacement: ScanReplacement, scratch: MaskScratch) {
        scratch.replacement.removeAll(keepingCapacity: true)
        scratch.replacementPieces.removeAll(keepingCapacity: true)
        var cursor = 0
        for detection in scratch.detections {
            scratch.replacement.append(contentsOf: UnsafeRawBufferPointer(rebasing: value[cursor..<detection.range.lowerBound]))
            let pieceStart = scratch.replacement.count
            defer { scratch.replacementPieces.append(pieceStart..<scratch.replacement.count) }
            unretainedDetectors[detection.detector]._withUnsafeGuaranteedRef { detector in
                switch replacement {
                case .token:
                    scratch.replacement.append(contentsOf: detector.tokenBytes)
                case .hash:
                    detector.normalizer.normalize(UnsafeRawBufferPointer(rebasing: value[detection.range]), into: &scratch.normalized)
                    scratch.normalized.withUnsafeBytes { hashEngine!.appendHash(of: $0, to: &scratch.replacement) }
                }
            }
            cursor = detection.range.upperBound
        }
        scratch.replacement.append(contentsOf: UnsafeRawBufferPointer(rebasing: value[cursor...]))
    }

    /// Masks arbitrary bytes with every detector (tokens). Used for malformed records, which
    /// cannot be split into fields and must still never be written raw.
    public func scanRaw(_ bytes: UnsafeRawBufferPointer, scratch: MaskScratch, into output: inout [UInt8]) {
        var statistics = MaskStatistics(detectors: rules.detectors.count, fields: 0)
        detect(in: bytes, detectors: everyDetector, scratch: scratch, statistics: &statistics)
        buildScanReplacement(bytes, replacement: .token, scratch: scratch)
        output.append(contentsOf: scratch.replacement)
    }

    @inline(__always)
    public static func prefilterPasses(_ prefilter: Prefilter, _ value: UnsafeRawBufferPointer) -> Bool {
        switch prefilter {
        case .none:
            return true
        case .anyLiteral(let literals):
            guard let base = value.baseAddress else { return false }
            for literal in literals {
                if literal.count == 1 {
                    if memchr(base, Int32(literal[0]), value.count) != nil { return true }
                } else if contains(literal, in: value) {
                    return true
                }
            }
            return false
        case .minimumDigits(let minimum):
            return reachesDigits(minimum, in: value)
        }
    }

    /// The `minimumDigits` prefilter.
    @inline(__always)
    static func reachesDigits(_ minimum: Int, in value: UnsafeRawBufferPointer) -> Bool {
        // Counts ASCII digits plus 0xEF lead bytes (every full-width digit starts with one):
        // an over-count can only let the regex run, never skip a real match. Eight bytes at a
        // time (`digitLikeBytes`); the answer is the byte loop's, which needs one such byte
        // even for a minimum of 0.
        guard let base = value.baseAddress else { return false }
        let needed = max(minimum, 1)
        var count = 0
        var index = 0
        while index + 8 <= value.count {
            count += digitLikeBytes(base.loadUnaligned(fromByteOffset: index, as: UInt64.self))
            if count >= needed { return true }
            index += 8
        }
        while index < value.count {
            let byte = value[index]
            if (byte &- 0x30) < 10 || byte == 0xEF {
                count += 1
                if count >= needed { return true }
            }
            index += 1
        }
        return false
    }

    /// How many of the eight bytes of `word` are ASCII digits or 0xEF (SWAR: per-byte tests
    /// that cannot carry into the neighbouring byte).
    @inline(__always)
    static func digitLikeBytes(_ word: UInt64) -> Int {
        let high: UInt64 = 0x8080_8080_8080_8080
        let low7: UInt64 = 0x7F7F_7F7F_7F7F_7F7F
        // Digits become 0...9; a byte is a digit iff its top bit is clear and its low 7 bits < 10.
        let digits = word ^ 0x3030_3030_3030_3030
        let tenOrMore = ((digits | high) &- 0x0A0A_0A0A_0A0A_0A0A) & high
        let digitMask = ~(tenOrMore | (digits & high)) & high
        // 0xEF becomes 0; a byte is zero iff neither its top bit nor any low bit is set.
        let other = word ^ 0xEFEF_EFEF_EFEF_EFEF
        let nonZero = (((other & low7) &+ low7) | other) & high
        let leadMask = ~nonZero & high
        // One bit per flagged byte at its top: the multiply sums the bytes into the top byte
        // (no popcnt instruction is assumed for the target).
        return Int((((digitMask | leadMask) >> 7) &* 0x0101_0101_0101_0101) >> 56)
    }

    /// Substring search: `memchr` to the first byte, `memcmp` for the rest (glibc's `memmem` is
    /// not visible through Swift's Glibc module).
    static func contains(_ literal: [UInt8], in value: UnsafeRawBufferPointer) -> Bool {
        guard let base = value.baseAddress, literal.count <= value.count, let first = literal.first else { return false }
        let last = value.count - literal.count
        var cursor = 0
        return literal.withUnsafeBytes { needle in
            while cursor <= last, let found = memchr(base + cursor, Int32(first), last - cursor + 1) {
                let position = UnsafeRawPointer(found) - base
                if memcmp(found, needle.baseAddress!, literal.count) == 0 { return true }
                cursor = position + 1
            }
            return false
        }
    }
}
