#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Crypto
import Foundation
import MaskCore

/// Access keys for AWS Signature Version 4 (S3, MinIO, Google Cloud Storage HMAC keys).
public struct AWSCredentials: Sendable, Equatable {
    public var accessKeyID: String
    public var secretAccessKey: String
    public var sessionToken: String?

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }

    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and (optional) `AWS_SESSION_TOKEN`.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> AWSCredentials? {
        guard let id = environment["AWS_ACCESS_KEY_ID"], !id.isEmpty,
            let secret = environment["AWS_SECRET_ACCESS_KEY"], !secret.isEmpty
        else { return nil }
        let token = environment["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        return AWSCredentials(accessKeyID: id, secretAccessKey: secret, sessionToken: token)
    }
}

/// AWS Signature Version 4 over request headers (the `Authorization` header form).
///
/// The caller gives the path already URI-encoded exactly as it goes on the wire (S3 encodes each
/// key segment once and keeps `/`), the query as name/value pairs (encoded here), the headers to
/// sign (at least `host`), and the payload hash. `x-amz-date` (and `x-amz-security-token` with
/// session credentials) are added and signed here.
public struct SigV4Signer: Sendable {
    public let credentials: AWSCredentials
    public let region: String
    public let service: String

    public init(credentials: AWSCredentials, region: String, service: String = "s3") {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    public struct Signed: Sendable {
        public var canonicalRequest: String
        public var stringToSign: String
        public var signature: String
        public var signedHeaders: String
        public var authorization: String
        /// Every header to send: the signed ones given, `x-amz-date`, the token, `authorization`.
        public var headers: [String: String]
    }

    public static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    public func sign(
        method: String, encodedPath: String, query: [(String, String)], headers given: [String: String],
        payloadHash: String, date: Date
    ) -> Signed {
        let (amzDate, day) = Self.timestamps(date)
        var headers: [String: String] = [:]
        for (name, value) in given { headers[name.lowercased()] = value }
        headers["x-amz-date"] = amzDate
        if let token = credentials.sessionToken { headers["x-amz-security-token"] = token }

        let names = headers.keys.sorted()
        let canonicalHeaders = names.map { "\($0):\(Self.trimmed(headers[$0]!))\n" }.joined()
        let signedHeaders = names.joined(separator: ";")
        let canonicalRequest = [
            method, encodedPath.isEmpty ? "/" : encodedPath, Self.canonicalQuery(query), canonicalHeaders, signedHeaders, payloadHash,
        ].joined(separator: "\n")
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, Hex.string(SHA256.hash(data: Array(canonicalRequest.utf8)))].joined(separator: "\n")

        var key = Self.hmac(Array("AWS4\(credentials.secretAccessKey)".utf8), day)
        key = Self.hmac(key, region)
        key = Self.hmac(key, service)
        key = Self.hmac(key, "aws4_request")
        let signature = Hex.string(Self.hmac(key, stringToSign))
        let authorization = "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope), SignedHeaders=\(signedHeaders), Signature=\(signature)"
        headers["authorization"] = authorization
        return Signed(
            canonicalRequest: canonicalRequest, stringToSign: stringToSign, signature: signature,
            signedHeaders: signedHeaders, authorization: authorization, headers: headers)
    }

    /// Names and values URI-encoded, sorted by name then value, `name=value` joined by `&`.
    public static func canonicalQuery(_ query: [(String, String)]) -> String {
        // Spelled out with types: the chained closures exceeded the type checker's time limit.
        let pairs: [(String, String)] = query.map { (pair: (String, String)) -> (String, String) in
            (uriEncode(pair.0, encodeSlash: true), uriEncode(pair.1, encodeSlash: true))
        }
        let sorted: [(String, String)] = pairs.sorted { (a: (String, String), b: (String, String)) -> Bool in
            a.0 == b.0 ? a.1 < b.1 : a.0 < b.0
        }
        let parts: [String] = sorted.map { (pair: (String, String)) -> String in pair.0 + "=" + pair.1 }
        return parts.joined(separator: "&")
    }

    /// RFC 3986 percent-encoding as SigV4 wants it: everything but `A-Za-z0-9-._~` (and `/`
    /// unless `encodeSlash`), UTF-8, upper-case hex.
    public static func uriEncode(_ text: String, encodeSlash: Bool) -> String {
        let digits: [Character] = Array("0123456789ABCDEF")
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                result.append(Character(Unicode.Scalar(byte)))
            case UInt8(ascii: "/") where !encodeSlash:
                result.append("/")
            default:
                result.append("%")
                result.append(digits[Int(byte >> 4)])
                result.append(digits[Int(byte & 0x0F)])
            }
        }
        return result
    }

    /// Leading and trailing blanks removed, inner runs of blanks made one space.
    static func trimmed(_ value: String) -> String {
        value.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ").trimmingCharacters(in: .whitespaces)
    }

    /// (`20150830T123600Z`, `20150830`) in UTC.
    static func timestamps(_ date: Date) -> (String, String) {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let day = String(format: "%04d%02d%02d", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday))
        return (day + String(format: "T%02d%02d%02dZ", Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec)), day)
    }

    static func hmac(_ key: [UInt8], _ message: String) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: Array(message.utf8), using: SymmetricKey(data: key)))
    }


    /// Lower-case hex SHA-256 of `data`.
    public static func sha256Hex(_ data: some DataProtocol) -> String {
        Hex.string(SHA256.hash(data: data))
    }
}
