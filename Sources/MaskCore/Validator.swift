/// A cheap check run on each regex match, for what a regular expression expresses badly
/// (digit counts across separators, check digits). A rejected match is left untouched and
/// counted, so users can see what their rules declined.
public enum Validator: Sendable, Equatable {
    /// The match holds between `min` and `max` digits (ASCII or full-width).
    case digitCount(min: Int, max: Int)
    /// The digits pass the Luhn checksum (payment card numbers).
    case luhn

    public func accepts(_ match: UnsafeRawBufferPointer) -> Bool {
        var digits: [UInt8] = []
        digits.reserveCapacity(24)
        Normalizer.phoneDigits(match, into: &digits)
        switch self {
        case .digitCount(let min, let max):
            return digits.count >= min && digits.count <= max
        case .luhn:
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
}
