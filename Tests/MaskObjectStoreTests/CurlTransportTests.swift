import Foundation
import MaskTestSupport
import Testing

@testable import MaskObjectStore

/// `CurlTransport` against a real HTTP server (the credential endpoints of the test support, a
/// Python `http.server`): what the store clients rely on, checked at the transport itself.
@Suite struct CurlTransportTests {
    let directory = TemporaryDirectory()

    @Test func answersBodiesHeadersAndDownloads() throws {
        let server = CredentialServer(CredentialServer.Configuration())
        defer { server.stop() }
        let transport = CurlTransport(timeout: 10)
        let stats = URL(string: "\(server.endpoint)/_stats")!

        // Into memory, with lower-cased header names; the same handle serves the next request.
        for _ in 0..<3 {
            let answer = try transport.send(HTTPRequest(method: "GET", url: stats, headers: ["x-test": "1"]), downloadTo: nil)
            #expect(answer.status == 200)
            #expect(answer.headers["content-type"] == "application/json", "\(answer.headers)")
            #expect((try JSONSerialization.jsonObject(with: answer.body)) is [String: Any])
        }

        // A 2xx download goes to the file, whole, and nothing is left beside it.
        let target = directory.file("download.json")
        let downloaded = try transport.send(HTTPRequest(method: "GET", url: stats, headers: [:]), downloadTo: target)
        #expect(downloaded.status == 200 && downloaded.body.isEmpty)
        #expect((try JSONSerialization.jsonObject(with: Data(directory.read("download.json")))) is [String: Any])
        #expect(directory.list() == ["download.json"])

        // An error answer is never written to the download file: its body comes back in memory.
        let missing = directory.file("missing.json")
        let refused = try transport.send(HTTPRequest(method: "GET", url: URL(string: "\(server.endpoint)/nowhere")!, headers: [:]), downloadTo: missing)
        #expect(refused.status == 404)
        #expect(String(decoding: refused.body, as: UTF8.self).contains("no such endpoint"))
        #expect(!directory.exists("missing.json") && !directory.exists("missing.json.download"))

        // A POST body arrives (the server refuses it for want of a token, and says so).
        let posted = try transport.send(
            HTTPRequest(method: "POST", url: URL(string: "\(server.endpoint)/token")!, headers: ["content-type": "application/x-www-form-urlencoded"],
                        body: .data(Data("grant_type=x".utf8))),
            downloadTo: nil)
        #expect((400..<500).contains(posted.status), "\(posted.status)")
    }

    @Test func noServerIsATransportErrorNamingTheRequest() {
        let port = S3TestServer.freePort()
        let url = URL(string: "http://127.0.0.1:\(port)/bucket/key")!
        #expect {
            try CurlTransport(timeout: 2).send(HTTPRequest(method: "GET", url: url, headers: [:]), downloadTo: nil)
        } throws: { error in
            guard let transport = error as? TransportError else { return false }
            return transport.description.hasPrefix("GET \(url.absoluteString): ")
        }
    }
}
