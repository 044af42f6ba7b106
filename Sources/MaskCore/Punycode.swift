/// Punycode (RFC 3492): the encoding IDNA uses to write a Unicode domain label (a U-label such
/// as `bücher`) in ASCII (the A-label `xn--bcher-kva`), and back.
///
/// Hand-written because nothing available does it: the offline package set has no IDNA or
/// Punycode package (swift-packages-b.md), and neither the standard library nor Foundation on
/// Linux exposes one. The algorithm is small and fully specified (RFC 3492 sections 5 and 6.1 to
/// 6.3, with the overflow checks of section 6.4); the sample strings of its section 7.1 are the
/// tests. Only the parameters IDNA uses are implemented, and no mixed-case annotation.
public enum Punycode {
    static let base: UInt32 = 36
    static let tMin: UInt32 = 1
    static let tMax: UInt32 = 26
    static let skew: UInt32 = 38
    static let damp: UInt32 = 700
    static let initialBias: UInt32 = 72
    static let initialN: UInt32 = 0x80

    /// Encodes code points as Punycode (without the `xn--` prefix IDNA adds).
    /// - Returns: nil if a delta overflows 32 bits (the label is far longer than any domain label).
    public static func encode(_ scalars: [Unicode.Scalar]) -> String? {
        var output: [UInt8] = []
        for scalar in scalars where scalar.value < 0x80 { output.append(UInt8(scalar.value)) }
        let basicCount = UInt32(output.count)
        var handled = basicCount
        if basicCount > 0 { output.append(UInt8(ascii: "-")) }
        var n = initialN
        var delta: UInt32 = 0
        var bias = initialBias
        let total = UInt32(scalars.count)
        while handled < total {
            // The smallest code point not yet handled.
            var next = UInt32.max
            for scalar in scalars where scalar.value >= n && scalar.value < next { next = scalar.value }
            let (step, overflowStep) = (next - n).multipliedReportingOverflow(by: handled + 1)
            guard !overflowStep else { return nil }
            let (added, overflowAdd) = delta.addingReportingOverflow(step)
            guard !overflowAdd else { return nil }
            delta = added
            n = next
            for scalar in scalars {
                if scalar.value < n {
                    guard delta < UInt32.max else { return nil }
                    delta += 1
                }
                if scalar.value == n {
                    var q = delta
                    var k = base
                    while true {
                        let t = k <= bias ? tMin : (k >= bias + tMax ? tMax : k - bias)
                        if q < t { break }
                        output.append(digit(t + (q - t) % (base - t)))
                        q = (q - t) / (base - t)
                        k += base
                    }
                    output.append(digit(q))
                    bias = adapt(delta, numPoints: handled + 1, firstTime: handled == basicCount)
                    delta = 0
                    handled += 1
                }
            }
            guard delta < UInt32.max else { return nil }
            delta += 1
            n += 1
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// Decodes Punycode (without the `xn--` prefix); letters may be in either case.
    /// - Returns: nil for input that is not valid Punycode (a non-basic byte before the last `-`,
    ///   a byte that is no digit after it, an overflow, or a code point that is no scalar).
    public static func decode(_ input: some Collection<UInt8>) -> [Unicode.Scalar]? {
        let bytes = Array(input)
        var output: [UInt32] = []
        var position = 0
        if let delimiter = bytes.lastIndex(of: UInt8(ascii: "-")) {
            for byte in bytes[..<delimiter] {
                guard byte < 0x80 else { return nil }
                output.append(UInt32(byte))
            }
            position = delimiter + 1
        }
        var n = initialN
        var i: UInt32 = 0
        var bias = initialBias
        while position < bytes.count {
            let oldI = i
            var w: UInt32 = 1
            var k = base
            while true {
                guard position < bytes.count, let value = digitValue(bytes[position]) else { return nil }
                position += 1
                let (product, overflowProduct) = value.multipliedReportingOverflow(by: w)
                guard !overflowProduct else { return nil }
                let (sum, overflowSum) = i.addingReportingOverflow(product)
                guard !overflowSum else { return nil }
                i = sum
                let t = k <= bias ? tMin : (k >= bias + tMax ? tMax : k - bias)
                if value < t { break }
                let (weight, overflowWeight) = w.multipliedReportingOverflow(by: base - t)
                guard !overflowWeight else { return nil }
                w = weight
                k += base
            }
            let count = UInt32(output.count + 1)
            bias = adapt(i - oldI, numPoints: count, firstTime: oldI == 0)
            let (nextN, overflowN) = n.addingReportingOverflow(i / count)
            guard !overflowN else { return nil }
            n = nextN
            i %= count
            guard n >= initialN else { return nil }
            output.insert(n, at: Int(i))
            i += 1
        }
        var scalars: [Unicode.Scalar] = []
        scalars.reserveCapacity(output.count)
        for value in output {
            guard let scalar = Unicode.Scalar(value) else { return nil }
            scalars.append(scalar)
        }
        return scalars
    }

    /// RFC 3492 section 6.1.
    static func adapt(_ delta: UInt32, numPoints: UInt32, firstTime: Bool) -> UInt32 {
        var delta = firstTime ? delta / damp : delta / 2
        delta += delta / numPoints
        var k: UInt32 = 0
        while delta > ((base - tMin) * tMax) / 2 {
            delta /= base - tMin
            k += base
        }
        return k + (base - tMin + 1) * delta / (delta + skew)
    }

    /// 0-25 are a-z, 26-35 are 0-9 (lowercase: the form IDNA compares).
    static func digit(_ value: UInt32) -> UInt8 {
        value < 26 ? UInt8(value) + UInt8(ascii: "a") : UInt8(value - 26) + UInt8(ascii: "0")
    }

    static func digitValue(_ byte: UInt8) -> UInt32? {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"): return UInt32(byte - UInt8(ascii: "a"))
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): return UInt32(byte - UInt8(ascii: "A"))
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(byte - UInt8(ascii: "0")) + 26
        default: return nil
        }
    }
}
