import Foundation

/// The `email` normaliser: one spelling per address, so that an address hashes alike however
/// its domain is written.
///
/// - Local part (before the last `@`): ASCII letters are lowercased, as `lowercase` does, since
///   practically every mail system treats ASCII case in a mailbox name as insignificant. Other
///   characters are kept as they are: RFC 6531 leaves the comparison of a non-ASCII local part
///   to the receiving system, and folding it (`JOSÉ` to `josé`, or `ß` to `ss`) could give two
///   distinct mailboxes one hash.
/// - Domain: each label is written as IDNA writes it on the wire, an A-label in lowercase ASCII:
///   a U-label is lowercased, put in Unicode normalisation form C and Punycode-encoded with the
///   `xn--` prefix (`Bücher.DE` and `xn--bcher-kva.de` give `xn--bcher-kva.de`); an A-label is
///   decoded and encoded again the same way, so that its case cannot matter either. The
///   ideographic and full-width full stops (`。`, `．`, `｡`) separate labels like `.`, as IDNA
///   maps them. A label that is not valid Punycode is kept, lowercased.
///
/// This is the mapping of IDNA2008 (RFC 5891) as far as hashing needs it, not its validity
/// checks: the detector decides what is an address, the normaliser only how to spell one.
extension Normalizer {
    /// - Returns: the number of bytes written (at most `maximumCount(forValueOf:)`).
    static func normalizeEmail(_ value: UnsafeRawBufferPointer, to output: UnsafeMutablePointer<UInt8>) -> Int {
        let trimmed = trimmed(value)
        // One pass that is the whole work for an ASCII domain without hyphens (most addresses):
        // lowercase as `lowercase` does, noting whether the domain may hold a U- or an A-label.
        var at = -1
        var mayHoldLabels = false
        for index in 0..<trimmed.count {
            let byte = trimmed[index]
            output[index] = asciiLowercased(byte)
            if byte == UInt8(ascii: "@") {
                at = index
                mayHoldLabels = false
            } else if byte >= 0x80 || byte == UInt8(ascii: "-") {
                mayHoldLabels = true
            }
        }
        guard at >= 0, mayHoldLabels else { return trimmed.count }
        var written = at + 1
        @inline(__always) func put(_ byte: UInt8) {
            output[written] = byte
            written += 1
        }
        let domain = UnsafeRawBufferPointer(rebasing: trimmed[(at + 1)...])
        if !domain.contains(where: { $0 >= 0x80 }) && !containsALabel(domain) { return trimmed.count }
        let labels = String(decoding: domain, as: UTF8.self)
            .split(omittingEmptySubsequences: false) { $0 == "." || $0 == "\u{3002}" || $0 == "\u{FF0E}" || $0 == "\u{FF61}" }
        for (index, label) in labels.enumerated() {
            if index > 0 { put(UInt8(ascii: ".")) }
            for byte in aLabel(label).utf8 { put(byte) }
        }
        return written
    }

    /// The lowercase A-label of one label (U-label, A-label or plain ASCII).
    static func aLabel(_ label: Substring) -> String {
        var unicode = String(label)
        let utf8 = Array(label.utf8)
        if utf8.count > 4 && utf8[0] | 0x20 == UInt8(ascii: "x") && utf8[1] | 0x20 == UInt8(ascii: "n")
            && utf8[2] == UInt8(ascii: "-") && utf8[3] == UInt8(ascii: "-") && !utf8.contains(where: { $0 >= 0x80 })
        {
            guard let decoded = Punycode.decode(utf8[4...]) else { return label.lowercased() }
            unicode = String(String.UnicodeScalarView(decoded))
        }
        let canonical = unicode.lowercased().precomposedStringWithCanonicalMapping
        guard canonical.utf8.contains(where: { $0 >= 0x80 }) else { return canonical }
        guard let encoded = Punycode.encode(Array(canonical.unicodeScalars)) else { return canonical }
        return "xn--" + encoded
    }

    /// Whether some label of an ASCII domain starts with `xn--` (in any case).
    static func containsALabel(_ domain: UnsafeRawBufferPointer) -> Bool {
        var index = 0
        while index + 4 <= domain.count {
            if (index == 0 || domain[index - 1] == UInt8(ascii: ".")) && domain[index] | 0x20 == UInt8(ascii: "x")
                && domain[index + 1] | 0x20 == UInt8(ascii: "n") && domain[index + 2] == UInt8(ascii: "-")
                && domain[index + 3] == UInt8(ascii: "-")
            {
                return true
            }
            index += 1
        }
        return false
    }

    @inline(__always)
    static func asciiLowercased(_ byte: UInt8) -> UInt8 {
        byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte
    }
}
