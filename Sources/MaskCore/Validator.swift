/// A cheap check run on each regex match, for what a regular expression expresses badly
/// (digit counts across separators, check digits). A rejected match is left untouched and
/// counted, so users can see what their rules declined.
public enum Validator: Sendable, Equatable {
    /// The match holds between `min` and `max` digits (ASCII or full-width).
    case digitCount(min: Int, max: Int)
    /// The digits pass the Luhn checksum (payment card numbers).
    case luhn

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
        }
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
