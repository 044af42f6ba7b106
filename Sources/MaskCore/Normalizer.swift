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
    /// Keep only the digits (ASCII and full-width), up to an extension marker.
    case digits
    /// E.164 (`+<country><national number>`), using `region` for numbers written nationally.
    case e164(region: PhoneRegion)

    public func normalize(_ value: UnsafeRawBufferPointer, into output: inout [UInt8]) {
        output.removeAll(keepingCapacity: true)
        switch self {
        case .none:
            output.append(contentsOf: value)
        case .trim:
            output.append(contentsOf: Self.trimmed(value))
        case .lowercase:
            for byte in Self.trimmed(value) {
                output.append(byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte)
            }
        case .digits:
            _ = Self.phoneDigits(value, into: &output)
        case .e164(let region):
            // Built in place after the '+', so the hot path allocates nothing.
            output.append(UInt8(ascii: "+"))
            let international = Self.phoneDigits(value, into: &output)
            if international { return }
            for prefix in region.internationalPrefixes where output.count > prefix.utf8.count {
                if output[1...].starts(with: prefix.utf8) {
                    output.removeSubrange(1..<(1 + prefix.utf8.count))
                    return
                }
            }
            // `00` is the international prefix of most of the world, and no national number
            // starts with it: `0044 20 7946 0958` is `+44…` whatever the default region.
            if output.count > 3 && output[1] == 0x30 && output[2] == 0x30 {
                output.removeSubrange(1..<3)
                return
            }
            if region.callingCode == "1" && output.count == 12 && output[1] == UInt8(ascii: "1") {
                return  // NANP written with its country code but without '+'
            }
            if let trunk = region.trunkPrefix, output[1...].starts(with: trunk.utf8) {
                output.removeSubrange(1..<(1 + trunk.utf8.count))
            }
            output.insert(contentsOf: region.callingCode.utf8, at: 1)
        }
    }

    /// The most bytes `normalize(_:to:)` writes for a value of `count` bytes, or nil when this
    /// normaliser has no pointer form (use `normalize(_:into:)`).
    @inlinable
    public func maximumCount(forValueOf count: Int) -> Int? {
        switch self {
        case .lowercase: return count
        case .e164(let region): return count + 1 + region.callingCode.utf8.count
        case .none, .trim, .digits: return nil
        }
    }

    /// `normalize(_:into:)` into memory the caller provides, with room for
    /// `maximumCount(forValueOf: value.count)` bytes: the hash path normalises on the stack, with
    /// no array to clear, grow or shift for every value. Only for normalisers with a pointer form.
    /// - Returns: the number of bytes written.
    public func normalize(_ value: UnsafeRawBufferPointer, to output: UnsafeMutablePointer<UInt8>) -> Int {
        switch self {
        case .lowercase:
            let trimmed = Self.trimmed(value)
            for index in 0..<trimmed.count {
                let byte = trimmed[index]
                output[index] = byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte
            }
            return trimmed.count
        case .e164(let region):
            // The same steps as `normalize(_:into:)`, on the digits after output[0] = '+'.
            output[0] = UInt8(ascii: "+")
            let (digits, international) = Self.phoneDigits(value, to: output + 1)
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
            if count > 3 && output[1] == 0x30 && output[2] == 0x30 {
                removeDigits(2)
                return count
            }
            if region.callingCode == "1" && count == 12 && output[1] == UInt8(ascii: "1") {
                return count
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
        case .none, .trim, .digits:
            preconditionFailure("normalize(_:to:) needs a normaliser with a pointer form")
        }
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

    /// `phoneDigits(_:into:)` writing to `output`, which has room for `value.count` bytes (a digit
    /// is never longer than the bytes it was read from).
    /// - Returns: the number of digits written, and whether the number was international.
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

    /// Appends the digits of a phone number, mapping full-width digits (U+FF10–U+FF19) to ASCII
    /// and stopping at an extension marker (`x`, `ext`, `#`, `内線`) once digits were seen. In an
    /// international number a `(0)` trunk (`+44 (0)20 …`, full-width too) is not a digit of it.
    /// - Returns: whether the number was written in international form (leading `+` or `＋`).
    @discardableResult
    public static func phoneDigits(_ value: UnsafeRawBufferPointer, into output: inout [UInt8]) -> Bool {
        var international = false
        var index = 0
        let count = value.count
        let start = output.count
        while index < count {
            let byte = value[index]
            if byte >= 0x30 && byte <= 0x39 {
                output.append(byte)
            } else if byte == 0xEF && index + 2 < count && value[index + 1] == 0xBC
                && value[index + 2] >= 0x90 && value[index + 2] <= 0x99
            {
                output.append(0x30 + value[index + 2] - 0x90)
                index += 2
            } else if output.count == start && byte == UInt8(ascii: "+") {
                international = true
            } else if output.count == start && byte == 0xEF && index + 2 < count && value[index + 1] == 0xBC
                && value[index + 2] == 0x8B
            {
                international = true
                index += 2
            } else if international && output.count > start
                && (byte == UInt8(ascii: "(") || (byte == 0xEF && index + 2 < count && value[index + 1] == 0xBC && value[index + 2] == 0x88)),
                let next = Validator.trunkGroup(value, index + (byte == 0xEF ? 3 : 1))
            {
                index = next
                continue
            } else if output.count > start
                && (byte == UInt8(ascii: "x") || byte == UInt8(ascii: "X") || byte == UInt8(ascii: "#")
                    || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") || byte == 0xE5)
            {
                break
            }
            index += 1
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

    public static let known: [String: PhoneRegion] = {
        var table: [String: PhoneRegion] = [:]
        func add(_ iso: String, _ code: String, trunk: String? = "0", intl: [String] = ["00"]) {
            table[iso] = PhoneRegion(isoCode: iso, callingCode: code, trunkPrefix: trunk, internationalPrefixes: intl)
        }
        add("US", "1", trunk: nil, intl: ["011"])
        add("CA", "1", trunk: nil, intl: ["011"])
        add("JP", "81", intl: ["010"])
        add("GB", "44")
        add("DE", "49")
        add("FR", "33")
        add("IT", "39", trunk: nil)
        add("ES", "34", trunk: nil)
        add("NL", "31")
        add("IN", "91")
        add("AU", "61", intl: ["0011"])
        add("NZ", "64")
        add("BR", "55")
        add("MX", "52", trunk: nil)
        add("CN", "86")
        add("KR", "82", intl: ["001", "002"])
        add("SG", "65", trunk: nil, intl: ["000", "001"])
        add("IE", "353")
        add("CH", "41")
        add("SE", "46")
        return table
    }()
}
