/// What a value is turned into before it is hashed, so that spellings of the same email or phone
/// number give the same keyed hash everywhere (joins across tables and runs keep working).
public enum Normalizer: Sendable, Equatable {
    /// Hash the bytes exactly as they are.
    case none
    /// Strip leading and trailing ASCII whitespace.
    case trim
    /// Trim, then lowercase ASCII letters. Non-ASCII bytes are kept: lowercasing them would need
    /// Unicode tables and would change bytes that are not letters in every locale.
    case lowercase
    /// An email address in one spelling: ASCII letters of the local part lowercased, the domain
    /// in lowercase A-labels (`Bücher.de` and `xn--bcher-kva.de` hash alike; see
    /// EmailNormalizer.swift for what is kept and why).
    case email
    /// Keep only the digits (ASCII and full-width), up to an extension marker.
    case digits
    /// E.164 (`+<country><national number>`): a value that is one number of the numbering
    /// plans (`PhoneFinder`: international, or national in one of `numbering`'s regions, first
    /// valid wins) is written from the plan, so `090-1234-5678` and `+81 90-1234-5678` hash
    /// alike; any other value falls back to its digits read in `region`. Boxed (`indirect`): the
    /// masker copies its normaliser for each hashed value, and a boxed payload is one retain
    /// where the region's strings and the finder's arrays were several.
    indirect case e164(region: PhoneRegion, numbering: PhoneFinder)

    /// E.164 with national numbers read in `region` alone.
    public static func e164(region: PhoneRegion) -> Normalizer {
        .e164(region: region, numbering: PhoneFinder(regions: [region.isoCode]))
    }

    /// Replaces `output` with the normalised value (for values too large for the stack).
    public func normalize(_ value: UnsafeRawBufferPointer, into output: inout [UInt8]) {
        output.removeAll(keepingCapacity: true)
        Self.append(upTo: maximumCount(forValueOf: value.count), to: &output) { normalize(value, to: $0) }
    }

    /// The most bytes `normalize(_:to:)` writes for a value of `count` bytes.
    @inlinable
    public func maximumCount(forValueOf count: Int) -> Int {
        switch self {
        case .e164(let region, _): return count + 4 + region.callingCode.utf8.count
        case .none, .trim, .lowercase, .digits: return count
        // A non-ASCII code point takes at least two UTF-8 bytes and at most 11 Punycode digits;
        // each label gains `xn--` and a delimiter.
        case .email: return 8 * count + 8
        }
    }

    /// Appends what `write` puts in memory with room for `room` bytes; `write` returns how many it wrote.
    @inline(__always)
    static func append(upTo room: Int, to output: inout [UInt8], _ write: (UnsafeMutablePointer<UInt8>) -> Int) {
        let start = output.count
        output.append(contentsOf: repeatElement(0, count: room))
        let written = output.withUnsafeMutableBufferPointer { write($0.baseAddress! + start) }
        output.removeLast(room - written)
    }

    /// Writes the normalised value into memory the caller provides, with room for
    /// `maximumCount(forValueOf: value.count)` bytes: the hash path normalises on the stack, with
    /// no array to clear, grow or shift for every value.
    /// - Returns: the number of bytes written.
    public func normalize(_ value: UnsafeRawBufferPointer, to output: UnsafeMutablePointer<UInt8>) -> Int {
        switch self {
        case .none:
            if let base = value.baseAddress { output.update(from: base.assumingMemoryBound(to: UInt8.self), count: value.count) }
            return value.count
        case .trim:
            let trimmed = Self.trimmed(value)
            if let base = trimmed.baseAddress { output.update(from: base.assumingMemoryBound(to: UInt8.self), count: trimmed.count) }
            return trimmed.count
        case .digits:
            return Self.phoneDigits(value, to: output).count
        case .email:
            return Self.normalizeEmail(value, to: output)
        case .lowercase:
            let trimmed = Self.trimmed(value)
            for index in 0..<trimmed.count {
                let byte = trimmed[index]
                output[index] = byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte
            }
            return trimmed.count
        case .e164(let region, let numbering):
            // Built in place after output[0] = '+'.
            output[0] = UInt8(ascii: "+")
            let (digits, international) = Self.phoneDigits(value, to: output + 1)
            // A number whose digits are valid in one region only (or international) is written
            // from its digits. Otherwise it is read as the detector reads it, grouping included,
            // so that 0412 345 678 is Australian (as written) though its digits are also Japanese.
            if digits >= 4 && digits <= 24,
                let written = numbering.writeE164(asciiDigits: output + 1, count: digits, international: international, unambiguousOnly: true)
            {
                return 1 + written
            }
            if !international && numbering.regions.count > 1 {
                var written = -1
                numbering.matches(in: Self.trimmed(value)) { range, number in
                    guard written < 0, range.lowerBound == 0 else { return }
                    written = 1 + number.writeE164Digits(to: output + 1)
                }
                if written > 0 { return written }
            }
            // A national number valid in several regions that the grouping did not settle: the
            // first region it is valid in (an international one was read above already).
            if !international && digits >= 4 && digits <= 24,
                let written = numbering.writeE164(asciiDigits: output + 1, count: digits, international: false)
            {
                return 1 + written
            }
            var count = 1 + digits
            if international { return count }
            @inline(__always) func digitsStart(with prefix: String) -> Bool {
                var index = 1
                for byte in prefix.utf8 {
                    if index >= count || output[index] != byte { return false }
                    index += 1
                }
                return true
            }
            @inline(__always) func removeDigits(_ removed: Int) {
                (output + 1).update(from: output + 1 + removed, count: count - 1 - removed)
                count -= removed
            }
            for prefix in region.internationalPrefixes where count > prefix.utf8.count {
                if digitsStart(with: prefix) {
                    removeDigits(prefix.utf8.count)
                    return count
                }
            }
            // `00` is the international prefix of most of the world, and no national number
            // starts with it: `0044 20 7946 0958` is `+44…` whatever the default region.
            if count > 3 && output[1] == 0x30 && output[2] == 0x30 {
                removeDigits(2)
                return count
            }
            if region.callingCode == "1" && count == 12 && output[1] == UInt8(ascii: "1") {
                return count  // NANP written with its country code but without '+'
            }
            if let trunk = region.trunkPrefix, digitsStart(with: trunk) {
                removeDigits(trunk.utf8.count)
            }
            let code = region.callingCode.utf8.count
            (output + 1 + code).update(from: output + 1, count: count - 1)
            var index = 1
            for byte in region.callingCode.utf8 {
                output[index] = byte
                index += 1
            }
            return count + code
        }
    }

    /// Whether this normaliser can read `value` as what it normalises. Only the phone
    /// normalisers (`digits`, `e164`) can fail: they read a value with at least four digits
    /// (ASCII or full-width) before any letter or `@` (letters after them are an extension:
    /// `x12`, `ext. 5`). `n/a`, `unknown` or an email in a phone column would otherwise all
    /// normalise to the same few bytes (`+1`) and share one hash.
    public func canRead(_ value: UnsafeRawBufferPointer) -> Bool {
        switch self {
        case .none, .trim, .lowercase, .email: return true
        case .digits, .e164: break
        }
        var digits = 0
        var index = 0
        while index < value.count {
            let byte = value[index]
            if byte >= 0x30 && byte <= 0x39 {
                digits += 1
            } else if byte == 0xEF && index + 2 < value.count && value[index + 1] == 0xBC && value[index + 2] >= 0x90 && value[index + 2] <= 0x99 {
                digits += 1
                index += 2
            } else if (byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x7A || byte == UInt8(ascii: "@") {
                return digits >= 4
            }
            index += 1
        }
        return digits >= 4
    }

    static func trimmed(_ value: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        var lower = 0
        var upper = value.count
        while lower < upper && isSpace(value[lower]) { lower += 1 }
        while upper > lower && isSpace(value[upper - 1]) { upper -= 1 }
        return UnsafeRawBufferPointer(rebasing: value[lower..<upper])
    }

    @inline(__always)
    static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }

    /// Writes the digits of a phone number to `output` (room for `value.count` bytes: a digit is
    /// never longer than the bytes it was read from), mapping full-width digits (U+FF10–U+FF19) to
    /// ASCII and stopping at an extension marker (`x`, `ext`, `#`, `内線`) once digits were seen. In
    /// an international number a `(0)` trunk (`+44 (0)20 …`, full-width too) is not a digit of it.
    /// - Returns: the number of digits written, and whether the number was written in
    ///   international form (leading `+` or `＋`).
    public static func phoneDigits(_ value: UnsafeRawBufferPointer, to output: UnsafeMutablePointer<UInt8>) -> (count: Int, international: Bool) {
        var international = false
        var index = 0
        let count = value.count
        var written = 0
        while index < count {
            let byte = value[index]
            if byte >= 0x30 && byte <= 0x39 {
                output[written] = byte
                written += 1
            } else if byte == 0xEF && index + 2 < count && value[index + 1] == 0xBC
                && value[index + 2] >= 0x90 && value[index + 2] <= 0x99
            {
                output[written] = 0x30 + value[index + 2] - 0x90
                written += 1
                index += 2
            } else if written == 0 && byte == UInt8(ascii: "+") {
                international = true
            } else if written == 0 && byte == 0xEF && index + 2 < count && value[index + 1] == 0xBC
                && value[index + 2] == 0x8B
            {
                international = true
                index += 2
            } else if international && written > 0
                && (byte == UInt8(ascii: "(") || (byte == 0xEF && index + 2 < count && value[index + 1] == 0xBC && value[index + 2] == 0x88)),
                let next = Validator.trunkGroup(value, index + (byte == 0xEF ? 3 : 1))
            {
                index = next
                continue
            } else if written > 0
                && (byte == UInt8(ascii: "x") || byte == UInt8(ascii: "X") || byte == UInt8(ascii: "#")
                    || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") || byte == 0xE5)
            {
                break
            }
            index += 1
        }
        return (written, international)
    }

    /// Appends the digits of a phone number (see `phoneDigits(_:to:)`).
    /// - Returns: whether the number was written in international form.
    @discardableResult
    public static func phoneDigits(_ value: UnsafeRawBufferPointer, into output: inout [UInt8]) -> Bool {
        var international = false
        append(upTo: value.count, to: &output) { pointer in
            let (count, isInternational) = phoneDigits(value, to: pointer)
            international = isInternational
            return count
        }
        return international
    }
}

/// The dialling facts needed to write a national number in E.164.
public struct PhoneRegion: Sendable, Equatable {
    public var isoCode: String
    public var callingCode: String
    /// Dialled before a national number inside the country (`0` in most of the world).
    public var trunkPrefix: String?
    /// Dialled before a country code from inside the country (`00`, `011`, `010`).
    public var internationalPrefixes: [String]

    /// Every region of libphonenumber's metadata (see `PhonePlan`), by ISO code.
    public static let known: [String: PhoneRegion] = {
        let plan = PhonePlan.shared
        var table: [String: PhoneRegion] = [:]
        for region in plan.regions where region.isoCode != "001" {
            func text(_ digits: [UInt8]) -> String { String(decoding: digits.map { $0 + 0x30 }, as: UTF8.self) }
            var international = region.internationalPrefixes.map(text)
            if !international.contains("00") { international.append("00") }
            table[region.isoCode] = PhoneRegion(
                isoCode: region.isoCode, callingCode: String(region.callingCode),
                trunkPrefix: region.nationalPrefix.isEmpty ? nil : text(region.nationalPrefix),
                internationalPrefixes: international)
        }
        return table
    }()
}
