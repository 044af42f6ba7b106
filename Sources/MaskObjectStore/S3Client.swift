#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Crypto
import Foundation
import MaskCore
import Synchronization

/// One object from a listing.
public struct S3ObjectInfo: Sendable, Equatable {
    public var key: String
    public var size: Int
    /// As the server sends it, quotes removed.
    public var etag: String
    public var lastModified: String
}

/// How to reach the store.
public struct S3Configuration: Sendable {
    public enum Addressing: String, Sendable { case path, virtual }

    /// `scheme://host[:port]` (a path after the host is kept as a base path).
    public var endpoint: URL
    public var region: String
    /// The keys when they never change (tests, explicit keys).
    public var credentials: AWSCredentials
    /// Where keys come from before each request (temporary ones are refreshed); `credentials`
    /// when nil.
    public var provider: (any AWSCredentialProvider)?
    /// Who the credentials are, for error messages (a role ARN, a profile); by default the access
    /// key ID's first and last four characters (an identifier, not a secret, but no need to show it all).
    public var identity: String?
    public var addressing: Addressing = .path
    /// Attempts per request (the first included) on network errors, 5xx, 429 and timeouts.
    public var maxAttempts = 5
    /// The first retry waits this long; each next one twice as long (with jitter), at most 10 s.
    public var baseRetryDelay: TimeInterval = 0.25
    /// Files at least this large are uploaded in parts.
    public var multipartThreshold = 64 << 20
    /// Part size of a multipart upload (S3 wants at least 5 MiB, except the last part).
    public var partSize = 16 << 20

    public init(endpoint: URL, region: String, credentials: AWSCredentials) {
        self.endpoint = endpoint
        self.region = region
        self.credentials = credentials
    }

    /// The endpoint: `explicit`, else `AWS_ENDPOINT_URL_S3`, else `AWS_ENDPOINT_URL`, else AWS's
    /// regional endpoint. Region: `explicit`, else `AWS_REGION`, `AWS_DEFAULT_REGION`, `us-east-1`.
    public static func fromEnvironment(
        endpoint explicitEndpoint: String? = nil, region explicitRegion: String? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment, log: @escaping @Sendable (String) -> Void = { _ in }
    ) throws -> S3Configuration {
        func nonEmpty(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        let region = explicitRegion ?? nonEmpty("AWS_REGION") ?? nonEmpty("AWS_DEFAULT_REGION") ?? "us-east-1"
        let endpointText = explicitEndpoint ?? nonEmpty("AWS_ENDPOINT_URL_S3") ?? nonEmpty("AWS_ENDPOINT_URL") ?? "https://s3.\(region).amazonaws.com"
        guard let endpoint = URL(string: endpointText), let scheme = endpoint.scheme, ["http", "https"].contains(scheme.lowercased()), endpoint.host != nil else {
            throw S3Error(status: nil, code: nil, message: "'\(endpointText)' is not an http(s) URL", operation: "endpoint")
        }
        let provider: any AWSCredentialProvider
        do { provider = try AWSCredentialChain(environment: environment, region: region, log: log).resolve() } catch let error as CredentialError {
            throw S3Error(status: nil, code: nil, message: error.description, operation: "credentials")
        }
        var configuration = S3Configuration(endpoint: endpoint, region: region, credentials: try provider.credentials())
        configuration.provider = provider
        return configuration
    }
}

/// A small S3 API client: ListObjectsV2, GET (to a file), PUT, multipart upload, DELETE.
/// Every request is signed with Signature V4 and retried with backoff on network errors and 5xx.
/// Synchronous: call it from worker threads.
public final class S3Client: Sendable {
    public let configuration: S3Configuration
    let transport: any HTTPTransport
    let signer: SigV4Signer
    /// Called before each retry with a short description (for logs).
    let onRetry: (@Sendable (String) -> Void)?
    /// How long to sleep before a retry (tests pass one that does not).
    let sleep: @Sendable (TimeInterval) -> Void
    private let pagesListed = Atomic<Int>(0)

    public init(
        configuration: S3Configuration, transport: any HTTPTransport = CurlTransport(),
        onRetry: (@Sendable (String) -> Void)? = nil,
        sleep: @escaping @Sendable (TimeInterval) -> Void = { seconds in usleep(useconds_t(max(0, seconds) * 1_000_000)) }
    ) {
        self.configuration = configuration
        self.transport = transport
        self.onRetry = onRetry
        self.sleep = sleep
        signer = SigV4Signer(credentials: configuration.credentials, region: configuration.region, service: "s3")
    }

    /// Pages fetched by `list` (for tests and reports).
    public var listPages: Int { pagesListed.load(ordering: .relaxed) }

    /// Who requests are made as, for messages.
    public var credentialDescription: String {
        if let identity = configuration.identity { return identity }
        if let provider = configuration.provider { return provider.identity }
        let id = configuration.credentials.accessKeyID
        return id.count > 8 ? "access key \(id.prefix(4))…\(id.suffix(4))" : "access key \(id)"
    }

    // MARK: Operations

    /// Every object under `prefix` (recursively), following continuation tokens.
    public func list(bucket: String, prefix: String, pageSize: Int? = nil) throws -> [S3ObjectInfo] {
        var objects: [S3ObjectInfo] = []
        var token: String?
        repeat {
            var query: [(String, String)] = [("list-type", "2"), ("prefix", prefix)]
            if let pageSize { query.append(("max-keys", String(pageSize))) }
            if let token { query.append(("continuation-token", token)) }
            let response = try perform("list s3://\(bucket)/\(prefix)", method: "GET", bucket: bucket, key: nil, query: query)
            pagesListed.add(1, ordering: .relaxed)
            let xml = String(decoding: response.body, as: UTF8.self)
            for element in XMLScan.elements("Contents", in: xml) {
                guard let key = XMLScan.value("Key", in: element) else { continue }
                objects.append(S3ObjectInfo(
                    key: key, size: Int(XMLScan.value("Size", in: element) ?? "") ?? 0,
                    etag: Self.unquoted(XMLScan.value("ETag", in: element) ?? ""),
                    lastModified: XMLScan.value("LastModified", in: element) ?? ""))
            }
            let truncated = XMLScan.value("IsTruncated", in: xml[...]) == "true"
            token = truncated ? XMLScan.value("NextContinuationToken", in: xml[...]) : nil
            if truncated && token == nil {
                throw S3Error(status: nil, code: nil, message: "truncated listing without a continuation token", operation: "list s3://\(bucket)/\(prefix)")
            }
        } while token != nil
        return objects
    }

    /// Streams an object into `path`. With `ifMatch`, fails (HTTP 412) if the object changed.
    /// - Returns: the object's ETag.
    @discardableResult
    public func download(bucket: String, key: String, to path: String, ifMatch: String? = nil) throws -> String {
        var headers: [String: String] = [:]
        if let ifMatch { headers["if-match"] = "\"\(ifMatch)\"" }
        let response = try perform("get s3://\(bucket)/\(key)", method: "GET", bucket: bucket, key: key, headers: headers, downloadTo: path)
        return Self.unquoted(response.headers["etag"] ?? "")
    }

    /// A small object's bytes, or nil when it does not exist.
    public func get(bucket: String, key: String) throws -> Data? {
        do {
            return try perform("get s3://\(bucket)/\(key)", method: "GET", bucket: bucket, key: key).body
        } catch let error as S3Error where error.status == 404 {
            return nil
        }
    }

    /// Uploads bytes in one PUT.
    @discardableResult
    public func put(bucket: String, key: String, data: Data, contentType: String = "application/octet-stream") throws -> String {
        let response = try perform(
            "put s3://\(bucket)/\(key)", method: "PUT", bucket: bucket, key: key,
            headers: ["content-type": contentType], body: .data(data), payloadHash: SigV4Signer.sha256Hex(data))
        return Self.unquoted(response.headers["etag"] ?? "")
    }

    /// Uploads a local file: one PUT below the multipart threshold, else a multipart upload
    /// (the object appears only when the upload is completed; a failed one is aborted).
    /// - Parameter sha256: the file's SHA-256 in hex, when already known (saves a read).
    public func upload(bucket: String, key: String, file path: String, sha256: String? = nil, contentType: String = "application/octet-stream") throws {
        let size = try Self.fileSize(path)
        if size < configuration.multipartThreshold {
            let hash = try sha256 ?? SystemIO.sha256Hex(ofFile: path)
            try perform(
                "put s3://\(bucket)/\(key)", method: "PUT", bucket: bucket, key: key,
                headers: ["content-type": contentType], body: .file(path), payloadHash: hash)
            return
        }
        try multipartUpload(bucket: bucket, key: key, file: path, size: size, contentType: contentType)
    }

    public func delete(bucket: String, key: String) throws {
        try perform("delete s3://\(bucket)/\(key)", method: "DELETE", bucket: bucket, key: key)
    }

    /// Multipart uploads started but neither completed nor aborted under `prefix`: (key, upload id).
    public func incompleteUploads(bucket: String, prefix: String) throws -> [(key: String, uploadID: String)] {
        var uploads: [(String, String)] = []
        var keyMarker: String?
        var uploadMarker: String?
        repeat {
            var query: [(String, String)] = [("uploads", ""), ("prefix", prefix)]
            if let keyMarker { query.append(("key-marker", keyMarker)) }
            if let uploadMarker { query.append(("upload-id-marker", uploadMarker)) }
            let response = try perform("list uploads s3://\(bucket)/\(prefix)", method: "GET", bucket: bucket, key: nil, query: query)
            let xml = String(decoding: response.body, as: UTF8.self)
            for element in XMLScan.elements("Upload", in: xml) {
                if let key = XMLScan.value("Key", in: element), let id = XMLScan.value("UploadId", in: element) { uploads.append((key, id)) }
            }
            let truncated = XMLScan.value("IsTruncated", in: xml[...]) == "true"
            keyMarker = truncated ? XMLScan.value("NextKeyMarker", in: xml[...]) : nil
            uploadMarker = truncated ? XMLScan.value("NextUploadIdMarker", in: xml[...]) : nil
        } while keyMarker != nil
        return uploads
    }

    public func abortUpload(bucket: String, key: String, uploadID: String) throws {
        try perform("abort upload s3://\(bucket)/\(key)", method: "DELETE", bucket: bucket, key: key, query: [("uploadId", uploadID)])
    }

    private func multipartUpload(bucket: String, key: String, file path: String, size: Int, contentType: String) throws {
        let operation = "multipart upload s3://\(bucket)/\(key)"
        // At most 10,000 parts: grow the part size for very large files.
        var partSize = max(configuration.partSize, 1)
        while (size + partSize - 1) / partSize > 10_000 { partSize *= 2 }
        let started = try perform(operation, method: "POST", bucket: bucket, key: key, query: [("uploads", "")], headers: ["content-type": contentType])
        guard let uploadID = XMLScan.value("UploadId", in: String(decoding: started.body, as: UTF8.self)[...]) else {
            throw S3Error(status: started.status, code: nil, message: "no UploadId in the answer", operation: operation)
        }
        do {
            guard let handle = FileHandle(forReadingAtPath: path) else {
                throw S3Error(status: nil, code: nil, message: "cannot open \(path)", operation: operation)
            }
            defer { try? handle.close() }
            var parts: [(Int, String)] = []
            var offset = 0
            var number = 1
            while offset < size {
                let length = min(partSize, size - offset)
                try handle.seek(toOffset: UInt64(offset))
                guard let data = try handle.read(upToCount: length), data.count == length else {
                    throw S3Error(status: nil, code: nil, message: "short read from \(path)", operation: operation)
                }
                let response = try perform(
                    "\(operation) part \(number)", method: "PUT", bucket: bucket, key: key,
                    query: [("partNumber", String(number)), ("uploadId", uploadID)], body: .data(data), payloadHash: SigV4Signer.sha256Hex(data))
                guard let etag = response.headers["etag"] else {
                    throw S3Error(status: response.status, code: nil, message: "no ETag for part \(number)", operation: operation)
                }
                parts.append((number, etag))
                offset += length
                number += 1
            }
            var body = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
            for (number, etag) in parts {
                body += "<Part><PartNumber>\(number)</PartNumber><ETag>\(XMLScan.escape(etag))</ETag></Part>"
            }
            body += "</CompleteMultipartUpload>"
            let data = Data(body.utf8)
            // A completion can fail with HTTP 200 and an <Error> body; perform() checks for it.
            try perform(
                "\(operation) complete", method: "POST", bucket: bucket, key: key, query: [("uploadId", uploadID)],
                headers: ["content-type": "application/xml"], body: .data(data), payloadHash: SigV4Signer.sha256Hex(data), errorInBody: true)
        } catch {
            try? abortUpload(bucket: bucket, key: key, uploadID: uploadID)
            throw error
        }
    }

    // MARK: Requests

    /// The URL (wire form) and the canonical path for a bucket and optional key.
    func address(bucket: String, key: String?, query: [(String, String)]) -> (url: URL, path: String, host: String) {
        let endpoint = configuration.endpoint
        let scheme = endpoint.scheme!.lowercased()
        var host = endpoint.host!
        var basePath = endpoint.path
        while basePath.hasSuffix("/") { basePath.removeLast() }
        var path: String
        switch configuration.addressing {
        case .path:
            path = basePath + "/" + SigV4Signer.uriEncode(bucket, encodeSlash: true)
            if let key { path += "/" + SigV4Signer.uriEncode(key, encodeSlash: false) }
        case .virtual:
            host = "\(bucket).\(host)"
            path = basePath + "/" + (key.map { SigV4Signer.uriEncode($0, encodeSlash: false) } ?? "")
        }
        var hostHeader = host
        if let port = endpoint.port, !(scheme == "http" && port == 80) && !(scheme == "https" && port == 443) {
            hostHeader += ":\(port)"
        }
        // The wire query in the canonical order; a parameter without a value goes bare (`?uploads`).
        // Spelled out with types: the chained closures exceeded the type checker's time limit.
        let pairs: [(String, String, Bool)] = query.map { (pair: (String, String)) -> (String, String, Bool) in
            (SigV4Signer.uriEncode(pair.0, encodeSlash: true), SigV4Signer.uriEncode(pair.1, encodeSlash: true), pair.1.isEmpty)
        }
        let sorted: [(String, String, Bool)] = pairs.sorted { (a: (String, String, Bool), b: (String, String, Bool)) -> Bool in
            a.0 == b.0 ? a.1 < b.1 : a.0 < b.0
        }
        let parts: [String] = sorted.map { (item: (String, String, Bool)) -> String in item.2 ? item.0 : item.0 + "=" + item.1 }
        let encoded = parts.joined(separator: "&")
        let text = "\(scheme)://\(hostHeader)\(path)" + (encoded.isEmpty ? "" : "?\(encoded)")
        return (URL(string: text)!, path, hostHeader)
    }

    /// Sends a signed request, retrying on network errors, 5xx, 429 and S3's RequestTimeout;
    /// throws `S3Error` for any other non-2xx answer.
    @discardableResult
    func perform(
        _ operation: String, method: String, bucket: String, key: String?, query: [(String, String)] = [],
        headers extra: [String: String] = [:], body: HTTPBody = .none, payloadHash: String = SigV4Signer.emptyPayloadHash,
        downloadTo: String? = nil, errorInBody: Bool = false
    ) throws -> HTTPResponse {
        let (url, path, host) = address(bucket: bucket, key: key, query: query)
        var attempt = 0
        while true {
            attempt += 1
            var headers = extra
            headers["host"] = host
            headers["x-amz-content-sha256"] = payloadHash
            let signer: SigV4Signer
            if let provider = configuration.provider {
                do { signer = SigV4Signer(credentials: try provider.credentials(), region: configuration.region, service: "s3") } catch let error as CredentialError {
                    throw S3Error(status: nil, code: nil, message: error.description, operation: operation, identity: provider.identity)
                }
            } else {
                signer = self.signer
            }
            let signed = signer.sign(method: method, encodedPath: path, query: query, headers: headers, payloadHash: payloadHash, date: Date())
            let retryReason: String
            do {
                let response = try transport.send(HTTPRequest(method: method, url: url, headers: signed.headers, body: body), downloadTo: downloadTo)
                let bodyText = String(decoding: response.body.prefix(4096), as: UTF8.self)
                let code = XMLScan.value("Code", in: bodyText[...])
                if (200..<300).contains(response.status) && !(errorInBody && bodyText.contains("<Error>")) {
                    return response
                }
                let retryable = response.status >= 500 || response.status == 429 || code == "RequestTimeout" || code == "SlowDown"
                    || (errorInBody && response.status == 200)
                let failure = S3Error(
                    status: response.status, code: code,
                    message: XMLScan.value("Message", in: bodyText[...]) ?? (code == nil ? bodyText.prefix(200).trimmingCharacters(in: .whitespacesAndNewlines) : ""),
                    operation: operation, identity: response.status == 401 || response.status == 403 ? credentialDescription : nil)
                guard retryable && attempt < configuration.maxAttempts else { throw failure }
                retryReason = failure.description
            } catch let error as TransportError {
                guard attempt < configuration.maxAttempts else {
                    throw S3Error(status: nil, code: nil, message: "\(error.description) (after \(attempt) attempts)", operation: operation)
                }
                retryReason = error.description
            }
            let delay = min(configuration.baseRetryDelay * pow(2, Double(attempt - 1)), 10) * Double.random(in: 0.5...1.0)
            onRetry?("\(retryReason); retry \(attempt) of \(configuration.maxAttempts - 1) in \(String(format: "%.1f", delay)) s")
            sleep(delay)
        }
    }

    // MARK: Helpers

    static func unquoted(_ etag: String) -> String {
        var text = etag
        if text.hasPrefix("W/") { text.removeFirst(2) }
        if text.hasPrefix("\"") && text.hasSuffix("\"") && text.count >= 2 { text = String(text.dropFirst().dropLast()) }
        return text
    }

    public static func fileSize(_ path: String) throws -> Int {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw S3Error(status: nil, code: nil, message: "cannot stat \(path): \(String(cString: strerror(errno)))", operation: "upload")
        }
        return Int(info.st_size)
    }
}

/// Just enough XML for S3's answers: the text of simple elements, entities decoded.
enum XMLScan {
    /// The inner text of every `<name>…</name>` in `xml` (not nested in itself).
    static func elements(_ name: String, in xml: String) -> [Substring] {
        var found: [Substring] = []
        var rest = xml[...]
        while let start = openTag(name, in: rest) {
            if start.selfClosing {
                found.append(rest[start.end..<start.end])
                rest = rest[start.end...]
                continue
            }
            guard let close = rest.range(of: "</\(name)>", range: start.end..<rest.endIndex) else { break }
            found.append(rest[start.end..<close.lowerBound])
            rest = rest[close.upperBound...]
        }
        return found
    }

    /// The decoded text of the first `<name>` element in `xml`.
    static func value(_ name: String, in xml: Substring) -> String? {
        guard let start = openTag(name, in: xml) else { return nil }
        if start.selfClosing { return "" }
        guard let close = xml.range(of: "</\(name)>", range: start.end..<xml.endIndex) else { return nil }
        return decode(xml[start.end..<close.lowerBound])
    }

    private static func openTag(_ name: String, in xml: Substring) -> (end: Substring.Index, selfClosing: Bool)? {
        var search = xml.startIndex..<xml.endIndex
        while let found = xml.range(of: "<\(name)", range: search) {
            var index = found.upperBound
            guard index < xml.endIndex else { return nil }
            let next = xml[index]
            if next == ">" { return (xml.index(after: index), false) }
            if next == " " || next == "/" || next == "\t" || next == "\n" {
                guard let end = xml[index...].firstIndex(of: ">") else { return nil }
                index = end
                let selfClosing = xml[xml.index(before: end)] == "/"
                return (xml.index(after: end), selfClosing)
            }
            search = found.upperBound..<xml.endIndex
        }
        return nil
    }

    static func decode(_ text: Substring) -> String {
        guard text.contains("&") else { return String(text) }
        var result = ""
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            if character == "&", let semicolon = text[index...].firstIndex(of: ";") {
                let entity = text[text.index(after: index)..<semicolon]
                var replacement: String?
                switch entity {
                case "amp": replacement = "&"
                case "lt": replacement = "<"
                case "gt": replacement = ">"
                case "quot": replacement = "\""
                case "apos": replacement = "'"
                default:
                    if entity.hasPrefix("#x") || entity.hasPrefix("#X"), let code = UInt32(entity.dropFirst(2), radix: 16), let scalar = Unicode.Scalar(code) {
                        replacement = String(Character(scalar))
                    } else if entity.hasPrefix("#"), let code = UInt32(entity.dropFirst()), let scalar = Unicode.Scalar(code) {
                        replacement = String(Character(scalar))
                    }
                }
                if let replacement {
                    result += replacement
                    index = text.index(after: semicolon)
                    continue
                }
            }
            result.append(character)
            index = text.index(after: index)
        }
        return result
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}

// MARK: - As an object store

extension S3Client: ObjectStoreClient {
    public var scheme: ObjectLocation.Scheme { .s3 }
    public var identityDescription: String { credentialDescription }
    /// S3 has conditional writes only on some stores and versions: not relied on.
    public var supportsPreconditions: Bool { false }

    public func listObjects(bucket: String, prefix: String, pageSize: Int?) throws -> [StoredObject] {
        try list(bucket: bucket, prefix: prefix, pageSize: pageSize).map {
            StoredObject(key: $0.key, size: $0.size, identity: $0.etag)
        }
    }

    public func download(bucket: String, key: String, to path: String, expected: StoredObject?) throws {
        try download(bucket: bucket, key: key, to: path, ifMatch: expected?.identity)
    }

    public func fetch(bucket: String, key: String) throws -> Data? { try get(bucket: bucket, key: key) }

    public func write(bucket: String, key: String, data: Data, contentType: String, precondition: WritePrecondition) throws -> String? {
        try put(bucket: bucket, key: key, data: data, contentType: contentType)
        return nil
    }

    public func upload(
        bucket: String, key: String, file path: String, sha256: String?, contentType: String, precondition: WritePrecondition
    ) throws -> String? {
        try upload(bucket: bucket, key: key, file: path, sha256: sha256, contentType: contentType)
        return nil
    }

    public func remove(bucket: String, key: String, precondition: WritePrecondition) throws {
        try delete(bucket: bucket, key: key)
    }

    public func clearUnfinishedUploads(bucket: String, prefix: String) throws -> [String] {
        var cleared: [String] = []
        for upload in try incompleteUploads(bucket: bucket, prefix: prefix) {
            try abortUpload(bucket: bucket, key: upload.key, uploadID: upload.uploadID)
            cleared.append(upload.key)
        }
        return cleared
    }
}
