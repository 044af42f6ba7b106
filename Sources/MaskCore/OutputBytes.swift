/// A byte buffer for output built in the hot loops, one per chunk.
///
/// `[UInt8].append` checks uniqueness and capacity through the array's class reference on every
/// call; masking a CSV record appends about eight pieces, and those checks (with the retains and
/// releases around them) showed as several percent of a profile. A noncopyable writer over raw
/// memory needs neither: appending is a capacity compare and a copy.
///
/// `OutputBytes.array(capacity:_:)` writes straight into the storage of the array that is
/// returned (no copy of the chunk at the end, and no second set of fresh pages to fault in);
/// such a writer cannot grow, so when the output does not fit it notes the overflow and the
/// chunk is masked again with twice the room. A writer made with `init(capacity:)` owns its
/// memory and grows.
public struct OutputBytes: ~Copyable {
    @usableFromInline var base: UnsafeMutablePointer<UInt8>
    @usableFromInline var storedCount: Int
    @usableFromInline var capacity: Int
    @usableFromInline let owned: Bool
    /// A fixed-size writer ran out of room: what was appended since is missing.
    public private(set) var overflowed = false

    public init(capacity: Int) {
        self.capacity = max(capacity, 16)
        base = .allocate(capacity: self.capacity)
        storedCount = 0
        owned = true
    }

    /// A writer into `buffer`, which must stay valid while it is used; it never grows.
    init(writingInto buffer: UnsafeMutableBufferPointer<UInt8>) {
        base = buffer.baseAddress!
        capacity = buffer.count
        storedCount = 0
        owned = false
    }

    deinit {
        if owned { base.deallocate() }
    }

    /// An array of what `body` writes, built in place. `body` may run more than once (when the
    /// output outgrows `capacity`), so it must start from scratch each time.
    public static func array(capacity: Int, _ body: (inout OutputBytes) -> Void) -> [UInt8] {
        var room = max(capacity, 16)
        while true {
            var fits = false
            let result = [UInt8](unsafeUninitializedCapacity: room) { buffer, initialized in
                var output = OutputBytes(writingInto: buffer)
                body(&output)
                fits = !output.overflowed
                initialized = fits ? output.count : 0
            }
            if fits { return result }
            room *= 2
        }
    }

    @inlinable
    public var count: Int { storedCount }

    @inlinable
    public mutating func append(_ byte: UInt8) {
        if storedCount == capacity {
            grow(minimum: storedCount + 1)
            if overflowed { return }
        }
        base[storedCount] = byte
        storedCount += 1
    }

    @inlinable
    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, bytes.count > 0 else { return }
        let count = bytes.count
        if storedCount + count > capacity {
            grow(minimum: storedCount + count)
            if overflowed { return }
        }
        let target = UnsafeMutableRawPointer(base + storedCount)
        // Most pieces are short (a delimiter run, a 16-character hash): two overlapping
        // unaligned moves cost less than a call to memcpy.
        if count >= 8 && count <= 16 {
            target.storeBytes(of: source.loadUnaligned(as: UInt64.self), as: UInt64.self)
            target.storeBytes(of: source.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self), toByteOffset: count - 8, as: UInt64.self)
        } else if count >= 4 && count < 8 {
            target.storeBytes(of: source.loadUnaligned(as: UInt32.self), as: UInt32.self)
            target.storeBytes(of: source.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self), toByteOffset: count - 4, as: UInt32.self)
        } else if count < 4 {
            for index in 0..<count { target.storeBytes(of: source.load(fromByteOffset: index, as: UInt8.self), toByteOffset: index, as: UInt8.self) }
        } else {
            target.copyMemory(from: source, byteCount: count)
        }
        storedCount += count
    }

    @inlinable
    public mutating func append(contentsOf bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    /// Drops the last `dropped` bytes.
    @inlinable
    public mutating func removeLast(_ dropped: Int) {
        precondition(dropped >= 0 && dropped <= storedCount)
        storedCount -= dropped
    }

    @usableFromInline
    mutating func grow(minimum: Int) {
        guard owned else {
            overflowed = true
            return
        }
        let newCapacity = max(minimum, capacity * 2)
        let grown = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        grown.initialize(from: base, count: storedCount)
        base.deallocate()
        base = grown
        capacity = newCapacity
    }

    /// A copy of the bytes from `start` on (nothing once overflowed: the run is redone anyway).
    public func bytes(from start: Int) -> [UInt8] {
        guard !overflowed, start < storedCount else { return [] }
        return Array(UnsafeBufferPointer(start: base + start, count: storedCount - start))
    }

    /// A copy of the bytes as an array.
    public func array() -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: storedCount) { buffer, initialized in
            if storedCount > 0 { buffer.baseAddress!.initialize(from: base, count: storedCount) }
            initialized = storedCount
        }
    }
}
