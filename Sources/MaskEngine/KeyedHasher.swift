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
/// rounds for the padded key); copying a keyed `HMAC` value, whose inner and outer hash states
/// are already primed, avoids that.
public struct KeyedHasher: Sendable {
    private let prototype: HMAC<SHA256>
    private let settings: HashSettings
    /// A fingerprint of the key, safe to print and store: HMAC(key, "mask key id v1"), 12 hex
    /// digits. It tells which key masked a file without revealing anything usable about the key.
    public let keyID: String

    public init(key: SymmetricKey, settings: HashSettings) {
        prototype = HMAC<SHA256>(key: key)
        self.settings = settings
        let tag = HMAC<SHA256>.authenticationCode(for: Array("mask key id v1".utf8), using: key)
        keyID = tag.prefix(6).map { String(format: "%02x", $0) }.joined()
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

    private static let hexDigits = Array("0123456789abcdef".utf8)
    private static let base64URL = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// Appends prefix + encoded (truncated) HMAC of `value` to `output`.
    public func appendHash(of value: UnsafeRawBufferPointer, to output: inout [UInt8]) {
        var hmac = prototype
        hmac.update(data: value)
        let tag = hmac.finalize()
        output.append(contentsOf: settings.prefix)
        let length = settings.length
        tag.withUnsafeBytes { digest in
            switch settings.encoding {
            case .hex:
                for index in 0..<(length + 1) / 2 {
                    output.append(Self.hexDigits[Int(digest[index] >> 4)])
                    if index * 2 + 1 < length { output.append(Self.hexDigits[Int(digest[index] & 0x0F)]) }
                }
            case .base64url:
                var produced = 0
                var index = 0
                while produced < length {
                    let b0 = Int(digest[index])
                    let b1 = index + 1 < 32 ? Int(digest[index + 1]) : 0
                    let b2 = index + 2 < 32 ? Int(digest[index + 2]) : 0
                    let sextets = [b0 >> 2, ((b0 & 3) << 4) | (b1 >> 4), ((b1 & 15) << 2) | (b2 >> 6), b2 & 63]
                    for sextet in sextets where produced < length {
                        output.append(Self.base64URL[sextet])
                        produced += 1
                    }
                    index += 3
                }
            }
        }
    }
}
