import Crypto
import MaskCore
import MaskRules

/// The keyed hash of the `hash` policy: HMAC-SHA256 of a normalised value, encoded (hex or
/// base64url) and truncated as the rules say. The per-value cost is in `HMACSchedule`.
public struct KeyedHasher: Sendable {
    /// What hashing a value needs, in one immutable object: the masker reaches it with one
    /// reference, where copying this struct out of an optional for every hashed value retained
    /// its arrays and dictionary one by one (a profile showed the copy).
    let engine: Engine
    /// A fingerprint of the key, safe to print and store: HMAC(key, "mask key id v1"), 12 hex
    /// digits. It tells which key masked a file without revealing anything usable about the key.
    public let keyID: String
    /// The rules' named keys (`hash.keys`), each a hasher of its own; `key: NAME` picks one.
    public var named: [String: KeyedHasher] = [:]

    public init(key: SymmetricKey, settings: HashSettings) {
        engine = Engine(schedule: HMACSchedule(key: key), settings: settings)
        let tag = HMAC<SHA256>.authenticationCode(for: Array("mask key id v1".utf8), using: key)
        keyID = Hex.string(tag.prefix(6))
    }

    public init(keyBytes: [UInt8], settings: HashSettings) {
        self.init(key: SymmetricKey(data: keyBytes), settings: settings)
    }

    /// Appends prefix + encoded (truncated) HMAC of `value` to `output`.
    public func appendHash(of value: UnsafeRawBufferPointer, to output: inout [UInt8]) {
        engine.appendHash(of: value, to: &output)
    }

    /// The keyed hash of one key and settings.
    final class Engine: Sendable {
        /// The key, prepared for hashing many short values (SHA256Block.swift).
        private let schedule: HMACSchedule
        private let prefix: [UInt8]
        private let length: Int
        private let encoding: HashEncoding
        // Instance copies of the alphabets: a `static let` is a lazy global, and its `swift_once`
        // check on every access showed in the profile.
        private let hexDigits = Array("0123456789abcdef".utf8)
        private let base64URL = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

        init(schedule: HMACSchedule, settings: HashSettings) {
            self.schedule = schedule
            prefix = settings.prefix
            length = settings.length
            encoding = settings.encoding
        }

        /// Replaces the whole of `output` by prefix + encoded (truncated) HMAC of `value`: one
        /// `replaceSubrange`, where emptying the array and appending cost twice as much (the
        /// hash policy's replacement is nothing else).
        @inline(__always)
        func setHash(of value: UnsafeRawBufferPointer, in output: inout [UInt8]) {
            guard prefix.isEmpty else {
                output.removeAll(keepingCapacity: true)
                appendHash(of: value, to: &output)
                return
            }
            withEncodedHash(of: value) { output.replaceSubrange(0..<output.count, with: $0) }
        }

        /// Appends prefix + encoded (truncated) HMAC of `value` to `output`.
        @inline(__always)
        func appendHash(of value: UnsafeRawBufferPointer, to output: inout [UInt8]) {
            if !prefix.isEmpty { output.append(contentsOf: prefix) }
            withEncodedHash(of: value) { output.append(contentsOf: $0) }
        }

        /// The encoded (truncated) HMAC of `value`, without the prefix. The digest and its
        /// encoding (at most 64 characters) are built on the stack and handed over in one piece:
        /// appending character by character cost a uniqueness check each.
        @inline(__always)
        private func withEncodedHash(of value: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> Void) {
            withUnsafeTemporaryAllocation(byteCount: 32 + 64, alignment: 8) { scratch in
                let digest = scratch.baseAddress!
                schedule.authenticationCode(of: value, into: digest)
                let produced = encode(UnsafeRawPointer(digest), into: digest + 32)
                body(UnsafeRawBufferPointer(start: digest + 32, count: produced))
            }
        }

        /// Writes the first `length` characters of the encoded 32-byte `digest` to `text`.
        @inline(__always)
        private func encode(_ digest: UnsafeRawPointer, into text: UnsafeMutableRawPointer) -> Int {
            var produced = 0
            switch encoding {
            case .hex:
                hexDigits.withUnsafeBufferPointer { hexDigits in
                    for index in 0..<(length + 1) / 2 {
                        let byte = digest.load(fromByteOffset: index, as: UInt8.self)
                        text.storeBytes(of: hexDigits[Int(byte >> 4)], toByteOffset: produced, as: UInt8.self)
                        produced += 1
                        if index * 2 + 1 < length {
                            text.storeBytes(of: hexDigits[Int(byte & 0x0F)], toByteOffset: produced, as: UInt8.self)
                            produced += 1
                        }
                    }
                }
            case .base64url:
                base64URL.withUnsafeBufferPointer { base64URL in
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
            }
            return produced
        }
    }
}
