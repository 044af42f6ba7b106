import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A local Google Cloud Storage emulator for the `gs://` tests: PyPI's `gcp-storage-emulator`
/// (in memory) on a free port on 127.0.0.1, started once per test process and stopped when it
/// exits. `mask` finds it through `STORAGE_EMULATOR_HOST`, as Google's clients do; the tests
/// read and write objects through Google's own Python client (`google-cloud-storage`), so what
/// they check does not go through mask's GCS client.
///
/// The emulator implements listing, media downloads, multipart and resumable uploads and MD5
/// checks; it does not page listings nor enforce `ifGenerationMatch` (those are covered by
/// `GCSClientTests` against the documented answers).
public final class GCSTestServer: @unchecked Sendable {
    public let port: Int
    /// `http://127.0.0.1:PORT`, what `STORAGE_EMULATOR_HOST` is set to.
    public let endpoint: String
    let pid: pid_t
    let directory: String

    public static let shared: GCSTestServer = {
        let server = GCSTestServer()
        serverToStop = server.pid
        atexit {
            if let pid = GCSTestServer.serverToStop {
                kill(pid, SIGKILL)
                var status: Int32 = 0
                waitpid(pid, &status, 0)
            }
        }
        return server
    }()

    nonisolated(unsafe) static var serverToStop: pid_t?

    init() {
        var template = Array("\(FileManager.default.temporaryDirectory.path)/mask-gcs-XXXXXX".utf8CString)
        precondition(template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) } != nil)
        directory = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var chosen: (Int, pid_t)?
        for _ in 0..<5 {
            let candidate = S3TestServer.freePort()
            var actions = posix_spawn_file_actions_t()
            posix_spawn_file_actions_init(&actions)
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 1, "\(directory)/server.log", O_WRONLY | O_CREAT | O_APPEND, 0o644)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
            let pid = Runner.spawn(
                "/usr/bin/env", ["python3", "-m", "gcp_storage_emulator", "start", "--host", "127.0.0.1", "--port", String(candidate), "--in-memory", "-q"],
                environment: [
                    "PATH": S3TestServer.searchPath, "HOME": ProcessInfo.processInfo.environment["HOME"] ?? "/root", "LANG": "C.UTF-8",
                ],
                actions: &actions)
            posix_spawn_file_actions_destroy(&actions)
            if S3TestServer.waitUntilListening(port: candidate, pid: pid) {
                chosen = (candidate, pid)
                break
            }
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        let log = (try? String(contentsOfFile: "\(directory)/server.log", encoding: .utf8)) ?? ""
        precondition(chosen != nil, "gcp-storage-emulator did not start (pip install gcp-storage-emulator):\n\(log.suffix(2000))")
        port = chosen!.0
        pid = chosen!.1
        endpoint = "http://127.0.0.1:\(port)"
    }

    /// What `mask` needs in its environment to use this emulator (and no other credentials).
    public var environment: [String: String] { ["STORAGE_EMULATOR_HOST": endpoint] }

    /// Runs a Python snippet with `gcs` (a `google.cloud.storage.Client` on this emulator) and
    /// `sys.argv` set.
    @discardableResult
    public func python(_ body: String, _ arguments: [String] = [], environment extra: [String: String] = [:], in directory: TemporaryDirectory) -> RunResult {
        let script = """
            import sys, os, json
            from google.cloud import storage
            from google.auth.credentials import AnonymousCredentials
            gcs = storage.Client(project="mask-tests", credentials=AnonymousCredentials())

            """ + body
        let path = directory.write(".gcs-\(UUID().uuidString).py", script)
        defer { unlink(path) }
        var environment = ["PATH": S3TestServer.searchPath, "HOME": directory.path, "LANG": "C.UTF-8", "STORAGE_EMULATOR_HOST": endpoint]
        for (name, value) in extra { environment[name] = value }
        let result = Runner.run("/usr/bin/env", ["python3", path] + arguments, environment: environment, in: directory)
        precondition(result.status == 0, "python helper failed: \(result.stderr)")
        return result
    }

    /// A new, empty bucket.
    public func createBucket(in directory: TemporaryDirectory) -> String {
        let name = "t-\(UInt32.random(in: 0...UInt32.max))"
        python("gcs.create_bucket(sys.argv[1])", [name], in: directory)
        return name
    }

    /// Uploads every file under `local` to `bucket/prefix` + its relative path.
    public func upload(_ local: String, bucket: String, prefix: String, in directory: TemporaryDirectory) {
        python("""
            root, bucket, prefix = sys.argv[1:4]
            b = gcs.bucket(bucket)
            for folder, _, names in os.walk(root):
                for name in names:
                    path = os.path.join(folder, name)
                    b.blob(prefix + os.path.relpath(path, root)).upload_from_filename(path)
            """, [local, bucket, prefix], in: directory)
    }

    /// Every object under `bucket/prefix`: relative key -> (size, generation, MD5 in base64).
    public func objects(bucket: String, prefix: String, in directory: TemporaryDirectory) -> [String: (size: Int, generation: String, md5: String)] {
        let result = python("""
            bucket, prefix = sys.argv[1:3]
            found = {}
            for blob in gcs.list_blobs(bucket, prefix=prefix):
                found[blob.name[len(prefix):]] = [blob.size, str(blob.generation), blob.md5_hash]
            print(json.dumps(found))
            """, [bucket, prefix], in: directory)
        let json = try! JSONSerialization.jsonObject(with: Data(result.stdout)) as! [String: [Any]]
        return json.mapValues { ($0[0] as! Int, $0[1] as! String, $0[2] as! String) }
    }

    /// Downloads every object under `bucket/prefix` into the local folder `local`.
    public func download(bucket: String, prefix: String, to local: String, in directory: TemporaryDirectory) {
        python("""
            bucket, prefix, root = sys.argv[1:4]
            for listed in gcs.list_blobs(bucket, prefix=prefix):
                path = os.path.join(root, listed.name[len(prefix):])
                os.makedirs(os.path.dirname(path), exist_ok=True)
                # By name, not the listing's mediaLink: an object written through another host
                # (a gate in front of the emulator) carries that host in its links.
                gcs.bucket(bucket).blob(listed.name).download_to_filename(path)
            """, [bucket, prefix, local], in: directory)
    }
}
