#if canImport(Glibc)
import Glibc
#endif
import Foundation
import MaskCore
internal import CCurl
import Synchronization

/// What a request sends as its body.
public enum HTTPBody: Sendable {
    case none
    case data(Data)
    /// A whole local file, streamed.
    case file(String)
}

public struct HTTPRequest: Sendable {
    public var method: String
    public var url: URL
    public var headers: [String: String]
    public var body: HTTPBody

    public init(method: String, url: URL, headers: [String: String], body: HTTPBody = .none) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }
}

public struct HTTPResponse: Sendable {
    public var status: Int
    /// Header names in lower case.
    public var headers: [String: String]
    /// The body, unless it went to the download file (2xx with `downloadTo`).
    public var body: Data

    public init(status: Int, headers: [String: String], body: Data) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}

/// The request never got an HTTP answer (connection refused or reset, timeout, DNS).
public struct TransportError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Sends one HTTP request and waits for the answer. A protocol so the retry logic can be tested
/// with a transport that fails on purpose.
public protocol HTTPTransport: Sendable {
    /// - Parameter downloadTo: for a 2xx answer, the body is streamed into this file (replaced)
    ///   instead of memory.
    func send(_ request: HTTPRequest, downloadTo: String?) throws -> HTTPResponse
}

/// libcurl's easy interface, used synchronously from the calling thread.
///
/// Why libcurl itself rather than Foundation's URLSession (which is libcurl underneath on
/// Linux): URLSession hands every 16 KiB that curl receives or sends to a dispatch queue, wakes
/// the waiting thread through an eventfd and writes downloads with a syscall per piece. A batch
/// between the storage emulators spent 29% of mask's CPU there (context switches, eventfd
/// writes), 6.9 CPU-seconds on 40 files. Here the transfer runs on the thread that asked for it:
/// downloads go straight into their file, uploads are read from theirs, and each thread keeps
/// its handle (and so its connections) for the next request.
public final class CurlTransport: HTTPTransport, Sendable {
    /// Seconds without a byte moving before a request fails (as URLSession's request timeout).
    let timeout: Int
    /// Idle easy handles: a request takes one (or makes one) and gives it back, so connections
    /// and DNS answers are reused across requests.
    private let idle = Mutex<[Handle]>([])

    /// A curl easy handle. `@unchecked Sendable`: one thread at a time uses it, the one that
    /// took it from `idle`; the pool's lock orders the handing over.
    private struct Handle: @unchecked Sendable {
        let pointer: UnsafeMutableRawPointer
    }

    public init(timeout: TimeInterval = 120) {
        self.timeout = max(1, Int(timeout.rounded(.up)))
        Self.initializeOnce
    }

    deinit {
        for handle in idle.withLock({ $0 }) { curl_easy_cleanup(handle.pointer) }
    }

    /// What an empty body points at: curl keeps the pointer (it does not copy POSTFIELDS), so it
    /// must not be a temporary. Never written.
    nonisolated(unsafe) private static let emptyBody = UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 1)

    /// `curl_global_init` is not thread-safe; a `static let` runs it once, under a lock.
    private static let initializeOnce: Void = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()

    /// What the callbacks fill, reached through curl's user-data pointer.
    private final class Transfer {
        var headers: [String: String] = [:]
        var body = Data()
        /// A 2xx download: the open temporary file, and a failure to write it.
        var downloadTo: String?
        var temporary: String?
        var descriptor: Int32 = -1
        var writeError: String?
        /// An upload from a file.
        var upload: Int32 = -1
        let handle: UnsafeMutableRawPointer

        init(handle: UnsafeMutableRawPointer) { self.handle = handle }
    }

    public func send(_ request: HTTPRequest, downloadTo: String?) throws -> HTTPResponse {
        let handle = idle.withLock { $0.popLast() }?.pointer ?? curl_easy_init()!
        var reusable = true
        defer {
            if reusable { idle.withLock { $0.append(Handle(pointer: handle)) } } else { curl_easy_cleanup(handle) }
        }
        curl_easy_reset(handle)
        let transfer = Transfer(handle: handle)
        transfer.downloadTo = downloadTo
        defer {
            if transfer.descriptor >= 0 { close(transfer.descriptor) }
            if transfer.upload >= 0 { close(transfer.upload) }
            if let temporary = transfer.temporary { unlink(temporary) }
        }
        let context = Unmanaged.passUnretained(transfer).toOpaque()
        let url = request.url.absoluteString
        func fail(_ message: String) -> TransportError { TransportError("\(request.method) \(url): \(message)") }

        var list: UnsafeMutablePointer<curl_slist>?
        defer { curl_slist_free_all(list) }
        // Objects are read as stored (no transparent decompression); no `Expect: 100-continue`
        // round trip before an upload; no content type curl would invent for a POST body.
        var headers = request.headers.filter { $0.key.lowercased() != "host" }.map { "\($0.key): \($0.value)" }
        headers += ["Accept-Encoding: identity", "Expect:"]
        if !request.headers.keys.contains(where: { $0.lowercased() == "content-type" }) { headers.append("Content-Type:") }
        for header in headers { list = curl_slist_append(list, header) }

        mask_curl_set_pointer(handle, CURLOPT_URL, url)
        mask_curl_set_long(handle, CURLOPT_NOSIGNAL, 1)
        mask_curl_set_long(handle, CURLOPT_CONNECTTIMEOUT, min(timeout, 30))
        // An idle timeout, not a total one: a large object may take long, a stalled one may not.
        mask_curl_set_long(handle, CURLOPT_LOW_SPEED_LIMIT, 1)
        mask_curl_set_long(handle, CURLOPT_LOW_SPEED_TIME, timeout)
        mask_curl_set_pointer(handle, CURLOPT_HTTPHEADER, list)
        mask_curl_set_callback(handle, CURLOPT_HEADERFUNCTION, Self.headerLine)
        mask_curl_set_pointer(handle, CURLOPT_HEADERDATA, context)
        mask_curl_set_callback(handle, CURLOPT_WRITEFUNCTION, Self.bodyBytes)
        mask_curl_set_pointer(handle, CURLOPT_WRITEDATA, context)

        let bodyData: Data?
        switch request.body {
        case .none:
            // A PUT or POST without a body still says `Content-Length: 0` (GCS's upload status
            // query, the IMDSv2 token): stores answer 411 to one that says nothing.
            bodyData = ["PUT", "POST", "PATCH"].contains(request.method) ? Data() : nil
            if request.method == "HEAD" { mask_curl_set_long(handle, CURLOPT_NOBODY, 1) }
        case .data(let data):
            bodyData = data
        case .file(let path):
            bodyData = nil
            transfer.upload = open(path, O_RDONLY | O_CLOEXEC)
            guard transfer.upload >= 0 else { throw fail("cannot read \(path): \(String(cString: strerror(errno)))") }
            var info = stat()
            fstat(transfer.upload, &info)
            mask_curl_set_long(handle, CURLOPT_UPLOAD, 1)
            mask_curl_set_offset(handle, CURLOPT_INFILESIZE_LARGE, curl_off_t(info.st_size))
            mask_curl_set_callback(handle, CURLOPT_READFUNCTION, Self.uploadBytes)
            mask_curl_set_pointer(handle, CURLOPT_READDATA, context)
        }
        if request.method != "GET" && request.method != "HEAD" { mask_curl_set_pointer(handle, CURLOPT_CUSTOMREQUEST, request.method) }
        let code: CURLcode = (bodyData ?? Data()).withUnsafeBytes { bytes in
            if bodyData != nil {
                // Not copied by curl: the bytes must live until `curl_easy_perform` returns, which
                // they do inside this closure.
                mask_curl_set_long(handle, CURLOPT_POST, 1)
                mask_curl_set_offset(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(bytes.count))
                mask_curl_set_pointer(handle, CURLOPT_POSTFIELDS, bytes.count > 0 ? bytes.baseAddress : UnsafeRawPointer(Self.emptyBody))
            }
            // The callbacks reach `transfer` unretained: it must outlive the transfer.
            return withExtendedLifetime(transfer) { curl_easy_perform(handle) }
        }
        if let writeError = transfer.writeError { throw TransportError(writeError) }
        guard code == CURLE_OK else {
            reusable = false
            throw fail(String(cString: curl_easy_strerror(code)))
        }
        var status = 0
        mask_curl_get_long(handle, CURLINFO_RESPONSE_CODE, &status)
        guard status > 0 else { throw fail("no HTTP response") }
        if let temporary = transfer.temporary, let downloadTo {
            close(transfer.descriptor)
            transfer.descriptor = -1
            guard rename(temporary, downloadTo) == 0 else {
                throw TransportError("cannot move the download to \(downloadTo): \(String(cString: strerror(errno)))")
            }
            transfer.temporary = nil
        } else if let downloadTo, (200..<300).contains(status) {
            // A 2xx answer with an empty body (an empty object): the file is created empty.
            let descriptor = open(downloadTo, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            guard descriptor >= 0 else { throw TransportError("cannot create \(downloadTo): \(String(cString: strerror(errno)))") }
            close(descriptor)
        }
        return HTTPResponse(status: status, headers: transfer.headers, body: transfer.body)
    }

    /// One header line; a status line starts the headers of a new answer (after a redirect or
    /// an interim answer), so only the last answer's headers are kept.
    private static let headerLine: mask_curl_data_callback = { pointer, size, count, context in
        let length = size * count
        guard let pointer, let context else { return length }
        let transfer = Unmanaged<Transfer>.fromOpaque(context).takeUnretainedValue()
        let line = String(decoding: UnsafeRawBufferPointer(start: pointer, count: length), as: UTF8.self)
        if line.hasPrefix("HTTP/") {
            transfer.headers = [:]
        } else if let colon = line.firstIndex(of: ":") {
            let name = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
            transfer.headers[name] = value
        }
        return length
    }

    /// Body bytes: into the download's temporary file for a 2xx answer, else into memory.
    private static let bodyBytes: mask_curl_data_callback = { pointer, size, count, context in
        let length = size * count
        guard let pointer, let context else { return length }
        let transfer = Unmanaged<Transfer>.fromOpaque(context).takeUnretainedValue()
        if transfer.descriptor < 0, let downloadTo = transfer.downloadTo, transfer.temporary == nil {
            var status = 0
            mask_curl_get_long(transfer.handle, CURLINFO_RESPONSE_CODE, &status)
            if (200..<300).contains(status) {
                let temporary = "\(downloadTo).download"
                transfer.descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
                guard transfer.descriptor >= 0 else {
                    transfer.writeError = "cannot create \(temporary): \(String(cString: strerror(errno)))"
                    return 0
                }
                transfer.temporary = temporary
            }
        }
        guard transfer.descriptor >= 0 else {
            transfer.body.append(UnsafeRawBufferPointer(start: pointer, count: length).assumingMemoryBound(to: UInt8.self))
            return length
        }
        do {
            try SystemIO.write(transfer.descriptor, UnsafeRawBufferPointer(start: pointer, count: length))
        } catch {
            transfer.writeError = "cannot write \(transfer.temporary ?? ""): \(error)"
            return 0
        }
        return length
    }

    /// Upload bytes from the body file.
    private static let uploadBytes: mask_curl_data_callback = { pointer, size, count, context in
        guard let pointer, let context else { return 0 }
        let transfer = Unmanaged<Transfer>.fromOpaque(context).takeUnretainedValue()
        do {
            return try SystemIO.read(transfer.upload, into: UnsafeMutableRawBufferPointer(start: pointer, count: size * count))
        } catch {
            return Int(CURL_READFUNC_ABORT)
        }
    }
}

