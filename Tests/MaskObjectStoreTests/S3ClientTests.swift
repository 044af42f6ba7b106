import Foundation
import MaskCore
import Testing

@testable import MaskObjectStore

/// A transport that answers from a script and records what was sent.
final class ScriptedTransport: HTTPTransport, @unchecked Sendable {
    private let lock = NSLock()
    private var answers: [(HTTPRequest) throws -> HTTPResponse]
    private(set) var requests: [HTTPRequest] = []

    init(_ answers: [(HTTPRequest) throws -> HTTPResponse]) { self.answers = answers }

    func send(_ request: HTTPRequest, downloadTo: String?) throws -> HTTPResponse {
        let answer: (HTTPRequest) throws -> HTTPResponse = lock.withLock {
            requests.append(request)
            return answers.isEmpty ? { _ in HTTPResponse(status: 500, headers: [:], body: Data("script exhausted".utf8)) } : answers.removeFirst()
        }
        let response = try answer(request)
        if let downloadTo, (200..<300).contains(response.status) {
            FileManager.default.createFile(atPath: downloadTo, contents: response.body)
            return HTTPResponse(status: response.status, headers: response.headers, body: Data())
        }
        return response
    }
}

func reply(_ status: Int, _ body: String = "", headers: [String: String] = [:]) -> (HTTPRequest) throws -> HTTPResponse {
    { _ in HTTPResponse(status: status, headers: headers, body: Data(body.utf8)) }
}

@Suite struct S3ClientTests {
    func client(_ transport: ScriptedTransport, endpoint: String = "http://127.0.0.1:9000", addressing: S3Configuration.Addressing = .path, onRetry: (@Sendable (String) -> Void)? = nil) -> S3Client {
        var configuration = S3Configuration(
            endpoint: URL(string: endpoint)!, region: "us-east-1",
            credentials: AWSCredentials(accessKeyID: "AK", secretAccessKey: "SK"))
        configuration.addressing = addressing
        configuration.maxAttempts = 3
        return S3Client(configuration: configuration, transport: transport, onRetry: onRetry, sleep: { _ in })
    }

    @Test func retriesServerErrorsAndNetworkFailuresThenSucceeds() throws {
        let transport = ScriptedTransport([
            reply(503, "<Error><Code>SlowDown</Code><Message>Reduce your request rate.</Message></Error>"),
            { _ in throw TransportError("connection reset") },
            reply(200, "hello"),
        ])
        let retries = Counter()
        let s3 = client(transport, onRetry: { _ in retries.increment() })
        #expect(try s3.get(bucket: "b", key: "k") == Data("hello".utf8))
        #expect(transport.requests.count == 3)
        #expect(retries.value == 2)
        // Each attempt is signed afresh.
        #expect(transport.requests.allSatisfy { $0.headers["authorization"]?.hasPrefix("AWS4-HMAC-SHA256 Credential=AK/") == true })
    }

    @Test func givesUpAfterTheLastAttempt() {
        let transport = ScriptedTransport([reply(500), reply(502), reply(503, "<Error><Code>ServiceUnavailable</Code><Message>busy</Message></Error>")])
        #expect {
            try client(transport).put(bucket: "b", key: "k", data: Data("x".utf8))
        } throws: { error in
            (error as? S3Error)?.status == 503 && (error as? S3Error)?.code == "ServiceUnavailable"
        }
        #expect(transport.requests.count == 3)
    }

    @Test func clientErrorsAreNotRetried() {
        let transport = ScriptedTransport([reply(403, "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>")])
        #expect {
            try client(transport).list(bucket: "b", prefix: "p/")
        } throws: { error in
            (error as? S3Error)?.description == "list s3://b/p/: HTTP 403 AccessDenied: Access Denied (as access key AK)"
        }
        #expect(transport.requests.count == 1)
    }

    @Test func missingObjectIsNil() throws {
        let transport = ScriptedTransport([reply(404, "<Error><Code>NoSuchKey</Code></Error>")])
        #expect(try client(transport).get(bucket: "b", key: "nope") == nil)
    }

    @Test func listingFollowsContinuationTokens() throws {
        let transport = ScriptedTransport([
            reply(200, """
                <?xml version="1.0" encoding="UTF-8"?><ListBucketResult><IsTruncated>true</IsTruncated>\
                <Contents><Key>raw/a&amp;b.csv</Key><Size>10</Size><ETag>&quot;e1&quot;</ETag></Contents>\
                <Contents><Key>raw/x/y.csv</Key><Size>20</Size><ETag>"e2"</ETag></Contents>\
                <NextContinuationToken>tok/+=</NextContinuationToken></ListBucketResult>
                """),
            reply(200, """
                <ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>raw/z.csv</Key><Size>3</Size><ETag>"e3-2"</ETag></Contents></ListBucketResult>
                """),
        ])
        let s3 = client(transport)
        let objects = try s3.list(bucket: "bkt", prefix: "raw/", pageSize: 2)
        #expect(objects.map(\.key) == ["raw/a&b.csv", "raw/x/y.csv", "raw/z.csv"])
        #expect(objects.map(\.size) == [10, 20, 3])
        #expect(objects.map(\.etag) == ["e1", "e2", "e3-2"])
        #expect(s3.listPages == 2)
        #expect(transport.requests[0].url.absoluteString == "http://127.0.0.1:9000/bkt?list-type=2&max-keys=2&prefix=raw%2F")
        #expect(transport.requests[1].url.query?.contains("continuation-token=tok%2F%2B%3D") == true)
    }

    @Test func addressesArePathStyleOrVirtualHosted() {
        let path = client(ScriptedTransport([])).address(bucket: "b", key: "dir/a b+ü.csv", query: [])
        #expect(path.url.absoluteString == "http://127.0.0.1:9000/b/dir/a%20b%2B%C3%BC.csv")
        #expect(path.host == "127.0.0.1:9000")
        let virtual = client(ScriptedTransport([]), endpoint: "https://s3.eu-west-1.amazonaws.com", addressing: .virtual)
            .address(bucket: "b", key: "k", query: [("uploads", "")])
        #expect(virtual.url.absoluteString == "https://b.s3.eu-west-1.amazonaws.com/k?uploads")
        #expect(virtual.host == "b.s3.eu-west-1.amazonaws.com")
    }

    @Test func largeFilesGoUpInPartsAndAFailedUploadIsAborted() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("s3client-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = "\(directory)/big"
        FileManager.default.createFile(atPath: file, contents: Data((0..<2500).map { UInt8($0 % 251) }))

        let transport = ScriptedTransport([
            reply(200, "<InitiateMultipartUploadResult><UploadId>U1</UploadId></InitiateMultipartUploadResult>"),
            reply(200, headers: ["etag": "\"p1\""]), reply(200, headers: ["etag": "\"p2\""]), reply(200, headers: ["etag": "\"p3\""]),
            reply(200, "<CompleteMultipartUploadResult><ETag>\"x-3\"</ETag></CompleteMultipartUploadResult>"),
        ])
        let configured = { (transport: ScriptedTransport, threshold: Int) -> S3Client in
            var configuration = S3Configuration(
                endpoint: URL(string: "http://127.0.0.1:9000")!, region: "us-east-1",
                credentials: AWSCredentials(accessKeyID: "AK", secretAccessKey: "SK"))
            configuration.maxAttempts = 3
            configuration.multipartThreshold = threshold
            configuration.partSize = 1000
            return S3Client(configuration: configuration, transport: transport, sleep: { _ in })
        }
        let s3 = configured(transport, 1000)
        try s3.upload(bucket: "b", key: "out/big.csv.gz", file: file)
        let methods = transport.requests.map { "\($0.method) \($0.url.query ?? "")" }
        #expect(methods == ["POST uploads", "PUT partNumber=1&uploadId=U1", "PUT partNumber=2&uploadId=U1", "PUT partNumber=3&uploadId=U1", "POST uploadId=U1"])
        let sizes = transport.requests[1...3].map { request -> Int in
            if case .data(let data) = request.body { return data.count } else { return -1 }
        }
        #expect(sizes == [1000, 1000, 500])
        if case .data(let body) = transport.requests[4].body {
            #expect(String(decoding: body, as: UTF8.self).contains("<Part><PartNumber>3</PartNumber><ETag>&quot;p3&quot;</ETag></Part>"))
        }

        // A completion answered with 200 and an <Error> body is an error (retried, then given up), and aborts.
        let failing = ScriptedTransport([
            reply(200, "<InitiateMultipartUploadResult><UploadId>U2</UploadId></InitiateMultipartUploadResult>"),
            reply(200, headers: ["etag": "\"p1\""]), reply(200, headers: ["etag": "\"p2\""]), reply(200, headers: ["etag": "\"p3\""]),
            reply(200, "<Error><Code>InternalError</Code><Message>try again</Message></Error>"),
            reply(200, "<Error><Code>InternalError</Code><Message>try again</Message></Error>"),
            reply(200, "<Error><Code>InternalError</Code><Message>try again</Message></Error>"),
            reply(204),
        ])
        #expect(throws: S3Error.self) { try configured(failing, 1000).upload(bucket: "b", key: "k", file: file) }
        #expect(failing.requests.last.map { "\($0.method) \($0.url.query ?? "")" } == "DELETE uploadId=U2")

        // Below the threshold: one PUT of the file, its SHA-256 signed.
        let single = ScriptedTransport([reply(200, headers: ["etag": "\"s\""])])
        try configured(single, 1 << 20).upload(bucket: "b", key: "k", file: file)
        #expect(single.requests.count == 1)
        #expect(single.requests[0].headers["x-amz-content-sha256"] == (try SystemIO.sha256Hex(ofFile: file)))
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}
