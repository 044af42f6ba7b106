#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Crypto
import Foundation
import MaskCore
import MaskPipeline

/// A local file as the engine's byte source (an `InputSource`, so gzip is detected the same way)
/// that also computes the SHA-256 of the file's bytes as they are read — so an input's identity
/// costs no second pass — and reports progress in file bytes.
final class HashingFileSource: ByteSource {
    /// The running digest, updated from the source's raw-bytes hook.
    private final class Digest {
        var hasher = SHA256()
    }

    private let digest = Digest()
    private let source: InputSource

    /// - Parameters:
    ///   - name: for messages and the manifest (the input's URI).
    ///   - progress: called with the number of file bytes each read consumed.
    init(path: String, name: String, progress: @escaping (Int) -> Void) throws {
        let digest = self.digest
        source = try InputSource(path: path, displayName: name) { bytes in
            digest.hasher.update(bufferPointer: bytes)
            progress(bytes.count)
        }
    }

    var name: String { source.name }
    var compressedBytesRead: Int? { source.compressedBytesRead }
    var rawBytesRead: Int { source.rawBytesRead }
    var isGzip: Bool { source.isGzip }
    var reachedEnd: Bool { source.reachedEnd }

    /// The SHA-256 of every byte read so far (the whole file once the engine reached its end).
    var sha256: String { Hex.string(digest.hasher.finalize()) }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        try source.read(into: buffer)
    }

    /// Reads the rest of the file (without decoding) so the digest covers all of it.
    func drain() throws {
        try source.drain()
    }
}

/// Shell-style globs over `/`-separated relative paths: `*` and `?` stay within one path
/// component, `**` spans any number of them, `[abc]` is a set. A pattern without `/` is matched
/// against the file name alone.
struct Glob: Sendable {
    let pattern: [UInt8]
    let nameOnly: Bool

    init(_ text: String) {
        pattern = Array(text.utf8)
        nameOnly = !text.contains("/")
    }

    func matches(_ relativePath: String) -> Bool {
        let subject = nameOnly ? String(relativePath.split(separator: "/").last ?? "") : relativePath
        return Self.match(pattern[...], Array(subject.utf8)[...])
    }

    private static func match(_ pattern: ArraySlice<UInt8>, _ text: ArraySlice<UInt8>) -> Bool {
        var p = pattern.startIndex
        var t = text.startIndex
        while p < pattern.endIndex {
            let c = pattern[p]
            if c == UInt8(ascii: "*") {
                let double = p + 1 < pattern.endIndex && pattern[p + 1] == UInt8(ascii: "*")
                let rest = p + (double ? 2 : 1)
                // `**/` also matches zero folders.
                if double && rest < pattern.endIndex && pattern[rest] == UInt8(ascii: "/") {
                    if match(pattern[(rest + 1)...], text[t...]) { return true }
                }
                var i = t
                while true {
                    if match(pattern[rest...], text[i...]) { return true }
                    if i == text.endIndex { return false }
                    if !double && text[i] == UInt8(ascii: "/") { return false }
                    i += 1
                }
            }
            guard t < text.endIndex else { return false }
            if c == UInt8(ascii: "?") {
                if text[t] == UInt8(ascii: "/") { return false }
            } else if c == UInt8(ascii: "["), let close = pattern[(p + 1)...].firstIndex(of: UInt8(ascii: "]")), close > p + 1 {
                var set = pattern[(p + 1)..<close]
                let negate = set.first == UInt8(ascii: "!") || set.first == UInt8(ascii: "^")
                if negate { set = set.dropFirst() }
                var found = false
                var i = set.startIndex
                while i < set.endIndex {
                    if i + 2 < set.endIndex && set[i + 1] == UInt8(ascii: "-") {
                        if set[i] <= text[t] && text[t] <= set[i + 2] { found = true }
                        i += 3
                    } else {
                        if set[i] == text[t] { found = true }
                        i += 1
                    }
                }
                if found == negate { return false }
                p = close
            } else if c != text[t] {
                return false
            }
            p += 1
            t += 1
        }
        return t == text.endIndex
    }
}
