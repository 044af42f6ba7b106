import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

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

/// Foundation's URLSession (libcurl on Linux), used synchronously from worker threads.
public final class URLSessionTransport: HTTPTransport, Sendable {
    private let session: URLSession

    public init(timeout: TimeInterval = 120) {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.urlCache = nil
        configuration.httpCookieStorage = nil
        configuration.httpShouldSetCookies = false
        configuration.httpMaximumConnectionsPerHost = 16
        session = URLSession(configuration: configuration)
    }

    deinit { session.finishTasksAndInvalidate() }

    /// What the session's completion handler saw. `@unchecked Sendable`: written by the
    /// session's delegate thread before it signals the semaphore, read by the caller only after
    /// waiting on it, so the semaphore orders every access.
    private final class Outcome: @unchecked Sendable {
        var data: Data?
        var response: URLResponse?
        var error: Error?
        var movedTo: Bool = false
        var moveError: String?
    }

    public func send(_ request: HTTPRequest, downloadTo: String?) throws -> HTTPResponse {
        var urlRequest = URLRequest(url: request.url)
        urlRequest.httpMethod = request.method
        for (name, value) in request.headers where name != "host" {
            urlRequest.setValue(value, forHTTPHeaderField: name)
        }
        // Objects are read as stored: no transparent decompression by the client.
        urlRequest.setValue("identity", forHTTPHeaderField: "Accept-Encoding")
        let outcome = Outcome()
        let done = DispatchSemaphore(value: 0)
        let task: URLSessionTask
        if let downloadTo {
            task = session.downloadTask(with: urlRequest) { location, response, error in
                outcome.response = response
                outcome.error = error
                if let location {
                    let status = (response as? HTTPURLResponse)?.statusCode ?? 0
                    if (200..<300).contains(status) {
                        unlink(downloadTo)
                        do {
                            try FileManager.default.moveItem(atPath: location.path, toPath: downloadTo)
                            outcome.movedTo = true
                        } catch {
                            outcome.moveError = "cannot move the download to \(downloadTo): \(error.localizedDescription)"
                        }
                    } else {
                        outcome.data = FileManager.default.contents(atPath: location.path)
                    }
                }
                done.signal()
            }
        } else {
            let handler: @Sendable (Data?, URLResponse?, Error?) -> Void = { data, response, error in
                outcome.data = data
                outcome.response = response
                outcome.error = error
                done.signal()
            }
            switch request.body {
            case .none:
                task = session.dataTask(with: urlRequest, completionHandler: handler)
            case .data(let data):
                task = session.uploadTask(with: urlRequest, from: data, completionHandler: handler)
            case .file(let path):
                task = session.uploadTask(with: urlRequest, fromFile: URL(fileURLWithPath: path), completionHandler: handler)
            }
        }
        task.resume()
        done.wait()
        if let error = outcome.error {
            throw TransportError("\(request.method) \(request.url.absoluteString): \(error.localizedDescription)")
        }
        if let moveError = outcome.moveError { throw TransportError(moveError) }
        guard let http = outcome.response as? HTTPURLResponse else {
            throw TransportError("\(request.method) \(request.url.absoluteString): no HTTP response")
        }
        var headers: [String: String] = [:]
        for (name, value) in http.allHeaderFields {
            if let name = name as? String, let value = value as? String { headers[name.lowercased()] = value }
        }
        return HTTPResponse(status: http.statusCode, headers: headers, body: outcome.data ?? Data())
    }
}
