import Foundation
import Testing

@testable import MaskObjectStore

/// The GCS client against answers written as the JSON API documents them, for what the
/// emulator the CLI tests use does not do: page listings, enforce `ifGenerationMatch`, fail.
/// (https://cloud.google.com/storage/docs/json_api/v1/objects/list,
/// https://cloud.google.com/storage/docs/performing-resumable-uploads)
@Suite struct GCSClientTests {
    struct FixedTokens: AccessTokenProvider {
        var identity: String { "mask-reader@project.iam.gserviceaccount.com" }
        func accessToken() throws -> String { "ya29.secret-token-value" }
    }

    func client(_ transport: ScriptedTransport, tokens: (any AccessTokenProvider)? = FixedTokens(), chunk: Int = 256 << 10, onRetry: (@Sendable (String) -> Void)? = nil) -> GCSClient {
        var configuration = GCSConfiguration(endpoint: URL(string: "http://127.0.0.1:9023")!, tokens: tokens)
        configuration.retry = RetryPolicy(maxAttempts: 3, baseDelay: 0.001, maximumDelay: 0.001)
        configuration.resumableThreshold = 1000
        configuration.chunkSize = chunk
        return GCSClient(configuration: configuration, transport: transport, onRetry: onRetry)
    }

    static func object(_ name: String, size: Int = 3, generation: String = "17", md5: String = "rL0Y20zC+Fzt72VPzMSk2A==") -> String {
        #"{"name":"\#(name)","size":"\#(size)","generation":"\#(generation)","md5Hash":"\#(md5)"}"#
    }

    @Test func listingFollowsPageTokensAndSendsTheBearerToken() throws {
        let transport = ScriptedTransport([
            reply(200, #"{"items":[\#(Self.object("p/a.csv"))],"nextPageToken":"t1"}"#),
            reply(200, #"{"items":[\#(Self.object("p/b.csv", generation: "18"))],"nextPageToken":"t 2/+"}"#),
            reply(200, #"{"items":[{"name":"p/c.csv","size":"9","generation":"19","crc32c":"AAAAAA=="}]}"#),
        ])
        let gcs = client(transport)
        let objects = try gcs.listObjects(bucket: "b", prefix: "p/", pageSize: 1)
        #expect(objects.map(\.key) == ["p/a.csv", "p/b.csv", "p/c.csv"])
        #expect(objects[1].generation == "18")
        #expect(objects[0].identity == "md5:rL0Y20zC+Fzt72VPzMSk2A==")
        // A composite object has no MD5: its CRC32C is its identity.
        #expect(objects[2].identity == "crc32c:AAAAAA==")
        #expect(gcs.listPages == 3)
        let urls = transport.requests.map(\.url.absoluteString)
        #expect(urls[0].hasPrefix("http://127.0.0.1:9023/storage/v1/b/b/o?prefix=p%2F&"))
        #expect(urls[0].contains("maxResults=1") && !urls[0].contains("pageToken"))
        #expect(urls[2].contains("pageToken=t%202%2F%2B"))
        #expect(transport.requests.allSatisfy { $0.headers["authorization"] == "Bearer ya29.secret-token-value" })
    }

    @Test func downloadsWithTheListedGenerationAsAPrecondition() throws {
        let transport = ScriptedTransport([reply(200, "abc")])
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("gcs-\(UUID().uuidString)").path
        defer { unlink(path) }
        try client(transport).download(bucket: "b", key: "a dir/x.csv", to: path, expected: StoredObject(key: "a dir/x.csv", size: 3, identity: "", generation: "42"))
        #expect(transport.requests[0].url.absoluteString == "http://127.0.0.1:9023/storage/v1/b/b/o/a%20dir%2Fx.csv?alt=media&ifGenerationMatch=42")
        #expect(FileManager.default.contents(atPath: path) == Data("abc".utf8))
    }

    @Test func aWriteThatFindsAnotherWritersObjectFailsNamingThePrecondition() {
        let transport = ScriptedTransport([
            reply(412, #"{"error":{"code":412,"message":"At least one of the pre-conditions you specified did not hold.","errors":[{"reason":"conditionNotMet"}]}}"#),
            // The object there is not ours (other bytes).
            reply(200, Self.object("out/x.gz", md5: "b3RoZXI=")),
        ])
        #expect {
            try client(transport).write(bucket: "b", key: "out/x.gz", data: Data("abc".utf8), contentType: "application/gzip", precondition: .absent)
        } throws: { error in
            let failure = error as? ObjectStoreError
            return failure?.isPreconditionFailure == true && failure!.description.contains("upload gs://b/out/x.gz: HTTP 412 conditionNotMet")
                && failure!.description.contains("another writer")
        }
        #expect(transport.requests[0].url.absoluteString.contains("uploadType=multipart&ifGenerationMatch=0"))
    }

    @Test func aRetriedWriteThatFindsItsOwnBytesCountsAsDoneOnce() throws {
        let md5 = GCSClient.md5Base64(Data("abc".utf8))
        let transport = ScriptedTransport([
            // The first attempt arrived, but its answer was lost; the retry finds the object.
            { _ in throw TransportError("connection reset") },
            reply(412, #"{"error":{"code":412,"message":"conditionNotMet"}}"#),
            reply(200, Self.object("out/x.gz", generation: "99", md5: md5)),
        ])
        let generation = try client(transport).write(bucket: "b", key: "out/x.gz", data: Data("abc".utf8), contentType: "application/gzip", precondition: .absent)
        #expect(generation == "99")
        #expect(transport.requests.count == 3)
    }

    @Test func resumableUploadAsksWhereToGoOnAfterAFailedChunk() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gcs-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let size = 600 << 10
        let bytes = Data((0..<size).map { UInt8($0 % 251) })
        FileManager.default.createFile(atPath: "\(directory)/big", contents: bytes)
        let session = "http://127.0.0.1:9023/upload/storage/v1/b/b/o?uploadType=resumable&upload_id=abc"
        let quarter = 256 << 10
        let received = Counter()
        let transport = ScriptedTransport([
            reply(200, "", headers: ["location": session]),
            reply(308, "", headers: ["range": "bytes=0-\(quarter - 1)"]),
            // The second chunk fails; the session says it kept only the first.
            reply(503, #"{"error":{"code":503,"message":"backend error"}}"#),
            reply(308, "", headers: ["range": "bytes=0-\(quarter - 1)"]),
            { request in
                received.increment()
                return HTTPResponse(status: 308, headers: ["range": "bytes=0-\(2 * quarter - 1)"], body: Data())
            },
            reply(200, Self.object("big.gz", size: size, generation: "7")),
        ])
        let generation = try client(transport).upload(
            bucket: "b", key: "big.gz", file: "\(directory)/big", sha256: nil, contentType: "application/gzip", precondition: .generation("5"))
        #expect(generation == "7")
        let requests = transport.requests
        #expect(requests[0].url.absoluteString.contains("uploadType=resumable&name=big.gz&ifGenerationMatch=5"))
        #expect(requests[0].headers["x-upload-content-length"] == String(size))
        let ranges = requests.dropFirst().map { $0.headers["content-range"] ?? "" }
        #expect(ranges == [
            "bytes 0-\(quarter - 1)/\(size)", "bytes \(quarter)-\(2 * quarter - 1)/\(size)", "bytes */\(size)",
            "bytes \(quarter)-\(2 * quarter - 1)/\(size)", "bytes \(2 * quarter)-\(size - 1)/\(size)",
        ])
        if case .data(let last) = requests.last!.body { #expect(last == bytes.suffix(from: 2 * quarter)) } else { Issue.record("no body") }
        #expect(received.value == 1)
    }

    @Test func aLostResumableSessionIsReportedWithoutItsURI() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gcs-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        FileManager.default.createFile(atPath: "\(directory)/big", contents: Data(count: 300 << 10))
        // The session URI is a capability: whoever holds it can write the upload.
        let session = "http://127.0.0.1:9023/upload/storage/v1/b/b/o?uploadType=resumable&upload_id=capability-4711"
        let reset: (HTTPRequest) throws -> HTTPResponse = { request in throw TransportError("PUT \(request.url.absoluteString): connection reset") }
        let transport = ScriptedTransport([reply(200, "", headers: ["location": session]), reset, reset])
        let logged = LockedLines()
        let gcs = client(transport, onRetry: { logged.append($0) })
        #expect {
            try gcs.upload(bucket: "b", key: "big.gz", file: "\(directory)/big", sha256: nil, contentType: "application/gzip", precondition: .absent)
        } throws: { error in
            "\(error)".contains("the resumable upload session") && !"\(error)".contains("capability-4711")
        }
        #expect(!logged.lines.isEmpty && logged.lines.allSatisfy { !$0.contains("capability-4711") }, "\(logged.lines)")
    }

    @Test func accessDeniedNamesTheBucketOperationAndServiceAccountButNotTheToken() {
        let transport = ScriptedTransport([
            reply(403, #"{"error":{"code":403,"message":"mask-reader@project.iam.gserviceaccount.com does not have storage.objects.list access to the Google Cloud Storage bucket.","errors":[{"reason":"forbidden"}]}}"#)
        ])
        #expect {
            try client(transport).listObjects(bucket: "raw-data", prefix: "day/", pageSize: nil)
        } throws: { error in
            let text = "\(error)"
            return text.hasPrefix("list gs://raw-data/day/: HTTP 403 forbidden") && text.hasSuffix("(as mask-reader@project.iam.gserviceaccount.com)")
                && !text.contains("ya29")
        }
        #expect(transport.requests.count == 1)
    }

    @Test func throttlingIsRetriedThenReported() {
        let transport = ScriptedTransport([reply(429), reply(503), reply(429, #"{"error":{"code":429,"message":"rate limit exceeded"}}"#)])
        #expect {
            try client(transport).remove(bucket: "b", key: "k", precondition: .none)
        } throws: { error in
            (error as? ObjectStoreError)?.status == 429 && "\(error)".contains("rate limit exceeded")
        }
        #expect(transport.requests.count == 3)
    }

    @Test func emulatorHostIsUsedAsGoogleClientsUseIt() throws {
        let bare = try GCSConfiguration.fromEnvironment(environment: ["STORAGE_EMULATOR_HOST": "localhost:9023"]) { nil }
        #expect(bare.endpoint.absoluteString == "http://localhost:9023")
        #expect(bare.tokens == nil)
        let url = try GCSConfiguration.fromEnvironment(environment: ["STORAGE_EMULATOR_HOST": "https://gcs.test:4443"]) { FixedTokens() }
        #expect(url.endpoint.absoluteString == "https://gcs.test:4443")
        let real = try GCSConfiguration.fromEnvironment(environment: [:]) { FixedTokens() }
        #expect(real.endpoint == GCSConfiguration.defaultEndpoint)
        #expect(real.tokens != nil)
    }
}

final class LockedLines: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [String] = []
    func append(_ line: String) { lock.withLock { stored.append(line) } }
    var lines: [String] { lock.withLock { stored } }
}
