import Crypto
import Foundation
import MaskEngine
import MaskRules
import Testing

/// HMAC-SHA256 known answers from RFC 4231, section 4 (test cases 1, 2 and 6).
@Suite struct KeyedHasherTests {
    func hmacHex(key: [UInt8], data: [UInt8]) -> String {
        var settings = HashSettings.defaults
        settings.encoding = .hex
        settings.length = 64
        let hasher = KeyedHasher(key: SymmetricKey(data: key), settings: settings)
        var output: [UInt8] = []
        data.withUnsafeBytes { hasher.appendHash(of: $0, to: &output) }
        return String(decoding: output, as: UTF8.self)
    }

    @Test func rfc4231TestCase1() {
        #expect(hmacHex(key: Array(repeating: 0x0b, count: 20), data: Array("Hi There".utf8))
            == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
    }

    @Test func rfc4231TestCase2() {
        #expect(hmacHex(key: Array("Jefe".utf8), data: Array("what do ya want for nothing?".utf8))
            == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }

    @Test func rfc4231TestCase6KeyLongerThanABlock() {
        #expect(hmacHex(key: Array(repeating: 0xaa, count: 131), data: Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8))
            == "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
    }

    @Test func base64URLIsTheDigestPrefix() {
        var settings = HashSettings.defaults
        settings.length = 43
        let hasher = KeyedHasher(key: SymmetricKey(data: Array("Jefe".utf8)), settings: settings)
        var output: [UInt8] = []
        Array("what do ya want for nothing?".utf8).withUnsafeBytes { hasher.appendHash(of: $0, to: &output) }
        // base64url of 5bdcc146bf60754e6a04242608957 5c7... without padding
        #expect(String(decoding: output, as: UTF8.self) == "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM")
    }

    /// The hand-padded blocks must give swift-crypto's HMAC for every length around the block
    /// boundaries (55/56 bytes: the length field moves to a second block; 64: a whole block).
    @Test func matchesHMACForEveryLengthUpToThreeBlocks() {
        var settings = HashSettings.defaults
        settings.encoding = .hex
        settings.length = 64
        let key = SymmetricKey(data: Array("mask-benchmark-key-not-a-secret-0123456789abcdef".utf8))
        let hasher = KeyedHasher(key: key, settings: settings)
        for length in 0...200 {
            let data = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
            var output: [UInt8] = []
            data.withUnsafeBytes { hasher.appendHash(of: $0, to: &output) }
            let expected = HMAC<SHA256>.authenticationCode(for: data, using: key).map { String(format: "%02x", $0) }.joined()
            #expect(String(decoding: output, as: UTF8.self) == expected, "length \(length)")
        }
    }
}
