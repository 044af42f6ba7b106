/// How a file or object name is written into a message on stderr or stdout.
///
/// Names come from the user, the file system or a bucket listing, and may hold any byte but NUL
/// and `/`. Printed raw, a name with a newline forges a log line (`x.csv\nmask: masked 0 records`)
/// and one with an escape sequence rewrites the terminal. Every message that names an input or an
/// output goes through `DisplayName.of`, so what a reader sees on one line is one message, and
/// two different names never print the same. Manifests and reports keep the real name: JSON
/// escapes it there by itself.
public enum DisplayName {
    /// `name` with control characters (C0, DEL, C1), line and paragraph separators, bidirectional
    /// overrides and the backslash written as escapes (`\n`, `\t`, `\x1b`, `\u{202e}`, `\\`);
    /// everything else, non-ASCII letters included, unchanged.
    public static func of(_ name: String) -> String {
        guard name.unicodeScalars.contains(where: needsEscape) else { return name }
        var text = ""
        for scalar in name.unicodeScalars {
            guard needsEscape(scalar) else {
                text.unicodeScalars.append(scalar)
                continue
            }
            switch scalar {
            case "\n": text += "\\n"
            case "\r": text += "\\r"
            case "\t": text += "\\t"
            case "\\": text += "\\\\"
            default:
                text += scalar.value < 0x100 ? "\\x" + hex(scalar.value, digits: 2) : "\\u{" + hex(scalar.value, digits: 4) + "}"
            }
        }
        return text
    }

    /// Raw name bytes (a file name that is not valid UTF-8): valid UTF-8 sequences as in `of`, every
    /// byte that is not part of one as `\xNN`, so the name stays recognisable and unambiguous.
    public static func of(bytes: [UInt8]) -> String {
        var text = ""
        var index = 0
        while index < bytes.count {
            let length = validSequenceLength(bytes, at: index)
            if length == 0 {
                text += "\\x" + hex(UInt32(bytes[index]), digits: 2)
                index += 1
            } else {
                text += of(String(decoding: bytes[index..<index + length], as: UTF8.self))
                index += length
            }
        }
        return text
    }

    static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F, 0x5C: return true  // C0, DEL, C1, backslash
        case 0x2028, 0x2029: return true  // line and paragraph separators
        case 0x202A...0x202E, 0x2066...0x2069, 0x200E, 0x200F, 0x061C: return true  // bidirectional controls
        default: return false
        }
    }

    private static func hex(_ value: UInt32, digits: Int) -> String {
        let text = String(value, radix: 16)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }

    /// The length of the well-formed UTF-8 sequence starting at `index` (RFC 3629: no overlongs,
    /// no surrogates, nothing above U+10FFFF), or 0 when the byte there does not start one.
    private static func validSequenceLength(_ bytes: [UInt8], at index: Int) -> Int {
        let first = bytes[index]
        let length: Int
        var low: UInt8 = 0x80
        var high: UInt8 = 0xBF
        switch first {
        case 0x00...0x7F: return 1
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; low = 0xA0
        case 0xE1...0xEC, 0xEE, 0xEF: length = 3
        case 0xED: length = 3; high = 0x9F
        case 0xF0: length = 4; low = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; high = 0x8F
        default: return 0
        }
        guard index + length <= bytes.count else { return 0 }
        for offset in 1..<length {
            let byte = bytes[index + offset]
            let (min, max) = offset == 1 ? (low, high) : (UInt8(0x80), UInt8(0xBF))
            guard byte >= min && byte <= max else { return 0 }
        }
        return length
    }
}
