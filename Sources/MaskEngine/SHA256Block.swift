import Crypto

// The one file that relies on swift-crypto's internals.
//
// HMAC-SHA256 with the key schedule prepared once. Re-keying HMAC for every value costs about
// 10x the hash itself (two extra compression rounds for the padded key). Here the inner and outer
// SHA-256 chaining values are computed from the padded key once (RFC 2104:
// H(K ^ opad, H(K ^ ipad, m))), and each value costs only the compression rounds of its own
// blocks plus one for the outer hash, called directly on BoringSSL's block function
// (`SHA256_TransformBlocks`, SHA-NI where the CPU has it). swift-crypto's `SHA256` struct was not
// used for the per-value hashes: it wraps a class, so copying a primed state allocates
// (copy-on-write), and its finalize cleanses and copies; in a profile that glue cost more than the
// compression itself. Everything here lives on the stack.
//
// `CCryptoBoringSSL` is not a product swift-crypto promises (Package.swift pins the minor version
// range for that reason). Where it cannot be imported, or when built with
// `-Xswiftc -DMASK_PORTABLE_HMAC`, the same digests come from swift-crypto's public
// `HMAC<SHA256>` at about half the hashing speed; KeyedHasherTests compare both against RFC 4231.

#if canImport(CCryptoBoringSSL) && !MASK_PORTABLE_HMAC
internal import CCryptoBoringSSL

/// A key prepared for HMAC-SHA256 of many short values.
struct HMACSchedule: Sendable {
    /// Chaining value after the block K ^ ipad.
    private let inner: SHA256ChainingValue
    /// Chaining value after the block K ^ opad.
    private let outer: SHA256ChainingValue

    init(key: SymmetricKey) {
        var block = key.withUnsafeBytes { Array($0) }
        if block.count > 64 { block = Array(SHA256.hash(data: block)) }
        block += Array(repeating: 0, count: 64 - block.count)
        var inner = SHA256ChainingValue.initial
        block.map { $0 ^ 0x36 }.withUnsafeBytes { inner.compress(blocks: $0.baseAddress!, count: 1) }
        var outer = SHA256ChainingValue.initial
        block.map { $0 ^ 0x5C }.withUnsafeBytes { outer.compress(blocks: $0.baseAddress!, count: 1) }
        self.inner = inner
        self.outer = outer
    }

    /// HMAC-SHA256 of `value` (32 bytes) into `digest`.
    @inline(__always)
    func authenticationCode(of value: UnsafeRawBufferPointer, into digest: UnsafeMutableRawPointer) {
        // Inner hash: the value after the 64-byte K ^ ipad block. Whole blocks are compressed
        // straight from the value; the rest, the 0x80 marker and the bit length go through a
        // two-block buffer on the stack.
        var state = inner
        let whole = value.count / 64
        if whole > 0 { state.compress(blocks: value.baseAddress!, count: whole) }
        let rest = value.count - whole * 64
        withUnsafeTemporaryAllocation(byteCount: 128, alignment: 8) { tail in
            // Built with word stores and a byte loop, not memset and memcpy: for the few bytes
            // of a value, the calls into libc cost more than the copying (seen in a profile).
            let buffer = tail.baseAddress!
            let blocks = rest + 9 <= 64 ? 1 : 2
            let end = blocks * 64
            for word in 0..<end / 8 { buffer.storeBytes(of: 0, toByteOffset: word * 8, as: UInt64.self) }
            let source = value.baseAddress.map { UnsafeRawPointer($0) + whole * 64 }
            var copied = 0
            if let source {
                while copied + 8 <= rest {
                    buffer.storeBytes(of: source.loadUnaligned(fromByteOffset: copied, as: UInt64.self), toByteOffset: copied, as: UInt64.self)
                    copied += 8
                }
                while copied < rest {
                    buffer.storeBytes(of: source.load(fromByteOffset: copied, as: UInt8.self), toByteOffset: copied, as: UInt8.self)
                    copied += 1
                }
            }
            buffer.storeBytes(of: 0x80, toByteOffset: rest, as: UInt8.self)
            let bits = UInt64(64 + value.count) &* 8
            buffer.storeBytes(of: bits.bigEndian, toByteOffset: end - 8, as: UInt64.self)
            state.compress(blocks: UnsafeRawPointer(buffer), count: blocks)
            // Outer hash: one block, the 32-byte inner digest after the K ^ opad block (96 bytes).
            state.store(bigEndianTo: buffer)
            buffer.storeBytes(of: UInt64(0x80).littleEndian, toByteOffset: 32, as: UInt64.self)  // 0x80, then zeros
            buffer.storeBytes(of: 0, toByteOffset: 40, as: UInt64.self)
            buffer.storeBytes(of: 0, toByteOffset: 48, as: UInt64.self)
            buffer.storeBytes(of: (UInt64(96 * 8)).bigEndian, toByteOffset: 56, as: UInt64.self)
            var result = outer
            result.compress(blocks: UnsafeRawPointer(buffer), count: 1)
            result.store(bigEndianTo: digest)
        }
    }
}

/// The eight 32-bit words of a SHA-256 state, on the stack.
struct SHA256ChainingValue {
    var words: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32)

    /// FIPS 180-4, 5.3.3.
    static let initial = SHA256ChainingValue(
        words: (0x6a09_e667, 0xbb67_ae85, 0x3c6e_f372, 0xa54f_f53a, 0x510e_527f, 0x9b05_688c, 0x1f83_d9ab, 0x5be0_cd19))

    /// Runs the compression function over `count` 64-byte blocks.
    @inline(__always)
    mutating func compress(blocks: UnsafeRawPointer, count: Int) {
        withUnsafeMutableBytes(of: &words) { state in
            CCryptoBoringSSL_SHA256_TransformBlocks(
                state.baseAddress!.assumingMemoryBound(to: UInt32.self), blocks.assumingMemoryBound(to: UInt8.self), count)
        }
    }

    /// The state as a digest: 32 bytes, each word big-endian.
    @inline(__always)
    func store(bigEndianTo destination: UnsafeMutableRawPointer) {
        var copy = words
        withUnsafeBytes(of: &copy) { source in
            for index in 0..<8 {
                let word = source.loadUnaligned(fromByteOffset: index * 4, as: UInt32.self)
                destination.storeBytes(of: word.bigEndian, toByteOffset: index * 4, as: UInt32.self)
            }
        }
    }
}

#else

/// A key for HMAC-SHA256 through swift-crypto's public API (the portable path).
struct HMACSchedule: Sendable {
    private let key: SymmetricKey

    init(key: SymmetricKey) { self.key = key }

    /// HMAC-SHA256 of `value` (32 bytes) into `digest`.
    func authenticationCode(of value: UnsafeRawBufferPointer, into digest: UnsafeMutableRawPointer) {
        let code = HMAC<SHA256>.authenticationCode(for: value, using: key)
        code.withUnsafeBytes { digest.copyMemory(from: $0.baseAddress!, byteCount: 32) }
    }
}
#endif
