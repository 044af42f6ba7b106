import Foundation
import MaskTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The AWS credential chain as clusters use it, against moto checking every signature (so a
/// request signed with anything but the credentials the chain found fails) and the container and
/// instance-metadata endpoints played by `CredentialServer`. moto checks signatures of requests
/// without a query string only, so the checked runs read one object in pipe mode (one GET); the
/// refresh during a long batch runs on the unchecking server.
@Suite(.serialized) struct AWSCredentialTests {
    let directory = TemporaryDirectory()

    func batch(_ arguments: [String], environment: [String: String]) -> (RunResult, [String: Any], String) {
        let rules = directory.write("rules.yaml", BatchFixtures.rules)
        unlink(directory.file("report.json"))
        let result = Runner.mask(["batch", "--rules", rules, "--report", directory.file("report.json")] + arguments, environment: environment, in: directory)
        let report = directory.read("report.json")
        return (result, BatchFixtures.json(report), String(decoding: report, as: UTF8.self))
    }

    /// Pipe mode: one object into a local folder.
    func pipe(_ uri: String, environment: [String: String]) -> RunResult {
        let rules = directory.write("rules.yaml", BatchFixtures.rules)
        let out = directory.file("pipe-\(UUID().uuidString)")
        let result = Runner.mask(["--rules", rules, "--input", uri, "--output", out], environment: environment, in: directory)
        if result.status == 0 { #expect(FileManager.default.fileExists(atPath: "\(out)/_SUCCESS")) }
        return result
    }

    /// The environment of a pod: region and endpoint, no keys.
    func pod(_ server: S3TestServer) -> [String: String] {
        ["AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": server.endpoint, "AWS_EC2_METADATA_DISABLED": "true"]
    }

    func inputs(count: Int, in server: S3TestServer) -> String {
        let bucket = server.createBucket(in: directory)
        for index in 0..<count { directory.write("src/f\(index).csv", Fixtures.syntheticCSV(rows: 3000 + index)) }
        server.upload(directory.file("src"), bucket: bucket, prefix: "in/", in: directory)
        return bucket
    }

    @Test func webIdentityTokenIsExchangedWithSTSForTheRolesCredentials() throws {
        defer { directory.remove() }
        // Four set-up requests, then mask's AssumeRoleWithWebIdentity (unsigned, as STS wants it);
        // every request after that must carry a valid signature of the role's temporary keys.
        let server = S3TestServer.dedicated(unauthenticatedRequests: 5)
        defer { server.stop() }
        let result = server.python("""
            iam = boto3.client("iam", endpoint_url=s3.meta.endpoint_url, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
            role = iam.create_role(RoleName="mask-batch", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"Federated": "arn:aws:iam::123456789012:oidc-provider/eks"}, "Action": "sts:AssumeRoleWithWebIdentity"}]}))
            iam.put_role_policy(RoleName="mask-batch", PolicyName="s3", PolicyDocument=json.dumps(
                {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
            s3.create_bucket(Bucket="irsa-bucket")
            s3.put_object(Bucket="irsa-bucket", Key="in/users.csv", Body=open(sys.argv[1], "rb").read())
            print(role["Role"]["Arn"])
            """, [directory.write("users.csv", Fixtures.syntheticCSV(rows: 500))], in: directory)
        let role = result.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        let token = directory.write("eks-token", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6ZGF0YTptYXNrIn0.c2lnbmF0dXJl\n")
        var environment = pod(server)
        environment["AWS_ROLE_ARN"] = role
        environment["AWS_WEB_IDENTITY_TOKEN_FILE"] = token
        let run = pipe("s3://irsa-bucket/in/users.csv", environment: environment)
        #expect(run.status == 0, "\(run.stderr)\n\((try? String(contentsOfFile: "\(server.directory)/server.log", encoding: .utf8))?.suffix(3000) ?? "")")
        #expect(!run.stderr.contains("eyJhbGciOi"), "the web identity token was printed")
    }

    @Test func aMissingTokenFileOrNoCredentialsAtAllSayWhatWasTried() throws {
        defer { directory.remove() }
        let server = S3TestServer.shared
        var environment = pod(server)
        environment["AWS_ROLE_ARN"] = "arn:aws:iam::123456789012:role/mask-batch"
        environment["AWS_WEB_IDENTITY_TOKEN_FILE"] = directory.file("no-such-token")
        let (missing, _, _) = batch(["--input", "s3://any-bucket/in/", "--output", directory.file("out")], environment: environment)
        #expect(missing.status == 2, "\(missing.stderr)")
        #expect(missing.stderr.contains("cannot read the web identity token file \(directory.file("no-such-token"))"), "\(missing.stderr)")

        let (none, _, _) = batch(["--input", "s3://any-bucket/in/", "--output", directory.file("out")], environment: pod(server))
        #expect(none.status == 2, "\(none.stderr)")
        #expect(none.stderr.contains("no AWS credentials found"), "\(none.stderr)")
    }

    @Test func containerCredentialsAreFetchedWithTheTokenAndRefreshedBeforeTheyExpire() throws {
        defer { directory.remove() }
        let server = S3TestServer.verifying
        let bucket = inputs(count: 1, in: server)
        var configuration = CredentialServer.Configuration()
        configuration.awsAccessKey = server.accessKeyID
        configuration.awsSecret = server.secretAccessKey
        configuration.awsSessionToken = ""
        configuration.containerTokenFile = directory.write("pod-identity-token", "pod-identity-token-4711")
        let agent = CredentialServer(configuration)
        defer { agent.stop() }
        var environment = pod(server)
        environment["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = "\(agent.endpoint)/container-credentials"
        environment["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] = configuration.containerTokenFile
        let checked = pipe("s3://\(bucket)/in/f0.csv", environment: environment)
        #expect(checked.status == 0, "\(checked.stderr)\n\(agent.log)")
        #expect(agent.stats()["container"] == 1, "\(agent.stats())")

        // A batch that outlives its credentials (one second each) asks for new ones in time.
        let plain = S3TestServer.shared
        let many = inputs(count: 6, in: plain)
        var short = configuration
        short.lifetime = 1
        let quick = CredentialServer(short)
        defer { quick.stop() }
        environment = pod(plain)
        environment["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = "\(quick.endpoint)/container-credentials"
        environment["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] = configuration.containerTokenFile
        let (run, report, text) = batch(
            ["--input", "s3://\(many)/in/", "--output", "s3://\(many)/out/", "--parallel-files", "1", "--threads", "1"], environment: environment)
        #expect(run.status == 0, "\(run.stderr)\n\(quick.log)")
        #expect(report["files_masked"] as? Int == 6)
        #expect(quick.stats()["container"] ?? 0 >= 2, "credentials were not refreshed: \(quick.stats())")
        #expect(quick.stats()["refused"] == nil, "\(quick.log)")
        // Nothing secret anywhere the user or a log collector sees.
        plain.download(bucket: many, prefix: "out/", to: directory.file("dl"), in: directory)
        let written = filesRecursively(directory.file("dl")).filter { $0.hasPrefix("_") }.map { String(decoding: directory.read("dl/\($0)"), as: UTF8.self) }
        #expect(!written.isEmpty)
        for secret in [server.secretAccessKey, "pod-identity-token-4711"] {
            #expect(!run.stderr.contains(secret) && !text.contains(secret) && !written.joined().contains(secret), "a secret was printed")
        }

        // A wrong token: the endpoint refuses, and the error says where it came from.
        directory.write("wrong-token", "not-the-token")
        environment["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] = directory.file("wrong-token")
        let (refused, _, _) = batch(["--input", "s3://\(many)/in/", "--output", directory.file("out")], environment: environment)
        #expect(refused.status == 2, "\(refused.stderr)")
        #expect(refused.stderr.contains("container credentials endpoint answered HTTP 401"), "\(refused.stderr)")
        #expect(!refused.stderr.contains("not-the-token"))
    }

    @Test func instanceMetadataV2GivesTheInstanceRolesCredentials() throws {
        defer { directory.remove() }
        let server = S3TestServer.verifying
        let bucket = inputs(count: 2, in: server)
        var configuration = CredentialServer.Configuration()
        configuration.awsAccessKey = server.accessKeyID
        configuration.awsSecret = server.secretAccessKey
        configuration.awsSessionToken = ""
        let metadata = CredentialServer(configuration)
        defer { metadata.stop() }
        var environment = pod(server)
        environment["AWS_EC2_METADATA_DISABLED"] = nil
        environment["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = metadata.endpoint
        let run = pipe("s3://\(bucket)/in/f1.csv", environment: environment)
        #expect(run.status == 0, "\(run.stderr)\n\(metadata.log)")
        #expect(metadata.stats()["imds_token"] ?? 0 >= 1 && metadata.stats()["imds_credentials"] ?? 0 >= 1, "\(metadata.stats())")
        #expect(metadata.stats()["refused"] == nil, "\(metadata.log)")
    }

    @Test func aProfileFromTheSharedFilesWithKeysOrARoleToAssume() throws {
        defer { directory.remove() }
        let server = S3TestServer.verifying
        let bucket = inputs(count: 1, in: server)
        let role = server.python("""
            iam = boto3.client("iam", endpoint_url=s3.meta.endpoint_url, region_name="us-east-1", aws_access_key_id=sys.argv[2],
                               aws_secret_access_key=sys.argv[3])
            name = "mask-profile-" + sys.argv[1]
            role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}))
            iam.put_role_policy(RoleName=name, PolicyName="s3", PolicyDocument=json.dumps(
                {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
            print(role["Role"]["Arn"])
            """, [bucket, server.accessKeyID, server.secretAccessKey], in: directory).stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        directory.write(".aws/credentials", """
            [default]
            aws_access_key_id = AKIAWRONGDEFAULT0000
            aws_secret_access_key = wrong

            [masking]
            aws_access_key_id = \(server.accessKeyID)
            aws_secret_access_key = \(server.secretAccessKey)
            """)
        directory.write(".aws/config", """
            [profile assumer]
            role_arn = \(role)
            source_profile = masking
            role_session_name = mask-tests
            """)
        var environment = pod(server)
        environment["AWS_PROFILE"] = "masking"
        let keys = pipe("s3://\(bucket)/in/f0.csv", environment: environment)
        #expect(keys.status == 0, "\(keys.stderr)")

        environment["AWS_PROFILE"] = "assumer"
        let assumed = pipe("s3://\(bucket)/in/f0.csv", environment: environment)
        #expect(assumed.status == 0, "\(assumed.stderr)")

        // The default profile's keys are wrong: the store refuses, and the error names the
        // bucket, the operation and the key's ends, never the secret.
        environment["AWS_PROFILE"] = nil
        let denied = pipe("s3://\(bucket)/in/f0.csv", environment: environment)
        #expect(denied.status == 3, "\(denied.stderr)")
        #expect(denied.stderr.contains("get s3://\(bucket)/in/f0.csv: HTTP 403"), "\(denied.stderr)")
        #expect(!denied.stderr.contains("wrong\n") && !denied.stderr.contains(server.secretAccessKey))
        #expect(denied.stderr.contains("(as access key AKIA…0000 (profile default))"), "\(denied.stderr)")

        environment["AWS_PROFILE"] = "nobody"
        let unknown = pipe("s3://\(bucket)/in/f0.csv", environment: environment)
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("AWS_PROFILE 'nobody': no such profile"), "\(unknown.stderr)")
    }
}
