#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Crypto
import Foundation
import Synchronization

/// How to reach Google Cloud Storage.
public struct GCSConfiguration: Sendable {
    /// `scheme://host[:port]`; the JSON API lives under `/storage/v1`, uploads under `/upload/storage/v1`.
    public var endpoint: URL
    /// Bearer tokens for each request; nil sends none (an emulator).
    public var tokens: (any AccessTokenProvider)?
    public var retry = RetryPolicy()
    /// Files at least this large go up in a resumable upload, chunk by chunk; smaller ones in one
    /// multipart request (metadata and bytes together), as Google's own clients do.
    public var resumableThreshold = 8 << 20
    /// Bytes per resumable chunk: a multiple of 256 KiB, as the API requires (rounded up here).
    public var chunkSize = 16 << 20

    public init(endpoint: URL, tokens: (any AccessTokenProvider)?) {
        self.endpoint = endpoint
        self.tokens = tokens
    }

    public static let defaultEndpoint = URL(string: "https://storage.googleapis.com")!

    /// `STORAGE_EMULATOR_HOST` as Google's clients read it (`host:port` or a URL; `http://` when
    /// no scheme is given): requests go there, unauthenticated, as the Go and Python clients do.
    /// Otherwise `explicit` (`--endpoint`), else storage.googleapis.com; credentials from
    /// `tokens` (Application Default Credentials).
    public static func fromEnvironment(
        endpoint explicit: String? = nil, environment: [String: String], tokens: () throws -> (any AccessTokenProvider)?
    ) throws -> GCSConfiguration {
        if let emulator = environment["STORAGE_EMULATOR_HOST"], !emulator.isEmpty, explicit == nil {
            let text = emulator.contains("://") ? emulator : "http://\(emulator)"
            guard let url = URL(string: text), url.host != nil else {
                throw ObjectStoreError(status: nil, code: nil, message: "STORAGE_EMULATOR_HOST '\(emulator)' is not host:port or a URL", operation: "endpoint")
            }
            return GCSConfiguration(endpoint: url, tokens: nil)
        }
        var endpoint = defaultEndpoint
        if let explicit {
            guard let url = URL(string: explicit), let scheme = url.scheme, ["http", "https"].contains(scheme.lowercased()), url.host != nil else {
                throw ObjectStoreError(status: nil, code: nil, message: "'\(explicit)' is not an http(s) URL", operation: "endpoint")
            }
            endpoint = url
        }
        return GCSConfiguration(endpoint: endpoint, tokens: try tokens())
    }
}

/// A small client for the Google Cloud Storage JSON API: list (paginated), media download
/// (streamed to a file), multipart and resumable uploads, delete; each with `ifGenerationMatch`
/// when asked, so an object is written exactly once and a concurrent writer is detected.
///
/// Requests are retried with exponential backoff and jitter on network errors, 408, 429 and
/// 5xx — every request here is idempotent, or made so by its generation precondition (Google's
/// retry strategy: https://cloud.google.com/storage/docs/retry-strategy). A write retried after
/// an answer was lost may find its own object (412): it is accepted when the object there has
/// this upload's MD5, which makes the retry exactly-once rather than a false conflict.
public final class GCSClient: ObjectStoreClient, Sendable {
    public let configuration: GCSConfiguration
    let transport: any HTTPTransport
    /// Called before each retry with a short description (for logs).
    let onRetry: (@Sendable (String) -> Void)?
    private let pagesListed = Atomic<Int>(0)

    public init(configuration: GCSConfiguration, transport: any HTTPTransport = CurlTransport(), onRetry: (@Sendable (String) -> Void)? = nil) {
        self.configuration = configuration
        self.transport = transport
        self.onRetry = onRetry
    }

    public var scheme: ObjectLocation.Scheme { .gs }
    public var listPages: Int { pagesListed.load(ordering: .relaxed) }
    public var supportsPreconditions: Bool { true }
    public var identityDescription: String { configuration.tokens?.identity ?? "anonymous (no credentials: STORAGE_EMULATOR_HOST)" }

    // MARK: Operations

    public func listObjects(bucket: String, prefix: String, pageSize: Int?) throws -> [StoredObject] {
        var objects: [StoredObject] = []
        var token: String?
        let operation = "list gs://\(bucket)/\(prefix)"
        repeat {
            var query: [(String, String)] = [("prefix", prefix), ("fields", "items(name,size,generation,md5Hash,crc32c),nextPageToken")]
            if let pageSize { query.append(("maxResults", String(pageSize))) }
            if let token { query.append(("pageToken", token)) }
            let response = try perform(operation, method: "GET", path: "/storage/v1/b/\(URLEncoding.component(bucket))/o", query: query)
            pagesListed.add(1, ordering: .relaxed)
            let page = try decode(ListPage.self, from: response.body, operation: operation)
            for item in page.items ?? [] { objects.append(item.stored) }
            token = page.nextPageToken.flatMap { $0.isEmpty ? nil : $0 }
        } while token != nil
        return objects
    }

    public func download(bucket: String, key: String, to path: String, expected: StoredObject?) throws {
        var query: [(String, String)] = [("alt", "media")]
        if let generation = expected?.generation { query.append(("ifGenerationMatch", generation)) }
        try perform("get gs://\(bucket)/\(key)", method: "GET", path: objectPath(bucket, key), query: query, downloadTo: path)
    }

    public func fetch(bucket: String, key: String) throws -> Data? {
        do {
            return try perform("get gs://\(bucket)/\(key)", method: "GET", path: objectPath(bucket, key), query: [("alt", "media")]).body
        } catch let error as ObjectStoreError where error.isNotFound {
            return nil
        }
    }

    /// The object's metadata, or nil when there is none.
    public func metadata(bucket: String, key: String) throws -> StoredObject? {
        let operation = "stat gs://\(bucket)/\(key)"
        do {
            let response = try perform(operation, method: "GET", path: objectPath(bucket, key))
            return try decode(ObjectResource.self, from: response.body, operation: operation).stored
        } catch let error as ObjectStoreError where error.isNotFound {
            return nil
        }
    }

    public func write(bucket: String, key: String, data: Data, contentType: String, precondition: WritePrecondition) throws -> String? {
        try multipartUpload(bucket: bucket, key: key, data: data, contentType: contentType, precondition: precondition)
    }

    public func upload(
        bucket: String, key: String, file path: String, sha256: String?, contentType: String, precondition: WritePrecondition
    ) throws -> String? {
        let size = try S3Client.fileSize(path)
        // A multipart request holds the whole file in memory: at most 8 MiB of it (as Google's
        // clients do); larger files always go chunk by chunk.
        if size < min(configuration.resumableThreshold, 8 << 20) {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ObjectStoreError(status: nil, code: nil, message: "cannot read \(path)", operation: "upload gs://\(bucket)/\(key)")
            }
            return try multipartUpload(bucket: bucket, key: key, data: data, contentType: contentType, precondition: precondition)
        }
        return try resumableUpload(bucket: bucket, key: key, file: path, size: size, contentType: contentType, precondition: precondition)
    }

    public func remove(bucket: String, key: String, precondition: WritePrecondition) throws {
        do {
            try perform("delete gs://\(bucket)/\(key)", method: "DELETE", path: objectPath(bucket, key), query: Self.query(precondition))
        } catch let error as ObjectStoreError where error.isNotFound {
            // Already gone: what a delete is for. (A retried delete whose first answer was lost lands here.)
        }
    }

    /// A resumable session that is never finished expires after a week and is not billed:
    /// nothing to clear.
    public func clearUnfinishedUploads(bucket: String, prefix: String) throws -> [String] { [] }

    // MARK: Uploads

    /// One request with the metadata and the bytes (`uploadType=multipart`).
    private func multipartUpload(bucket: String, key: String, data: Data, contentType: String, precondition: WritePrecondition) throws -> String? {
        let operation = "upload gs://\(bucket)/\(key)"
        let boundary = "mask-\(UUID().uuidString)"
        let metadata = try JSONSerialization.data(withJSONObject: ["name": key, "contentType": contentType], options: [.sortedKeys])
        var body = Data("--\(boundary)\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n".utf8)
        body += metadata
        body += Data("\r\n--\(boundary)\r\nContent-Type: \(contentType)\r\n\r\n".utf8)
        body += data
        body += Data("\r\n--\(boundary)--\r\n".utf8)
        let md5 = Self.md5Base64(data)
        return try acceptingOwnWrite(bucket: bucket, key: key, md5: md5, precondition: precondition, operation: operation) {
            let response = try perform(
                operation, method: "POST", path: "/upload/storage/v1/b/\(URLEncoding.component(bucket))/o",
                query: [("uploadType", "multipart")] + Self.query(precondition),
                headers: ["content-type": "multipart/related; boundary=\(boundary)"], body: .data(body))
            return try decode(ObjectResource.self, from: response.body, operation: operation).stored.generation
        }
    }

    /// A resumable upload (https://cloud.google.com/storage/docs/performing-resumable-uploads):
    /// a session is started (with the precondition), then chunks are sent; after a failed chunk
    /// the session is asked how much it has (`Content-Range: bytes */total`) and the upload goes
    /// on from there. The object appears only when the last chunk is in.
    private func resumableUpload(
        bucket: String, key: String, file path: String, size: Int, contentType: String, precondition: WritePrecondition
    ) throws -> String? {
        let operation = "upload gs://\(bucket)/\(key)"
        let md5 = try Self.md5Base64(ofFile: path)
        return try acceptingOwnWrite(bucket: bucket, key: key, md5: md5, precondition: precondition, operation: operation) {
            let metadata = try JSONSerialization.data(withJSONObject: ["name": key, "contentType": contentType, "md5Hash": md5], options: [.sortedKeys])
            let started = try perform(
                operation, method: "POST", path: "/upload/storage/v1/b/\(URLEncoding.component(bucket))/o",
                query: [("uploadType", "resumable"), ("name", key)] + Self.query(precondition),
                headers: [
                    "content-type": "application/json; charset=UTF-8", "x-upload-content-type": contentType,
                    "x-upload-content-length": String(size),
                ],
                body: .data(metadata))
            guard let location = started.headers["location"], let session = URL(string: location) else {
                throw ObjectStoreError(status: started.status, code: nil, message: "no session URI in the answer", operation: operation)
            }
            guard let handle = FileHandle(forReadingAtPath: path) else {
                throw ObjectStoreError(status: nil, code: nil, message: "cannot open \(path)", operation: operation)
            }
            defer { try? handle.close() }
            let quantum = 256 << 10
            let chunk = max(quantum, (configuration.chunkSize + quantum - 1) / quantum * quantum)
            var offset = 0
            var failures = 0
            while true {
                let length = min(chunk, size - offset)
                try handle.seek(toOffset: UInt64(offset))
                let data = length > 0 ? (try handle.read(upToCount: length) ?? Data()) : Data()
                guard data.count == length else {
                    throw ObjectStoreError(status: nil, code: nil, message: "short read from \(path)", operation: operation)
                }
                let range = length > 0 ? "bytes \(offset)-\(offset + length - 1)/\(size)" : "bytes */\(size)"
                let answer: HTTPResponse
                do {
                    answer = try sendToSession(operation, HTTPRequest(method: "PUT", url: session, headers: ["content-range": range], body: .data(data)))
                } catch let error as TransportError {
                    // The chunk may or may not have arrived: ask the session.
                    failures += 1
                    guard failures < configuration.retry.maxAttempts else {
                        throw ObjectStoreError(status: nil, code: nil, message: "\(error.description) (after \(failures) attempts)", operation: operation)
                    }
                    pause(operation, reason: error.description, attempt: failures)
                    offset = try received(session: session, size: size, operation: operation) ?? offset
                    continue
                }
                if (200..<300).contains(answer.status) {
                    return try decode(ObjectResource.self, from: answer.body, operation: operation).stored.generation
                }
                if answer.status == 308 {
                    offset = Self.persisted(answer.headers["range"]) ?? 0
                    failures = 0
                    continue
                }
                let failure = error(answer, operation: operation)
                failures += 1
                guard RetryPolicy.isRetryable(status: answer.status), failures < configuration.retry.maxAttempts else { throw failure }
                pause(operation, reason: failure.description, attempt: failures)
                guard let now = try received(session: session, size: size, operation: operation) else {
                    // Finished after all (the answer was the error, the object is whole).
                    return try self.metadata(bucket: bucket, key: key)?.generation
                }
                offset = now
            }
        }
    }

    /// Sends to a resumable session. The session URI is a capability (whoever has it can write
    /// the upload), so a network error is reported without it.
    private func sendToSession(_ operation: String, _ request: HTTPRequest) throws -> HTTPResponse {
        do { return try send(operation, request: request) } catch let error as TransportError {
            throw TransportError(error.description.replacingOccurrences(of: request.url.absoluteString, with: "the resumable upload session"))
        }
    }

    /// How many bytes the session has (its `Range`), or nil when the upload is complete.
    private func received(session: URL, size: Int, operation: String) throws -> Int? {
        let answer: HTTPResponse
        do {
            answer = try sendToSession(operation, HTTPRequest(method: "PUT", url: session, headers: ["content-range": "bytes */\(size)"], body: .none))
        } catch let error as TransportError {
            throw ObjectStoreError(status: nil, code: nil, message: error.description, operation: operation)
        }
        if (200..<300).contains(answer.status) { return nil }
        guard answer.status == 308 else { throw error(answer, operation: operation) }
        return Self.persisted(answer.headers["range"]) ?? 0
    }

    /// `Range: bytes=0-N` means N + 1 bytes are in.
    static func persisted(_ range: String?) -> Int? {
        guard let range, let dash = range.lastIndex(of: "-"), let last = Int(range[range.index(after: dash)...]) else { return nil }
        return last + 1
    }

    /// Runs a write; a 412 whose object already holds exactly these bytes (`md5`) was this very
    /// write, retried after its answer was lost: it counts as done.
    private func acceptingOwnWrite(
        bucket: String, key: String, md5: String, precondition: WritePrecondition, operation: String, _ write: () throws -> String?
    ) throws -> String? {
        do {
            return try write()
        } catch let error as ObjectStoreError where error.isPreconditionFailure && precondition != .none {
            // The same bytes under the name: this write, whose first answer was lost (or a writer
            // of the very same bytes, which leaves the object as this run wants it).
            if let there = try? metadata(bucket: bucket, key: key), there.identity == "md5:\(md5)" {
                return there.generation
            }
            throw error
        }
    }

    // MARK: Requests

    private func objectPath(_ bucket: String, _ key: String) -> String {
        "/storage/v1/b/\(URLEncoding.component(bucket))/o/\(URLEncoding.component(key))"
    }

    static func query(_ precondition: WritePrecondition) -> [(String, String)] {
        switch precondition {
        case .none: return []
        case .absent: return [("ifGenerationMatch", "0")]
        case .generation(let generation): return [("ifGenerationMatch", generation)]
        }
    }

    private func url(_ path: String, _ query: [(String, String)]) -> URL {
        var base = configuration.endpoint.absoluteString
        while base.hasSuffix("/") { base.removeLast() }
        let encoded = URLEncoding.query(query)
        return URL(string: base + path + (encoded.isEmpty ? "" : "?\(encoded)"))!
    }

    /// One request with retries; throws `ObjectStoreError` for any non-2xx answer.
    @discardableResult
    private func perform(
        _ operation: String, method: String, path: String, query: [(String, String)] = [], headers: [String: String] = [:],
        body: HTTPBody = .none, downloadTo: String? = nil
    ) throws -> HTTPResponse {
        let request = HTTPRequest(method: method, url: url(path, query), headers: headers, body: body)
        var attempt = 0
        var renewed = false
        while true {
            attempt += 1
            let reason: String
            do {
                let response = try send(operation, request: request, downloadTo: downloadTo)
                if (200..<300).contains(response.status) { return response }
                // A refused token (revoked, or expired early by a skewed clock): one new one.
                if response.status == 401, !renewed, let tokens = configuration.tokens {
                    renewed = true
                    tokens.invalidate()
                    attempt -= 1
                    continue
                }
                let failure = error(response, operation: operation)
                guard RetryPolicy.isRetryable(status: response.status), attempt < configuration.retry.maxAttempts else { throw failure }
                reason = failure.description
            } catch let error as TransportError {
                guard attempt < configuration.retry.maxAttempts else {
                    throw ObjectStoreError(status: nil, code: nil, message: "\(error.description) (after \(attempt) attempts)", operation: operation)
                }
                reason = error.description
            }
            pause(operation, reason: reason, attempt: attempt)
        }
    }

    /// Sends once, with a fresh bearer token.
    private func send(_ operation: String, request: HTTPRequest, downloadTo: String? = nil) throws -> HTTPResponse {
        var request = request
        if let tokens = configuration.tokens {
            do { request.headers["authorization"] = "Bearer \(try tokens.accessToken())" } catch let error as CredentialError {
                throw ObjectStoreError(status: nil, code: nil, message: error.description, operation: operation, identity: tokens.identity)
            }
        }
        return try transport.send(request, downloadTo: downloadTo)
    }

    private func pause(_ operation: String, reason: String, attempt: Int) {
        let delay = configuration.retry.delay(afterAttempt: attempt)
        onRetry?("\(reason); retry \(attempt) of \(configuration.retry.maxAttempts - 1) in \(String(format: "%.1f", delay)) s")
        RetryPolicy.sleep(delay)
    }

    private func error(_ response: HTTPResponse, operation: String) -> ObjectStoreError {
        let parsed = try? JSONDecoder().decode(ErrorAnswer.self, from: response.body)
        let message = parsed?.error.message ?? String(decoding: response.body.prefix(200), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let identity = response.status == 401 || response.status == 403 ? identityDescription : nil
        return ObjectStoreError(
            status: response.status, code: parsed?.error.errors?.first?.reason, message: message, operation: operation, identity: identity)
    }

    private func decode<T: Decodable>(_ type: T.Type, from data: Data, operation: String) throws -> T {
        do { return try JSONDecoder().decode(type, from: data) } catch {
            throw ObjectStoreError(status: nil, code: nil, message: "unexpected answer (not the JSON API's)", operation: operation)
        }
    }

    // MARK: Wire types

    struct ObjectResource: Decodable {
        var name: String
        var size: String?
        var generation: String?
        var md5Hash: String?
        var crc32c: String?

        var stored: StoredObject {
            let identity = md5Hash.map { "md5:\($0)" } ?? crc32c.map { "crc32c:\($0)" } ?? "generation:\(generation ?? "")"
            return StoredObject(key: name, size: Int(size ?? "") ?? 0, identity: identity, generation: generation)
        }
    }

    struct ListPage: Decodable {
        var items: [ObjectResource]?
        var nextPageToken: String?
    }

    struct ErrorAnswer: Decodable {
        struct Body: Decodable {
            struct Reason: Decodable { var reason: String? }
            var code: Int?
            var message: String?
            var errors: [Reason]?
        }
        var error: Body
    }

    // MARK: Hashes

    static func md5Base64(_ data: Data) -> String {
        var md5 = Insecure.MD5()
        md5.update(data: data)
        return Data(md5.finalize()).base64EncodedString()
    }

    static func md5Base64(ofFile path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw ObjectStoreError(status: nil, code: nil, message: "cannot open \(path)", operation: "upload")
        }
        defer { try? handle.close() }
        var md5 = Insecure.MD5()
        while let block = try handle.read(upToCount: 1 << 20), !block.isEmpty { md5.update(data: block) }
        return Data(md5.finalize()).base64EncodedString()
    }
}
