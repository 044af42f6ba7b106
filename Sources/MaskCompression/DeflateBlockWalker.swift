/// Finds where the last block of a raw deflate stream starts and where the stream ends, to the
/// bit, without producing its output.
///
/// Why hand-written: making libdeflate's output a span that another span can follow in one gzip
/// member means clearing its last block's BFINAL bit, and no library reports where blocks
/// start. zlib's `inflate` with `Z_BLOCK` stops at each boundary (the first version used it),
/// but it decompresses everything on the way, copies included, which cost 28% of libdeflate's
/// level-6 time and made single-member output 12% slower than one member per chunk. This walk
/// only decodes the Huffman symbols (RFC 1951 §3.2) and skips the bytes they stand for: no
/// output, no window, no match copies. It trusts its input (libdeflate's output, just written)
/// as far as that is safe: a stream it cannot walk returns nil instead of reading out of bounds,
/// and the caller stops with an error, never writes a wrong member. A test walks spans of every
/// block type at every level and checks the member with zlib (`GzipMembersTests`).
///
/// - Important: not `Sendable`; the tables are one worker's scratch.
final class DeflateBlockWalker {
    /// Codes up to this many bits are decoded by one table lookup; longer ones bit by bit.
    private static let fastBits = 10
    private static let fastSize = 1 << fastBits
    /// Extra bits of the length symbols 257...285 and of the distance symbols 0...29.
    private static let lengthExtra: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0, 0, 0]
    private static let distanceExtra: [UInt8] = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 0, 0]
    private static let codeLengthOrder = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]

    /// A canonical Huffman code: a lookup table for short codes and, for the rest, the code
    /// counts per length and the symbols sorted by code (as zlib's `puff.c` decodes).
    private struct Code {
        /// Per `fastBits` of input: symbol | code length << 16 | (code length + the symbol's extra
        /// bits) << 24, or 0 when the code is longer (or the symbol invalid).
        let fast: UnsafeMutablePointer<UInt32>
        let counts: UnsafeMutablePointer<Int>
        let symbols: UnsafeMutablePointer<UInt16>

        init(symbols capacity: Int) {
            fast = .allocate(capacity: DeflateBlockWalker.fastSize)
            counts = .allocate(capacity: 16)
            symbols = .allocate(capacity: capacity)
        }

        func deallocate() {
            fast.deallocate()
            counts.deallocate()
            symbols.deallocate()
        }

        /// Builds the code from each symbol's code length; false for lengths no code has.
        /// - Parameter extra: extra bits after each symbol (skipped with it by the fast table),
        ///   by symbol - `extraBase`; symbols from `validCount` on are left to the slow path.
        func build(_ lengths: UnsafePointer<UInt8>, count: Int, extra: [UInt8] = [], extraBase: Int = 0, validCount: Int = 288) -> Bool {
            for length in 0..<16 { counts[length] = 0 }
            for symbol in 0..<count { counts[Int(lengths[symbol])] += 1 }
            counts[0] = 0
            var left = 1
            for length in 1..<16 {
                left = left << 1 - counts[length]
                if left < 0 { return false }  // over-subscribed
            }
            var offsets = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
            var nextCode = offsets
            withUnsafeMutableBytes(of: &offsets) { raw in
                withUnsafeMutableBytes(of: &nextCode) { rawNext in
                    let offset = raw.bindMemory(to: Int.self)
                    let next = rawNext.bindMemory(to: Int.self)
                    for length in 1..<15 { offset[length + 1] = offset[length] + counts[length] }
                    var code = 0
                    for length in 1..<16 {
                        code = (code + counts[length - 1]) << 1
                        next[length] = code
                    }
                    fast.update(repeating: 0, count: DeflateBlockWalker.fastSize)
                    for symbol in 0..<count {
                        let length = Int(lengths[symbol])
                        guard length > 0 else { continue }
                        symbols[offset[length]] = UInt16(symbol)
                        offset[length] += 1
                        let assigned = next[length]
                        next[length] += 1
                        guard length <= DeflateBlockWalker.fastBits, symbol < validCount else { continue }
                        // Deflate sends a code's bits from its most significant; read LSB-first,
                        // the table is indexed by the code reversed.
                        var reversed = 0
                        for bit in 0..<length where assigned & (1 << bit) != 0 { reversed |= 1 << (length - 1 - bit) }
                        let skipped = symbol >= extraBase && symbol - extraBase < extra.count ? Int(extra[symbol - extraBase]) : 0
                        let entry = UInt32(symbol) | UInt32(length) << 16 | UInt32(length + skipped) << 24
                        var index = reversed
                        while index < DeflateBlockWalker.fastSize {
                            fast[index] = entry
                            index += 1 << length
                        }
                    }
                }
            }
            return true
        }
    }

    private let literals = Code(symbols: 288)
    private let distances = Code(symbols: 32)
    private let codeLengths = Code(symbols: 19)
    private let lengths = UnsafeMutablePointer<UInt8>.allocate(capacity: 288 + 32)
    private let fixedLiterals = Code(symbols: 288)
    private let fixedDistances = Code(symbols: 32)

    init() {
        for symbol in 0..<288 { lengths[symbol] = symbol < 144 ? 8 : symbol < 256 ? 9 : symbol < 280 ? 7 : 8 }
        _ = fixedLiterals.build(lengths, count: 288, extra: Self.lengthExtra, extraBase: 257, validCount: 286)
        for symbol in 0..<32 { lengths[symbol] = 5 }
        _ = fixedDistances.build(lengths, count: 32, extra: Self.distanceExtra, validCount: 30)
    }

    deinit {
        for code in [literals, distances, codeLengths, fixedLiterals, fixedDistances] { code.deallocate() }
        lengths.deallocate()
    }

    /// The bit offset of the last block's header (its BFINAL bit) and of the end of the stream
    /// (after the last block's end-of-block code), or nil if `stream` is not a complete deflate
    /// stream.
    func finalBlock(in stream: UnsafeRawBufferPointer) -> (headerBit: Int, endBit: Int)? {
        guard let base = stream.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return nil }
        var reader = BitReader(base: base, count: stream.count)
        while true {
            let header = reader.position
            reader.refill()
            let final = reader.take(1) == 1
            switch reader.take(2) {
            case 0:
                reader.dropToByte()
                reader.refill()
                let length = Int(reader.take(16))
                let complement = Int(reader.take(16))
                guard length == ~complement & 0xFFFF, reader.skipBytes(length) else { return nil }
            case 1:
                guard walkSymbols(&reader, fixedLiterals, fixedDistances) else { return nil }
            case 2:
                guard readDynamicCodes(&reader), walkSymbols(&reader, literals, distances) else { return nil }
            default:
                return nil
            }
            guard reader.position <= stream.count * 8 else { return nil }
            if final { return (header, reader.position) }
        }
    }

    /// The code lengths of a dynamic block (RFC 1951 §3.2.7), built into `literals` and `distances`.
    private func readDynamicCodes(_ reader: inout BitReader) -> Bool {
        reader.refill()
        let literalCount = Int(reader.take(5)) + 257
        let distanceCount = Int(reader.take(5)) + 1
        let lengthCount = Int(reader.take(4)) + 4
        guard literalCount <= 286, distanceCount <= 30 else { return false }
        for index in 0..<19 { lengths[index] = 0 }
        for index in 0..<lengthCount {
            reader.refill()
            lengths[Self.codeLengthOrder[index]] = UInt8(reader.take(3))
        }
        guard codeLengths.build(lengths, count: 19) else { return false }
        let total = literalCount + distanceCount
        var index = 0
        while index < total {
            reader.refill()
            guard let symbol = decode(&reader, codeLengths) else { return false }
            var repeated: UInt8 = 0
            var times = 1
            switch symbol {
            case 0..<16: repeated = UInt8(symbol)
            case 16:
                guard index > 0 else { return false }
                repeated = lengths[index - 1]
                times = 3 + Int(reader.take(2))
            case 17: times = 3 + Int(reader.take(3))
            default: times = 11 + Int(reader.take(7))
            }
            guard index + times <= total else { return false }
            for _ in 0..<times {
                lengths[index] = repeated
                index += 1
            }
        }
        guard lengths[256] != 0, literals.build(lengths, count: literalCount, extra: Self.lengthExtra, extraBase: 257, validCount: 286) else { return false }
        return distances.build(lengths + literalCount, count: distanceCount, extra: Self.distanceExtra, validCount: 30)
    }

    /// Decodes symbols up to and including the end-of-block code, skipping what they mean.
    ///
    /// Written for the branch predictor: a literal and a match take the same path (the distance
    /// is looked up after every symbol and its bits dropped only after a length), the extra
    /// bits are skipped with the symbol that announces them (the tables hold both counts), and
    /// the refill is unconditional. What is left to predict is rare: a code longer than the
    /// table, the end of the block, the end of the input.
    @inline(__always)
    private func walkSymbols(_ walked: inout BitReader, _ literals: Code, _ distances: Code) -> Bool {
        // A local copy, so that the reader's fields stay in registers for the loop.
        var reader = walked
        defer { walked = reader }
        let mask = Self.fastSize - 1
        while true {
            reader.refill()
            let entry = literals.fast[Int(truncatingIfNeeded: reader.buffer) & mask]
            var symbol = Int(truncatingIfNeeded: entry & 0xFFFF)
            if entry != 0 {
                reader.drop(Int(truncatingIfNeeded: entry &>> 24))
            } else {
                guard let slow = decode(&reader, literals), slow <= 285 else { return false }
                symbol = slow
                if symbol > 256 { reader.drop(Int(Self.lengthExtra[symbol - 257])) }
            }
            if symbol == 256 { return true }
            // At most 15 + 5 bits so far of the 56 the refill guarantees; a distance takes 28 more.
            let distance = distances.fast[Int(truncatingIfNeeded: reader.buffer) & mask]
            let isMatch = symbol > 256
            if isMatch && distance == 0 {
                guard let slow = decode(&reader, distances), slow < 30 else { return false }
                reader.drop(Int(Self.distanceExtra[slow]))
            } else {
                reader.drop(isMatch ? Int(truncatingIfNeeded: distance &>> 24) : 0)
            }
            if reader.overran { return false }
        }
    }

    /// One symbol of `code`; the reader holds at least 15 bits (or the rest of the stream).
    @inline(__always)
    private func decode(_ reader: inout BitReader, _ code: Code) -> Int? {
        let entry = code.fast[Int(truncatingIfNeeded: reader.buffer) & (Self.fastSize - 1)]
        if entry != 0 {
            reader.drop(Int(truncatingIfNeeded: (entry &>> 16) & 0xFF))
            return Int(truncatingIfNeeded: entry & 0xFFFF)
        }
        // Longer than the table: canonical decoding, a bit at a time (zlib's puff.c).
        var bits = reader.buffer
        var value = 0
        var first = 0
        var index = 0
        for length in 1..<16 {
            value |= Int(truncatingIfNeeded: bits & 1)
            bits &>>= 1
            let count = code.counts[length]
            if value - first < count {
                reader.drop(length)
                return Int(code.symbols[index + value - first])
            }
            index += count
            first = (first + count) << 1
            value <<= 1
        }
        return nil
    }
}

/// Bits of a deflate stream, least significant first, 64 at a time.
private struct BitReader {
    let base: UnsafePointer<UInt8>
    let count: Int
    /// The next bits; above `available` it may hold bits of the bytes not yet counted, which a
    /// refill ORs in again at the same places (libdeflate's refill): the same bits.
    var buffer: UInt64 = 0
    var available = 0
    /// The next byte not yet in `buffer`.
    var next = 0

    init(base: UnsafePointer<UInt8>, count: Int) {
        self.base = base
        self.count = count
    }

    /// Bits consumed so far.
    var position: Int { next * 8 - available }
    /// More bits were taken than the stream has.
    var overran: Bool { position > count * 8 }

    /// At least 56 bits in `buffer`, or every bit left (zeros after the end).
    @inline(__always)
    mutating func refill() {
        if next + 8 <= count {
            // Unconditional: with 56 bits or more already, no byte is added (`bytes` is 0) and
            // the bits ORed in are the ones already there.
            buffer |= UInt64(littleEndian: UnsafeRawPointer(base + next).loadUnaligned(as: UInt64.self)) &<< UInt64(truncatingIfNeeded: available)
            let bytes = (63 - available) &>> 3
            next &+= bytes
            available &+= bytes &<< 3
        } else {
            while available < 56 {
                let byte: UInt64 = next < count ? UInt64(base[next]) : 0
                buffer |= byte &<< UInt64(truncatingIfNeeded: available)
                next += 1
                available += 8
            }
        }
    }

    @inline(__always)
    mutating func take(_ bits: Int) -> UInt64 {
        let value = buffer & ((1 &<< UInt64(truncatingIfNeeded: bits)) &- 1)
        drop(bits)
        return value
    }

    @inline(__always)
    mutating func drop(_ bits: Int) {
        buffer &>>= UInt64(truncatingIfNeeded: bits)
        available &-= bits
    }

    mutating func dropToByte() {
        drop(available & 7)
    }

    /// Skips a stored block's bytes (the reader is on a byte boundary).
    mutating func skipBytes(_ bytes: Int) -> Bool {
        let target = position / 8 + bytes
        guard target <= count else { return false }
        next = target
        available = 0
        buffer = 0
        return true
    }
}
