#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import MaskCore

/*
 MaskObjectStore: the object stores `mask` reads from and writes to (S3 and S3-compatible stores
 through Signature V4, Google Cloud Storage through its JSON API), and the credentials each finds
 in its environment. Batch and pipe mode talk to `ObjectStoreClient`, never to one store: what a
 store can promise (an object's identity, a write that happens at most once) is expressed in
 this protocol's terms, and each client maps it onto its own API (ETags, generations).

 Trade-off: the clients are synchronous (libcurl's easy interface on the worker threads). A batch already
 runs one file per thread, so blocking a thread per request costs nothing and keeps the retry
 loops plain.
 */

/// `s3://bucket/prefix` or `gs://bucket/prefix`: a store, a bucket and a key prefix (no leading
/// `/`; a folder-like prefix ends in `/`).
public struct ObjectLocation: Sendable, Equatable, Hashable, CustomStringConvertible {
    public enum Scheme: String, Sendable, CaseIterable {
        case s3, gs
    }

    public var scheme: Scheme
    public var bucket: String
    public var prefix: String

    public init(scheme: Scheme, bucket: String, prefix: String) {
        self.scheme = scheme
        self.bucket = bucket
        self.prefix = prefix
    }

    /// Parses `s3://bucket[/prefix]` and `gs://bucket[/prefix]`; nil for anything else.
    public static func parse(_ text: String) -> ObjectLocation? {
        for scheme in Scheme.allCases where text.hasPrefix("\(scheme.rawValue)://") {
            let rest = text.dropFirst(scheme.rawValue.count + 3)
            let bucket = rest.prefix { $0 != "/" }
            guard !bucket.isEmpty else { return nil }
            var prefix = String(rest.dropFirst(bucket.count))
            while prefix.hasPrefix("/") { prefix.removeFirst() }
            return ObjectLocation(scheme: scheme, bucket: String(bucket), prefix: prefix)
        }
        return nil
    }

    /// Whether `text` names an object store at all (`s3://` or `gs://`), well formed or not.
    public static func looksLikeObjectURL(_ text: String) -> Bool {
        Scheme.allCases.contains { text.hasPrefix("\($0.rawValue)://") }
    }

    /// The prefix as a folder: empty or ending in `/`.
    public var folderPrefix: String { prefix.isEmpty || prefix.hasSuffix("/") ? prefix : prefix + "/" }

    /// The URI of `key` in this location's bucket.
    public func uri(of key: String) -> String { "\(scheme.rawValue)://\(bucket)/\(key)" }

    public var description: String { "\(scheme.rawValue)://\(bucket)/\(prefix)" }
}

/// One object from a listing.
public struct StoredObject: Sendable, Equatable {
    public var key: String
    public var size: Int
    /// What the content is known by: S3's ETag (quotes removed), GCS's `md5:<base64>` (or
    /// `crc32c:<base64>` for a composite object, which has no MD5). Equal identities mean equal
    /// bytes, so a rerun skips an input whose identity is the one its manifest recorded.
    public var identity: String
    /// GCS: the object's generation (a new one for every write of the name). Reading with it as
    /// a precondition guarantees the bytes are those listed.
    public var generation: String?

    public init(key: String, size: Int, identity: String, generation: String? = nil) {
        self.key = key
        self.size = size
        self.identity = identity
        self.generation = generation
    }
}

/// What must hold for a write or delete to happen (GCS `ifGenerationMatch`).
public enum WritePrecondition: Sendable, Equatable {
    /// Write whatever is there.
    case none
    /// Only if no object has the name (`ifGenerationMatch=0`).
    case absent
    /// Only if the object is still this generation: nobody else wrote it since.
    case generation(String)
}

/// An object-store request that failed for good (after retries, or a client error such as 403,
/// 404 or a failed precondition).
///
/// - Important: `description` names the operation, the bucket and the identity in use (a role
///   ARN, a service-account email), never a token, a key or a signature.
public struct ObjectStoreError: CategorizedFailure, Sendable {
    public var category: FailureCategory { .store }
    public var status: Int?
    public var code: String?
    public var message: String
    public var operation: String
    /// Who the request was made as, when the store refused it (401/403).
    public var identity: String?

    public init(status: Int?, code: String?, message: String, operation: String, identity: String? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.operation = operation
        self.identity = identity
    }

    /// Someone else wrote (or removed) the object since this run last saw it.
    public var isPreconditionFailure: Bool { status == 412 }
    public var isAccessDenied: Bool { status == 401 || status == 403 }
    public var isNotFound: Bool { status == 404 }

    public var description: String {
        var text = "\(operation): "
        if let status { text += "HTTP \(status)" }
        if let code { text += " \(code)" }
        if !message.isEmpty { text += (status == nil && code == nil ? "" : ": ") + message }
        if isAccessDenied { text += " (as \(identity ?? "anonymous"))" }
        if isPreconditionFailure { text += " (another writer changed the object since this run saw it)" }
        return text
    }
}

/// The S3 client's name for the shared error (kept for its callers and tests).
public typealias S3Error = ObjectStoreError

/// The operations `mask` needs from an object store. Synchronous: call from worker threads.
public protocol ObjectStoreClient: AnyObject, Sendable {
    var scheme: ObjectLocation.Scheme { get }
    /// Listing pages fetched so far (for reports and tests).
    var listPages: Int { get }
    /// Who requests are made as, for messages (never a secret).
    var identityDescription: String { get }
    /// Every object under `prefix` (recursively), following page tokens.
    func listObjects(bucket: String, prefix: String, pageSize: Int?) throws -> [StoredObject]
    /// Streams an object into the local file `path`; fails (412) if it is no longer `expected`.
    func download(bucket: String, key: String, to path: String, expected: StoredObject?) throws
    /// A small object's bytes, or nil when it does not exist.
    func fetch(bucket: String, key: String) throws -> Data?
    /// Writes a small object in one request.
    /// - Returns: the new object's generation, where the store has them.
    @discardableResult
    func write(bucket: String, key: String, data: Data, contentType: String, precondition: WritePrecondition) throws -> String?
    /// Uploads a local file (in parts or chunks when large; the object appears only when whole).
    /// - Parameter sha256: the file's SHA-256 in hex when known (S3 signs the payload).
    @discardableResult
    func upload(bucket: String, key: String, file path: String, sha256: String?, contentType: String, precondition: WritePrecondition) throws -> String?
    /// Removes an object; one that is already gone is no error.
    func remove(bucket: String, key: String, precondition: WritePrecondition) throws
    /// Clears what killed runs left half-uploaded under `prefix` (S3 multipart uploads are
    /// invisible but billed). - Returns: the keys cleared.
    func clearUnfinishedUploads(bucket: String, prefix: String) throws -> [String]
    /// Whether the store enforces `WritePrecondition`s (S3 does not, here).
    var supportsPreconditions: Bool { get }
}

/// Retries with exponential backoff and full jitter, as Google's and AWS's guides ask: the n-th
/// retry waits a random time up to `base * 2^(n-1)` (at most `maximum`), never less than half.
public struct RetryPolicy: Sendable {
    /// Attempts per request, the first included.
    public var maxAttempts: Int
    public var baseDelay: TimeInterval
    public var maximumDelay: TimeInterval

    public init(maxAttempts: Int = 5, baseDelay: TimeInterval = 0.25, maximumDelay: TimeInterval = 10) {
        self.maxAttempts = maxAttempts
        self.baseDelay = baseDelay
        self.maximumDelay = maximumDelay
    }

    public func delay(afterAttempt attempt: Int) -> TimeInterval {
        min(baseDelay * pow(2, Double(attempt - 1)), maximumDelay) * Double.random(in: 0.5...1.0)
    }

    /// Whether an HTTP status is worth another attempt (throttling, server errors, timeouts).
    public static func isRetryable(status: Int) -> Bool { status == 408 || status == 429 || status >= 500 }

    static func sleep(_ seconds: TimeInterval) { usleep(useconds_t(max(0, min(seconds, 60)) * 1_000_000)) }
}

/// Percent-encoding for URL path segments and query values: everything but `A-Za-z0-9-._~`.
enum URLEncoding {
    static func component(_ text: String) -> String { SigV4Signer.uriEncode(text, encodeSlash: true) }

    static func query(_ pairs: [(String, String)]) -> String {
        pairs.map { component($0.0) + "=" + component($0.1) }.joined(separator: "&")
    }
}
