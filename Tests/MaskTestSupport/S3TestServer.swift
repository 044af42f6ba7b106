import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A local S3-compatible server for the batch tests: moto's server (`python3 -m moto.server`,
/// from PyPI's `moto[server]`) on a free port on 127.0.0.1, started once per test process and
/// stopped when it exits. Tests read and write objects through boto3 (which moto brings), so
/// what they check does not go through mask's own S3 client.
public final class S3TestServer: @unchecked Sendable {
    public let port: Int
    public let endpoint: String
    public let directory: String
    let pid: pid_t

    /// Multipart parts must be at least this large (except the last), like S3's 5 MiB, scaled
    /// down so tests can force multipart uploads with small outputs.
    public static let minimumPartSize = 64 << 10

    public static let shared: S3TestServer = {
        let server = S3TestServer()
        serverToStop = server.pid
        directoryToRemove = server.directory
        atexit {
            if let pid = S3TestServer.serverToStop {
                // SIGKILL: its state is in memory only, and SIGTERM can arrive blocked (a child
                // inherits the signal mask of the test runner's thread that spawned it).
                kill(pid, SIGKILL)
                var status: Int32 = 0
                waitpid(pid, &status, 0)
            }
            if let directory = S3TestServer.directoryToRemove { try? FileManager.default.removeItem(atPath: directory) }
        }
        return server
    }()

    /// A second server that checks every request's Signature V4 (moto's IAM emulation), with the
    /// access key of a user it knows. moto's check covers requests without a query string.
    public static let verifying: S3TestServer = {
        let server = S3TestServer(checkSignatures: true)
        verifyingToStop = server.pid
        atexit {
            if let pid = S3TestServer.verifyingToStop {
                kill(pid, SIGKILL)
                var status: Int32 = 0
                waitpid(pid, &status, 0)
            }
        }
        return server
    }()

    nonisolated(unsafe) static var serverToStop: pid_t?
    nonisolated(unsafe) static var verifyingToStop: pid_t?
    nonisolated(unsafe) static var directoryToRemove: String?

    /// Credentials this server accepts.
    public private(set) var accessKeyID = "testing"
    public private(set) var secretAccessKey = "testing"

    /// The PATH that finds the python3 with moto (pyenv shims, a virtualenv, ...).
    static let searchPath = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"

    /// A server of its own that checks signatures after its first `unauthenticatedRequests`
    /// requests (the test's set-up, and a first call of mask's that moto cannot check, such as
    /// the unsigned STS `AssumeRoleWithWebIdentity`). Stop it with `stop()`.
    public static func dedicated(unauthenticatedRequests: Int) -> S3TestServer {
        S3TestServer(checkSignatures: false, unauthenticatedRequests: unauthenticatedRequests)
    }

    /// Stops a `dedicated` server.
    public func stop() {
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        try? FileManager.default.removeItem(atPath: directory)
    }

    init(checkSignatures: Bool = false, unauthenticatedRequests: Int? = nil) {
        var template = Array("\(FileManager.default.temporaryDirectory.path)/mask-s3-XXXXXX".utf8CString)
        precondition(template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) } != nil)
        directory = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var chosen: (Int, pid_t)?
        for _ in 0..<5 {
            let candidate = Self.freePort()
            var actions = posix_spawn_file_actions_t()
            posix_spawn_file_actions_init(&actions)
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 1, "\(directory)/server.log", O_WRONLY | O_CREAT | O_APPEND, 0o644)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
            let pid = Runner.spawn(
                "/usr/bin/env", ["python3", "-m", "moto.server", "-H", "127.0.0.1", "-p", String(candidate)],
                environment: [
                    "PATH": Self.searchPath, "HOME": ProcessInfo.processInfo.environment["HOME"] ?? "/root",
                    "S3_UPLOAD_PART_MIN_SIZE": String(Self.minimumPartSize), "LANG": "C.UTF-8",
                    // The first requests (creating the user and its key) go unchecked, all later ones are verified.
                    "INITIAL_NO_AUTH_ACTION_COUNT": unauthenticatedRequests.map(String.init) ?? (checkSignatures ? "3" : ""),
                ].filter { !$0.value.isEmpty },
                actions: &actions)
            posix_spawn_file_actions_destroy(&actions)
            if Self.waitUntilListening(port: candidate, pid: pid) {
                chosen = (candidate, pid)
                break
            }
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        let log = (try? String(contentsOfFile: "\(directory)/server.log", encoding: .utf8)) ?? ""
        precondition(chosen != nil, "moto server did not start (pip install 'moto[server]'):\n\(log.suffix(2000))")
        port = chosen!.0
        pid = chosen!.1
        endpoint = "http://127.0.0.1:\(port)"
        if checkSignatures {
            let scratch = TemporaryDirectory()
            defer { scratch.remove() }
            let result = python("""
                iam = boto3.client("iam", endpoint_url=s3.meta.endpoint_url, region_name="us-east-1",
                                   aws_access_key_id="testing", aws_secret_access_key="testing")
                iam.create_user(UserName="mask")
                key = iam.create_access_key(UserName="mask")["AccessKey"]
                iam.put_user_policy(UserName="mask", PolicyName="all", PolicyDocument=json.dumps(
                    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
                print(key["AccessKeyId"], key["SecretAccessKey"])
                """, in: scratch)
            let words = result.stdoutText.split(whereSeparator: \.isWhitespace).map(String.init)
            precondition(words.count == 2, "cannot create a user on the verifying server: \(result.stderr)")
            accessKeyID = words[0]
            secretAccessKey = words[1]
        }
    }

    /// A port the kernel says is free now.
    public static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func waitUntilListening(port: Int, pid: pid_t) -> Bool {
        for _ in 0..<300 {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid { return false }
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = UInt16(port).bigEndian
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            close(fd)
            if connected == 0 { return true }
            usleep(100_000)
        }
        return false
    }

    /// What `mask` needs in its environment to talk to this server.
    public var environment: [String: String] {
        ["AWS_ACCESS_KEY_ID": accessKeyID, "AWS_SECRET_ACCESS_KEY": secretAccessKey, "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": endpoint]
    }

    /// Runs a Python snippet with `s3` (a boto3 client on this server) and `sys.argv` set.
    @discardableResult
    public func python(_ body: String, _ arguments: [String] = [], in directory: TemporaryDirectory) -> RunResult {
        let script = """
            import sys, os, json, boto3
            from botocore.config import Config
            s3 = boto3.client("s3", endpoint_url="\(endpoint)", region_name="us-east-1", aws_access_key_id="\(accessKeyID)",
                              aws_secret_access_key="\(secretAccessKey)", config=Config(s3={"addressing_style": "path"}))

            """ + body
        let path = directory.write(".s3-\(UUID().uuidString).py", script)
        defer { unlink(path) }
        let result = Runner.run(
            "/usr/bin/env", ["python3", path] + arguments,
            environment: ["PATH": Self.searchPath, "HOME": directory.path, "LANG": "C.UTF-8"], in: directory)
        precondition(result.status == 0, "python helper failed: \(result.stderr)")
        return result
    }

    /// A new, empty bucket.
    public func createBucket(in directory: TemporaryDirectory) -> String {
        let name = "t-\(UInt32.random(in: 0...UInt32.max))"
        python("s3.create_bucket(Bucket=sys.argv[1])", [name], in: directory)
        return name
    }

    /// Uploads every file under `local` to `bucket/prefix` + its relative path.
    public func upload(_ local: String, bucket: String, prefix: String, in directory: TemporaryDirectory) {
        python("""
            root, bucket, prefix = sys.argv[1:4]
            for folder, _, names in os.walk(root):
                for name in names:
                    path = os.path.join(folder, name)
                    s3.upload_file(path, bucket, prefix + os.path.relpath(path, root))
            """, [local, bucket, prefix], in: directory)
    }

    /// Every object under `bucket/prefix`: relative key -> (size, ETag).
    public func objects(bucket: String, prefix: String, in directory: TemporaryDirectory) -> [String: (size: Int, etag: String)] {
        let result = python("""
            bucket, prefix = sys.argv[1:3]
            found = {}
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    found[item["Key"][len(prefix):]] = [item["Size"], item["ETag"].strip('"')]
            print(json.dumps(found))
            """, [bucket, prefix], in: directory)
        let json = try! JSONSerialization.jsonObject(with: Data(result.stdout)) as! [String: [Any]]
        return json.mapValues { ($0[0] as! Int, $0[1] as! String) }
    }

    /// Downloads every object under `bucket/prefix` into the local folder `local`.
    public func download(bucket: String, prefix: String, to local: String, in directory: TemporaryDirectory) {
        python("""
            bucket, prefix, root = sys.argv[1:4]
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    path = os.path.join(root, item["Key"][len(prefix):])
                    os.makedirs(os.path.dirname(path), exist_ok=True)
                    s3.download_file(bucket, item["Key"], path)
            """, [bucket, prefix, local], in: directory)
    }

    /// Multipart uploads begun but neither completed nor aborted under `bucket/prefix`.
    public func incompleteUploads(bucket: String, prefix: String, in directory: TemporaryDirectory) -> Int {
        let result = python("""
            answer = s3.list_multipart_uploads(Bucket=sys.argv[1], Prefix=sys.argv[2])
            print(len(answer.get("Uploads", [])))
            """, [bucket, prefix], in: directory)
        return Int(result.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }

    /// Starts a multipart upload and leaves it open, as a killed run would.
    public func startAbandonedUpload(bucket: String, key: String, in directory: TemporaryDirectory) {
        python("""
            upload = s3.create_multipart_upload(Bucket=sys.argv[1], Key=sys.argv[2])
            s3.upload_part(Bucket=sys.argv[1], Key=sys.argv[2], UploadId=upload["UploadId"], PartNumber=1, Body=b"x" * 1000)
            """, [bucket, key], in: directory)
    }
}

/// A `mask` run in the background, to be killed mid-way.
public final class BackgroundMask {
    public let pid: pid_t
    private var reaped: Int32?

    /// Where its stderr goes (under the test's directory).
    public let stderrPath: String

    public init(_ arguments: [String], environment: [String: String] = [:], stderrName: String = ".background-stderr", in directory: TemporaryDirectory) {
        stderrPath = directory.file(stderrName)
        var env = ["MASK_HMAC_KEY": Runner.key, "PATH": "/usr/bin:/bin", "HOME": directory.path]
        for (name, value) in environment { env[name] = value }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        pid = Runner.spawn(MaskBinary.path, arguments, environment: env, actions: &actions)
        posix_spawn_file_actions_destroy(&actions)
    }

    /// Whether the process has exited (reaping it if so).
    public var hasExited: Bool {
        if reaped != nil { return true }
        var status: Int32 = 0
        if waitpid(pid, &status, WNOHANG) == pid {
            reaped = status
            return true
        }
        return false
    }

    /// SIGKILL, then reap. Returns false if it had already exited by itself.
    @discardableResult
    public func kill() -> Bool {
        if hasExited { return false }
        Glibc.kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        reaped = status
        return true
    }

    /// What it wrote on stderr so far.
    public var stderr: String { String(decoding: FileManager.default.contents(atPath: stderrPath) ?? Data(), as: UTF8.self) }

    /// Freezes (SIGSTOP) or thaws (SIGCONT) the process: a worker that stops renewing its leases.
    public func suspend() { Glibc.kill(pid, SIGSTOP) }
    public func resume() { Glibc.kill(pid, SIGCONT) }

    /// Waits for the process to exit by itself (SIGKILL after `timeout`); its exit status, or
    /// 128 + the signal.
    public func waitForExit(timeout: TimeInterval = 300) -> Int32 {
        let deadline = Date().addingTimeInterval(timeout)
        while !hasExited {
            if Date() > deadline { Glibc.kill(pid, SIGKILL) }
            usleep(10_000)
        }
        let status = reaped!
        return status & 0x7F == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
    }

    /// Polls `condition` every 10 ms until it holds, the process exits, or `timeout` passes.
    public func wait(until condition: () -> Bool, timeout: TimeInterval = 120) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return true }
            if hasExited { return false }
            usleep(10_000)
        }
        return false
    }
}

/// Every file under `root`, relative paths, recursively (hidden ones included).
public func filesRecursively(_ root: String) -> [String] {
    guard let enumerator = FileManager.default.enumerator(atPath: root) else { return [] }
    var files: [String] = []
    while let path = enumerator.nextObject() as? String {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: "\(root)/\(path)", isDirectory: &isDirectory), !isDirectory.boolValue { files.append(path) }
    }
    return files.sorted()
}
