import Foundation
import MaskTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Application Default Credentials as a GKE or Composer workload finds them. The GCS emulator
/// sits behind `CredentialServer`'s gate, which lets a request through only with an access
/// token it issued and that has not expired; its token endpoint checks the JWT mask signs with
/// Google's own `google-auth` library.
@Suite(.serialized) struct GoogleCredentialTests {
    let directory = TemporaryDirectory()
    let gcs = GCSTestServer.shared

    /// A new RSA key pair (PyPI's `cryptography`): the private key PEM and the public key PEM.
    func keyPair() -> (privateKey: String, publicKey: String) {
        let result = Runner.run("/usr/bin/env", ["python3", "-c", """
            import json
            from cryptography.hazmat.primitives.asymmetric import rsa
            from cryptography.hazmat.primitives import serialization
            k = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            print(json.dumps([k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode(),
                              k.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()]))
            """], environment: ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "HOME": directory.path], in: directory)
        let pair = try! JSONSerialization.jsonObject(with: Data(result.stdout)) as! [String]
        return (pair[0], pair[1])
    }

    func json(_ object: [String: String]) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    func inputs(_ count: Int) -> String {
        let bucket = gcs.createBucket(in: directory)
        for index in 0..<count { directory.write("src/f\(index).csv", Fixtures.syntheticCSV(rows: 2500 + index)) }
        gcs.upload(directory.file("src"), bucket: bucket, prefix: "in/", in: directory)
        return bucket
    }

    func mask(_ arguments: [String], environment: [String: String], report: String? = nil) -> RunResult {
        let rules = directory.write("rules.yaml", BatchFixtures.rules)
        let command = arguments.first == "batch" ? ["batch"] : []
        return Runner.mask(command + ["--rules", rules] + arguments.dropFirst(command.count), environment: environment, in: directory)
    }

    /// What a user or a log collector sees after a run: stderr, the report, the manifests written.
    func visible(_ run: RunResult, bucket: String, prefix: String) -> String {
        gcs.download(bucket: bucket, prefix: prefix, to: directory.file("seen-\(prefix)"), in: directory)
        let manifests = filesRecursively(directory.file("seen-\(prefix)")).filter { $0.hasPrefix("_") }
            .map { String(decoding: directory.read("seen-\(prefix)/\($0)"), as: UTF8.self) }
        return run.stderr + String(decoding: run.stdout, as: UTF8.self) + String(decoding: directory.read("report.json"), as: UTF8.self) + manifests.joined()
    }

    @Test func serviceAccountKeyJWTIsAcceptedByGoogleAuthAndTokensAreRefreshedDuringTheRun() throws {
        defer { directory.remove() }
        let bucket = inputs(6)
        let (privateKey, publicKey) = keyPair()
        var configuration = CredentialServer.Configuration()
        configuration.googleCertificate = publicKey
        configuration.upstream = gcs.endpoint
        // Two seconds per token: the run outlives several (a quarter second per request, as a
        // distant store answers), and the gate refuses an expired one.
        configuration.lifetime = 2
        configuration.gateDelay = 0.25
        let google = CredentialServer(configuration)
        defer { google.stop() }
        let key = directory.write("sa.json", json([
            "type": "service_account", "project_id": "mask-tests", "private_key_id": "0123abcd", "private_key": privateKey,
            "client_email": configuration.googleEmail, "client_id": "1234567890", "token_uri": "\(google.endpoint)/token",
        ]))
        let environment = ["GOOGLE_APPLICATION_CREDENTIALS": key]
        let run = mask(
            ["batch", "--input", "gs://\(bucket)/in/", "--output", "gs://\(bucket)/out/", "--gcs-endpoint", google.endpoint, "--parallel-files", "1",
             "--threads", "1", "--report", directory.file("report.json")], environment: environment)
        #expect(run.status == 0, "\(run.stderr)\n\(google.log)")
        #expect(BatchFixtures.json(directory.read("report.json"))["files_masked"] as? Int == 6)
        let stats = google.stats()
        #expect(stats["jwt_exchange"] ?? 0 >= 2, "tokens were not refreshed: \(stats)\n\(google.log)")
        #expect(stats["gate_refused"] == nil && stats["refused"] == nil, "\(stats)\n\(google.log)")
        let seen = visible(run, bucket: bucket, prefix: "out/")
        let keyBody = privateKey.split(separator: "\n")[1]
        #expect(!seen.contains(keyBody) && !seen.contains("ya29."), "a key or token was printed")

        // No permission on a bucket: the error names the operation, the bucket and the account.
        let denied = mask(["batch", "--input", "gs://denied-raw/day/", "--output", directory.file("out"), "--gcs-endpoint", google.endpoint], environment: environment)
        #expect(denied.status == 3, "\(denied.stderr)")
        #expect(denied.stderr.contains("list gs://denied-raw/day/: HTTP 403 forbidden"), "\(denied.stderr)")
        #expect(denied.stderr.contains("(as service account \(configuration.googleEmail))"), "\(denied.stderr)")
        #expect(!denied.stderr.contains("ya29.") && !denied.stderr.contains(keyBody))

        // A key the token endpoint does not know (another key pair): refused, and said so.
        let other = keyPair()
        let wrong = directory.write("wrong.json", json([
            "type": "service_account", "private_key": other.privateKey, "client_email": configuration.googleEmail, "token_uri": "\(google.endpoint)/token",
        ]))
        let refused = mask(["--input", "gs://\(bucket)/in/f0.csv", "--gcs-endpoint", google.endpoint], environment: ["GOOGLE_APPLICATION_CREDENTIALS": wrong])
        #expect(refused.status == 2, "\(refused.stderr)")
        #expect(refused.stderr.contains("service account \(configuration.googleEmail): the token endpoint 127.0.0.1 refused"), "\(refused.stderr)")
    }

    @Test func gcloudAuthorizedUserFileIsFoundWhenNoVariableIsSet() throws {
        defer { directory.remove() }
        let bucket = inputs(1)
        var configuration = CredentialServer.Configuration()
        configuration.upstream = gcs.endpoint
        configuration.googleClientID = "764086051850-test.apps.googleusercontent.com"
        configuration.googleClientSecret = "d-FL95Q19q7MQmFpd7hHD0Ty"
        configuration.googleRefreshToken = "1//0refresh-token-do-not-print"
        let google = CredentialServer(configuration)
        defer { google.stop() }
        directory.write(".config/gcloud/application_default_credentials.json", json([
            "type": "authorized_user", "client_id": configuration.googleClientID, "client_secret": configuration.googleClientSecret,
            "refresh_token": configuration.googleRefreshToken, "token_uri": "\(google.endpoint)/token",
        ]))
        let run = mask(["--input", "gs://\(bucket)/in/f0.csv", "--output", "gs://\(bucket)/users/", "--gcs-endpoint", google.endpoint], environment: [:])
        #expect(run.status == 0, "\(run.stderr)\n\(google.log)")
        #expect(google.stats()["refresh_exchange"] == 1, "\(google.stats())")
        let seen = visible(run, bucket: bucket, prefix: "users/")
        #expect(seen.contains("\"records_in\""))
        for secret in [configuration.googleClientSecret, configuration.googleRefreshToken, "ya29."] { #expect(!seen.contains(secret)) }

        directory.write(".config/gcloud/application_default_credentials.json", json([
            "type": "authorized_user", "client_id": configuration.googleClientID, "client_secret": configuration.googleClientSecret,
            "refresh_token": "1//0revoked", "token_uri": "\(google.endpoint)/token",
        ]))
        let revoked = mask(["--input", "gs://\(bucket)/in/f0.csv", "--gcs-endpoint", google.endpoint], environment: [:])
        #expect(revoked.status == 2, "\(revoked.stderr)")
        #expect(revoked.stderr.contains("authorized user (OAuth client \(configuration.googleClientID))"), "\(revoked.stderr)")
        #expect(!revoked.stderr.contains("1//0revoked") && !revoked.stderr.contains(configuration.googleClientSecret))
    }

    @Test func metadataServerTokensForWorkloadIdentity() throws {
        defer { directory.remove() }
        let bucket = inputs(2)
        var configuration = CredentialServer.Configuration()
        configuration.upstream = gcs.endpoint
        configuration.googleEmail = "composer-masking@mask-tests.iam.gserviceaccount.com"
        let metadata = CredentialServer(configuration)
        defer { metadata.stop() }
        let environment = ["GCE_METADATA_HOST": "127.0.0.1:\(metadata.port)"]
        let run = mask(
            ["batch", "--input", "gs://\(bucket)/in/", "--output", "gs://\(bucket)/out/", "--gcs-endpoint", metadata.endpoint,
             "--report", directory.file("report.json")], environment: environment)
        #expect(run.status == 0, "\(run.stderr)\n\(metadata.log)")
        #expect(metadata.stats()["metadata_token"] == 1, "\(metadata.stats())")
        let denied = mask(["batch", "--input", "gs://denied-x/in/", "--output", directory.file("o"), "--gcs-endpoint", metadata.endpoint], environment: environment)
        #expect(denied.stderr.contains("(as service account composer-masking@mask-tests.iam.gserviceaccount.com (metadata server))"), "\(denied.stderr)")

        // Nothing found at all: what was looked for, in ADC's order.
        let none = mask(["batch", "--input", "gs://\(bucket)/in/", "--output", directory.file("o2"), "--gcs-endpoint", metadata.endpoint],
                        environment: ["GCE_METADATA_HOST": "127.0.0.1:1"])
        #expect(none.status == 2, "\(none.stderr)")
        #expect(none.stderr.contains("no Google credentials found: GOOGLE_APPLICATION_CREDENTIALS is not set"), "\(none.stderr)")
    }

    /// Workload identity federation as a pod outside Google Cloud uses it: the file
    /// `gcloud iam workload-identity-pools create-cred-config` writes, a projected Kubernetes
    /// token as the subject, the STS exchange, then impersonation of a service account.
    @Test func externalAccountExchangesTheSubjectTokenAndImpersonatesTheServiceAccount() throws {
        defer { directory.remove() }
        let bucket = inputs(4)
        let subject = "eyJhbGciOiJSUzI1NiIsImtpZCI6Imt1YmUifQ.projected-token-do-not-print.c2lnbmF0dXJl"
        var configuration = CredentialServer.Configuration()
        configuration.upstream = gcs.endpoint
        configuration.lifetime = 2
        configuration.gateDelay = 0.25
        configuration.googleAudience = "//iam.googleapis.com/projects/123456789/locations/global/workloadIdentityPools/eks/providers/eks-prod"
        configuration.googleSubjectTokenFile = directory.write("var/run/secrets/tokens/gcp-ksa/token", subject)
        let google = CredentialServer(configuration)
        defer { google.stop() }
        var info: [String: Any] = [
            "type": "external_account", "audience": configuration.googleAudience,
            "subject_token_type": "urn:ietf:params:oauth:token-type:jwt", "token_url": "\(google.endpoint)/v1/token",
            "credential_source": ["file": configuration.googleSubjectTokenFile, "format": ["type": "text"]],
            "service_account_impersonation_url": "\(google.endpoint)/v1/projects/-/serviceAccounts/\(configuration.googleEmail):generateAccessToken",
        ]
        let path = directory.write("federation.json", Array(try JSONSerialization.data(withJSONObject: info, options: [.sortedKeys])))

        // The server answers as Google does: Google's own client (google-auth) gets a token from it.
        let reference = Runner.run("/usr/bin/env", ["python3", "-c", """
            import json, sys, google.auth.transport.requests
            from google.auth import identity_pool
            credentials = identity_pool.Credentials.from_info(json.load(open(sys.argv[1])), scopes=["https://www.googleapis.com/auth/devstorage.read_write"])
            credentials.refresh(google.auth.transport.requests.Request())
            print("ok" if credentials.token.startswith("ya29.") else "no token")
            """, path], environment: ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "HOME": directory.path], in: directory)
        #expect(String(decoding: reference.stdout, as: UTF8.self).contains("ok"), "google-auth: \(reference.stderr)\n\(google.log)")
        let before = google.stats()

        let environment = ["GOOGLE_APPLICATION_CREDENTIALS": path]
        let run = mask(
            ["batch", "--input", "gs://\(bucket)/in/", "--output", "gs://\(bucket)/out/", "--gcs-endpoint", google.endpoint, "--parallel-files", "1",
             "--threads", "1", "--report", directory.file("report.json")], environment: environment)
        #expect(run.status == 0, "\(run.stderr)\n\(google.log)")
        #expect(BatchFixtures.json(directory.read("report.json"))["files_masked"] as? Int == 4)
        let stats = google.stats()
        // Two-second tokens: the run refreshed them, each time through both exchanges.
        #expect((stats["sts_exchange"] ?? 0) - (before["sts_exchange"] ?? 0) >= 2, "\(stats)")
        #expect((stats["impersonation"] ?? 0) - (before["impersonation"] ?? 0) >= 2, "\(stats)")
        #expect(stats["gate_refused"] == nil, "\(stats)\n\(google.log)")
        let seen = visible(run, bucket: bucket, prefix: "out/")
        #expect(!seen.contains("projected-token-do-not-print") && !seen.contains("ya29."), "a token was printed")

        // A bucket the service account may not read: the error names it, as for a key.
        let denied = mask(["batch", "--input", "gs://denied-raw/day/", "--output", directory.file("o"), "--gcs-endpoint", google.endpoint], environment: environment)
        #expect(denied.status == 3, "\(denied.stderr)")
        #expect(denied.stderr.contains("(as service account \(configuration.googleEmail) (workload identity federation))"), "\(denied.stderr)")

        // The subject token rotated to one the pool does not trust: refused by the STS, said so.
        directory.write("var/run/secrets/tokens/gcp-ksa/token", "eyJhbGciOiJSUzI1NiJ9.stale-token-do-not-print.c2ln")
        let refused = mask(["--input", "gs://\(bucket)/in/f0.csv", "--gcs-endpoint", google.endpoint], environment: environment)
        #expect(refused.status == 2, "\(refused.stderr)")
        #expect(refused.stderr.contains("the token endpoint 127.0.0.1 refused: invalid_grant"), "\(refused.stderr)")
        #expect(!refused.stderr.contains("stale-token-do-not-print"))

        // A URL credential source answering JSON, with the header it requires; no impersonation:
        // the federated token itself is used.
        info["credential_source"] = ["url": "\(google.endpoint)/subject-token", "headers": ["Metadata": "True"],
                                     "format": ["type": "json", "subject_token_field_name": "access_token"]]
        info["service_account_impersonation_url"] = nil
        directory.write("var/run/secrets/tokens/gcp-ksa/token", subject)
        let byURL = directory.write("url.json", Array(try JSONSerialization.data(withJSONObject: info)))
        let direct = mask(["--input", "gs://\(bucket)/in/f0.csv", "--gcs-endpoint", google.endpoint], environment: ["GOOGLE_APPLICATION_CREDENTIALS": byURL])
        #expect(direct.status == 0, "\(direct.stderr)\n\(google.log)")
        #expect(google.stats()["subject_url"] ?? 0 >= 1, "\(google.stats())")

        // Executable sources are refused by name, not half-supported.
        info["credential_source"] = ["executable": ["command": "/usr/bin/print-token"]]
        let executable = directory.write("exec.json", Array(try JSONSerialization.data(withJSONObject: info)))
        let unsupported = mask(["--input", "gs://\(bucket)/in/f0.csv", "--gcs-endpoint", google.endpoint], environment: ["GOOGLE_APPLICATION_CREDENTIALS": executable])
        #expect(unsupported.status == 2 && unsupported.stderr.contains("executable-sourced credentials are not supported"), "\(unsupported.stderr)")
    }
}
