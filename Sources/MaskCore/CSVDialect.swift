/// The syntax of one CSV input: RFC 4180 with a configurable single-byte delimiter.
public struct CSVDialect: Sendable, Equatable {
    public static let quote: UInt8 = 0x22
    public static let lineFeed: UInt8 = 0x0A
    public static let carriageReturn: UInt8 = 0x0D

    public var delimiter: UInt8
    public var hasHeader: Bool

    public init(delimiter: UInt8 = UInt8(ascii: ","), hasHeader: Bool = true) {
        self.delimiter = delimiter
        self.hasHeader = hasHeader
    }

    /// True when a value must be quoted to survive a CSV round trip.
    @inlinable
    public func needsQuoting(_ value: UnsafeRawBufferPointer) -> Bool {
        for byte in value where byte == delimiter || byte == Self.quote || byte == Self.lineFeed
            || byte == Self.carriageReturn
        {
            return true
        }
        return false
    }

    /// Appends `value` as one CSV field, quoted when needed or when `forceQuotes` is set.
    public func appendField(_ value: UnsafeRawBufferPointer, forceQuotes: Bool, to output: inout [UInt8]) {
        guard forceQuotes || needsQuoting(value) else {
            output.append(contentsOf: value)
            return
        }
        output.append(Self.quote)
        var runStart = 0
        for index in 0..<value.count where value[index] == Self.quote {
            output.append(contentsOf: UnsafeRawBufferPointer(rebasing: value[runStart...index]))
            output.append(Self.quote)
            runStart = index + 1
        }
        output.append(contentsOf: UnsafeRawBufferPointer(rebasing: value[runStart...]))
        output.append(Self.quote)
    }

    /// `appendField` into an `OutputBytes` (the masker's hot loop).
    @inlinable
    public func appendField(_ value: UnsafeRawBufferPointer, forceQuotes: Bool, to output: inout OutputBytes) {
        guard forceQuotes || needsQuoting(value) else {
            output.append(value)
            return
        }
        output.append(Self.quote)
        var runStart = 0
        for index in 0..<value.count where value[index] == Self.quote {
            output.append(UnsafeRawBufferPointer(rebasing: value[runStart...index]))
            output.append(Self.quote)
            runStart = index + 1
        }
        output.append(UnsafeRawBufferPointer(rebasing: value[runStart...]))
        output.append(Self.quote)
    }
}
