import Crypto
import Foundation
import Synchronization
import _CryptoExtras

/// Application Default Credentials, found as Google's libraries find them
/// (https://cloud.google.com/docs/authentication/application-default-credentials), in order:
/// 1. `GOOGLE_APPLICATION_CREDENTIALS`: a service-account key (a JWT signed RS256 with its private
///    key, exchanged at its `token_uri`), authorized-user credentials (a refresh token) or an
///    external account (workload identity federation, `GoogleExternalAccount.swift`);
/// 2. gcloud's ADC file (`$CLOUDSDK_CONFIG` or `~/.config/gcloud`, `application_default_credentials.json`);
/// 3. the metadata server (GKE Workload Identity, GCE, Cloud Composer): `GCE_METADATA_HOST`, else
///    `metadata.google.internal`.
///
/// Tokens are cached and replaced before they expire (`TokenCache`). Errors name the file or the
/// endpoint and the identity, never a key, a refresh token or an access token.
public enum GoogleCredentials {
    /// The scope the tokens are asked for: objects read and written.
    public static let scope = "https://www.googleapis.com/auth/devstorage.read_write"

    public static func applicationDefault(
        environment: [String: String], log: @escaping @Sendable (String) -> Void = { _ in },
        transport: any HTTPTransport = CurlTransport(timeout: 30)
    ) throws -> any AccessTokenProvider {
        func value(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        if let path = value("GOOGLE_APPLICATION_CREDENTIALS") {
            return try fromFile(path, what: "GOOGLE_APPLICATION_CREDENTIALS", transport: transport, log: log)
        }
        let configFolder = value("CLOUDSDK_CONFIG") ?? "\(value("HOME") ?? NSHomeDirectory())/.config/gcloud"
        let gcloudFile = "\(configFolder)/application_default_credentials.json"
        if FileManager.default.fileExists(atPath: gcloudFile) {
            return try fromFile(gcloudFile, what: "gcloud's application default credentials", transport: transport, log: log)
        }
        let explicitHost = value("GCE_METADATA_HOST") ?? value("GCE_METADATA_ROOT")
        let metadata = MetadataServerTokens(
            host: explicitHost ?? "metadata.google.internal",
            transport: explicitHost == nil ? CurlTransport(timeout: 2) : transport, log: log)
        do {
            try metadata.probe()
        } catch let error as CredentialError {
            throw CredentialError(
                "no Google credentials found: GOOGLE_APPLICATION_CREDENTIALS is not set, there is no \(gcloudFile) "
                    + "(gcloud auth application-default login), and the metadata server: \(error.description)")
        }
        return metadata
    }

    /// A credentials file: a service-account key, authorized-user credentials or an external account.
    static func fromFile(_ path: String, what: String, transport: any HTTPTransport, log: @escaping @Sendable (String) -> Void) throws -> any AccessTokenProvider {
        guard let data = FileManager.default.contents(atPath: path) else { throw CredentialError("\(what): cannot read \(path)") }
        guard let file = try? JSONDecoder().decode(CredentialsFile.self, from: data) else {
            throw CredentialError("\(what): \(path) is not a Google credentials file (JSON with a \"type\")")
        }
        switch file.type {
        case "service_account":
            guard let email = file.client_email, let pem = file.private_key else {
                throw CredentialError("\(what): \(path): a service-account key needs client_email and private_key")
            }
            let key: _RSA.Signing.PrivateKey
            do { key = try _RSA.Signing.PrivateKey(pemRepresentation: pem) } catch {
                throw CredentialError("\(what): \(path): the private key of \(email) cannot be read (PEM, RSA)")
            }
            return ServiceAccountTokens(
                email: email, keyID: file.private_key_id, key: key, tokenURI: file.token_uri ?? "https://oauth2.googleapis.com/token",
                transport: transport, log: log)
        case "authorized_user":
            guard let client = file.client_id, let secret = file.client_secret, let refresh = file.refresh_token else {
                throw CredentialError("\(what): \(path): authorized-user credentials need client_id, client_secret and refresh_token")
            }
            return AuthorizedUserTokens(
                clientID: client, clientSecret: secret, refreshToken: refresh, tokenURI: file.token_uri ?? "https://oauth2.googleapis.com/token",
                account: file.account, transport: transport, log: log)
        case "external_account":
            return try ExternalAccountTokens.load(data, path: path, what: what, transport: transport, log: log)
        case let other:
            throw CredentialError(
                "\(what): \(path): credentials of type '\(other)' are not supported (service_account, authorized_user, external_account; or the metadata server)")
        }
    }

    struct CredentialsFile: Decodable {
        var type: String
        var client_email: String?
        var private_key: String?
        var private_key_id: String?
        var token_uri: String?
        var client_id: String?
        var client_secret: String?
        var refresh_token: String?
        var account: String?
    }

    /// The OAuth token endpoint's answer.
    struct TokenAnswer: Decodable {
        var access_token: String
        var expires_in: Double?
    }

    /// POSTs a form to a token endpoint; the token, or an error naming `identity` and the
    /// endpoint's own error code (never the form, which holds the secret).
    static func exchange(
        _ form: [(String, String)], at tokenURI: String, identity: String, transport: any HTTPTransport, headers: [String: String] = [:]
    ) throws -> ExpiringToken {
        guard let url = URL(string: tokenURI), url.host != nil else { throw CredentialError("\(identity): token_uri '\(tokenURI)' is not a URL") }
        let body = Data(URLEncoding.query(form).utf8)
        let policy = RetryPolicy(maxAttempts: 3)
        var attempt = 0
        while true {
            attempt += 1
            let started = Date()
            do {
                let response = try transport.send(
                    HTTPRequest(
                        method: "POST", url: url, headers: headers.merging(["content-type": "application/x-www-form-urlencoded"]) { $1 }, body: .data(body)),
                    downloadTo: nil)
                if response.status == 200, let answer = try? JSONDecoder().decode(TokenAnswer.self, from: response.body) {
                    return ExpiringToken(value: answer.access_token, expires: started.addingTimeInterval(answer.expires_in ?? 3600))
                }
                if RetryPolicy.isRetryable(status: response.status) && attempt < policy.maxAttempts {
                    RetryPolicy.sleep(policy.delay(afterAttempt: attempt))
                    continue
                }
                // `error` and `error_description` per RFC 6749 section 5.2: safe to show.
                let parsed = (try? JSONSerialization.jsonObject(with: response.body)) as? [String: Any]
                let code = (parsed?["error"] as? String) ?? "HTTP \(response.status)"
                let description = parsed?["error_description"] as? String
                throw CredentialError("\(identity): the token endpoint \(url.host!) refused: \(code)\(description.map { ": \($0)" } ?? "")")
            } catch let error as TransportError {
                guard attempt < policy.maxAttempts else { throw CredentialError("\(identity): token endpoint: \(error.description)") }
                RetryPolicy.sleep(policy.delay(afterAttempt: attempt))
            }
        }
    }
}

/// A service-account key: a JWT (RS256, RFC 7523) signed with the key and exchanged for an
/// access token (https://developers.google.com/identity/protocols/oauth2/service-account).
final class ServiceAccountTokens: AccessTokenProvider, Sendable {
    let email: String
    private let cache: TokenCache

    init(email: String, keyID: String?, key: _RSA.Signing.PrivateKey, tokenURI: String, transport: any HTTPTransport, log: @escaping @Sendable (String) -> Void) {
        self.email = email
        let identity = "service account \(email)"
        cache = TokenCache(onRefresh: { log("refreshing the access token of \(identity)") }) { [email] in
            let assertion = try Self.assertion(email: email, keyID: keyID, key: key, audience: tokenURI, issued: Date())
            return try GoogleCredentials.exchange(
                [("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"), ("assertion", assertion)],
                at: tokenURI, identity: identity, transport: transport)
        }
    }

    var identity: String { "service account \(email)" }
    func accessToken() throws -> String { try cache.token() }
    func invalidate() { cache.invalidate() }

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// `header.claims.signature`, each base64url: RS256 over the first two.
    static func assertion(email: String, keyID: String?, key: _RSA.Signing.PrivateKey, audience: String, issued: Date) throws -> String {
        var header: [String: String] = ["alg": "RS256", "typ": "JWT"]
        if let keyID { header["kid"] = keyID }
        let now = Int(issued.timeIntervalSince1970)
        let claims: [String: Any] = ["iss": email, "scope": GoogleCredentials.scope, "aud": audience, "iat": now, "exp": now + 3600]
        let signingInput = base64URL(try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys]))
            + "." + base64URL(try JSONSerialization.data(withJSONObject: claims, options: [.sortedKeys]))
        let signature = try key.signature(for: Data(signingInput.utf8), padding: .insecurePKCS1v1_5)
        return signingInput + "." + base64URL(signature.rawRepresentation)
    }
}

/// Authorized-user credentials (`gcloud auth application-default login`): a refresh token
/// exchanged for access tokens.
final class AuthorizedUserTokens: AccessTokenProvider, Sendable {
    let identity: String
    private let cache: TokenCache

    init(
        clientID: String, clientSecret: String, refreshToken: String, tokenURI: String, account: String?, transport: any HTTPTransport,
        log: @escaping @Sendable (String) -> Void
    ) {
        let identity = account.map { "authorized user \($0)" } ?? "authorized user (OAuth client \(clientID))"
        self.identity = identity
        cache = TokenCache(onRefresh: { log("refreshing the access token of \(identity)") }) {
            try GoogleCredentials.exchange(
                [("grant_type", "refresh_token"), ("client_id", clientID), ("client_secret", clientSecret), ("refresh_token", refreshToken)],
                at: tokenURI, identity: identity, transport: transport)
        }
    }

    func accessToken() throws -> String { try cache.token() }
    func invalidate() { cache.invalidate() }
}

/// The metadata server's tokens for the workload's service account (GKE Workload Identity,
/// GCE, Cloud Composer): https://cloud.google.com/compute/docs/access/authenticate-workloads
final class MetadataServerTokens: AccessTokenProvider, Sendable {
    let base: String
    let transport: any HTTPTransport
    private let cache: TokenCache
    /// The service account's email, once `probe()` asked for it.
    private let email = Mutex<String?>(nil)

    init(host: String, transport: any HTTPTransport, log: @escaping @Sendable (String) -> Void) {
        var base = host.contains("://") ? host : "http://\(host)"
        while base.hasSuffix("/") { base.removeLast() }
        self.base = base
        self.transport = transport
        let root = base
        cache = TokenCache(onRefresh: { log("refreshing the metadata server's access token") }) {
            let started = Date()
            let response = try Self.get(root, "/computeMetadata/v1/instance/service-accounts/default/token", transport: transport)
            guard let answer = try? JSONDecoder().decode(GoogleCredentials.TokenAnswer.self, from: response) else {
                throw CredentialError("metadata server \(root): the token answer is not JSON with access_token")
            }
            return ExpiringToken(value: answer.access_token, expires: started.addingTimeInterval(answer.expires_in ?? 3600))
        }
    }

    static func get(_ base: String, _ path: String, transport: any HTTPTransport) throws -> Data {
        let response: HTTPResponse
        do {
            response = try transport.send(HTTPRequest(method: "GET", url: URL(string: base + path)!, headers: ["metadata-flavor": "Google"]), downloadTo: nil)
        } catch let error as TransportError {
            throw CredentialError("metadata server \(base) not reachable (\(error.description))")
        }
        guard response.status == 200 else { throw CredentialError("metadata server \(base): \(path): HTTP \(response.status)") }
        return response.body
    }

    /// Whether there is a metadata server at all, and whose identity it gives (for messages).
    func probe() throws {
        let data = try Self.get(base, "/computeMetadata/v1/instance/service-accounts/default/email", transport: transport)
        email.withLock { $0 = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) }
    }

    var identity: String {
        email.withLock { $0.map { "service account \($0) (metadata server)" } ?? "the metadata server's default service account" }
    }

    func accessToken() throws -> String { try cache.token() }
    func invalidate() { cache.invalidate() }
}
