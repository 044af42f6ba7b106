/// Masks the middle of a value, keeping `keepFirst` and `keepLast` characters.
///
/// Counts UTF-8 scalars, not bytes, so a kept multi-byte character is never cut in half, and
/// each hidden character becomes one `maskByte`, so the length in characters is preserved.
public struct PartialMask: Sendable, Equatable {
    public var keepFirst: Int
    public var keepLast: Int
    public var maskByte: UInt8

    public init(keepFirst: Int, keepLast: Int, maskByte: UInt8 = UInt8(ascii: "*")) {
        self.keepFirst = keepFirst
        self.keepLast = keepLast
        self.maskByte = maskByte
    }

    public func apply(_ value: UnsafeRawBufferPointer, into output: inout [UInt8]) {
        output.removeAll(keepingCapacity: true)
        var scalarStarts: [Int] = []
        scalarStarts.reserveCapacity(value.count)
        for index in 0..<value.count where value[index] & 0xC0 != 0x80 {
            scalarStarts.append(index)
        }
        let scalars = scalarStarts.count
        // A value too short to hide anything is hidden whole: keeping all of it would leak it.
        let first = keepFirst + keepLast >= scalars ? 0 : keepFirst
        let last = keepFirst + keepLast >= scalars ? 0 : keepLast
        for scalar in 0..<scalars {
            let start = scalarStarts[scalar]
            let end = scalar + 1 < scalars ? scalarStarts[scalar + 1] : value.count
            if scalar < first || scalar >= scalars - last {
                output.append(contentsOf: UnsafeRawBufferPointer(rebasing: value[start..<end]))
            } else {
                output.append(maskByte)
            }
        }
    }
}
