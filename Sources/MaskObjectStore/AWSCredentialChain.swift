#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization

/// Where S3 requests get their keys from, asked before every request (temporary credentials
/// change while a batch runs).
public protocol AWSCredentialProvider: Sendable {
    func credentials() throws -> AWSCredentials
    /// Who the keys are for (a role ARN, a profile, an access key ID's ends), for messages.
    var identity: String { get }
}

/// Keys that do not change (the environment, a profile's static keys).
public struct StaticAWSCredentials: AWSCredentialProvider {
    public let value: AWSCredentials
    public let identity: String

    public init(_ value: AWSCredentials, source: String) {
        self.value = value
        let id = value.accessKeyID
        identity = (id.count > 8 ? "access key \(id.prefix(4))…\(id.suffix(4))" : "access key \(id)") + " (\(source))"
    }

    public func credentials() throws -> AWSCredentials { value }
}

/// Temporary keys and when they expire.
public struct ExpiringAWSCredentials: Sendable {
    public var value: AWSCredentials
    public var expires: Date?
    /// The role the keys are for, when the answer names it (STS's assumed-role ARN).
    public var roleARN: String?
}

/// Temporary credentials (STS, container, instance metadata), fetched when first needed and
/// again before they expire: 5 minutes before, as the AWS SDKs do, or at half their life when
/// they live shorter than that. One fetch at a time; the worker threads share the result.
public final class RefreshingAWSCredentials: AWSCredentialProvider, Sendable {
    private struct Cached {
        var current: ExpiringAWSCredentials?
        var fetchedAt = Date.distantPast
        var fetches = 0
    }

    private let source: String
    /// The source, and the role ARN the last answer named.
    public var identity: String {
        cached.withLock { cached in cached.current?.roleARN.map { "\(source), as \($0)" } ?? source }
    }
    private let fetch: @Sendable () throws -> ExpiringAWSCredentials
    /// Held through a fetch: one fetch at a time, and the threads that wait get its result.
    private let cached = Mutex(Cached())
    private let log: @Sendable (String) -> Void
    public let margin: TimeInterval
    /// Fetches so far (tests, logs).
    public var fetches: Int { cached.withLock { $0.fetches } }

    public init(identity: String, margin: TimeInterval = 300, log: @escaping @Sendable (String) -> Void = { _ in }, fetch: @escaping @Sendable () throws -> ExpiringAWSCredentials) {
        self.source = identity
        self.margin = margin
        self.log = log
        self.fetch = fetch
    }

    public func credentials() throws -> AWSCredentials {
        try cached.withLock { cached in
            if let current = cached.current {
                guard let expires = current.expires else { return current.value }
                let life = expires.timeIntervalSince(cached.fetchedAt)
                if Date() < expires.addingTimeInterval(-min(margin, max(0, life / 2))) { return current.value }
                log("refreshing the AWS credentials of \(source) (they expire at \(ISO8601DateFormatter().string(from: expires)))")
            }
            let started = Date()
            let fresh = try fetch()
            cached.fetches += 1
            cached.current = fresh
            cached.fetchedAt = started
            return fresh.value
        }
    }
}

/// The AWS SDKs' default credential chain, in their order:
/// 1. `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` (/ `AWS_SESSION_TOKEN`);
/// 2. the shared files' profile (`AWS_PROFILE`, else `default`; `AWS_SHARED_CREDENTIALS_FILE`,
///    `AWS_CONFIG_FILE`, else `~/.aws/credentials` and `~/.aws/config`): static keys, or
///    `role_arn` with `web_identity_token_file` or `source_profile` (STS);
/// 3. web identity (EKS IRSA): `AWS_ROLE_ARN` + `AWS_WEB_IDENTITY_TOKEN_FILE`, exchanged with
///    STS `AssumeRoleWithWebIdentity` (the token file is read again at each refresh: it rotates);
/// 4. container credentials (ECS, EKS Pod Identity): `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`
///    or `_FULL_URI`, with `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` / `_TOKEN`;
/// 5. EC2 instance metadata, IMDSv2 (a session token first), unless `AWS_EC2_METADATA_DISABLED`.
///
/// STS is reached at `AWS_ENDPOINT_URL_STS`, else `AWS_ENDPOINT_URL`, else the regional endpoint.
public struct AWSCredentialChain: Sendable {
    public var environment: [String: String]
    public var region: String
    public var log: @Sendable (String) -> Void
    let transport: any HTTPTransport

    public init(environment: [String: String], region: String, log: @escaping @Sendable (String) -> Void = { _ in }, transport: any HTTPTransport = CurlTransport(timeout: 10)) {
        self.environment = environment
        self.region = region
        self.log = log
        self.transport = transport
    }

    private func value(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }

    /// The first provider that applies. Temporary ones fetch their first keys here, so a wrong
    /// role or an unreachable endpoint fails before anything is read.
    public func resolve() throws -> any AWSCredentialProvider {
        if let credentials = AWSCredentials.fromEnvironment(environment) {
            return StaticAWSCredentials(credentials, source: "environment")
        }
        let profileName = value("AWS_PROFILE") ?? value("AWS_DEFAULT_PROFILE")
        if let provider = try profile(profileName ?? "default", explicit: profileName != nil) { return try primed(provider) }
        if let role = value("AWS_ROLE_ARN"), let tokenFile = value("AWS_WEB_IDENTITY_TOKEN_FILE") {
            return try primed(webIdentity(role: role, tokenFile: tokenFile, sessionName: value("AWS_ROLE_SESSION_NAME")))
        }
        if let provider = try container() { return try primed(provider) }
        if value("AWS_EC2_METADATA_DISABLED")?.lowercased() != "true" {
            let provider = instanceMetadata()
            do { return try primed(provider) } catch let error as CredentialError {
                throw CredentialError(
                    "no AWS credentials found: not in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), no profile "
                        + "'\(profileName ?? "default")' in the shared files, no web identity (AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE), "
                        + "no container credentials (AWS_CONTAINER_CREDENTIALS_*), and the instance metadata service: \(error.description)")
            }
        }
        throw CredentialError(
            "no AWS credentials found: not in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), no profile "
                + "'\(profileName ?? "default")' in the shared files, no web identity (AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE), "
                + "no container credentials (AWS_CONTAINER_CREDENTIALS_*), instance metadata disabled")
    }

    private func primed(_ provider: any AWSCredentialProvider) throws -> any AWSCredentialProvider {
        _ = try provider.credentials()
        return provider
    }

    // MARK: Shared files

    private func home() -> String { value("HOME") ?? NSHomeDirectory() }

    /// A profile's settings from the credentials file (`[name]`) and the config file
    /// (`[profile name]`, or `[default]`), the credentials file winning.
    func profileSettings(_ name: String) -> [String: String]? {
        let credentialsFile = value("AWS_SHARED_CREDENTIALS_FILE") ?? "\(home())/.aws/credentials"
        let configFile = value("AWS_CONFIG_FILE") ?? "\(home())/.aws/config"
        let fromConfig = INIFile.section(name == "default" ? "default" : "profile \(name)", in: configFile)
            ?? (name == "default" ? nil : INIFile.section(name, in: configFile))
        let fromCredentials = INIFile.section(name, in: credentialsFile)
        guard fromConfig != nil || fromCredentials != nil else { return nil }
        return (fromConfig ?? [:]).merging(fromCredentials ?? [:]) { _, credentials in credentials }
    }

    func profile(_ name: String, explicit: Bool, depth: Int = 0) throws -> (any AWSCredentialProvider)? {
        guard let settings = profileSettings(name) else {
            if explicit { throw CredentialError("AWS_PROFILE '\(name)': no such profile in the shared config or credentials file") }
            return nil
        }
        if let role = settings["role_arn"] {
            if let tokenFile = settings["web_identity_token_file"] {
                return webIdentity(role: role, tokenFile: tokenFile, sessionName: settings["role_session_name"])
            }
            guard let source = settings["source_profile"], depth < 4 else {
                throw CredentialError("profile '\(name)': role_arn needs source_profile or web_identity_token_file")
            }
            guard let base = try profile(source, explicit: true, depth: depth + 1) else {
                throw CredentialError("profile '\(name)': source_profile '\(source)' has no credentials")
            }
            return assumeRole(role: role, sessionName: settings["role_session_name"], base: base, externalID: settings["external_id"])
        }
        if let id = settings["aws_access_key_id"], let secret = settings["aws_secret_access_key"], !id.isEmpty, !secret.isEmpty {
            return StaticAWSCredentials(AWSCredentials(accessKeyID: id, secretAccessKey: secret, sessionToken: settings["aws_session_token"]), source: "profile \(name)")
        }
        if explicit { throw CredentialError("profile '\(name)' has no credentials this client supports (keys, role_arn)") }
        return nil
    }

    // MARK: STS

    var stsEndpoint: String {
        value("AWS_ENDPOINT_URL_STS") ?? value("AWS_ENDPOINT_URL") ?? "https://sts.\(region).amazonaws.com"
    }

    func webIdentity(role: String, tokenFile: String, sessionName: String?) -> any AWSCredentialProvider {
        let session = sessionName ?? "mask-\(getpid())-\(Int(Date().timeIntervalSince1970))"
        let endpoint = stsEndpoint
        let transport = self.transport
        return RefreshingAWSCredentials(identity: "role \(role) (web identity)", log: log) {
            guard let token = try? String(contentsOfFile: tokenFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines), !token.isEmpty else {
                throw CredentialError("cannot read the web identity token file \(tokenFile) (AWS_WEB_IDENTITY_TOKEN_FILE)")
            }
            return try STS.call(
                endpoint: endpoint, action: "AssumeRoleWithWebIdentity",
                parameters: [("RoleArn", role), ("RoleSessionName", session), ("WebIdentityToken", token)],
                signer: nil, role: role, transport: transport)
        }
    }

    func assumeRole(role: String, sessionName: String?, base: any AWSCredentialProvider, externalID: String?) -> any AWSCredentialProvider {
        let session = sessionName ?? "mask-\(getpid())-\(Int(Date().timeIntervalSince1970))"
        let endpoint = stsEndpoint
        let transport = self.transport
        let region = self.region
        return RefreshingAWSCredentials(identity: "role \(role) (assumed with \(base.identity))", log: log) {
            var parameters = [("RoleArn", role), ("RoleSessionName", session)]
            if let externalID { parameters.append(("ExternalId", externalID)) }
            let signer = SigV4Signer(credentials: try base.credentials(), region: region, service: "sts")
            return try STS.call(endpoint: endpoint, action: "AssumeRole", parameters: parameters, signer: signer, role: role, transport: transport)
        }
    }

    // MARK: Container and instance metadata

    /// https://docs.aws.amazon.com/sdkref/latest/guide/feature-container-credentials.html
    func container() throws -> (any AWSCredentialProvider)? {
        let url: String
        if let relative = value("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") {
            url = "http://169.254.170.2" + relative
        } else if let full = value("AWS_CONTAINER_CREDENTIALS_FULL_URI") {
            guard let parsed = URL(string: full), let host = parsed.host, let scheme = parsed.scheme?.lowercased() else {
                throw CredentialError("AWS_CONTAINER_CREDENTIALS_FULL_URI is not a URL")
            }
            // Plain HTTP only to the container agents' link-local addresses or loopback (the
            // SDKs' rule: the token must not cross a network in the clear).
            let allowed = ["169.254.170.2", "169.254.170.23", "fd00:ec2::23", "[fd00:ec2::23]", "localhost", "::1", "[::1]"]
            guard scheme == "https" || (scheme == "http" && (allowed.contains(host) || host.hasPrefix("127."))) else {
                throw CredentialError("AWS_CONTAINER_CREDENTIALS_FULL_URI: plain http only to a loopback or container-agent address (got host \(host))")
            }
            url = full
        } else {
            return nil
        }
        let tokenFile = value("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")
        let fixedToken = value("AWS_CONTAINER_AUTHORIZATION_TOKEN")
        let transport = self.transport
        return RefreshingAWSCredentials(identity: "container credentials", log: log) {
            var headers: [String: String] = [:]
            if let tokenFile {
                // Read at each refresh: EKS Pod Identity rotates it.
                guard let token = try? String(contentsOfFile: tokenFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines) else {
                    throw CredentialError("cannot read the container authorization token file \(tokenFile)")
                }
                headers["authorization"] = token
            } else if let fixedToken {
                headers["authorization"] = fixedToken
            }
            let response: HTTPResponse
            do { response = try transport.send(HTTPRequest(method: "GET", url: URL(string: url)!, headers: headers), downloadTo: nil) } catch let error as TransportError {
                throw CredentialError("container credentials endpoint: \(error.description)")
            }
            guard response.status == 200 else { throw CredentialError("container credentials endpoint answered HTTP \(response.status)") }
            return try MetadataCredentials.parse(response.body, source: "container credentials endpoint")
        }
    }

    /// https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instance-metadata-security-credentials.html
    func instanceMetadata() -> any AWSCredentialProvider {
        var endpoint = value("AWS_EC2_METADATA_SERVICE_ENDPOINT") ?? "http://169.254.169.254"
        while endpoint.hasSuffix("/") { endpoint.removeLast() }
        let base = endpoint
        let transport = value("AWS_EC2_METADATA_SERVICE_ENDPOINT") == nil ? CurlTransport(timeout: 2) : self.transport
        return RefreshingAWSCredentials(identity: "EC2 instance profile", log: log) {
            func send(_ method: String, _ path: String, _ headers: [String: String]) throws -> HTTPResponse {
                do { return try transport.send(HTTPRequest(method: method, url: URL(string: base + path)!, headers: headers), downloadTo: nil) } catch let error as TransportError {
                    throw CredentialError("instance metadata at \(base) not reachable (\(error.description))")
                }
            }
            let session = try send("PUT", "/latest/api/token", ["x-aws-ec2-metadata-token-ttl-seconds": "21600"])
            guard session.status == 200, !session.body.isEmpty else { throw CredentialError("instance metadata: no IMDSv2 session token (HTTP \(session.status))") }
            let token = String(decoding: session.body, as: UTF8.self)
            let headers = ["x-aws-ec2-metadata-token": token]
            let roles = try send("GET", "/latest/meta-data/iam/security-credentials/", headers)
            guard roles.status == 200, let role = String(decoding: roles.body, as: UTF8.self).split(whereSeparator: \.isNewline).first.map(String.init) else {
                throw CredentialError("instance metadata: no IAM role attached to this instance (HTTP \(roles.status))")
            }
            let answer = try send("GET", "/latest/meta-data/iam/security-credentials/\(role)", headers)
            guard answer.status == 200 else { throw CredentialError("instance metadata: credentials of role \(role): HTTP \(answer.status)") }
            var parsed = try MetadataCredentials.parse(answer.body, source: "instance metadata")
            parsed.roleARN = parsed.roleARN ?? "instance role \(role)"
            return parsed
        }
    }
}

/// The JSON the container endpoint and the instance metadata service answer with.
enum MetadataCredentials {
    struct Answer: Decodable {
        var AccessKeyId: String?
        var SecretAccessKey: String?
        var Token: String?
        var Expiration: String?
        var RoleArn: String?
        var Code: String?
    }

    static func parse(_ body: Data, source: String) throws -> ExpiringAWSCredentials {
        guard let answer = try? JSONDecoder().decode(Answer.self, from: body), let id = answer.AccessKeyId, let secret = answer.SecretAccessKey else {
            throw CredentialError("\(source): the answer holds no credentials")
        }
        if let code = answer.Code, code != "Success" { throw CredentialError("\(source): \(code)") }
        let expires = answer.Expiration.flatMap(parseDate)
        return ExpiringAWSCredentials(
            value: AWSCredentials(accessKeyID: id, secretAccessKey: secret, sessionToken: answer.Token.flatMap { $0.isEmpty ? nil : $0 }),
            expires: expires, roleARN: answer.RoleArn)
    }

    /// ISO 8601, with or without fractional seconds.
    static func parseDate(_ text: String) -> Date? {
        let plain = ISO8601DateFormatter()
        if let date = plain.date(from: text) { return date }
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return fractional.date(from: text)
    }
}

/// Calls to AWS STS (query API, XML answers).
enum STS {
    static func call(
        endpoint: String, action: String, parameters: [(String, String)], signer: SigV4Signer?, role: String, transport: any HTTPTransport
    ) throws -> ExpiringAWSCredentials {
        guard var url = URL(string: endpoint), url.host != nil else { throw CredentialError("STS endpoint '\(endpoint)' is not a URL") }
        if url.path.isEmpty { url = URL(string: endpoint + "/")! }
        let form = ([("Action", action), ("Version", "2011-06-15")] + parameters).map { SigV4Signer.uriEncode($0.0, encodeSlash: true) + "=" + SigV4Signer.uriEncode($0.1, encodeSlash: true) }
        let body = Data(form.joined(separator: "&").utf8)
        var headers = ["content-type": "application/x-www-form-urlencoded; charset=utf-8"]
        if let signer {
            var host = url.host!
            if let port = url.port { host += ":\(port)" }
            headers["host"] = host
            headers = signer.sign(method: "POST", encodedPath: url.path, query: [], headers: headers, payloadHash: SigV4Signer.sha256Hex(body), date: Date()).headers
        }
        let policy = RetryPolicy(maxAttempts: 3)
        var attempt = 0
        while true {
            attempt += 1
            do {
                let response = try transport.send(HTTPRequest(method: "POST", url: url, headers: headers, body: .data(body)), downloadTo: nil)
                let xml = String(decoding: response.body, as: UTF8.self)
                if response.status == 200, let id = XMLScan.value("AccessKeyId", in: xml[...]), let secret = XMLScan.value("SecretAccessKey", in: xml[...]) {
                    let expires = XMLScan.value("Expiration", in: xml[...]).flatMap(MetadataCredentials.parseDate)
                    return ExpiringAWSCredentials(
                        value: AWSCredentials(accessKeyID: id, secretAccessKey: secret, sessionToken: XMLScan.value("SessionToken", in: xml[...])), expires: expires,
                        roleARN: XMLScan.value("Arn", in: xml[...]))
                }
                if RetryPolicy.isRetryable(status: response.status) && attempt < policy.maxAttempts {
                    RetryPolicy.sleep(policy.delay(afterAttempt: attempt))
                    continue
                }
                // The answer's code and message (they name the role, never the token sent).
                let code = XMLScan.value("Code", in: xml[...]) ?? "HTTP \(response.status)"
                let message = XMLScan.value("Message", in: xml[...]) ?? ""
                throw CredentialError("STS \(action) for role \(role): \(code)\(message.isEmpty ? "" : ": \(message)")")
            } catch let error as TransportError {
                guard attempt < policy.maxAttempts else { throw CredentialError("STS \(action) for role \(role): \(error.description)") }
                RetryPolicy.sleep(policy.delay(afterAttempt: attempt))
            }
        }
    }
}

/// The shared config and credentials files' INI dialect: `[section]`, `key = value`, `#` and
/// `;` comments.
enum INIFile {
    static func section(_ name: String, in path: String) -> [String: String]? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        var current: String?
        var found: [String: String]?
        for raw in text.split(whereSeparator: \.isNewline) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") && line.hasSuffix("]") {
                current = line.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
                if current == name && found == nil { found = [:] }
                continue
            }
            guard current == name, let equals = line.firstIndex(of: "=") else { continue }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            let value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            found?[key] = value
        }
        return found
    }
}
