import Foundation

/// Workload identity federation (`"type": "external_account"`): a token from another identity
/// provider (a Kubernetes service-account token on EKS or on-premises, a GitHub Actions OIDC
/// token, an Azure managed identity) is exchanged at Google's Security Token Service for a
/// federated access token, and, when the file names a service account to impersonate, that token
/// is exchanged once more at the IAM Credentials API for the service account's own token
/// (https://google.aip.dev/auth/4117). This is what `gcloud iam workload-identity-pools
/// create-cred-config` writes, so a pod outside Google Cloud needs no service-account key.
///
/// Supported subject-token sources: a file (re-read on every exchange: kubelet rotates projected
/// tokens) and a URL (with its headers), each as text or as a JSON field. Executable sources and
/// AWS-sourced credentials are refused with a message rather than half-supported.
final class ExternalAccountTokens: AccessTokenProvider, Sendable {
    let identity: String
    private let cache: TokenCache

    struct File: Decodable {
        struct Source: Decodable {
            struct Format: Decodable {
                var type: String?
                var subject_token_field_name: String?
            }
            var file: String?
            var url: String?
            var headers: [String: String]?
            var format: Format?
            var executable: [String: String]?
            var environment_id: String?
        }
        var audience: String
        var subject_token_type: String
        var token_url: String?
        var credential_source: Source
        var service_account_impersonation_url: String?
        var service_account_impersonation: [String: Int]?
        var client_id: String?
        var client_secret: String?
        var workforce_pool_user_project: String?
    }

    /// Where the subject token comes from, decided once when the file is read.
    enum SubjectSource: Sendable {
        case file(String)
        case url(URL, headers: [String: String])
    }

    static func load(_ data: Data, path: String, what: String, transport: any HTTPTransport, log: @escaping @Sendable (String) -> Void) throws -> ExternalAccountTokens {
        let file: File
        do { file = try JSONDecoder().decode(File.self, from: data) } catch {
            throw CredentialError("\(what): \(path): an external_account file needs audience, subject_token_type and credential_source")
        }
        let source = file.credential_source
        let subject: SubjectSource
        if source.executable != nil {
            throw CredentialError("\(what): \(path): executable-sourced credentials are not supported (use a file or URL credential source)")
        } else if source.environment_id != nil {
            throw CredentialError("\(what): \(path): AWS-sourced external credentials are not supported (use a file or URL credential source)")
        } else if let name = source.file {
            subject = .file(name)
        } else if let text = source.url, let url = URL(string: text), url.host != nil {
            subject = .url(url, headers: source.headers ?? [:])
        } else {
            throw CredentialError("\(what): \(path): credential_source names neither a file nor a URL")
        }
        let field = source.format?.type == "json" ? (source.format?.subject_token_field_name ?? "") : nil
        if field == "" { throw CredentialError("\(what): \(path): a json credential_source format needs subject_token_field_name") }
        return ExternalAccountTokens(file: file, subject: subject, jsonField: field, transport: transport, log: log)
    }

    init(file: File, subject: SubjectSource, jsonField: String?, transport: any HTTPTransport, log: @escaping @Sendable (String) -> Void) {
        let impersonated = file.service_account_impersonation_url.flatMap(Self.serviceAccount(in:))
        let identity = impersonated.map { "service account \($0) (workload identity federation)" }
            ?? "external account (audience \(file.audience))"
        self.identity = identity
        let tokenURL = file.token_url ?? "https://sts.googleapis.com/v1/token"
        let impersonationURL = file.service_account_impersonation_url
        let lifetime = file.service_account_impersonation?["token_lifetime_seconds"] ?? 3600
        var headers: [String: String] = [:]
        if let id = file.client_id, let secret = file.client_secret {
            headers["authorization"] = "Basic " + Data("\(id):\(secret)".utf8).base64EncodedString()
        }
        // As Google's libraries do: the federated token is asked for the cloud-platform scope
        // when it is only a step towards the impersonated service account's token.
        var form = [
            ("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange"), ("audience", file.audience),
            ("requested_token_type", "urn:ietf:params:oauth:token-type:access_token"),
            ("scope", impersonationURL == nil ? GoogleCredentials.scope : "https://www.googleapis.com/auth/cloud-platform"),
            ("subject_token_type", file.subject_token_type),
        ]
        if let project = file.workforce_pool_user_project, file.client_id == nil {
            form.append(("options", "{\"userProject\":\"\(project)\"}"))
        }
        let baseForm = form
        let headerSet = headers
        cache = TokenCache(onRefresh: { log("refreshing the access token of \(identity)") }) {
            let token = try Self.subjectToken(subject, jsonField: jsonField, identity: identity, transport: transport)
            let federated = try GoogleCredentials.exchange(
                baseForm + [("subject_token", token)], at: tokenURL, identity: identity, transport: transport, headers: headerSet)
            guard let impersonationURL else { return federated }
            return try Self.impersonate(impersonationURL, with: federated.value, lifetime: lifetime, identity: identity, transport: transport)
        }
    }

    func accessToken() throws -> String { try cache.token() }
    func invalidate() { cache.invalidate() }

    /// `.../serviceAccounts/NAME@PROJECT.iam.gserviceaccount.com:generateAccessToken` → the email.
    static func serviceAccount(in url: String) -> String? {
        guard let range = url.range(of: "/serviceAccounts/") else { return nil }
        let rest = url[range.upperBound...]
        return rest.split(separator: ":").first.map(String.init)
    }

    /// The identity provider's token, read fresh for each exchange (never logged).
    static func subjectToken(_ source: SubjectSource, jsonField: String?, identity: String, transport: any HTTPTransport) throws -> String {
        let data: Data
        let origin: String
        switch source {
        case .file(let path):
            origin = path
            guard let contents = FileManager.default.contents(atPath: path) else {
                throw CredentialError("\(identity): cannot read the subject token file \(path)")
            }
            data = contents
        case .url(let url, let headers):
            origin = "\(url.host ?? "")\(url.path)"
            let response: HTTPResponse
            do {
                response = try transport.send(HTTPRequest(method: "GET", url: url, headers: headers), downloadTo: nil)
            } catch let error as TransportError {
                throw CredentialError("\(identity): the subject token URL \(origin) is not reachable (\(error.description))")
            }
            guard response.status == 200 else { throw CredentialError("\(identity): the subject token URL \(origin): HTTP \(response.status)") }
            data = response.body
        }
        let token: String?
        if let jsonField {
            token = ((try? JSONSerialization.jsonObject(with: data)) as? [String: Any])?[jsonField] as? String
        } else {
            token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        guard let token, !token.isEmpty else {
            throw CredentialError("\(identity): the subject token from \(origin) is empty\(jsonField.map { " or has no field '\($0)'" } ?? "")")
        }
        return token
    }

    /// The IAM Credentials API's `generateAccessToken` for the impersonated service account.
    static func impersonate(_ endpoint: String, with federated: String, lifetime: Int, identity: String, transport: any HTTPTransport) throws -> ExpiringToken {
        guard let url = URL(string: endpoint), let host = url.host else {
            throw CredentialError("\(identity): service_account_impersonation_url '\(endpoint)' is not a URL")
        }
        struct Answer: Decodable {
            var accessToken: String
            var expireTime: String
        }
        let body = try JSONSerialization.data(withJSONObject: ["scope": [GoogleCredentials.scope], "lifetime": "\(lifetime)s"], options: [.sortedKeys])
        let policy = RetryPolicy(maxAttempts: 3)
        var attempt = 0
        while true {
            attempt += 1
            do {
                let response = try transport.send(
                    HTTPRequest(method: "POST", url: url, headers: ["content-type": "application/json", "authorization": "Bearer \(federated)"], body: .data(body)),
                    downloadTo: nil)
                if response.status == 200, let answer = try? JSONDecoder().decode(Answer.self, from: response.body),
                    let expires = Self.date(answer.expireTime)
                {
                    return ExpiringToken(value: answer.accessToken, expires: expires)
                }
                if RetryPolicy.isRetryable(status: response.status) && attempt < policy.maxAttempts {
                    RetryPolicy.sleep(policy.delay(afterAttempt: attempt))
                    continue
                }
                // Google's error body ({"error": {"message": ...}}) says what is missing (the
                // Workload Identity User role, a disabled account); it holds no secret.
                let parsed = (try? JSONSerialization.jsonObject(with: response.body)) as? [String: Any]
                let message = (parsed?["error"] as? [String: Any])?["message"] as? String
                throw CredentialError("\(identity): impersonation at \(host) refused: HTTP \(response.status)\(message.map { ": \($0)" } ?? "")")
            } catch let error as TransportError {
                guard attempt < policy.maxAttempts else { throw CredentialError("\(identity): impersonation at \(host): \(error.description)") }
                RetryPolicy.sleep(policy.delay(afterAttempt: attempt))
            }
        }
    }

    /// RFC 3339 as the API writes it, with or without fractional seconds.
    static func date(_ text: String) -> Date? {
        let plain = ISO8601DateFormatter()
        if let date = plain.date(from: text) { return date }
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return fractional.date(from: text)
    }
}
