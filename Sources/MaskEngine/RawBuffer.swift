/// A growable buffer of plain values, freed explicitly (`deallocate`) by its owner: for what the
/// JSONL masker appends to per key or per changed value (the path table's nodes and keys, a
/// line's changes), where an array's bounds and uniqueness checks and retains were a visible
/// share of the hot loop in profiles. Not copied: a copy would share the storage.
struct RawBuffer<Element: BitwiseCopyable> {
    /// The storage; it moves when the buffer grows, so it is re-read after every append.
    private(set) var base: UnsafeMutablePointer<Element>
    private(set) var count = 0
    private var capacity: Int

    init(capacity: Int) {
        self.capacity = max(capacity, 1)
        base = .allocate(capacity: self.capacity)
    }

    subscript(index: Int) -> Element {
        precondition(index >= 0 && index < count)
        return base[index]
    }

    @inline(__always)
    mutating func append(_ value: Element) {
        if count == capacity { grow(to: count + 1) }
        (base + count).initialize(to: value)
        count += 1
    }

    mutating func append(contentsOf values: UnsafeBufferPointer<Element>) {
        if count + values.count > capacity { grow(to: count + values.count) }
        if let source = values.baseAddress { (base + count).initialize(from: source, count: values.count) }
        count += values.count
    }

    mutating func removeAll() { count = 0 }

    func deallocate() { base.deallocate() }

    private mutating func grow(to minimum: Int) {
        let grownCapacity = max(capacity * 2, minimum)
        let grown = UnsafeMutablePointer<Element>.allocate(capacity: grownCapacity)
        grown.initialize(from: base, count: count)
        base.deallocate()
        base = grown
        capacity = grownCapacity
    }
}

extension UnsafeRawBufferPointer {
    /// A copy of `bytes` in memory of its own, for an immutable object that every worker thread
    /// reads (a policy's or a detector's token): read through a pointer it costs nothing, where
    /// copying the array out of the shared object retained it, and retains of one object from two
    /// threads bounce its cache line between the cores. The owner deallocates it in `deinit`.
    static func constantCopy(of bytes: [UInt8]) -> UnsafeRawBufferPointer {
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: Swift.max(bytes.count, 1), alignment: 1)
        bytes.withUnsafeBytes { storage.copyMemory(from: $0) }
        return UnsafeRawBufferPointer(rebasing: storage[0..<bytes.count])
    }
}
