import MaskCore

/// A record-aligned piece of the input, masked independently of every other.
public struct Chunk: Sendable {
    public var sequence: Int
    /// Offset of `bytes[0]` in the decompressed input stream.
    public var offset: Int
    public var bytes: [UInt8]
}

/// No record boundary was found within `--max-record-size` bytes.
public struct OversizedRecord: Error, Sendable {
    public var offset: Int
    public var limit: Int
}

/// Cuts an input stream into chunks of about `targetSize` bytes that end at record boundaries.
///
/// Runs on the single reader thread. The boundary search (`RecordFramer`) looks only at quotes
/// and line ends and never rescans a byte, so framing is linear in the input whatever the record
/// size; the buffer grows geometrically while a record is longer than a chunk. A record is never
/// split, and one larger than `maxRecordSize` stops the run instead of growing memory.
///
/// `@unchecked Sendable`: handed to the reader thread once and used only there.
public final class Chunker: @unchecked Sendable {
    private let source: any ByteSource
    private var framer: RecordFramer
    private let targetSize: Int
    private let maxRecordSize: Int
    private var carry: [UInt8] = []
    private var carryOffset = 0
    private var sequence = 0
    private var endOfInput = false

    public init(source: any ByteSource, framing: RecordFraming, targetSize: Int, maxRecordSize: Int) {
        self.source = source
        framer = RecordFramer(framing: framing, maxRecordSize: maxRecordSize)
        self.targetSize = max(targetSize, 1)
        self.maxRecordSize = maxRecordSize
    }

    /// Input bytes consumed so far (decompressed).
    public var offset: Int { carryOffset }

    /// Frames the rest of the input differently (CSV line ends are known only once its first
    /// bytes were read). Only before any chunk or record was taken.
    public func reframe(_ framing: RecordFraming) {
        framer = RecordFramer(framing: framing, maxRecordSize: maxRecordSize)
    }

    /// The buffered bytes, at least `minimum` of them unless the input ends first.
    public func peek(minimum: Int) throws -> (bytes: [UInt8], endOfInput: Bool) {
        try fill(minimum: minimum)
        return (carry, endOfInput)
    }

    /// Removes and returns the first `count` buffered bytes, a UTF-8 byte order mark (JSONL).
    public func takePrefix(count: Int) throws -> [UInt8] {
        try fill(minimum: count)
        let taken = min(count, carry.count)
        let prefix = Array(carry[0..<taken])
        carry.removeFirst(taken)
        carryOffset += taken
        return prefix
    }

    /// Removes and returns the first record (the CSV header), its line end included; `nil` for an
    /// empty input. Skips `skip` bytes first (a byte order mark), which are returned with it.
    public func takeFirstRecord(skipping skip: Int) throws -> [UInt8]? {
        try fill(minimum: skip + 64 * 1024)
        if carry.isEmpty && endOfInput { return nil }
        var first = RecordFramer(framing: framer.framing, maxRecordSize: maxRecordSize, stopsAtFirstBoundary: true)
        while true {
            let boundary = carry.withUnsafeBytes { bytes -> Int? in
                guard bytes.count > skip else { return nil }
                return first.advance(over: UnsafeRawBufferPointer(rebasing: bytes[skip...]), endOfInput: endOfInput)
            }
            if let boundary {
                let end = skip + boundary
                let prefix = Array(carry[0..<end])
                carry.removeFirst(end)
                carryOffset += end
                return prefix
            }
            if endOfInput {
                let prefix = carry
                carryOffset += carry.count
                carry = []
                return prefix
            }
            if carry.count - skip > maxRecordSize { throw OversizedRecord(offset: carryOffset, limit: maxRecordSize) }
            try fill(minimum: max(carry.count * 2, carry.count + 64 * 1024))
        }
    }

    /// Puts bytes back in front of the stream (the first record, when it turned out to be data).
    public func pushBack(_ bytes: [UInt8]) {
        carry = bytes + carry
        carryOffset -= bytes.count
    }

    /// Reads until `minimum` bytes are buffered or the input ends. The source writes straight
    /// into the new buffer (an array's spare capacity cannot be written, so the buffer is made
    /// anew with the carried bytes in front: after a chunk, a partial record).
    private func fill(minimum: Int) throws {
        guard carry.count < minimum && !endOfInput else { return }
        let carried = carry
        carry = try Array(unsafeUninitializedCapacity: minimum) { buffer, count in
            let memory = UnsafeMutableRawBufferPointer(buffer)
            carried.withUnsafeBytes { memory.copyMemory(from: $0) }
            count = carried.count
            while count < minimum {
                let read = try source.read(into: UnsafeMutableRawBufferPointer(rebasing: memory[count..<minimum]))
                if read == 0 {
                    endOfInput = true
                    break
                }
                count += read
            }
        }
    }

    /// The next chunk, or `nil` at the end of input.
    public func next() throws -> Chunk? {
        try fill(minimum: targetSize)
        while true {
            if endOfInput {
                guard !carry.isEmpty else { return nil }
                return emit(count: carry.count)
            }
            let boundary = carry.withUnsafeBytes { framer.advance(over: $0, endOfInput: false) }
            if let boundary { return emit(count: boundary) }
            if carry.count > maxRecordSize { throw OversizedRecord(offset: carryOffset, limit: maxRecordSize) }
            // A record longer than a chunk: grow geometrically (the framer resumes where it stopped).
            try fill(minimum: carry.count + max(targetSize, carry.count))
        }
    }

    private func emit(count: Int) -> Chunk {
        var bytes: [UInt8]
        if count == carry.count {
            bytes = carry
            carry = []
        } else {
            // The chunk keeps the buffer it was read into (truncated in place); only the tail,
            // a partial record, is copied. Copying the chunk out cost a memcpy and fresh pages.
            let rest = Array(carry[count...])
            bytes = carry
            carry = rest
            bytes.removeSubrange(count...)
        }
        framer.dropFirst(count)
        let chunk = Chunk(sequence: sequence, offset: carryOffset, bytes: bytes)
        sequence += 1
        carryOffset += count
        return chunk
    }
}
