import Foundation
import MaskTestSupport

/// Rules used across the CLI tests: every policy on a column of its own.
enum Fixtures {
    /// The email and phone detectors the CLI tests share (simpler than rules/pii.yaml on purpose,
    /// so the tests pin engine behaviour, not the shipped patterns).
    static let detectors = """
        detectors:
          email:
            pattern: '(?i)(?<![a-z0-9._%+\\-])[a-z0-9._%+\\-]+@(?:[a-z0-9\\-]+\\.)+[a-z]{2,24}(?![a-z0-9\\-])'
            prefilter: "@"
            token: "[EMAIL]"
            normalize: lowercase
          phone:
            pattern: '(?<![\\w+])(?:\\+\\d{1,3}[ .\\-]?)?(?:\\(\\d{1,4}\\)[ .\\-]?)?\\d{1,4}(?:[ .\\-]\\d{2,8}){1,4}(?!\\w)'
            prefilter: { min_digits: 7 }
            validate: { digits: [7, 15] }
            token: "[PHONE]"
            normalize: e164
            default_region: US
        """

    static let everyPolicyRules = """
        version: 1
        \(detectors)
        fields:
          "email*": hash
          "phone*": { hash: { detector: phone } }
          "name*": redact
          "card*": { mask: { keep_last: 4 } }
          "secret*": drop
          "nickname*": "null"
          "id*": keep
          "notes*": scan
        default: keep
        hash: { key: env:MASK_HMAC_KEY }
        """

    static let keepAllRules = """
        version: 1
        default: keep
        """

    static let scanAllRules = """
        version: 1
        detectors:
          email:
            pattern: '(?i)[a-z0-9._%+\\-]+@(?:[a-z0-9\\-]+\\.)+[a-z]{2,24}'
            prefilter: "@"
            token: "[EMAIL]"
        default: scan
        """

    /// A deterministic CSV with quoting, embedded newlines, CRLF-free LF records and PII in
    /// free text, `rows` rows long.
    static func syntheticCSV(rows: Int) -> String {
        var text = "id,name,email,phone,notes\n"
        var state: UInt64 = 42
        func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state >> 33
        }
        let names = ["Ann Lee", "\"Smith, John\"", "Yuki Sato", "\"O\"\"Brien, Pat\"", "José Álvarez"]
        let notes = [
            "no pii here", "\"mail me at a.b\(0)@example.com, thanks\"", "\"two lines\nwith +1 415 555 0123\"",
            "order ORD-2024-000123 on 2024-03-05", "\"quoted \"\"word\"\" and x@y.io\"", "",
        ]
        for row in 1...rows {
            let name = names[Int(next() % UInt64(names.count))]
            let email = "user\(next() % 10000)@Example.com"
            let phone = ["+1 (415) 555-01\(10 + next() % 80)", "090-1234-\(1000 + next() % 8999)", ""][Int(next() % 3)]
            let note = notes[Int(next() % UInt64(notes.count))]
            text += "\(row),\(name),\(email),\(phone),\(note)\n"
        }
        return text
    }
}
