/// The world's telephone numbering plans as data: for every country calling code, which
/// national numbers exist (by leading digits and length), the national (trunk) prefix, the
/// international dialling prefix and how numbers are grouped when written.
///
/// The facts are libphonenumber's public metadata (Apache-2.0), compiled offline by
/// `scripts/phone-plan/generate.py` into `PhonePlanData.swift`: each region's number-type
/// patterns as one minimal DFA over the ten digits, so checking a candidate costs at most 17
/// table lookups and no regex engine, and each number format as a leading-digits DFA plus the
/// length range of each of its groups. Decoding the ~260 KB table once takes about a
/// millisecond; it is shared, immutable, by every worker.
public final class PhonePlan: Sendable {
    /// One region (or non-geographic entity, `001`) of the metadata.
    /// A class, so that reading one field of it in the hot loop costs no copy of the others.
    public final class Region: Sendable {
        /// ISO 3166 code (`JP`), or `001` for a non-geographic calling code (`+800`).
        public let isoCode: String
        public let callingCode: Int
        /// The calling code's digits (`"81"`), for writing E.164.
        public let callingCodeDigits: [UInt8]
        /// Dialled before a national number inside the country (`0`, NANP `1`, RU `8`), as digit
        /// values 0-9; empty where there is none (IT, ES, SG).
        public let nationalPrefix: [UInt8]
        /// Dialled before a country code from inside the country (`00`, `011`, `0011`; SG's
        /// `0[0-3]\d` as 000...039), as digit values, the preferred one first; empty where the
        /// metadata gives none.
        public let internationalPrefixes: [[UInt8]]
        /// Whether this is the main region of its calling code (US for +1, GB for +44).
        public let isMainRegion: Bool
        let validity: Int
        /// Indexed by a length some fixed-line or mobile number of the region has (else empty):
        /// for each position, a mask of the digits valid numbers of that length hold there.
        let subscriberShapes: [[UInt16]]
        let formats: [Format]

        init(
            isoCode: String, callingCode: Int, callingCodeDigits: [UInt8], nationalPrefix: [UInt8], internationalPrefixes: [[UInt8]],
            isMainRegion: Bool, validity: Int, subscriberShapes: [[UInt16]], formats: [Format]
        ) {
            self.isoCode = isoCode
            self.callingCode = callingCode
            self.callingCodeDigits = callingCodeDigits
            self.nationalPrefix = nationalPrefix
            self.internationalPrefixes = internationalPrefixes
            self.isMainRegion = isMainRegion
            self.validity = validity
            self.subscriberShapes = subscriberShapes
            self.formats = formats
        }
    }

    /// How a region writes one family of numbers: which numbers it applies to (a prefix
    /// automaton, libphonenumber's most specific leading-digits pattern) and the length range
    /// of each group (`(\d{3})(\d{3,4})` → 3...3, 3...4).
    struct Format: Sendable {
        let leadingDigits: Int?
        let groups: [ClosedRange<Int>]
        /// The national form writes the trunk prefix (`0\1`)...
        let writesNationalPrefix: Bool
        /// ...but it may be left out (IN mobiles: `98765 43210`).
        let nationalPrefixOptional: Bool
        var length: ClosedRange<Int> {
            groups.reduce(0) { $0 + $1.lowerBound }...groups.reduce(0) { $0 + $1.upperBound }
        }
    }

    public let regions: [Region]
    let regionIndexByISO: [String: Int]
    /// All automata, one table: state `s` of automaton `a` reads digit `d` at
    /// `(base[a] + s) * 10 + d`; `0xFFFF` is the dead state.
    ///
    /// Flat tables rather than arrays, with each region's validity automaton and calling code
    /// beside them, for the finder's inner loops: reading a Swift array held by a class there
    /// cost a retain, a release and a bounds check per lookup, and the region's class another
    /// retain (a profile of the phone normaliser showed them at a tenth of its time). Written
    /// once in `init` and checked there, never changed, freed in `deinit`.
    nonisolated(unsafe) private let transitionTable: UnsafeMutablePointer<UInt16>
    nonisolated(unsafe) private let acceptingTable: UnsafeMutablePointer<Bool>
    nonisolated(unsafe) private let baseTable: UnsafeMutablePointer<Int>
    nonisolated(unsafe) private let validityTable: UnsafeMutablePointer<Int>
    nonisolated(unsafe) private let callingCodeTable: UnsafeMutablePointer<Int>
    private let automatonCount: Int
    /// Each region's national prefix, at `8 * region` (at most 8 digits; the count beside).
    nonisolated(unsafe) private let prefixTable: UnsafeMutablePointer<UInt8>
    nonisolated(unsafe) private let prefixCountTable: UnsafeMutablePointer<Int>
    /// Region indices by calling code: the regions of code `c` (0...999) are
    /// `codeRegionTable[codeStartTable[c]..<codeStartTable[c + 1]]`, the main region first.
    nonisolated(unsafe) private let codeStartTable: UnsafeMutablePointer<Int>
    nonisolated(unsafe) private let codeRegionTable: UnsafeMutablePointer<Int>
    /// Each region's formats, flat: region `r`'s are `formatTable[formatStartTable[r]..<
    /// formatStartTable[r + 1]]`, a format's groups `groupTable[groupStart..<groupStart +
    /// groupCount]`. Walking `regions[r].formats` retained the array and each format's groups
    /// per number read, reference counts that every worker shares.
    nonisolated(unsafe) private let formatStartTable: UnsafeMutablePointer<Int>
    nonisolated(unsafe) private let formatTable: UnsafeMutablePointer<FlatFormat>
    nonisolated(unsafe) private let groupTable: UnsafeMutablePointer<ClosedRange<Int>>

    /// `Format` as the flat table holds it.
    struct FlatFormat {
        /// The leading-digits automaton, or -1.
        let leadingDigits: Int
        let groupStart: Int
        let groupCount: Int
        let length: ClosedRange<Int>
        let writesNationalPrefix: Bool
        let nationalPrefixOptional: Bool
    }

    /// The plan compiled into the binary (libphonenumber `metadataVersion`).
    public static let shared = PhonePlan()

    init() {
        var reader = Reader(bytes: Self.decodeBase64(Self.encoded))
        var regions: [Region] = []
        let regionCount = reader.u16()
        for _ in 0..<regionCount {
            let iso = String(decoding: reader.bytes(3), as: UTF8.self).trimmingSuffixSpaces()
            let code = reader.u16()
            let validity = reader.u16()
            let prefixLength = Int(reader.u8())
            let isMain = reader.u8() == 1
            var shapes = [[UInt16]](repeating: [], count: 32)
            for _ in 0..<reader.u8() {
                let length = Int(reader.u8())
                shapes[length] = (0..<length).map { _ in UInt16(reader.u16()) }
            }
            let nationalPrefix = reader.bytes(prefixLength).map { $0 &- 0x30 }
            let iddLength = Int(reader.u16())
            let idd = reader.bytes(iddLength).split(separator: UInt8(ascii: ",")).map { $0.map { $0 &- 0x30 } }
            var formats: [Format] = []
            for _ in 0..<reader.u8() {
                let leading = reader.u16()
                let flags = reader.u8()
                var groups: [ClosedRange<Int>] = []
                for _ in 0..<reader.u8() {
                    let low = Int(reader.u8())
                    let high = Int(reader.u8())
                    groups.append(low...max(low, high))
                }
                formats.append(Format(
                    leadingDigits: leading == 0xFFFF ? nil : Int(leading), groups: groups,
                    writesNationalPrefix: flags & 1 != 0, nationalPrefixOptional: flags & 2 != 0))
            }
            regions.append(Region(
                isoCode: iso, callingCode: code, callingCodeDigits: Array(String(code).utf8),
                nationalPrefix: nationalPrefix, internationalPrefixes: idd, isMainRegion: isMain,
                validity: validity, subscriberShapes: shapes, formats: formats))
        }
        var transitions: [UInt16] = []
        var accepting: [Bool] = []
        var bases: [Int] = []
        for _ in 0..<reader.u16() {
            bases.append(accepting.count)
            for _ in 0..<reader.u16() {
                accepting.append(reader.u8() == 1)
                for _ in 0..<10 { transitions.append(UInt16(reader.u16())) }
            }
        }
        var byCode: [Int: [Int]] = [:]
        var byISO: [String: Int] = [:]
        for (index, region) in regions.enumerated() {
            if region.isMainRegion {
                byCode[region.callingCode, default: []].insert(index, at: 0)
            } else {
                byCode[region.callingCode, default: []].append(index)
            }
            if region.isoCode != "001" { byISO[region.isoCode] = index }
        }
        self.regions = regions
        self.regionIndexByISO = byISO
        transitionTable = .allocate(capacity: transitions.count)
        transitionTable.initialize(from: transitions, count: transitions.count)
        acceptingTable = .allocate(capacity: accepting.count)
        acceptingTable.initialize(from: accepting, count: accepting.count)
        baseTable = .allocate(capacity: bases.count)
        baseTable.initialize(from: bases, count: bases.count)
        automatonCount = bases.count
        validityTable = .allocate(capacity: regions.count)
        validityTable.initialize(from: regions.map(\.validity), count: regions.count)
        callingCodeTable = .allocate(capacity: regions.count)
        callingCodeTable.initialize(from: regions.map(\.callingCode), count: regions.count)
        prefixTable = .allocate(capacity: 8 * regions.count)
        prefixTable.initialize(repeating: 0, count: 8 * regions.count)
        prefixCountTable = .allocate(capacity: regions.count)
        for (index, region) in regions.enumerated() {
            precondition(region.nationalPrefix.count <= 8, "phone plan: national prefix longer than 8 digits")
            for (offset, digit) in region.nationalPrefix.enumerated() { prefixTable[8 * index + offset] = digit }
            (prefixCountTable + index).initialize(to: region.nationalPrefix.count)
        }
        codeStartTable = .allocate(capacity: 1001)
        codeRegionTable = .allocate(capacity: max(1, regions.count))
        var filled = 0
        for code in 0...999 {
            (codeStartTable + code).initialize(to: filled)
            for region in byCode[code] ?? [] {
                (codeRegionTable + filled).initialize(to: region)
                filled += 1
            }
        }
        (codeStartTable + 1000).initialize(to: filled)
        let formatCount = regions.reduce(0) { $0 + $1.formats.count }
        formatStartTable = .allocate(capacity: regions.count + 1)
        formatTable = .allocate(capacity: max(1, formatCount))
        groupTable = .allocate(capacity: max(1, regions.reduce(0) { $0 + $1.formats.reduce(0) { $0 + $1.groups.count } }))
        var formatsFilled = 0
        var groupsFilled = 0
        for (index, region) in regions.enumerated() {
            (formatStartTable + index).initialize(to: formatsFilled)
            for format in region.formats {
                precondition(format.leadingDigits.map { $0 >= 0 && $0 < bases.count } ?? true, "phone plan: leading digits are no automaton")
                (formatTable + formatsFilled).initialize(to: FlatFormat(
                    leadingDigits: format.leadingDigits ?? -1, groupStart: groupsFilled, groupCount: format.groups.count,
                    length: format.length, writesNationalPrefix: format.writesNationalPrefix, nationalPrefixOptional: format.nationalPrefixOptional))
                formatsFilled += 1
                for group in format.groups {
                    (groupTable + groupsFilled).initialize(to: group)
                    groupsFilled += 1
                }
            }
        }
        (formatStartTable + regions.count).initialize(to: formatsFilled)
        precondition(byCode.keys.allSatisfy { $0 >= 0 && $0 <= 999 }, "phone plan: calling code out of 0...999")
        // Every transition leads to a state of its own automaton or to the dead state, and every
        // validity is an automaton: what lets `accepts` index the tables unchecked.
        for (automaton, base) in bases.enumerated() {
            let states = (automaton + 1 < bases.count ? bases[automaton + 1] : accepting.count) - base
            for index in base * 10..<(base + states) * 10 {
                precondition(transitions[index] == 0xFFFF || Int(transitions[index]) < states, "phone plan: transition out of its automaton")
            }
        }
        precondition(regions.allSatisfy { $0.validity < bases.count }, "phone plan: validity is no automaton")
    }

    deinit {
        transitionTable.deallocate()
        acceptingTable.deallocate()
        baseTable.deallocate()
        validityTable.deallocate()
        callingCodeTable.deallocate()
        prefixTable.deallocate()
        prefixCountTable.deallocate()
        codeStartTable.deallocate()
        codeRegionTable.deallocate()
        formatStartTable.deallocate()
        formatTable.deallocate()
        groupTable.deallocate()
    }

    /// A region's national prefix as digit values (`plan.regions[region].nationalPrefix`,
    /// without the retains).
    @inline(__always)
    func nationalPrefix(ofRegion region: Int) -> UnsafeBufferPointer<UInt8> {
        precondition(region >= 0 && region < regions.count)
        return UnsafeBufferPointer(start: prefixTable + 8 * region, count: prefixCountTable[region])
    }

    /// `regions(callingCode:)` without the array.
    @inline(__always)
    func regionSpan(callingCode code: Int) -> UnsafeBufferPointer<Int> {
        guard code >= 0 && code <= 999 else { return UnsafeBufferPointer(start: codeRegionTable, count: 0) }
        return UnsafeBufferPointer(start: codeRegionTable + codeStartTable[code], count: codeStartTable[code + 1] - codeStartTable[code])
    }

    /// The calling code of a region (`plan.regions[region].callingCode`, without the retain).
    @inline(__always)
    func callingCode(ofRegion region: Int) -> Int {
        precondition(region >= 0 && region < regions.count)
        return callingCodeTable[region]
    }

    /// The index of the region with this ISO code (case-insensitive), if the plan knows it.
    public func regionIndex(isoCode: String) -> Int? {
        regionIndexByISO[isoCode.uppercased()]
    }

    /// All ISO codes the plan knows, sorted (for messages).
    public var isoCodes: [String] { regionIndexByISO.keys.sorted() }

    /// The regions that share a calling code, main region first (empty if no region has it).
    public func regions(callingCode: Int) -> [Int] {
        Array(regionSpan(callingCode: callingCode))
    }

    /// Whether `digits` (values 0-9) is a number of one of the region's types.
    @inline(__always)
    public func isValid<Digits: Collection<UInt8>>(_ digits: Digits, region: Int) -> Bool {
        precondition(region >= 0 && region < regions.count)
        return accepts(validityTable[region], digits)
    }

    /// Whether the automaton accepts `digits` (values 0-9; any other value is refused).
    @inline(__always)
    func accepts<Digits: Collection<UInt8>>(_ automaton: Int, _ digits: Digits) -> Bool {
        precondition(automaton >= 0 && automaton < automatonCount)
        let base = baseTable[automaton]
        var state = 0
        for digit in digits {
            guard digit < 10 else { return false }
            let next = transitionTable[(base &+ state) &* 10 &+ Int(digit)]
            if next == 0xFFFF { return false }
            state = Int(next)
        }
        return acceptingTable[base &+ state]
    }

    /// Whether a prefix of `digits` is accepted (leading-digits patterns match a prefix).
    func acceptsPrefix<Digits: Collection<UInt8>>(_ automaton: Int, _ digits: Digits) -> Bool {
        precondition(automaton >= 0 && automaton < automatonCount)
        let base = baseTable[automaton]
        var state = 0
        if acceptingTable[base] { return true }
        for digit in digits {
            guard digit < 10 else { return false }
            let next = transitionTable[(base &+ state) &* 10 &+ Int(digit)]
            if next == 0xFFFF { return false }
            state = Int(next)
            if acceptingTable[base &+ state] { return true }
        }
        return false
    }

    /// Whether a national significant number the plan does not hold could still be a person's
    /// number of the region: a fixed-line or mobile number has its length, each of its digits
    /// is one that valid numbers of that length hold at that position, and one of the region's
    /// formats writes numbers with its leading digits and length. The plan lags the world
    /// (blocks are allocated after a metadata release, a Réunion mobile is written under +33),
    /// so a number written with `+` and its calling code is masked by this shape
    /// (`+33 6 94 58 30 47`), while what no block could hold is not: lengths no subscriber
    /// number has (a ten-digit Ukrainian number), digits the plan's structure excludes
    /// (`+1 800-123-4567`: no NANP exchange starts with 0 or 1).
    public func isSubscriberShaped(_ digits: UnsafeBufferPointer<UInt8>, region: Int) -> Bool {
        guard digits.count < 32 else { return false }
        let shape = regions[region].subscriberShapes[digits.count]
        guard !shape.isEmpty else { return false }
        for (position, digit) in digits.enumerated() where shape[position] & (1 << UInt16(digit)) == 0 { return false }
        let formats = formatSpan(region)
        if formats.isEmpty { return true }
        for index in formats {
            let format = formatTable[index]
            guard format.length.contains(digits.count) else { continue }
            if format.leadingDigits >= 0, !acceptsPrefix(format.leadingDigits, digits) { continue }
            return true
        }
        return false
    }

    /// Whether a national significant number, written with group breaks before the digit
    /// offsets `breaks` (ascending, each in 1..<count) and with or without the trunk prefix, is
    /// written as the region writes it: one of its formats for this number has group ends at
    /// every break, and writes the trunk prefix if and only if it was written (unless the
    /// format says it is optional). A region without formats accepts any writing.
    public func isWrittenAsRegionWrites(
        _ digits: UnsafeBufferPointer<UInt8>, breaks: UnsafeBufferPointer<Int>, region: Int, nationalPrefixWritten: Bool
    ) -> Bool {
        let formats = formatSpan(region)
        if formats.isEmpty { return true }
        for index in formats {
            let format = formatTable[index]
            if !nationalPrefixWritten && format.writesNationalPrefix && !format.nationalPrefixOptional { continue }
            guard format.length.contains(digits.count) else { continue }
            if format.leadingDigits >= 0, !acceptsPrefix(format.leadingDigits, digits) { continue }
            // Left out where the format writes it (optionally), the trunk prefix leaves less
            // evidence: the grouping must then be exactly the format's (IN 98765 43210).
            let exact = !nationalPrefixWritten && format.writesNationalPrefix
            if breaks.isEmpty && !exact { return true }
            if exact && breaks.count != format.groupCount - 1 { continue }
            let groups = UnsafeBufferPointer(start: groupTable + format.groupStart, count: format.groupCount)
            if Self.fits(groups, from: 0, at: 0, count: digits.count, breaks: breaks, next: 0) { return true }
        }
        return false
    }

    /// The indices in `formatTable` of a region's formats.
    @inline(__always)
    private func formatSpan(_ region: Int) -> Range<Int> {
        precondition(region >= 0 && region < regions.count)
        return formatStartTable[region]..<formatStartTable[region + 1]
    }

    /// Whether the groups from `group` on can cover `position..<count` so that every break
    /// from `next` on falls on a group end.
    static func fits(_ groups: UnsafeBufferPointer<ClosedRange<Int>>, from group: Int, at position: Int, count: Int, breaks: UnsafeBufferPointer<Int>, next: Int) -> Bool {
        if group == groups.count { return position == count && next == breaks.count }
        for length in groups[group] {
            let end = position + length
            if end > count { break }
            // No break may fall strictly inside this group.
            if next < breaks.count && breaks[next] < end { break }
            let following = next < breaks.count && breaks[next] == end ? next + 1 : next
            if fits(groups, from: group + 1, at: end, count: count, breaks: breaks, next: following) { return true }
        }
        return false
    }

    // MARK: - Decoding the compiled table

    struct Reader {
        let bytes: [UInt8]
        var offset = 0
        mutating func u8() -> UInt8 { defer { offset += 1 }; return bytes[offset] }
        mutating func u16() -> Int { defer { offset += 2 }; return Int(bytes[offset]) | Int(bytes[offset + 1]) << 8 }
        mutating func bytes(_ count: Int) -> ArraySlice<UInt8> { defer { offset += count }; return bytes[offset..<offset + count] }
    }

    /// Base64 (RFC 4648), skipping line breaks. MaskCore does not import Foundation, and this
    /// is the only base64 it reads: a dozen lines here rather than a dependency.
    static func decodeBase64(_ text: StaticString) -> [UInt8] {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (value, character) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() {
            table[Int(character)] = UInt8(value)
        }
        var output: [UInt8] = []
        output.reserveCapacity(text.utf8CodeUnitCount * 3 / 4)
        var accumulator: UInt32 = 0
        var bits = 0
        let buffer = UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount)
        for character in buffer {
            let value = table[Int(character)]
            if value == 0xFF { continue }  // line breaks and `=` padding
            accumulator = accumulator << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                output.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
            }
        }
        return output
    }
}

extension String {
    fileprivate func trimmingSuffixSpaces() -> String {
        var text = Substring(self)
        while text.last == " " { text = text.dropLast() }
        return String(text)
    }
}
