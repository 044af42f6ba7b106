import Foundation
import MaskCore
import Synchronization

/// Credentials could not be found or exchanged. Names where they came from (a file, an
/// endpoint, an identity), never a key, token or secret.
public struct CredentialError: CategorizedFailure, Sendable {
    /// Missing or refused credentials are the user's to fix before a retry can help.
    public var category: FailureCategory { .usage }
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Bearer tokens for Google APIs, fetched when needed and cached until shortly before they expire.
public protocol AccessTokenProvider: Sendable {
    /// A token valid for at least the next minute.
    func accessToken() throws -> String
    /// Who the tokens are for (a service-account email, "authorized user", "metadata server
    /// (default service account)"), for messages.
    var identity: String { get }
    /// Forgets the cached token (the store refused it: revoked, or the clock is off).
    func invalidate()
}

extension AccessTokenProvider {
    public func invalidate() {}
}

/// A token and when it stops working.
public struct ExpiringToken: Sendable {
    public var value: String
    public var expires: Date

    public init(value: String, expires: Date) {
        self.value = value
        self.expires = expires
    }
}

/// Caches one token and fetches a new one when the cached one has less than `margin` left (a
/// long batch outlives a one-hour token: the refresh happens between requests, never mid-way).
/// Thread-safe: worker threads share it; one fetch at a time (the fetch runs under the lock, so
/// threads that need a token while it is being fetched wait for that one instead of each
/// fetching their own).
public final class TokenCache: Sendable {
    private struct State {
        var current: ExpiringToken?
        var fetchedAt = Date.distantPast
        var fetches = 0
    }

    private let state = Mutex(State())
    private let fetch: @Sendable () throws -> ExpiringToken
    /// Called before each fetch but the first (for a log line).
    private let onRefresh: (@Sendable () -> Void)?
    /// How long before expiry a token is replaced. Google's libraries use 3m45s; a token that
    /// lives less than twice the margin is replaced at half its life.
    public let margin: TimeInterval

    public init(margin: TimeInterval = 225, onRefresh: (@Sendable () -> Void)? = nil, fetch: @escaping @Sendable () throws -> ExpiringToken) {
        self.margin = margin
        self.onRefresh = onRefresh
        self.fetch = fetch
    }

    /// Tokens fetched so far (for tests and logs).
    public var fetches: Int { state.withLock { $0.fetches } }

    public func token() throws -> String {
        try state.withLock { state in
            if let current = state.current, Date() < refreshTime(current, fetchedAt: state.fetchedAt) { return current.value }
            if state.current != nil { onRefresh?() }
            let started = Date()
            let fresh = try fetch()
            state.fetches += 1
            state.current = fresh
            state.fetchedAt = started
            return fresh.value
        }
    }

    public func invalidate() {
        state.withLock { $0.current = nil }
    }

    /// A token is replaced `margin` before it ends, or at half its life when that is sooner
    /// (short-lived tokens, as in the tests).
    private func refreshTime(_ token: ExpiringToken, fetchedAt: Date) -> Date {
        let life = token.expires.timeIntervalSince(fetchedAt)
        return token.expires.addingTimeInterval(-min(margin, max(0, life / 2)))
    }
}
