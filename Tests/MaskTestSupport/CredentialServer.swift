import Foundation
#if canImport(FoundationNetworking)
// `stats()` reads the server over HTTP with Foundation (mask itself speaks HTTP through libcurl).
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#endif

/// The endpoints a cluster hands credentials out from, played on 127.0.0.1 by a small Python
/// server answering as the documented APIs do:
///
/// - ECS/EKS container credentials (`AWS_CONTAINER_CREDENTIALS_FULL_URI`, `/container-credentials`):
///   the `Authorization` header must be the token in the token file; JSON with `Expiration`
///   (https://docs.aws.amazon.com/sdkref/latest/guide/feature-container-credentials.html);
/// - EC2 IMDSv2 (`AWS_EC2_METADATA_SERVICE_ENDPOINT`): `PUT /latest/api/token` first, every other
///   request with that token, else 401;
/// - the GCE/GKE metadata server (`GCE_METADATA_HOST`): `Metadata-Flavor: Google` required,
///   `.../service-accounts/default/token` and `/email`;
/// - Google's OAuth token endpoint (`/token`): a service account's JWT is verified with PyPI's
///   `google-auth` (`google.auth.jwt.decode`, the key's public certificate, the audience), an
///   authorized user's refresh token checked against its client id and secret;
/// - Google's Security Token Service (`/v1/token`, RFC 8693 token exchange as
///   https://cloud.google.com/iam/docs/reference/sts/rest/v1/TopLevel/token documents it): the
///   audience, token types and the subject token (a file's content at start) must match;
///   and the IAM Credentials API (`/v1/projects/-/serviceAccounts/EMAIL:generateAccessToken`),
///   which takes only a token the STS issued and answers `accessToken` and `expireTime`; and a
///   URL credential source (`/subject-token`, JSON, `Metadata: True` required, as Azure's);
/// - a gate in front of the GCS emulator (`/storage/...`, `/upload/...`): a request passes only
///   with a bearer token this server issued and that has not expired, else 401 — so a client
///   that does not refresh its tokens fails; buckets named `denied-*` answer 403 as GCS does to
///   an identity without the permission.
///
/// Every credential is issued with `lifetime` seconds to live. `stats()` counts the requests.
public final class CredentialServer: @unchecked Sendable {
    public let port: Int
    public let endpoint: String
    let pid: pid_t
    let directory: TemporaryDirectory

    public struct Configuration: Codable, Sendable {
        public var lifetime: Double = 3600
        /// Container credentials: the keys to hand out, and the file whose content is the token.
        public var awsAccessKey = "AKIACONTAINER0000001"
        public var awsSecret = "container-secret-do-not-print"
        public var awsSessionToken = "container-session-token-do-not-print"
        public var awsRoleARN = "arn:aws:iam::123456789012:role/mask-batch"
        public var containerTokenFile = ""
        /// Google: the service account's public key or certificate (PEM), and the token URI the
        /// JWT's audience must be (empty: this server's `/token`).
        public var googleCertificate = ""
        public var googleTokenURI = ""
        public var googleEmail = "mask-batch@mask-tests.iam.gserviceaccount.com"
        public var googleClientID = ""
        public var googleClientSecret = ""
        public var googleRefreshToken = ""
        /// Workload identity federation: the pool provider's audience, the file whose content is
        /// the subject token the STS accepts, and the service account impersonated.
        public var googleAudience = ""
        public var googleSubjectTokenFile = ""
        /// Where the gate forwards GCS requests (the emulator).
        public var upstream = ""
        /// Seconds the gate waits before forwarding each request, as a distant store's latency:
        /// a test of token refresh makes its run outlive the tokens however fast the machine is.
        public var gateDelay: Double = 0

        enum CodingKeys: String, CodingKey {
            case lifetime, upstream
            case gateDelay = "gate_delay"
            case awsAccessKey = "aws_access_key", awsSecret = "aws_secret", awsSessionToken = "aws_session_token", awsRoleARN = "aws_role_arn"
            case containerTokenFile = "container_token_file"
            case googleCertificate = "google_certificate", googleTokenURI = "google_token_uri", googleEmail = "google_email"
            case googleClientID = "google_client_id", googleClientSecret = "google_client_secret", googleRefreshToken = "google_refresh_token"
            case googleAudience = "google_audience", googleSubjectTokenFile = "google_subject_token_file"
        }

        public init() {}
    }

    public init(_ configuration: Configuration, port chosenPort: Int? = nil) {
        directory = TemporaryDirectory()
        let config = try! JSONEncoder().encode(configuration)
        directory.write("config.json", Array(config))
        directory.write("server.py", Self.script)
        var started: (Int, pid_t)?
        for _ in 0..<5 {
            let candidate = chosenPort ?? S3TestServer.freePort()
            var actions = posix_spawn_file_actions_t()
            posix_spawn_file_actions_init(&actions)
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 1, directory.file("server.log"), O_WRONLY | O_CREAT | O_APPEND, 0o644)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
            let pid = Runner.spawn(
                "/usr/bin/env", ["python3", directory.file("server.py"), String(candidate), directory.file("config.json")],
                environment: ["PATH": S3TestServer.searchPath, "HOME": directory.path, "LANG": "C.UTF-8"], actions: &actions)
            posix_spawn_file_actions_destroy(&actions)
            if S3TestServer.waitUntilListening(port: candidate, pid: pid) {
                started = (candidate, pid)
                break
            }
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        precondition(started != nil, "credential server did not start:\n\(String(decoding: directory.read("server.log"), as: UTF8.self).suffix(2000))")
        port = started!.0
        pid = started!.1
        endpoint = "http://127.0.0.1:\(port)"
    }

    /// Stops the server and removes its files.
    public func stop() {
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        directory.remove()
    }

    /// Requests served so far, by kind (`container`, `imds_token`, `imds_credentials`,
    /// `metadata_token`, `jwt_exchange`, `refresh_exchange`, `gate_passed`, `gate_refused`, `refused`).
    public func stats() -> [String: Int] {
        guard let data = try? Data(contentsOf: URL(string: "\(endpoint)/_stats")!),
            let json = try? JSONSerialization.jsonObject(with: data) as? [String: Int]
        else { return [:] }
        return json
    }

    /// What the server logged (failed verifications say why).
    public var log: String { String(decoding: directory.read("server.log"), as: UTF8.self) }

    static let script = #"""
        import sys, json, time, threading, secrets, http.client, urllib.parse
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        port, config = int(sys.argv[1]), json.load(open(sys.argv[2]))
        config["google_token_uri"] = config["google_token_uri"] or "http://127.0.0.1:%d/token" % port
        # The subject token the pool trusts: the file's content when the server starts.
        trusted_subject = open(config["google_subject_token_file"]).read().strip() if config["google_subject_token_file"] else None
        lock = threading.Lock()
        stats, issued, imds_tokens = {}, {}, set()

        def count(kind):
            with lock:
                stats[kind] = stats.get(kind, 0) + 1

        def expiry():
            return time.time() + config["lifetime"]

        def iso(t):
            return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))

        def new_google_token():
            token = "ya29." + secrets.token_urlsafe(24)
            with lock:
                issued[token] = expiry()
            return token

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def answer(self, status, body=b"", content_type="application/json", headers=()):
                if isinstance(body, (dict, list)):
                    body = json.dumps(body).encode()
                elif isinstance(body, str):
                    body = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for name, value in headers:
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def body(self):
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def refuse(self, why, status=401):
                count("refused")
                sys.stderr.write("refused %s %s: %s\n" % (self.command, self.path, why))
                self.answer(status, {"error": {"code": status, "message": why}})

            def do_GET(self): self.route()
            def do_PUT(self): self.route()
            def do_POST(self): self.route()
            def do_DELETE(self): self.route()

            def route(self):
                path = urllib.parse.urlparse(self.path).path
                if path == "/_stats":
                    with lock:
                        return self.answer(200, dict(stats))
                if path == "/container-credentials":
                    return self.container()
                if path.startswith("/latest/"):
                    return self.imds(path)
                if path.startswith("/computeMetadata/v1/"):
                    return self.metadata(path)
                if path == "/token":
                    return self.oauth()
                if path == "/subject-token":
                    # A URL credential source as Azure's instance metadata serves one: JSON, a header required.
                    self.body()
                    if self.headers.get("Metadata") != "True":
                        return self.refuse("Metadata: True missing", 400)
                    count("subject_url")
                    return self.answer(200, {"access_token": trusted_subject, "token_type": "Bearer"})
                if path == "/v1/token":
                    return self.sts()
                if path.startswith("/v1/projects/-/serviceAccounts/") and path.endswith(":generateAccessToken"):
                    return self.impersonate(path)
                if path.startswith("/storage/") or path.startswith("/upload/") or path.startswith("/download/"):
                    return self.gate()
                self.refuse("no such endpoint", 404)

            def container(self):
                self.body()
                expected = open(config["container_token_file"]).read().strip()
                if self.headers.get("Authorization") != expected:
                    return self.refuse("wrong or missing container authorization token")
                count("container")
                self.answer(200, {"AccessKeyId": config["aws_access_key"], "SecretAccessKey": config["aws_secret"],
                                  "Token": config["aws_session_token"], "Expiration": iso(expiry()), "RoleArn": config["aws_role_arn"]})

            def imds(self, path):
                self.body()
                if path == "/latest/api/token":
                    if self.command != "PUT" or not self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
                        return self.refuse("IMDSv2 token: PUT with X-aws-ec2-metadata-token-ttl-seconds", 400)
                    token = secrets.token_urlsafe(16)
                    with lock:
                        imds_tokens.add(token)
                    count("imds_token")
                    return self.answer(200, token, "text/plain")
                if self.headers.get("X-aws-ec2-metadata-token") not in imds_tokens:
                    return self.refuse("IMDSv2 session token missing or unknown")
                if path == "/latest/meta-data/iam/security-credentials/":
                    return self.answer(200, "mask-instance-role", "text/plain")
                if path == "/latest/meta-data/iam/security-credentials/mask-instance-role":
                    count("imds_credentials")
                    return self.answer(200, {"Code": "Success", "Type": "AWS-HMAC", "AccessKeyId": config["aws_access_key"],
                                             "SecretAccessKey": config["aws_secret"], "Token": config["aws_session_token"],
                                             "Expiration": iso(expiry()), "LastUpdated": iso(time.time())})
                self.refuse("no such metadata", 404)

            def metadata(self, path):
                self.body()
                if self.headers.get("Metadata-Flavor") != "Google":
                    return self.refuse("Metadata-Flavor: Google missing", 403)
                if path == "/computeMetadata/v1/instance/service-accounts/default/email":
                    return self.answer(200, config["google_email"], "application/text")
                if path == "/computeMetadata/v1/instance/service-accounts/default/token":
                    count("metadata_token")
                    return self.answer(200, {"access_token": new_google_token(), "expires_in": int(config["lifetime"]), "token_type": "Bearer"})
                self.refuse("no such metadata", 404)

            def oauth(self):
                form = urllib.parse.parse_qs(self.body().decode())
                grant = form.get("grant_type", [""])[0]
                if grant == "urn:ietf:params:oauth:grant-type:jwt-bearer":
                    from google.auth import jwt
                    try:
                        claims = jwt.decode(form["assertion"][0], certs=config["google_certificate"], audience=config["google_token_uri"])
                    except Exception as error:
                        return self.refuse("JWT not accepted by google-auth: %s" % error, 400)
                    if claims.get("iss") != config["google_email"] or "devstorage" not in claims.get("scope", ""):
                        return self.refuse("JWT claims: iss %r scope %r" % (claims.get("iss"), claims.get("scope")), 400)
                    count("jwt_exchange")
                elif grant == "refresh_token":
                    if (form.get("client_id", [""])[0], form.get("client_secret", [""])[0], form.get("refresh_token", [""])[0]) != \
                            (config["google_client_id"], config["google_client_secret"], config["google_refresh_token"]):
                        return self.refuse("unknown client or refresh token", 400)
                    count("refresh_exchange")
                else:
                    return self.refuse("unsupported grant_type %r" % grant, 400)
                self.answer(200, {"access_token": new_google_token(), "expires_in": int(config["lifetime"]), "token_type": "Bearer"})

            def sts(self):
                form = urllib.parse.parse_qs(self.body().decode())
                one = lambda name: form.get(name, [""])[0]
                expected = {"grant_type": "urn:ietf:params:oauth:grant-type:token-exchange", "audience": config["google_audience"],
                            "requested_token_type": "urn:ietf:params:oauth:token-type:access_token",
                            "subject_token_type": "urn:ietf:params:oauth:token-type:jwt"}
                for name, value in expected.items():
                    if one(name) != value:
                        return self.answer(400, {"error": "invalid_request", "error_description": "%s: %r" % (name, one(name))})
                if "https://www.googleapis.com/auth/" not in one("scope"):
                    return self.answer(400, {"error": "invalid_scope", "error_description": "scope %r" % one("scope")})
                if one("subject_token") != trusted_subject:
                    count("sts_refused")
                    return self.answer(400, {"error": "invalid_grant", "error_description": "The subject token is invalid or expired."})
                count("sts_exchange")
                self.answer(200, {"access_token": new_google_token(), "expires_in": int(config["lifetime"]),
                                  "issued_token_type": "urn:ietf:params:oauth:token-type:access_token", "token_type": "Bearer"})

            def impersonate(self, path):
                request = json.loads(self.body() or b"{}")
                token = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
                with lock:
                    until = issued.get(token)
                if until is None or until < time.time():
                    return self.refuse("impersonation: no valid federated token")
                email = path.split("/serviceAccounts/", 1)[1].rsplit(":", 1)[0]
                if email != config["google_email"]:
                    return self.answer(403, {"error": {"code": 403, "status": "PERMISSION_DENIED", "message":
                        "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist)."}})
                if not request.get("scope"):
                    return self.answer(400, {"error": {"code": 400, "message": "scope is required"}})
                count("impersonation")
                self.answer(200, {"accessToken": new_google_token(), "expireTime": iso(expiry())})

            def gate(self):
                body = self.body()
                token = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
                with lock:
                    until = issued.get(token)
                if until is None or until < time.time():
                    count("gate_refused")
                    return self.refuse("expired or unknown access token" if until else "no valid access token")
                bucket = urllib.parse.urlparse(self.path).path.split("/b/", 1)[-1].split("/", 1)[0]
                if bucket.startswith("denied-"):
                    # As GCS answers an identity without the IAM permission.
                    count("gate_denied")
                    return self.answer(403, {"error": {"code": 403, "errors": [{"reason": "forbidden"}], "message":
                        "caller does not have storage.objects.list access to the Google Cloud Storage bucket. Permission 'storage.objects.list' denied on resource (or it may not exist)."}})
                count("gate_passed")
                time.sleep(config.get("gate_delay", 0))
                upstream = urllib.parse.urlparse(config["upstream"])
                connection = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("authorization", "connection", "content-length")}
                connection.request(self.command, self.path, body=body, headers=headers)
                response = connection.getresponse()
                data = response.read()
                passed = [(k, v) for k, v in response.getheaders() if k.lower() not in ("content-length", "connection", "transfer-encoding", "content-type")]
                self.answer(response.status, data, response.getheader("Content-Type") or "application/octet-stream", passed)

            def log_message(self, *args):
                pass

        ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
        """#
}
