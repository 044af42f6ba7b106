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
/// Runs on the single reader thread. The boundary search (`RecordFraming.lastBoundary`) looks
/// only at quotes and line feeds, so it costs little next to the masking it feeds; a record is
/// never split, and one larger than `maxRecordSize` stops the run instead of growing memory.
public final class Chunker: @unchecked Sendable {
    private let source: any ByteSource
    private let framing: RecordFraming
    private let targetSize: Int
    private let maxRecordSize: Int
    private var carry: [UInt8] = []
    private var carryOffset = 0
    private var sequence = 0
    private var endOfInput = false

    public init(source: any ByteSource, framing: RecordFraming, targetSize: Int, maxRecordSize: Int) {
        self.source = source
        self.framing = framing
        self.targetSize = max(targetSize, 1)
        self.maxRecordSize = maxRecordSize
    }

    /// Input bytes consumed so far (decompressed).
    public var offset: Int { carryOffset }

    /// Removes and returns the first `count` buffered bytes (used to take the header off).
    public func takePrefix(upTo boundaryIn: ([UInt8]) -> Int?) throws -> [UInt8]? {
        while true {
            if let boundary = boundaryIn(carry) {
                let prefix = Array(carry[0..<boundary])
                carry.removeFirst(boundary)
                carryOffset += boundary
                return prefix
            }
            if endOfInput {
                if carry.isEmpty { return nil }
                let prefix = carry
                carryOffset += carry.count
                carry = []
                return prefix
            }
            if carry.count > maxRecordSize { throw OversizedRecord(offset: carryOffset, limit: maxRecordSize) }
            try fill(minimum: carry.count + 64 * 1024)
        }
    }

    /// Puts bytes back in front of the stream (the first record, when it turned out to be data).
    public func pushBack(_ bytes: [UInt8]) {
        carry = bytes + carry
        carryOffset -= bytes.count
    }

    private func fill(minimum: Int) throws {
        carry.reserveCapacity(minimum)
        while carry.count < minimum && !endOfInput {
            if try source.read(into: &carry, limit: minimum - carry.count) == 0 { endOfInput = true }
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
            let boundary = carry.withUnsafeBytes { framing.lastBoundary(in: $0) }
            if let boundary { return emit(count: boundary) }
            if carry.count > maxRecordSize { throw OversizedRecord(offset: carryOffset, limit: maxRecordSize) }
            try fill(minimum: carry.count + targetSize)
        }
    }

    private func emit(count: Int) -> Chunk {
        var bytes: [UInt8]
        if count == carry.count {
            bytes = carry
            carry = []
            carry.reserveCapacity(targetSize + 64 * 1024)
        } else {
            // The chunk keeps the buffer it was read into (truncated in place); only the tail,
            // a partial record, is copied. Copying the chunk out cost a memcpy and fresh pages.
            var rest: [UInt8] = []
            rest.reserveCapacity(targetSize + 64 * 1024)
            rest.append(contentsOf: carry[count...])
            bytes = carry
            carry = rest
            bytes.removeSubrange(count...)
        }
        let chunk = Chunk(sequence: sequence, offset: carryOffset, bytes: bytes)
        sequence += 1
        carryOffset += count
        return chunk
    }
}
