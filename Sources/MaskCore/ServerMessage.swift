import Foundation

/// A database client's or server's message as `mask` shows it: on one line, and without the
/// password, in case a library or server version quotes the connection options back. The one
/// place both database adapters (libpq, MariaDB Connector/C) pass their messages through.
public enum ServerMessage {
    /// `message` trimmed, line breaks as spaces, every occurrence of `password` as `***`. A
    /// password holding `@` is hidden piece by piece too: a library that cuts the URL at its first
    /// `@` quotes the rest of the password back as part of a host name.
    public static func oneLine(_ message: String, hiding password: String?) -> String {
        var text = message.trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "\n", with: " ")
        guard let password, !password.isEmpty else { return text }
        text = text.replacingOccurrences(of: password, with: "***")
        for piece in password.split(separator: "@") where piece.count >= 3 {
            text = text.replacingOccurrences(of: piece, with: "***")
        }
        return text
    }

    /// The password of a `scheme://user:password@host` URL (percent-decoded), by the same rule as
    /// `hidingPassword(inURL:)`; nil when there is none.
    public static func password(inURL text: String) -> String? {
        guard let schemeEnd = text.range(of: "://") else { return nil }
        let rest = text[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        guard let at = rest[..<authorityEnd].lastIndex(of: "@"), let colon = rest[..<at].firstIndex(of: ":") else { return nil }
        let raw = String(rest[rest.index(after: colon)..<at])
        return raw.removingPercentEncoding ?? raw
    }

    /// A `scheme://user:password@host/…` URL with the password replaced by `***` (any scheme, so
    /// a mistyped one is still safe to echo back); nil when `text` is no such URL. The user part
    /// ends at the last `@` before the path, so a password holding an unencoded `@` is hidden whole.
    public static func hidingPassword(inURL text: String) -> String? {
        guard text.range(of: #"^[A-Za-z][A-Za-z0-9+.-]*://"#, options: .regularExpression) != nil,
            let schemeEnd = text.range(of: "://")
        else { return nil }
        let rest = text[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        guard let at = rest[..<authorityEnd].lastIndex(of: "@"), let colon = rest[..<at].firstIndex(of: ":") else { return text }
        var result = text
        result.replaceSubrange(text.index(after: colon)..<at, with: "***")
        return result
    }
}
