#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Crypto
import Foundation
import MaskCompression
import MaskPipeline

/// A local file as the engine's byte source, gunzipped when it starts with the gzip magic
/// number, that also computes the SHA-256 of the file's bytes as they are read — so an input's
/// identity costs no second pass — and reports progress in file bytes.
final class HashingFileSource: ByteSource, @unchecked Sendable {
    let name: String
    private let descriptor: Int32
    private var decoder: GzipStreamDecoder?
    private var raw = [UInt8](repeating: 0, count: 1 << 20)
    private var decoded: [UInt8] = []
    private var decodedStart = 0
    private var sniffed = false
    private var endOfInput = false
    private var hasher = SHA256()
    private let progress: (Int) -> Void
    private(set) var rawBytesRead = 0
    private(set) var isGzip = false
    var compressedBytesRead: Int? { isGzip ? rawBytesRead : nil }

    /// - Parameters:
    ///   - name: for messages and the manifest (the input's URI).
    ///   - progress: called with the number of file bytes each read consumed.
    init(path: String, name: String, progress: @escaping (Int) -> Void) throws {
        descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw IOFailure("cannot open input \(name): \(String(cString: strerror(errno)))") }
        self.name = name
        self.progress = progress
    }

    deinit { close(descriptor) }

    /// The SHA-256 of every byte read so far (the whole file once the engine reached its end).
    var sha256: String { hasher.finalize().map { String(format: "%02x", $0) }.joined() }
    var reachedEnd: Bool { endOfInput }

    private func readRaw() throws -> Int {
        while true {
            let count = raw.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw IOFailure("cannot read \(name): \(String(cString: strerror(errno)))")
            }
            rawBytesRead += count
            raw.withUnsafeBytes { hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
            if count > 0 { progress(count) }
            return count
        }
    }

    func read(into buffer: inout [UInt8], limit: Int) throws -> Int {
        while true {
            if decodedStart < decoded.count {
                let count = min(limit, decoded.count - decodedStart)
                buffer.append(contentsOf: decoded[decodedStart..<decodedStart + count])
                decodedStart += count
                if decodedStart == decoded.count {
                    decoded.removeAll(keepingCapacity: true)
                    decodedStart = 0
                }
                return count
            }
            if endOfInput { return 0 }
            let count = try readRaw()
            if count == 0 {
                endOfInput = true
                if let decoder {
                    do { try decoder.finish() } catch { throw IOFailure("\(name): \(error)") }
                }
                return 0
            }
            if !sniffed {
                sniffed = true
                if count >= 2 && raw[0] == 0x1F && raw[1] == 0x8B {
                    isGzip = true
                    decoder = try GzipStreamDecoder()
                }
            }
            if let decoder {
                do {
                    try raw.withUnsafeBytes { try decoder.decompress(UnsafeRawBufferPointer(rebasing: $0[0..<count]), into: &decoded) }
                } catch {
                    throw IOFailure("\(name): \(error)")
                }
            } else {
                let take = min(limit, count)
                buffer.append(contentsOf: raw[0..<take])
                if take < count { decoded.append(contentsOf: raw[take..<count]) }
                return take
            }
        }
    }

    /// Reads the rest of the file (without decoding) so the digest covers all of it.
    func drain() throws {
        while !endOfInput {
            if try readRaw() == 0 { endOfInput = true }
        }
    }
}

/// The SHA-256 of a whole file, in hex.
func sha256OfFile(_ path: String) throws -> String {
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { throw IOFailure("cannot open \(path): \(String(cString: strerror(errno)))") }
    defer { close(descriptor) }
    var hasher = SHA256()
    var block = [UInt8](repeating: 0, count: 1 << 20)
    while true {
        let count = block.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
        if count < 0 {
            if errno == EINTR { continue }
            throw IOFailure("cannot read \(path): \(String(cString: strerror(errno)))")
        }
        if count == 0 { break }
        block.withUnsafeBytes { hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
    }
    return hasher.finalize().map { String(format: "%02x", $0) }.joined()
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
