import Foundation

/// A database client's or server's message as `mask` shows it: on one line, and without the
/// password, in case a library or server version quotes the connection options back. The one
/// place both database adapters (libpq, MariaDB Connector/C) pass their messages through.
public enum ServerMessage {
    /// `message` trimmed, line breaks as spaces, every occurrence of `password` as `***`.
    public static func oneLine(_ message: String, hiding password: String?) -> String {
        var text = message.trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "\n", with: " ")
        if let password, !password.isEmpty { text = text.replacingOccurrences(of: password, with: "***") }
        return text
    }
}
