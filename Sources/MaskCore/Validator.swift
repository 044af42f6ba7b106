/// A cheap check run on each regex match, for what a regular expression expresses badly
/// (digit counts across separators, check digits). A rejected match is left untouched and
/// counted, so users can see what their rules declined.
public enum Validator: Sendable, Equatable {
    /// The match holds between `min` and `max` digits (ASCII or full-width).
    case digitCount(min: Int, max: Int)
    /// The digits pass the Luhn checksum (payment card numbers).
    case luhn
    /// The match is shaped like a dialable phone number: see `isPlausiblePhone(_:)`.
    case phone
    /// The match is an IBAN: a known country code, that country's length, and the ISO 13616
    /// mod-97 check (see `isIBAN(_:)`).
    case iban

    public func accepts(_ match: UnsafeRawBufferPointer) -> Bool {
        switch self {
        case .digitCount(let min, let max):
            let count = Self.countDigits(match)
            return count >= min && count <= max
        case .luhn:
            var digits: [UInt8] = []
            digits.reserveCapacity(24)
            Normalizer.phoneDigits(match, into: &digits)
            guard digits.count >= 12 else { return false }
            var sum = 0
            for (position, digit) in digits.reversed().enumerated() {
                var value = Int(digit - 0x30)
                if position % 2 == 1 {
                    value *= 2
                    if value > 9 { value -= 9 }
                }
                sum += value
            }
            return sum % 10 == 0
        case .phone:
            return Self.isPlausiblePhone(match)
        case .iban:
            return Self.isIBAN(match)
        }
    }

    /// IBAN lengths by country (ISO 13616 registry, SWIFT, release 2024): a device serial or an
    /// order id shaped like `SN9088237238` fails on its length before the checksum is computed.
    static let ibanLengths: [UInt16: Int] = {
        let table: [(String, Int)] = [
            ("AD", 24), ("AE", 23), ("AL", 28), ("AT", 20), ("AZ", 28), ("BA", 20), ("BE", 16), ("BG", 22), ("BH", 22),
            ("BI", 27), ("BR", 29), ("BY", 28), ("CH", 21), ("CR", 22), ("CY", 28), ("CZ", 24), ("DE", 22), ("DJ", 27),
            ("DK", 18), ("DO", 28), ("EE", 20), ("EG", 29), ("ES", 24), ("FI", 18), ("FK", 18), ("FO", 18), ("FR", 27),
            ("GB", 22), ("GE", 22), ("GI", 23), ("GL", 18), ("GR", 27), ("GT", 28), ("HR", 21), ("HU", 28), ("IE", 22),
            ("IL", 23), ("IQ", 23), ("IS", 26), ("IT", 27), ("JO", 30), ("KW", 30), ("KZ", 20), ("LB", 28), ("LC", 32),
            ("LI", 21), ("LT", 20), ("LU", 20), ("LV", 21), ("LY", 25), ("MC", 27), ("MD", 24), ("ME", 22), ("MK", 19),
            ("MN", 20), ("MR", 27), ("MT", 31), ("MU", 30), ("NI", 28), ("NL", 18), ("NO", 15), ("OM", 23), ("PK", 24),
            ("PL", 28), ("PS", 29), ("PT", 25), ("QA", 29), ("RO", 24), ("RS", 22), ("RU", 33), ("SA", 24), ("SC", 31),
            ("SD", 18), ("SE", 24), ("SI", 19), ("SK", 24), ("SM", 27), ("SO", 23), ("ST", 25), ("SV", 28), ("TL", 23),
            ("TN", 24), ("TR", 26), ("UA", 29), ("VA", 22), ("VG", 24), ("XK", 20), ("YE", 30),
        ]
        var lengths: [UInt16: Int] = [:]
        for (code, length) in table {
            let bytes = Array(code.utf8)
            lengths[UInt16(bytes[0]) << 8 | UInt16(bytes[1])] = length
        }
        return lengths
    }()

    /// Whether `value` (spaces allowed between groups) is a valid IBAN: letters are read
    /// case-insensitively; the country's length must match; moving the first four characters to
    /// the end and reading letters as 10...35 must give a number that is 1 modulo 97.
    public static func isIBAN(_ value: UnsafeRawBufferPointer) -> Bool {
        var characters: [UInt8] = []
        characters.reserveCapacity(34)
        for byte in value where byte != 0x20 {
            let upper = byte >= 0x61 && byte <= 0x7A ? byte - 0x20 : byte
            guard (upper >= 0x30 && upper <= 0x39) || (upper >= 0x41 && upper <= 0x5A) else { return false }
            characters.append(upper)
            if characters.count > 34 { return false }
        }
        guard characters.count >= 15 else { return false }
        let country = UInt16(characters[0]) << 8 | UInt16(characters[1])
        guard let length = ibanLengths[country], length == characters.count else { return false }
        guard characters[2] >= 0x30 && characters[2] <= 0x39 && characters[3] >= 0x30 && characters[3] <= 0x39 else { return false }
        var remainder = 0
        for index in 0..<characters.count {
            let character = characters[(index + 4) % characters.count]
            if character <= 0x39 {
                remainder = (remainder * 10 + Int(character - 0x30)) % 97
            } else {
                remainder = (remainder * 100 + Int(character - 0x41 + 10)) % 97
            }
        }
        return remainder == 1
    }

    /// Digit-count and digit-pattern checks for a phone number candidate, by numbering family:
    ///
    /// - international (`+`, `＋` or a leading `00`): 8-15 digits after the prefix, not counting a
    ///   `(0)` trunk written inside (`+44 (0)20 …`): E.164 allows at most 15;
    /// - national with a trunk `0` (`03-1234-5678`, `020 7946 0958`, `(02) 6911 1673`): 10-12 digits.
    ///   Shorter runs starting with 0 are dates (`05.11.2023`), zip codes (`01234-5678`) or SSN-like
    ///   ids; 12 digits in three groups of four (`0412 3456 7890`) is the shape of a tracking or
    ///   account number unless it is a German mobile (`015x`-`017x`);
    /// - other national numbers (NANP, `(11) 91234-5678`, `98765 43210`): 10-11 digits;
    /// - never a run of 7 or more equal digits (`000-0000-0000`, `(555) 555-5555`): placeholders.
    ///
    /// Reads ASCII and full-width digits, allocates nothing.
    public static func isPlausiblePhone(_ value: UnsafeRawBufferPointer) -> Bool {
        var count = 0
        var international = false
        var parenthesised = false
        var leading: UInt32 = 0  // the first three digits, as a number with a sentinel 1 in front
        var runDigit: UInt8 = 0xFF
        var group = 0  // length of the current run of digits
        var groupsOfFour = true  // every run of digits so far has exactly four
        var run = 0
        var longestRun = 0
        var index = 0
        let end = value.count
        while index < end {
            let byte = value[index]
            var digit: UInt8 = 0xFF
            var width = 1
            if byte &- 0x30 < 10 {
                digit = byte &- 0x30
            } else if byte == 0xEF && index + 2 < end && value[index + 1] == 0xBC {
                let low = value[index + 2]
                width = 3
                if low &- 0x90 < 10 {
                    digit = low &- 0x90
                } else if low == 0x8B && count == 0 {  // ＋
                    international = true
                } else if low == 0x88 {  // （
                    if count == 0 { parenthesised = true } else if international, let skip = trunkGroup(value, index + 3) {
                        index = skip
                        continue
                    }
                }
            } else if byte == UInt8(ascii: "+") && count == 0 {
                international = true
            } else if byte == UInt8(ascii: "(") {
                if count == 0 { parenthesised = true } else if international, let skip = trunkGroup(value, index + 1) {
                    index = skip
                    continue
                }
            }
            if digit != 0xFF {
                group += 1
                count += 1
                if count <= 3 { leading = (count == 1 ? 1 : leading) &* 10 &+ UInt32(digit) }
                if digit == runDigit { run += 1 } else { runDigit = digit; run = 1 }
                if run > longestRun { longestRun = run }
            } else if group > 0 {
                if group != 4 { groupsOfFour = false }
                group = 0
            }
            index += width
        }
        if group != 4 { groupsOfFour = false }
        guard longestRun < 7 else { return false }
        // `leading` is 1abc for the digits abc: 100...109 means "0x", 1000...1009 "00x".
        if !international && count >= 3 && leading >= 1000 && leading <= 1009 {
            international = true
            count -= 2
        }
        if international { return count >= 8 && count <= 15 }
        if leading >= 1000 && leading <= 1099 {  // a trunk 0
            if count == 12 { return parenthesised || !groupsOfFour || (leading >= 1015 && leading <= 1017) }
            return count >= 10 && count <= 11
        }
        return count >= 10 && count <= 11
    }

    /// If `value[start...]` is `0)` (ASCII or full-width) — the rest of a `(0)` trunk written
    /// inside an international number — the index after it.
    @inline(__always)
    static func trunkGroup(_ value: UnsafeRawBufferPointer, _ start: Int) -> Int? {
        var index = start
        if index < value.count && value[index] == 0x30 {
            index += 1
        } else if index + 2 < value.count && value[index] == 0xEF && value[index + 1] == 0xBC && value[index + 2] == 0x90 {
            index += 3
        } else {
            return nil
        }
        if index < value.count && value[index] == UInt8(ascii: ")") { return index + 1 }
        if index + 2 < value.count && value[index] == 0xEF && value[index + 1] == 0xBC && value[index + 2] == 0x89 { return index + 3 }
        return nil
    }

    /// Digits (ASCII and full-width) before any extension marker, as `Normalizer.phoneDigits`
    /// counts them, without allocating.
    public static func countDigits(_ value: UnsafeRawBufferPointer) -> Int {
        var count = 0
        var index = 0
        while index < value.count {
            let byte = value[index]
            if byte &- 0x30 < 10 {
                count += 1
            } else if byte == 0xEF && index + 2 < value.count && value[index + 1] == 0xBC && value[index + 2] &- 0x90 < 10 {
                count += 1
                index += 2
            } else if count > 0 && (byte | 0x20 == UInt8(ascii: "x") || byte | 0x20 == UInt8(ascii: "e") || byte == UInt8(ascii: "#") || byte == 0xE5) {
                break
            }
            index += 1
        }
        return count
    }
}
