#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MaskCore
import MaskRules

/// Masks line-aligned chunks of JSONL (NDJSON): one JSON object (or array) per line.
///
/// Each line is walked once by `JSONScanner`; the masker tracks the path of every value (see
/// `FieldPath` for the syntax rules use), applies the policy of the closest rule (or `default`),
/// and splices replacements into the original bytes. Everything it does not change is copied
/// verbatim and in bulk, runs of untouched lines included: key order, whitespace, number
/// spelling, escapes in untouched strings, CRLF line ends.
///
/// What each policy does, by value type:
///
/// - `keep`: nothing changes; rules naming inner paths still apply inside objects and arrays.
/// - `scan` (and a `scan` default): detections in strings are replaced; numbers, booleans and
///   `null` are kept; rules apply inside objects and arrays.
/// - `hash`, `redact`, `mask`: a string is replaced by a string; a number or boolean has its
///   literal text (`42`, `1.0E+2`, `true`) hashed, redacted or masked and becomes a string;
///   `null` stays `null`; inside an object or array the policy applies to every leaf.
/// - `null`: any value but `null` becomes `null`, an object or array as a whole.
/// - `drop`: the key and its whole value are removed (in an array: the element).
///
/// "Rules apply inside" means a rule naming an inner path wins over the one naming the
/// container (`contact: redact` with `contact.id: keep` keeps `contact.id`); `drop` and `null`
/// act on the whole value, so nothing inside them is looked at. `drop` of an array element
/// removes the element. Commas are kept right whichever members go (first, middle, last, all).
/// Values are decoded (escapes, `\uXXXX`, surrogate pairs) before detection and hashing, and a
/// replacement is re-encoded as a JSON string (`JSONString.appendQuoted`). Empty strings stay
/// empty, as in CSV.
///
/// Keys are scanned too, with every detector, whatever the field rules say (objects used as maps
/// are keyed by emails and phone numbers: `{"scores":{"ann@example.com":5}}`): a detection in a
/// key is replaced by its keyed hash (tokens when the rules hold no hash key), so distinct keys
/// stay distinct. Paths are still resolved from the original key. The check runs once per
/// distinct key and chunk.
///
/// Lines holding only whitespace pass through unchanged and are not counted as records. A line
/// that is not one complete JSON object or array (see `JSONScanner` for what is checked, and for
/// the nesting limit of 64) is a malformed record: reported with the reason and the byte
/// offset within the line, and with `collectRejects` written to the rejects masked by a raw
/// scan with every detector.
///
/// Statistics: `fieldChanges` has one slot per `rules.fields` entry (values that rule changed,
/// nulled or dropped), then one for the default policy.
public struct JSONLChunkMasker: Sendable {
    public let values: ValueMasker
    public let maxRecordSize: Int
    /// Write malformed records, masked, to rejects instead of only reporting them.
    public let collectRejects: Bool
    /// The name of each statistics slot: the rules' field paths, then `(default)`.
    public let fieldNames: [String]
    /// The policy of each statistics slot.
    public let policies: [FieldPolicy]
    /// How each slot's rule matches: exact path, pattern, or the default.
    public let matchedBy: [MatchKind]
    let programs: [PolicyProgram]
    let kinds: [PolicyProgram.Kind]
    let matcher: FieldPathMatcher
    /// What a key goes through: every detector, hashed replacements where a key is loaded.
    let keyProgram: PolicyProgram

    public init(values: ValueMasker, maxRecordSize: Int, collectRejects: Bool) {
        self.values = values
        self.maxRecordSize = maxRecordSize
        self.collectRejects = collectRejects
        let rules = values.rules
        fieldNames = rules.fields.map(\.selector.description) + ["(default)"]
        policies = rules.fields.map(\.policy) + [rules.defaultPolicy]
        matchedBy = rules.fields.map { $0.selector.isPattern ? MatchKind.pattern : .exact } + [.default]
        let detectors = rules.detectors
        programs = zip(policies, matchedBy).map { PolicyProgram($0, matchedBy: $1, detectors: detectors) }
        kinds = programs.map(\.kind)
        matcher = FieldPathMatcher(rules: rules)
        keyProgram = PolicyProgram(.scan(detectors: Array(rules.detectors.indices), replacement: values.hasher == nil ? .token : .hash))
    }

    /// Masks every line of `chunk`, which starts at a line start and ends after a line feed
    /// (or at the end of input).
    public func mask(_ chunk: UnsafeRawBufferPointer, scratch: MaskScratch) -> MaskedChunk {
        guard chunk.baseAddress != nil else {
            return MaskedChunk(
                output: [], statistics: MaskStatistics(detectors: values.rules.detectors.count, fields: programs.count),
                problems: [], rejects: [])
        }
        var statistics = MaskStatistics(detectors: 0, fields: 0)
        var problems: [ChunkProblem] = []
        var rejects: [UInt8] = []
        // Written in place into the array handed on; rerun from the start if it outgrows the room.
        let output = OutputBytes.array(capacity: chunk.count + chunk.count / 8) { output in
            problems = []
            rejects = []
            var state = LineMasker(masker: self, chunk: chunk, scratch: scratch, output: consume output)
            maskLines(chunk, state: &state, problems: &problems, rejects: &rejects)
            state.collectPathChanges()
            statistics = state.statistics
            state.release()
            output = state.takeOutput()
        }
        return MaskedChunk(output: output, statistics: statistics, problems: problems, rejects: rejects)
    }

    private func maskLines(
        _ chunk: UnsafeRawBufferPointer, state: inout LineMasker, problems: inout [ChunkProblem], rejects: inout [UInt8]
    ) {
        let base = chunk.baseAddress!.assumingMemoryBound(to: UInt8.self)
        let scratch = state.scratch
        let count = chunk.count
        var position = 0
        var recordIndex = 0
        while position < count {
            let lineStart = position
            let contentEnd: Int
            if let found = memchr(base + position, 0x0A, count - position) {
                contentEnd = UnsafeRawPointer(found) - UnsafeRawPointer(base)
                position = contentEnd + 1
            } else {
                contentEnd = count
                position = count
            }
            // A line of whitespace only is no record: it stays in the pending copy.
            var first = lineStart
            while first < contentEnd && (base[first] == 0x20 || base[first] == 0x09 || base[first] == 0x0D) {
                first += 1
            }
            if first == contentEnd { continue }

            recordIndex += 1
            state.statistics.recordsIn += 1
            let kind: DataError.Kind
            let detail: String
            var rejectPrefix: [UInt8] = []
            var remainderStart = lineStart
            if position - lineStart > maxRecordSize {
                kind = .recordTooLarge
                detail = "\(position - lineStart) bytes, limit \(maxRecordSize)"
            } else {
                let outputMark = state.output.count
                let copyMark = state.copyFrom
                guard let error = state.maskLine(from: lineStart, to: contentEnd) else {
                    state.statistics.recordsOut += 1
                    state.commitLineStatistics()
                    continue
                }
                // What the masker already decided for the line goes to the rejects as it would
                // have gone out: its splices, and the untouched bytes up to the last token it
                // finished. Only the rest is scanned raw.
                if collectRejects {
                    // The first splice also flushed the untouched lines before this one.
                    let flushed = state.output.count > outputMark ? max(0, lineStart - copyMark) : 0
                    rejectPrefix = state.output.bytes(from: outputMark + flushed)
                    let copied = max(state.copyFrom, lineStart)
                    let safeEnd = max(copied, min(state.lastSafeEnd, position))
                    rejectPrefix += UnsafeRawBufferPointer(rebasing: chunk[copied..<safeEnd])
                    remainderStart = safeEnd
                    if error.reason == .unreviewedField {
                        rejectPrefix += Array("\"[REDACTED]\"".utf8)
                        remainderStart = state.unreviewedEnd
                    }
                }
                // Undo whatever the line already spliced: it is reported, not written.
                state.output.removeLast(state.output.count - outputMark)
                state.copyFrom = copyMark
                state.discardLineStatistics()
                if error.reason == .unreviewedField {
                    kind = .unreviewedField
                    detail = "path \(state.displayPath(of: state.unreviewedNode)); name it under fields:, e.g. \(YAMLName.quoted(state.displayPath(of: state.unreviewedNode, escaped: false))): scan"
                } else {
                    kind = .invalidJSON
                    detail = error.description
                }
            }
            state.skip(lineStart, to: position)
            problems.append(
                ChunkProblem(kind: kind, detail: detail, recordInChunk: recordIndex, offsetInChunk: lineStart))
            if collectRejects {
                state.statistics.recordsRejected += 1
                // Values after the error under a protected key (hash, redact, mask, null, drop in
                // the container where the error was) are redacted whole; then escapes are decoded
                // (`bob\u0040example.com` must not pass a scan in a reject when it is found in a
                // valid line) and every detector runs over the whole line, as documented.
                let line = rejectPrefix + state.redactProtectedValues(UnsafeRawBufferPointer(rebasing: chunk[remainderStart..<position]))
                var decoded: [UInt8] = []
                line.withUnsafeBytes { JSONString.decodeForScanning($0, into: &decoded) }
                decoded.withUnsafeBytes { values.scanRaw($0, scratch: scratch, into: &rejects) }
            }
        }
        state.skip(count, to: count)
    }
}

extension JSONLChunkMasker: ChunkMasking {}

/// One open object or array of the line being masked.
struct JSONFrame {
    /// Path node of the container.
    var node: Int32 = 0
    var isObject = true
    /// Arrays: the path node and slot of the elements.
    var elementNode: Int32 = 0
    var elementSlot: Int32 = 0
    /// The current member (key) or element: where it starts, its path node and slot.
    var memberStart = 0
    var memberNode: Int32 = 0
    var memberSlot: Int32 = 0
    /// For `drop`: whether a member was kept / dropped so far, and where the last one ended.
    var keptAny = false
    var droppedAny = false
    var lastKeptEnd = 0
    var lastDropEnd = 0
}

/// The state of masking one chunk: the output spliced so far and the walk of the current line.
/// Noncopyable because it owns the output buffer (`OutputBytes`: no uniqueness check per splice).
struct LineMasker: ~Copyable {
    let values: ValueMasker
    let programs: [Unmanaged<PolicyProgram>]
    let kinds: [PolicyProgram.Kind]
    let keyProgram: PolicyProgram
    let defaultSlot: Int32
    /// Per slot: whether changes are also counted per path (pattern rules and the default).
    let tracksPaths: [Bool]
    /// Nodes changed on the current line (one entry per change), counted when the line is valid.
    var linePathChanges = RawBuffer<Int32>(capacity: 64)
    /// Slots whose `line.fieldChanges` or `line.fieldUnreadable` the current line counted (an
    /// entry per count): committing a line visits these, not every rule's counters (a profile
    /// showed the loops over all of them, once per line, at 2-3% of JSONL masking).
    var lineSlots = RawBuffer<Int32>(capacity: 64)
    let chunk: UnsafeRawBufferPointer
    let scratch: MaskScratch
    let paths: PathTable
    let frames: UnsafeMutablePointer<JSONFrame>
    var output: OutputBytes
    /// Input bytes before this offset are in `output` already or deliberately left out.
    var copyFrom = 0
    var statistics: MaskStatistics
    /// Counts of the current line, added to `statistics` only if the line turns out valid.
    var line: MaskStatistics
    var lineDirty = false
    var keyBuffer: [UInt8] = []
    /// The end of the last token the current line's walk finished: where a malformed line's
    /// reject stops following the policies.
    var lastSafeEnd = 0
    /// The path node of the container a line's syntax error is in (set with the error).
    var errorContainerNode: Int32 = 0
    /// `default: error`: the path node of the string that failed the line, and where it ends.
    var unreviewedNode: Int32 = -1
    var unreviewedEnd = 0

    init(masker: JSONLChunkMasker, chunk: UnsafeRawBufferPointer, scratch: MaskScratch, output: consuming OutputBytes) {
        values = masker.values
        programs = masker.programs.map { Unmanaged.passUnretained($0) }
        kinds = masker.kinds
        keyProgram = masker.keyProgram
        defaultSlot = Int32(masker.programs.count - 1)
        tracksPaths = masker.matchedBy.map { $0 != .exact }
        self.chunk = chunk
        self.scratch = scratch
        paths = PathTable(matcher: masker.matcher, defaultSlot: defaultSlot)
        frames = .allocate(capacity: JSONScanner.maximumDepth + 1)
        frames.initialize(repeating: JSONFrame(), count: JSONScanner.maximumDepth + 1)
        self.output = output
        statistics = MaskStatistics(detectors: masker.values.rules.detectors.count, fields: masker.programs.count)
        line = statistics
    }

    func release() {
        frames.deallocate()
        linePathChanges.deallocate()
        lineSlots.deallocate()
    }

    /// Hands the output writer back (the end of the chunk).
    consuming func takeOutput() -> OutputBytes {
        output
    }

    /// Copies the pending input up to `from`, then leaves out `from..<to`.
    @inline(__always)
    mutating func skip(_ from: Int, to: Int) {
        if from > copyFrom { output.append(UnsafeRawBufferPointer(rebasing: chunk[copyFrom..<from])) }
        if to > copyFrom { copyFrom = to }
    }

    mutating func commitLineStatistics() {
        guard lineDirty else { return }
        for index in line.detectorMatches.indices where line.detectorMatches[index] != 0 {
            statistics.detectorMatches[index] += line.detectorMatches[index]
            line.detectorMatches[index] = 0
        }
        for index in line.detectorRejections.indices where line.detectorRejections[index] != 0 {
            statistics.detectorRejections[index] += line.detectorRejections[index]
            line.detectorRejections[index] = 0
        }
        for index in line.detectorLimitHits.indices where line.detectorLimitHits[index] != 0 {
            statistics.detectorLimitHits[index] += line.detectorLimitHits[index]
            line.detectorLimitHits[index] = 0
        }
        for entry in 0..<lineSlots.count {
            let index = Int(lineSlots[entry])
            statistics.fieldChanges[index] += line.fieldChanges[index]
            line.fieldChanges[index] = 0
            statistics.fieldUnreadable[index] += line.fieldUnreadable[index]
            line.fieldUnreadable[index] = 0
        }
        lineSlots.removeAll()
        for index in 0..<linePathChanges.count { paths.countChange(linePathChanges[index]) }
        linePathChanges.removeAll()
        lineDirty = false
    }

    /// Moves the per-path counts of the chunk into `statistics.pathChanges`.
    mutating func collectPathChanges() {
        statistics.pathChanges = paths.changedPaths()
    }

    mutating func discardLineStatistics() {
        guard lineDirty else { return }
        for index in line.detectorMatches.indices { line.detectorMatches[index] = 0 }
        for index in line.detectorRejections.indices { line.detectorRejections[index] = 0 }
        for index in line.detectorLimitHits.indices { line.detectorLimitHits[index] = 0 }
        for entry in 0..<lineSlots.count {
            line.fieldChanges[Int(lineSlots[entry])] = 0
            line.fieldUnreadable[Int(lineSlots[entry])] = 0
        }
        lineSlots.removeAll()
        linePathChanges.removeAll()
        lineDirty = false
    }

    /// Counts a change under `slot`, and under the path `node` when the slot's rule is a pattern
    /// or the default.
    @inline(__always)
    mutating func countChange(_ slot: Int32, _ node: Int32) {
        line.fieldChanges[Int(slot)] += 1
        lineSlots.append(slot)
        if tracksPaths[Int(slot)] { linePathChanges.append(node) }
        lineDirty = true
    }

    /// Masks one line (`start..<end`, line feed excluded), splicing into `output`.
    /// - Returns: the syntax error that makes the line a malformed record, or nil.
    mutating func maskLine(from start: Int, to end: Int) -> JSONSyntaxError? {
        var scanner = JSONScanner(chunk, start: start, end: end)
        // Inside a container under `drop` or `null`: its depth, and where it started.
        var suppressDepth = 0
        var suppressStart = 0
        lastSafeEnd = start
        while true {
            let token = scanner.next()
            if token != .error && suppressDepth == 0 { lastSafeEnd = scanner.tokenEnd }
            switch token {
            case .end:
                return nil
            case .error:
                // The container the error is in (above a dropped or nulled one, the one holding
                // it): where a reject resolves the keys after the error.
                let depth = suppressDepth > 0 ? suppressDepth - 1 : scanner.depth
                errorContainerNode = depth > 0 && depth <= JSONScanner.maximumDepth ? frames[depth].node : 0
                return scanner.error
            case .key:
                if suppressDepth > 0 { continue }
                let depth = scanner.depth
                let keyStart = scanner.tokenStart
                if !frames[depth].keptAny && frames[depth].droppedAny {
                    // Every member so far was dropped: the comma after the last one goes too.
                    skip(frames[depth].lastDropEnd, to: keyStart)
                }
                frames[depth].memberStart = keyStart
                let content = UnsafeRawBufferPointer(rebasing: chunk[(keyStart + 1)..<(scanner.tokenEnd - 1)])
                let node: Int32
                if scanner.tokenHasEscapes {
                    keyBuffer.removeAll(keepingCapacity: true)
                    JSONString.decode(content, into: &keyBuffer)
                    node = keyBuffer.withUnsafeBytes { paths.child(of: frames[depth].node, key: $0) }
                } else {
                    node = paths.child(of: frames[depth].node, key: content)
                }
                // A dropped member's key goes with it: nothing to write.
                if paths.keyMayHoldData(node) && kinds[Int(paths.slot(of: node))] != .drop {
                    let replaced = scanner.tokenHasEscapes
                        ? keyBuffer.withUnsafeBytes { maskKey($0) } : maskKey(content)
                    if replaced {
                        skip(keyStart, to: scanner.tokenEnd)
                        scratch.replacement.withUnsafeBytes { JSONString.appendQuoted($0, to: &output) }
                    } else {
                        paths.markKeyClean(node)
                    }
                }
                frames[depth].memberNode = node
                frames[depth].memberSlot = paths.slot(of: node)
            case .objectStart, .arrayStart:
                if suppressDepth > 0 { continue }
                let depth = scanner.depth
                var frame = JSONFrame()
                frame.isObject = token == .objectStart
                if depth > 1 {
                    beginValue(in: depth - 1, at: scanner.tokenStart)
                    let kind = kinds[Int(frames[depth - 1].memberSlot)]
                    if kind == .drop || kind == .null {
                        suppressDepth = depth
                        suppressStart = scanner.tokenStart
                        continue
                    }
                    frame.node = frames[depth - 1].memberNode
                }
                if !frame.isObject {
                    frame.elementNode = paths.element(of: frame.node)
                    frame.elementSlot = paths.slot(of: frame.elementNode)
                }
                frames[depth] = frame
            case .objectEnd, .arrayEnd:
                let depth = scanner.depth  // the closed container's parent
                if suppressDepth > 0 {
                    guard depth + 1 == suppressDepth else { continue }
                    suppressDepth = 0
                    let slot = frames[depth].memberSlot
                    countChange(slot, frames[depth].memberNode)
                    if kinds[Int(slot)] == .null {
                        skip(suppressStart, to: scanner.tokenEnd)
                        output.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C])
                        endValue(in: depth, at: scanner.tokenEnd, dropped: false)
                    } else {
                        endValue(in: depth, at: scanner.tokenEnd, dropped: true)
                    }
                    continue
                }
                if depth > 0 { endValue(in: depth, at: scanner.tokenEnd, dropped: false) }
            case .string, .number, .trueLiteral, .falseLiteral, .nullLiteral:
                if suppressDepth > 0 { continue }
                let depth = scanner.depth
                let valueStart = scanner.tokenStart
                let valueEnd = scanner.tokenEnd
                beginValue(in: depth, at: valueStart)
                let slot = frames[depth].memberSlot
                let kind = kinds[Int(slot)]
                switch kind {
                case .keep:
                    break
                case .drop:
                    countChange(slot, frames[depth].memberNode)
                    endValue(in: depth, at: valueEnd, dropped: true)
                    continue
                case .error:
                    // `default: error`: a string under a path no rule names fails the record.
                    // The value is not the line's to keep: a reject gets it redacted.
                    if token == .string {
                        unreviewedNode = frames[depth].memberNode
                        unreviewedEnd = valueEnd
                        lastSafeEnd = valueStart
                        errorContainerNode = frames[depth].node
                        return JSONSyntaxError(.unreviewedField, at: valueStart - start)
                    }
                case .null:
                    if token != .nullLiteral {
                        skip(valueStart, to: valueEnd)
                        output.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C])
                        countChange(slot, frames[depth].memberNode)
                    }
                default:
                    if token == .string {
                        let content = UnsafeRawBufferPointer(rebasing: chunk[(valueStart + 1)..<(valueEnd - 1)])
                        if scanner.tokenHasEscapes {
                            scratch.decoded.removeAll(keepingCapacity: true)
                            JSONString.decode(content, into: &scratch.decoded)
                            let replaced = scratch.decoded.withUnsafeBytes { apply(slot, to: $0) }
                            if replaced { splice(slot, frames[depth].memberNode, valueStart, valueEnd) }
                        } else if apply(slot, to: content) {
                            splice(slot, frames[depth].memberNode, valueStart, valueEnd)
                        }
                    } else if token != .nullLiteral && kind != .scan {
                        // hash / redact / mask of a number or boolean: its literal text, as a string.
                        if apply(slot, to: UnsafeRawBufferPointer(rebasing: chunk[valueStart..<valueEnd])) {
                            splice(slot, frames[depth].memberNode, valueStart, valueEnd)
                        }
                    }
                }
                endValue(in: depth, at: valueEnd, dropped: false)
            }
        }
    }

    /// The bytes of a malformed line after its error, with every string or number that follows a
    /// key whose policy protects it (in the container where the error was) replaced by
    /// `"[REDACTED]"`. The structure is gone, so this is a lexical pass: strings are found by
    /// their quotes (backslash escapes honoured), a key is a string followed by `:`.
    mutating func redactProtectedValues(_ rest: UnsafeRawBufferPointer) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(rest.count)
        var index = 0
        var protectedValue = false
        func stringEnd(from open: Int) -> Int {
            var cursor = open + 1
            while cursor < rest.count {
                if rest[cursor] == 0x5C { cursor += 2; continue }
                if rest[cursor] == 0x22 { return cursor + 1 }
                cursor += 1
            }
            return rest.count
        }
        while index < rest.count {
            let byte = rest[index]
            if byte == 0x22 {
                let end = min(stringEnd(from: index), rest.count)
                var after = end
                while after < rest.count && (rest[after] == 0x20 || rest[after] == 0x09) { after += 1 }
                if after < rest.count && rest[after] == 0x3A {
                    // A key: decide what its value gets.
                    var key: [UInt8] = []
                    if end - index >= 2 {
                        JSONString.decodeForScanning(UnsafeRawBufferPointer(rebasing: rest[(index + 1)..<(end - 1)]), into: &key)
                    }
                    let node = key.withUnsafeBytes { paths.child(of: errorContainerNode, key: $0) }
                    let kind = kinds[Int(paths.slot(of: node))]
                    protectedValue = kind != .keep && kind != .scan
                    output.append(contentsOf: UnsafeRawBufferPointer(rebasing: rest[index..<end]))
                } else if protectedValue {
                    output.append(contentsOf: Array("\"[REDACTED]\"".utf8))
                    protectedValue = false
                } else {
                    output.append(contentsOf: UnsafeRawBufferPointer(rebasing: rest[index..<end]))
                }
                index = end
                continue
            }
            if protectedValue && ((byte >= 0x30 && byte <= 0x39) || byte == 0x2D || byte == 0x2B) {
                var end = index
                while end < rest.count, rest[end] != 0x2C && rest[end] != 0x7D && rest[end] != 0x5D && rest[end] != 0x0A { end += 1 }
                output.append(contentsOf: Array("\"[REDACTED]\"".utf8))
                protectedValue = false
                index = end
                continue
            }
            // A comma ends the member whose key protected what follows.
            if byte == 0x2C { protectedValue = false }
            output.append(byte)
            index += 1
        }
        return output
    }

    /// A path for messages: keys in which a detector finds something (objects used as maps) are
    /// replaced by the detector's token, so that no value reaches an error line.
    func displayPath(of node: Int32, escaped: Bool = true) -> String {
        let text = paths.pathText(of: node)
        var masked: [UInt8] = []
        text.withUnsafeBytes { values.scanRaw($0, scratch: scratch, into: &masked) }
        let path = String(decoding: masked, as: UTF8.self)
        return escaped ? DisplayName.of(path) : path
    }

    /// Scans a decoded key with every detector; true when `scratch.replacement` replaces it.
    mutating func maskKey(_ key: UnsafeRawBufferPointer) -> Bool {
        lineDirty = true
        return values.apply(keyProgram, to: key, scratch: scratch, statistics: &line) == .replaced
    }

    /// Applies the slot's policy to a decoded value; true when `scratch.replacement` replaces it.
    @inline(__always)
    mutating func apply(_ slot: Int32, to value: UnsafeRawBufferPointer) -> Bool {
        lineDirty = true
        // Unmanaged: the masker holds the programs for the whole chunk, so no retain per value.
        let replaced = programs[Int(slot)]._withUnsafeGuaranteedRef {
            values.apply($0, to: value, scratch: scratch, statistics: &line)
        } == .replaced
        if replaced && scratch.hashedUnreadable && programs[Int(slot)]._withUnsafeGuaranteedRef({ $0.kind == .hash }) {
            line.fieldUnreadable[Int(slot)] += 1
            lineSlots.append(slot)
        }
        return replaced
    }

    /// Writes `scratch.replacement` as a JSON string in place of `start..<end`.
    @inline(__always)
    mutating func splice(_ slot: Int32, _ node: Int32, _ start: Int, _ end: Int) {
        skip(start, to: end)
        scratch.replacement.withUnsafeBytes { JSONString.appendQuoted($0, to: &output) }
        countChange(slot, node)
    }

    /// A value starts in the container at `depth`: in an array, that starts a new element.
    @inline(__always)
    mutating func beginValue(in depth: Int, at start: Int) {
        guard !frames[depth].isObject else { return }
        if !frames[depth].keptAny && frames[depth].droppedAny {
            skip(frames[depth].lastDropEnd, to: start)
        }
        frames[depth].memberStart = start
        frames[depth].memberNode = frames[depth].elementNode
        frames[depth].memberSlot = frames[depth].elementSlot
    }

    /// The current member (or element) of the container at `depth` ends at `end`.
    ///
    /// A dropped member takes the comma before it (from the end of the last kept member), or,
    /// when no member was kept yet, the comma after it (removed when the next member starts).
    @inline(__always)
    mutating func endValue(in depth: Int, at end: Int, dropped: Bool) {
        if dropped {
            skip(frames[depth].keptAny ? frames[depth].lastKeptEnd : frames[depth].memberStart, to: end)
            frames[depth].droppedAny = true
            frames[depth].lastDropEnd = end
        } else {
            frames[depth].keptAny = true
            frames[depth].lastKeptEnd = end
        }
    }
}

/// The paths seen in one chunk, as a tree of nodes (node 0 is the top level), each with the
/// statistics slot (= policy) resolved once when the path is first seen.
///
/// Lookups are what the hot loop pays per key, so they are cheap in the common case: records of
/// one extract list their keys in the same order, so the child after the one found last is tried
/// first (one short compare); otherwise a hash table over (parent, key) answers, so even objects
/// used as maps with many distinct keys cost O(1) per key. Keys are stored once each; a node's
/// full path text is rendered only when the node is created.
///
/// Nodes and keys live in manually grown buffers (`RawBuffer`): the lookups run a few times per record, and
/// array bounds and uniqueness checks were a visible share of them.
final class PathTable {
    struct Node {
        var parent: Int32
        var isElement: Bool
        var slot: Int32
        var keyStart: Int32
        var keyLength: Int32
        var hash: UInt64
        var firstChild: Int32 = -1
        var lastChild: Int32 = -1
        var nextSibling: Int32 = -1
        var hint: Int32 = -1
        var elementChild: Int32 = -1
        /// The key was scanned and nothing was found in it (checked once per node and chunk).
        var keyClean = false
        /// Values changed under this path in the chunk (pattern and default slots only).
        var changes: Int32 = 0
    }

    let matcher: FieldPathMatcher
    let defaultSlot: Int32
    private var nodeBuffer = RawBuffer<Node>(capacity: 64)
    private var keyBuffer = RawBuffer<UInt8>(capacity: 1024)
    private var nodes: UnsafeMutablePointer<Node> { nodeBuffer.base }
    private var nodeCount: Int { nodeBuffer.count }
    private var keys: UnsafeMutablePointer<UInt8> { keyBuffer.base }
    private var buckets: [Int32]
    private var entries = 0
    private var path: [UInt8] = []
    private var chain: [Int32] = []

    init(matcher: FieldPathMatcher, defaultSlot: Int32) {
        self.matcher = matcher
        self.defaultSlot = defaultSlot
        buckets = Array(repeating: -1, count: 64)
        append(Node(parent: -1, isElement: false, slot: defaultSlot, keyStart: 0, keyLength: 0, hash: 0))
    }

    deinit {
        nodeBuffer.deallocate()
        keyBuffer.deallocate()
    }

    @inline(__always)
    func slot(of node: Int32) -> Int32 { nodes[Int(node)].slot }

    /// Whether the node's key still needs a scan (not yet found clean in this chunk).
    @inline(__always)
    func keyMayHoldData(_ node: Int32) -> Bool { !nodes[Int(node)].keyClean }

    func markKeyClean(_ node: Int32) { nodes[Int(node)].keyClean = true }

    private func append(_ node: Node) {
        nodeBuffer.append(node)
    }

    /// The node of the array elements under `parent`.
    func element(of parent: Int32) -> Int32 {
        let existing = nodes[Int(parent)].elementChild
        if existing >= 0 { return existing }
        let node = Int32(nodeCount)
        append(Node(parent: parent, isElement: true, slot: defaultSlot, keyStart: 0, keyLength: 0, hash: 0))
        nodes[Int(parent)].elementChild = node
        resolve(node)
        return node
    }

    /// The node of key `key` (decoded) in the object at `parent`.
    @inline(__always)
    func child(of parent: Int32, key: UnsafeRawBufferPointer) -> Int32 {
        let owner = nodes + Int(parent)
        let hint = owner.pointee.hint
        var candidate = hint >= 0 ? nodes[Int(hint)].nextSibling : -1
        if candidate < 0 { candidate = owner.pointee.firstChild }
        if candidate >= 0 && keyEquals(candidate, key) {
            owner.pointee.hint = candidate
            return candidate
        }
        return lookUp(parent, key)
    }

    private func lookUp(_ parent: Int32, _ key: UnsafeRawBufferPointer) -> Int32 {
        let hash = Self.hash(key, parent: parent)
        let mask = buckets.count - 1
        var bucket = Int(truncatingIfNeeded: hash) & mask
        while true {
            let found = buckets[bucket]
            if found < 0 { break }
            if nodes[Int(found)].hash == hash && nodes[Int(found)].parent == parent && keyEquals(found, key) {
                nodes[Int(parent)].hint = found
                return found
            }
            bucket = (bucket + 1) & mask
        }
        let keyStart = keyBuffer.count
        keyBuffer.append(contentsOf: key.assumingMemoryBound(to: UInt8.self))
        let node = Int32(nodeCount)
        append(Node(
            parent: parent, isElement: false, slot: defaultSlot, keyStart: Int32(keyStart), keyLength: Int32(key.count),
            hash: hash))
        buckets[bucket] = node
        entries += 1
        let owner = nodes + Int(parent)
        if owner.pointee.lastChild >= 0 {
            nodes[Int(owner.pointee.lastChild)].nextSibling = node
        } else {
            owner.pointee.firstChild = node
        }
        owner.pointee.lastChild = node
        owner.pointee.hint = node
        if entries * 2 > buckets.count { rehash() }
        resolve(node)
        return node
    }

    @inline(__always)
    private func keyEquals(_ node: Int32, _ key: UnsafeRawBufferPointer) -> Bool {
        let entry = nodes + Int(node)
        let count = key.count
        guard Int(entry.pointee.keyLength) == count else { return false }
        guard count > 0 else { return true }
        let stored = UnsafeRawPointer(keys + Int(entry.pointee.keyStart))
        let given = key.baseAddress!
        if count <= 8 {
            // Keys are short: compare them as one or two overlapping loads, not through memcmp.
            if count >= 4 {
                return stored.loadUnaligned(as: UInt32.self) == given.loadUnaligned(as: UInt32.self)
                    && stored.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self)
                        == given.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self)
            }
            var index = 0
            while index < count {
                let byte = stored.load(fromByteOffset: index, as: UInt8.self)
                if byte != given.load(fromByteOffset: index, as: UInt8.self) { return false }
                index += 1
            }
            return true
        }
        if count <= 16 {
            return stored.loadUnaligned(as: UInt64.self) == given.loadUnaligned(as: UInt64.self)
                && stored.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)
                    == given.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)
        }
        return memcmp(stored, given, count) == 0
    }

    private static func hash(_ key: UnsafeRawBufferPointer, parent: Int32) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325 ^ UInt64(UInt32(bitPattern: parent))
        for byte in key { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return (hash ^ (hash >> 29)) &* 0x9E37_79B9_7F4A_7C15
    }

    private func rehash() {
        buckets = Array(repeating: -1, count: buckets.count * 2)
        let mask = buckets.count - 1
        for index in 1..<nodeCount where !nodes[index].isElement {
            var bucket = Int(truncatingIfNeeded: nodes[index].hash) & mask
            while buckets[bucket] >= 0 { bucket = (bucket + 1) & mask }
            buckets[bucket] = Int32(index)
        }
    }

    func countChange(_ node: Int32) { nodes[Int(node)].changes += 1 }

    /// The node's path text (`orders[].phone`).
    func pathText(of node: Int32) -> [UInt8] {
        render(node)
        return path
    }

    /// The paths with changes in this chunk, sorted, with their slots and counts.
    func changedPaths() -> [PathChange] {
        var found: [PathChange] = []
        for index in 1..<max(nodeCount, 1) where nodes[index].changes > 0 {
            render(Int32(index))
            found.append(PathChange(path: String(decoding: path, as: UTF8.self), slot: Int(nodes[index].slot), changed: Int(nodes[index].changes)))
        }
        return found.sorted { $0.path < $1.path }
    }

    /// Sets the node's slot: the rule naming its path, else its parent's rule, else the default.
    private func resolve(_ node: Int32) {
        render(node)
        if let rule = matcher.ruleIndex(forPath: path) {
            nodes[Int(node)].slot = Int32(rule)
        } else {
            nodes[Int(node)].slot = nodes[Int(nodes[Int(node)].parent)].slot
        }
    }

    /// The node's path text (`orders[].phone`), into `path`.
    private func render(_ node: Int32) {
        chain.removeAll(keepingCapacity: true)
        var cursor = node
        while cursor > 0 {
            chain.append(cursor)
            cursor = nodes[Int(cursor)].parent
        }
        path.removeAll(keepingCapacity: true)
        for index in chain.reversed() {
            let entry = nodes[Int(index)]
            if entry.isElement {
                path.append(contentsOf: [0x5B, 0x5D])
            } else {
                if !path.isEmpty { path.append(0x2E) }
                path.append(
                    contentsOf: UnsafeBufferPointer(start: keys + Int(entry.keyStart), count: Int(entry.keyLength)))
            }
        }
    }
}
