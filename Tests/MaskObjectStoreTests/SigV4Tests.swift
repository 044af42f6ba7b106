import Foundation
import Testing

@testable import MaskObjectStore

/// Signature V4 against AWS's published examples: the aws-sig-v4-test-suite cases (service
/// "service", AKIDEXAMPLE, 2015-08-30T12:36:00Z) and the S3 developer guide's header-signing
/// examples (examplebucket, AKIAIOSFODNN7EXAMPLE, 2013-05-24T00:00:00Z).
@Suite struct SigV4Tests {
    static let suiteSigner = SigV4Signer(
        credentials: AWSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
        region: "us-east-1", service: "service")
    static let suiteDate = Date(timeIntervalSince1970: 1_440_938_160)  // 2015-08-30T12:36:00Z
    static let s3Signer = SigV4Signer(
        credentials: AWSCredentials(accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        region: "us-east-1", service: "s3")
    static let s3Date = Date(timeIntervalSince1970: 1_369_353_600)  // 2013-05-24T00:00:00Z

    func suite(_ method: String, path: String = "/", query: [(String, String)] = []) -> SigV4Signer.Signed {
        Self.suiteSigner.sign(
            method: method, encodedPath: path, query: query, headers: ["Host": "example.amazonaws.com"],
            payloadHash: SigV4Signer.emptyPayloadHash, date: Self.suiteDate)
    }

    @Test func getVanilla() {
        let signed = suite("GET")
        #expect(signed.canonicalRequest == "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n\(SigV4Signer.emptyPayloadHash)")
        #expect(signed.stringToSign == "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nbb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63")
        #expect(signed.authorization == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
        #expect(signed.headers["x-amz-date"] == "20150830T123600Z")
    }

    @Test func postVanilla() {
        let signed = suite("POST")
        #expect(signed.stringToSign.hasSuffix("\n553f88c9e4d10fc9e109e2aeb65f030801b70c2f6468faca261d401ae622fc87"))
        #expect(signed.signature == "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b")
    }

    @Test func queryIsSortedAndEncoded() {
        // get-vanilla-query-order-key-case and post-vanilla-query.
        #expect(suite("GET", query: [("Param2", "value2"), ("Param1", "value1")]).signature == "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500")
        #expect(suite("POST", query: [("Param1", "value1")]).signature == "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11")
        #expect(SigV4Signer.canonicalQuery([("b", "2"), ("a", "x y/z"), ("A", "0")]) == "A=0&a=x%20y%2Fz&b=2")
    }

    @Test func utf8Path() {
        let path = SigV4Signer.uriEncode("/ሴ", encodeSlash: false)
        #expect(path == "/%E1%88%B4")
        let signed = suite("GET", path: path)
        #expect(signed.stringToSign.hasSuffix("\n2a0a97d02205e45ce2e994789806b19270cfbbb0921b278ccf58f5249ac42102"))
        #expect(signed.signature == "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85")
    }

    @Test func s3GetObjectExample() {
        let signed = Self.s3Signer.sign(
            method: "GET", encodedPath: "/test.txt", query: [],
            headers: ["Host": "examplebucket.s3.amazonaws.com", "Range": "bytes=0-9", "x-amz-content-sha256": SigV4Signer.emptyPayloadHash],
            payloadHash: SigV4Signer.emptyPayloadHash, date: Self.s3Date)
        #expect(signed.signedHeaders == "host;range;x-amz-content-sha256;x-amz-date")
        #expect(signed.stringToSign == "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972")
        #expect(signed.signature == "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
    }

    @Test func s3PutObjectExampleWithAnEscapedKey() {
        let body = Data("Welcome to Amazon S3.".utf8)
        let hash = SigV4Signer.sha256Hex(body)
        #expect(hash == "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072")
        let path = "/" + SigV4Signer.uriEncode("test$file.text", encodeSlash: false)
        #expect(path == "/test%24file.text")
        let signed = Self.s3Signer.sign(
            method: "PUT", encodedPath: path, query: [],
            headers: [
                "Host": "examplebucket.s3.amazonaws.com", "Date": "Fri, 24 May 2013 00:00:00 GMT",
                "x-amz-storage-class": "REDUCED_REDUNDANCY", "x-amz-content-sha256": hash,
            ],
            payloadHash: hash, date: Self.s3Date)
        #expect(SigV4Signer.sha256Hex(Data(signed.canonicalRequest.utf8)) == "9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d")
        #expect(signed.signature == "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd")
    }

    @Test func s3ListAndSubresourceExamples() {
        let headers = ["Host": "examplebucket.s3.amazonaws.com", "x-amz-content-sha256": SigV4Signer.emptyPayloadHash]
        let list = Self.s3Signer.sign(
            method: "GET", encodedPath: "/", query: [("prefix", "J"), ("max-keys", "2")], headers: headers,
            payloadHash: SigV4Signer.emptyPayloadHash, date: Self.s3Date)
        #expect(SigV4Signer.sha256Hex(Data(list.canonicalRequest.utf8)) == "df57d21db20da04d7fa30298dd4488ba3a2b47ca3a489c74750e0f1e7df1b9b7")
        #expect(list.signature == "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7")
        let lifecycle = Self.s3Signer.sign(
            method: "GET", encodedPath: "/", query: [("lifecycle", "")], headers: headers,
            payloadHash: SigV4Signer.emptyPayloadHash, date: Self.s3Date)
        #expect(SigV4Signer.sha256Hex(Data(lifecycle.canonicalRequest.utf8)) == "9766c798316ff2757b517bc739a67f6213b4ab36dd5da2f94eaebf79c77395ca")
        #expect(lifecycle.signature == "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543")
    }

    @Test func sessionTokenIsSentAndSigned() {
        let signer = SigV4Signer(credentials: AWSCredentials(accessKeyID: "AK", secretAccessKey: "SK", sessionToken: "TOKEN"), region: "eu-west-1")
        let signed = signer.sign(method: "GET", encodedPath: "/b/k", query: [], headers: ["host": "h"], payloadHash: SigV4Signer.emptyPayloadHash, date: Self.s3Date)
        #expect(signed.headers["x-amz-security-token"] == "TOKEN")
        #expect(signed.signedHeaders == "host;x-amz-date;x-amz-security-token")
        #expect(signed.authorization.contains("Credential=AK/20130524/eu-west-1/s3/aws4_request"))
    }

    @Test func credentialsAndEndpointFromTheEnvironment() throws {
        let environment = [
            "AWS_ACCESS_KEY_ID": "id", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "",
            "AWS_REGION": "eu-central-1", "AWS_ENDPOINT_URL": "http://127.0.0.1:9000",
        ]
        let configuration = try S3Configuration.fromEnvironment(environment: environment)
        #expect(configuration.credentials == AWSCredentials(accessKeyID: "id", secretAccessKey: "secret"))
        #expect(configuration.region == "eu-central-1")
        #expect(configuration.endpoint.absoluteString == "http://127.0.0.1:9000")
        let aws = try S3Configuration.fromEnvironment(environment: ["AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"])
        #expect(aws.endpoint.absoluteString == "https://s3.us-east-1.amazonaws.com")
        #expect(throws: S3Error.self) { try S3Configuration.fromEnvironment(environment: ["AWS_EC2_METADATA_DISABLED": "true", "HOME": "/nonexistent"]) }
    }
}
