/// The syntax of one CSV input: RFC 4180 with a configurable single-byte delimiter and line end.
public struct CSVDialect: Sendable, Equatable {
    public static let quote: UInt8 = 0x22
    public static let lineFeed: UInt8 = 0x0A
    public static let carriageReturn: UInt8 = 0x0D

    public var delimiter: UInt8
    public var hasHeader: Bool
    /// The byte that ends a record: LF (with an optional CR before it: LF and CRLF files), or CR
    /// for files with classic Mac line ends (`CSVDialect.sniffTerminator`).
    public var terminator: UInt8

    public init(delimiter: UInt8 = UInt8(ascii: ","), hasHeader: Bool = true, terminator: UInt8 = Self.lineFeed) {
        self.delimiter = delimiter
        self.hasHeader = hasHeader
        self.terminator = terminator
    }

    /// The line end of an input, from its first bytes: CR when the first line end outside quotes
    /// is a CR not followed by LF (classic Mac exports, some Windows tools), else LF. Read as LF,
    /// a CR-only file would be one header line with every value in it, unmasked.
    /// - Returns: `nil` when `prefix` ends before any line end was seen and more input may follow.
    public func sniffTerminator(_ prefix: UnsafeRawBufferPointer, endOfInput: Bool) -> UInt8? {
        var inQuotes = false
        var fieldStart = true
        var index = 0
        while index < prefix.count {
            let byte = prefix[index]
            if inQuotes {
                if byte == Self.quote {
                    if index + 1 < prefix.count && prefix[index + 1] == Self.quote { index += 2; continue }
                    inQuotes = false
                }
                index += 1
                continue
            }
            if byte == Self.quote && fieldStart {
                inQuotes = true
            } else if byte == Self.lineFeed {
                return Self.lineFeed
            } else if byte == Self.carriageReturn {
                if index + 1 < prefix.count { return prefix[index + 1] == Self.lineFeed ? Self.lineFeed : Self.carriageReturn }
                return endOfInput ? Self.lineFeed : nil
            }
            fieldStart = byte == delimiter
            index += 1
        }
        return endOfInput ? Self.lineFeed : nil
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
