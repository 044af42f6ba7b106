import Crypto
internal import CCryptoBoringSSL
import Foundation
import MaskRules

/// A problem obtaining the HMAC key (exit code 2). Never contains key material.
public struct KeyError: Error, Sendable, CustomStringConvertible {
    public var description: String
}

/// HMAC-SHA256 with the key schedule prepared once.
///
/// Re-keying HMAC for every value costs about 10x the hash itself (two extra compression
/// rounds for the padded key). Here the inner and outer SHA-256 chaining values are computed
/// from the padded key once (RFC 2104: H(K ^ opad, H(K ^ ipad, m))), and each value costs only
/// the compression rounds of its own blocks plus one for the outer hash, called directly on
/// BoringSSL's block function (`SHA256_TransformBlocks`, SHA-NI where the CPU has it).
/// swift-crypto's `SHA256` struct was not used for the per-value hashes: it wraps a class, so
/// copying a primed state allocates (copy-on-write), and its finalize cleanses and copies; in a
/// profile that glue cost more than the compression itself. Everything here lives on the stack.
public struct KeyedHasher: Sendable {
    /// Chaining value after the block K ^ ipad.
    private let inner: SHA256ChainingValue
    /// Chaining value after the block K ^ opad.
    private let outer: SHA256ChainingValue
    private let settings: HashSettings
    /// A fingerprint of the key, safe to print and store: HMAC(key, "mask key id v1"), 12 hex
    /// digits. It tells which key masked a file without revealing anything usable about the key.
    public let keyID: String

    public init(key: SymmetricKey, settings: HashSettings) {
        var block = key.withUnsafeBytes { Array($0) }
        if block.count > 64 { block = Array(SHA256.hash(data: block)) }
        block += Array(repeating: 0, count: 64 - block.count)
        var inner = SHA256ChainingValue.initial
        block.map { $0 ^ 0x36 }.withUnsafeBytes { inner.compress(blocks: $0.baseAddress!, count: 1) }
        var outer = SHA256ChainingValue.initial
        block.map { $0 ^ 0x5C }.withUnsafeBytes { outer.compress(blocks: $0.baseAddress!, count: 1) }
        self.inner = inner
        self.outer = outer
        self.settings = settings
        let tag = HMAC<SHA256>.authenticationCode(for: Array("mask key id v1".utf8), using: key)
        keyID = tag.prefix(6).map { String(format: "%02x", $0) }.joined()
    }

    public init(keyBytes: [UInt8], settings: HashSettings) {
        self.init(key: SymmetricKey(data: keyBytes), settings: settings)
    }

    /// Reads the key named by the rules (`env:VAR` or `file:PATH`).
    ///
    /// A `file:` key loses one trailing line end (LF or CRLF), and only that; an `env:` key is
    /// used as it is. What remains must have at least 16 bytes, at least 16 of them not ASCII
    /// whitespace, and not be one byte repeated.
    /// - Throws: `KeyError` when it is missing, unreadable or too weak (never with key material).
    public static func load(settings: HashSettings, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> KeyedHasher {
        guard let source = settings.key else { throw KeyError(description: "the rules use hash but name no key") }
        var bytes: [UInt8]
        var trimmed = ""
        var isFile = false
        switch source {
        case .environment(let name):
            guard let value = environment[name], !value.isEmpty else {
                throw KeyError(description: "environment variable \(name) (hash.key) is not set")
            }
            bytes = Array(value.utf8)
        case .file(let path):
            guard let data = FileManager.default.contents(atPath: path) else {
                throw KeyError(description: "cannot read the key file \(path) (hash.key)")
            }
            bytes = Array(data)
            isFile = true
            if bytes.last == 0x0A {
                bytes.removeLast()
                trimmed = " after trimming its trailing newline (LF)"
                if bytes.last == 0x0D {
                    bytes.removeLast()
                    trimmed = " after trimming its trailing newline (CRLF)"
                }
            }
        }
        if let problem = weakness(of: bytes, trimmed: trimmed, isFile: isFile) {
            throw KeyError(description: "the HMAC key from \(source) is refused: \(problem)")
        }
        return KeyedHasher(key: SymmetricKey(data: bytes), settings: settings)
    }

    /// Why `key` is too weak to use, or nil. Never quotes the key.
    static func weakness(of key: [UInt8], trimmed: String, isFile: Bool) -> String? {
        let minimum = 16
        if key.count < minimum {
            return "it has \(key.count) bytes\(trimmed); at least \(minimum) are required"
        }
        if isFile, let last = key.last, last == 0x0A || last == 0x0D {
            // Only one line end is trimmed; a second one would silently become part of the key.
            return "it still ends with a line break\(trimmed); only one trailing newline is trimmed, remove the others"
        }
        // ASCII whitespace: space, tab, LF, VT, FF, CR.
        let solid = key.filter { !($0 == 0x20 || (0x09...0x0D).contains($0)) }.count
        if solid < minimum {
            return "it has \(solid) bytes that are not whitespace\(trimmed); at least \(minimum) are required"
        }
        if key.allSatisfy({ $0 == key[0] }) {
            return "it is one byte repeated \(key.count) times"
        }
        return nil
    }

    // Instance copies of the alphabets: a `static let` is a lazy global, and its `swift_once`
    // check on every access showed in the profile.
    private let hexDigits = Array("0123456789abcdef".utf8)
    private let base64URL = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

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
            let buffer = tail.baseAddress!
            if rest > 0 { buffer.copyMemory(from: value.baseAddress! + whole * 64, byteCount: rest) }
            buffer.storeBytes(of: 0x80, toByteOffset: rest, as: UInt8.self)
            let blocks = rest + 9 <= 64 ? 1 : 2
            let end = blocks * 64
            (buffer + rest + 1).initializeMemory(as: UInt8.self, repeating: 0, count: end - 8 - rest - 1)
            let bits = UInt64(64 + value.count) &* 8
            buffer.storeBytes(of: bits.bigEndian, toByteOffset: end - 8, as: UInt64.self)
            state.compress(blocks: UnsafeRawPointer(buffer), count: blocks)
            // Outer hash: one block, the 32-byte inner digest after the K ^ opad block (96 bytes).
            state.store(bigEndianTo: buffer)
            buffer.storeBytes(of: 0x80, toByteOffset: 32, as: UInt8.self)
            (buffer + 33).initializeMemory(as: UInt8.self, repeating: 0, count: 64 - 8 - 33)
            buffer.storeBytes(of: (UInt64(96 * 8)).bigEndian, toByteOffset: 56, as: UInt64.self)
            var result = outer
            result.compress(blocks: UnsafeRawPointer(buffer), count: 1)
            result.store(bigEndianTo: digest)
        }
    }

    /// Appends prefix + encoded (truncated) HMAC of `value` to `output`.
    ///
    /// The digest and its encoding (at most 64 characters) are built on the stack and appended
    /// in one piece: appending character by character cost a uniqueness check each.
    public func appendHash(of value: UnsafeRawBufferPointer, to output: inout [UInt8]) {
        if !settings.prefix.isEmpty { output.append(contentsOf: settings.prefix) }
        withUnsafeTemporaryAllocation(byteCount: 32 + 64, alignment: 8) { scratch in
            let digest = scratch.baseAddress!
            authenticationCode(of: value, into: digest)
            let produced = encode(UnsafeRawPointer(digest), into: digest + 32)
            output.append(contentsOf: UnsafeRawBufferPointer(start: digest + 32, count: produced))
        }
    }

    /// Writes the first `settings.length` characters of the encoded 32-byte `digest` to `text`.
    @inline(__always)
    private func encode(_ digest: UnsafeRawPointer, into text: UnsafeMutableRawPointer) -> Int {
        let length = settings.length
        var produced = 0
        switch settings.encoding {
        case .hex:
            for index in 0..<(length + 1) / 2 {
                let byte = digest.load(fromByteOffset: index, as: UInt8.self)
                text.storeBytes(of: hexDigits[Int(byte >> 4)], toByteOffset: produced, as: UInt8.self)
                produced += 1
                if index * 2 + 1 < length {
                    text.storeBytes(of: hexDigits[Int(byte & 0x0F)], toByteOffset: produced, as: UInt8.self)
                    produced += 1
                }
            }
        case .base64url:
            var index = 0
            while produced < length {
                let b0 = Int(digest.load(fromByteOffset: index, as: UInt8.self))
                let b1 = index + 1 < 32 ? Int(digest.load(fromByteOffset: index + 1, as: UInt8.self)) : 0
                let b2 = index + 2 < 32 ? Int(digest.load(fromByteOffset: index + 2, as: UInt8.self)) : 0
                let group = (b0 << 16) | (b1 << 8) | b2
                var shift = 18
                while shift >= 0 && produced < length {
                    text.storeBytes(of: base64URL[(group >> shift) & 63], toByteOffset: produced, as: UInt8.self)
                    produced += 1
                    shift -= 6
                }
                index += 3
            }
        }
        return produced
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
