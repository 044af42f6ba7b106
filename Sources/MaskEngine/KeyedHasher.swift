import Crypto
import Foundation
import MaskRules

/// A problem obtaining the HMAC key (exit code 2). Never contains key material.
public struct KeyError: Error, Sendable, CustomStringConvertible {
    public var description: String
}

/// HMAC-SHA256 with the key schedule prepared once.
///
/// Re-keying HMAC for every value costs about 10x the hash itself (two extra compression
/// rounds for the padded key). Here the inner and outer SHA-256 states are primed with the
/// padded key once (RFC 2104: H(K ^ opad, H(K ^ ipad, m))) and copied per value. The concrete
/// `SHA256` type is used rather than the generic `HMAC<SHA256>`, whose unspecialised generic
/// calls cost more than the hashing itself in a profile.
public struct KeyedHasher: Sendable {
    private let innerPrimed: SHA256
    private let outerPrimed: SHA256
    private let settings: HashSettings
    /// A fingerprint of the key, safe to print and store: HMAC(key, "mask key id v1"), 12 hex
    /// digits. It tells which key masked a file without revealing anything usable about the key.
    public let keyID: String

    public init(key: SymmetricKey, settings: HashSettings) {
        var block = key.withUnsafeBytes { Array($0) }
        if block.count > 64 { block = Array(SHA256.hash(data: block)) }
        block += Array(repeating: 0, count: 64 - block.count)
        var inner = SHA256()
        inner.update(data: block.map { $0 ^ 0x36 })
        var outer = SHA256()
        outer.update(data: block.map { $0 ^ 0x5C })
        innerPrimed = inner
        outerPrimed = outer
        self.settings = settings
        let tag = HMAC<SHA256>.authenticationCode(for: Array("mask key id v1".utf8), using: key)
        keyID = tag.prefix(6).map { String(format: "%02x", $0) }.joined()
    }

    /// A hasher from raw key bytes (benchmarks use a throwaway key: nothing they hash is kept).
    public init(keyBytes: [UInt8], settings: HashSettings) {
        self.init(key: SymmetricKey(data: keyBytes), settings: settings)
    }

    /// Reads the key named by the rules (`env:VAR` or `file:PATH`).
    /// - Throws: `KeyError` when it is missing, unreadable or shorter than 16 bytes.
    public static func load(settings: HashSettings, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> KeyedHasher {
        guard let source = settings.key else { throw KeyError(description: "the rules use hash but name no key") }
        var bytes: [UInt8]
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
            while let last = bytes.last, last == 0x0A || last == 0x0D { bytes.removeLast() }
        }
        guard bytes.count >= 16 else {
            throw KeyError(description: "the HMAC key from \(source) is shorter than 16 bytes")
        }
        return KeyedHasher(key: SymmetricKey(data: bytes), settings: settings)
    }

    // Instance copies of the alphabets: a `static let` is a lazy global, and its `swift_once`
    // check on every access showed in the profile.
    private let hexDigits = Array("0123456789abcdef".utf8)
    private let base64URL = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// Appends prefix + encoded (truncated) HMAC of `value` to `output`.
    public func appendHash(of value: UnsafeRawBufferPointer, to output: inout [UInt8]) {
        var inner = innerPrimed
        inner.update(bufferPointer: value)
        var outer = outerPrimed
        inner.finalize().withUnsafeBytes { outer.update(bufferPointer: $0) }
        let tag = outer.finalize()
        output.append(contentsOf: settings.prefix)
        let length = settings.length
        tag.withUnsafeBytes { digest in
            switch settings.encoding {
            case .hex:
                for index in 0..<(length + 1) / 2 {
                    output.append(hexDigits[Int(digest[index] >> 4)])
                    if index * 2 + 1 < length { output.append(hexDigits[Int(digest[index] & 0x0F)]) }
                }
            case .base64url:
                var produced = 0
                var index = 0
                while produced < length {
                    let b0 = Int(digest[index])
                    let b1 = index + 1 < 32 ? Int(digest[index + 1]) : 0
                    let b2 = index + 2 < 32 ? Int(digest[index + 2]) : 0
                    let group = (b0 << 16) | (b1 << 8) | b2
                    var shift = 18
                    while shift >= 0 && produced < length {
                        output.append(base64URL[(group >> shift) & 63])
                        produced += 1
                        shift -= 6
                    }
                    index += 3
                }
            }
        }
    }
}
