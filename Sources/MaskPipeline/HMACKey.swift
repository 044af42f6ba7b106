import Crypto
import Foundation
import MaskCore
import MaskEngine
import MaskRules

/// A problem obtaining the HMAC key (exit code 2). Never contains key material.
public struct KeyError: CategorizedFailure, Sendable {
    public var description: String
    public var category: FailureCategory { .usage }
}

// Reading the key is I/O (the environment, a file), so it lives here and not in MaskEngine,
// which only computes with a key it is given.
extension KeyedHasher {
    /// Reads the key named by the rules (`env:VAR` or `file:PATH`).
    ///
    /// A `file:` key loses one trailing line end (LF or CRLF), and only that; an `env:` key is
    /// used as it is. What remains must have at least 16 bytes, at least 16 of them not ASCII
    /// whitespace, and not be one byte repeated.
    /// - Throws: `KeyError` when it is missing, unreadable or too weak (never with key material).
    /// Every named key of `hash.keys` is read the same way and attached as `named`.
    public static func load(settings: HashSettings, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> KeyedHasher {
        guard let source = settings.key else { throw KeyError(description: "the rules use hash but name no key") }
        var hasher = try load(source, what: "hash.key", settings: settings, environment: environment)
        for (name, named) in settings.keys.sorted(by: { $0.key < $1.key }) {
            hasher.named[name] = try load(named, what: "hash.keys.\(name)", settings: settings, environment: environment)
        }
        return hasher
    }

    private static func load(_ source: KeySource, what: String, settings: HashSettings, environment: [String: String]) throws -> KeyedHasher {
        var bytes: [UInt8]
        var trimmed = ""
        var isFile = false
        switch source {
        case .environment(let name):
            guard let value = environment[name], !value.isEmpty else {
                throw KeyError(description: "environment variable \(name) (\(what)) is not set")
            }
            bytes = Array(value.utf8)
        case .file(let path):
            guard let data = FileManager.default.contents(atPath: path) else {
                throw KeyError(description: "cannot read the key file \(path) (\(what))")
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
    fileprivate static func weakness(of key: [UInt8], trimmed: String, isFile: Bool) -> String? {
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
}
