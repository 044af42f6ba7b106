/*!
 MaskTestSupport: run the real `mask` binary on real files, the way users do.

 Processes are started with `posix_spawn` and reaped with `wait4`, so each run reports its own
 peak RSS (ru_maxrss) — the memory-bound tests read it instead of timing anything.
 */
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A fresh temporary directory, removed by `remove()`.
public struct TemporaryDirectory {
    public let path: String

    public init() {
        let base = FileManager.default.temporaryDirectory.path
        var template = Array("\(base)/mask-test-XXXXXX".utf8CString)
        let created = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(created != nil, "mkdtemp failed")
        path = String(cString: template)
    }

    public func file(_ name: String) -> String { "\(path)/\(name)" }

    @discardableResult
    public func write(_ name: String, _ text: String) -> String {
        write(name, Array(text.utf8))
    }

    @discardableResult
    public func write(_ name: String, _ bytes: [UInt8]) -> String {
        let target = file(name)
        // Its folders first: `createFile` fails silently without them.
        try? FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: target, contents: Data(bytes))
        return target
    }

    public func read(_ name: String) -> [UInt8] {
        Array(FileManager.default.contents(atPath: file(name)) ?? Data())
    }

    public func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: file(name)) }

    public func list(_ name: String = "") -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: name.isEmpty ? path : file(name))) ?? []).sorted()
    }

    public func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// What one run of a process produced.
public struct RunResult {
    public var status: Int32
    public var stdout: [UInt8]
    public var stderr: String
    /// Peak resident set size of the process, in KiB.
    public var maxRSSKiB: Int

    public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
}

public enum MaskBinary {
    /// The repository root (three levels above this file).
    public static let repositoryRoot: String = {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }()

    /// The `mask` executable built beside the test bundle.
    public static let path: String = {
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("mask").path,
            "\(repositoryRoot)/.build/debug/mask",
        ]
        for candidate in candidates where FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        let bundles = (try? FileManager.default.contentsOfDirectory(atPath: "\(repositoryRoot)/.build")) ?? []
        for bundle in bundles {
            let candidate = "\(repositoryRoot)/.build/\(bundle)/debug/mask"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        fatalError("mask binary not found; run `swift build` first (looked in \(candidates))")
    }()

    public static func rules(_ name: String) -> String { "\(repositoryRoot)/rules/\(name)" }
}

public enum Runner {
    /// A test key, long enough for the 16-byte minimum.
    public static let key = "test-key-0123456789abcdef"

    /// Runs `mask` with `arguments`, stdin from `stdinPath` (or /dev/null), in `environment`
    /// (MASK_HMAC_KEY defaults to the test key).
    public static func mask(
        _ arguments: [String], stdin stdinPath: String? = nil, environment: [String: String] = [:],
        in directory: TemporaryDirectory
    ) -> RunResult {
        var env = ["MASK_HMAC_KEY": key, "PATH": "/usr/bin:/bin", "HOME": directory.path]
        for (name, value) in environment { env[name] = value }
        return run(MaskBinary.path, arguments, stdin: stdinPath, environment: env.filter { !$0.value.isEmpty }, in: directory)
    }

    /// Runs any executable; stdout and stderr go through files in `directory`.
    public static func run(
        _ executable: String, _ arguments: [String], stdin stdinPath: String? = nil, environment: [String: String],
        in directory: TemporaryDirectory
    ) -> RunResult {
        let tag = UUID().uuidString
        let outPath = directory.file(".stdout-\(tag)")
        let errPath = directory.file(".stderr-\(tag)")
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, stdinPath ?? "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let pid = spawn(executable, arguments, environment: environment, actions: &actions)
        let (status, rss) = waitFor(pid)
        let stdout = Array(FileManager.default.contents(atPath: outPath) ?? Data())
        let stderr = String(decoding: FileManager.default.contents(atPath: errPath) ?? Data(), as: UTF8.self)
        unlink(outPath)
        unlink(errPath)
        return RunResult(status: status, stdout: stdout, stderr: stderr, maxRSSKiB: rss)
    }

    /// `producer | mask arguments > /dev/null`, returning mask's result (stderr, status, RSS).
    public static func pipe(
        producer: [String], into arguments: [String], in directory: TemporaryDirectory
    ) -> (producerStatus: Int32, mask: RunResult) {
        var fds: [Int32] = [0, 0]
        precondition(Glibc.pipe(&fds) == 0)
        let errPath = directory.file(".stderr-pipe")
        var producerActions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&producerActions)
        posix_spawn_file_actions_adddup2(&producerActions, fds[1], 1)
        posix_spawn_file_actions_addclose(&producerActions, fds[0])
        posix_spawn_file_actions_addclose(&producerActions, fds[1])
        let producerPID = spawn(producer[0], Array(producer.dropFirst()), environment: ["PATH": "/usr/bin:/bin"], actions: &producerActions)
        posix_spawn_file_actions_destroy(&producerActions)
        var maskActions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&maskActions)
        posix_spawn_file_actions_adddup2(&maskActions, fds[0], 0)
        posix_spawn_file_actions_addclose(&maskActions, fds[0])
        posix_spawn_file_actions_addclose(&maskActions, fds[1])
        posix_spawn_file_actions_addopen(&maskActions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&maskActions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        // mask runs under a small launcher that forks and execs it, and reports the child's
        // peak RSS. Spawned straight from this process, the peak would include this process's
        // own: posix_spawn's child shares our memory until it execs, and Linux folds the
        // high-water mark of the memory an exec leaves into the new program's maximum RSS.
        let rssPath = directory.file(".rss-pipe")
        let launcher = """
            import os, resource, sys
            pid = os.fork()
            if pid == 0:
                os.execv(sys.argv[1], sys.argv[1:])
            _, status = os.waitpid(pid, 0)
            with open(os.environ["MASK_TEST_RSS_FILE"], "w") as f:
                f.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
            code = os.waitstatus_to_exitcode(status)
            os._exit(code if code >= 0 else 128 - code)
            """
        let maskPID = spawn(
            "/usr/bin/env", ["python3", "-c", launcher, MaskBinary.path] + arguments,
            environment: ["MASK_HMAC_KEY": key, "PATH": "/usr/bin:/bin:/usr/local/bin", "MASK_TEST_RSS_FILE": rssPath],
            actions: &maskActions)
        posix_spawn_file_actions_destroy(&maskActions)
        close(fds[0])
        close(fds[1])
        let (maskStatus, _) = waitFor(maskPID)
        let (producerStatus, _) = waitFor(producerPID)
        let stderr = String(decoding: FileManager.default.contents(atPath: errPath) ?? Data(), as: UTF8.self)
        let rss = Int(String(decoding: FileManager.default.contents(atPath: rssPath) ?? Data(), as: UTF8.self)) ?? Int.max
        return (producerStatus, RunResult(status: maskStatus, stdout: [], stderr: stderr, maxRSSKiB: rss))
    }

    static func spawn(_ executable: String, _ arguments: [String], environment: [String: String], actions: inout posix_spawn_file_actions_t) -> pid_t {
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executable, &actions, nil, argv, envp)
        precondition(rc == 0, "posix_spawn \(executable) failed: \(rc)")
        return pid
    }

    /// Waits for `pid`; returns its exit status (128+signal if killed) and peak RSS in KiB.
    ///
    /// A watchdog kills the process after `limit` seconds (status 137), so a hang fails one test
    /// instead of stalling the whole suite until CI's time runs out.
    static func waitFor(_ pid: pid_t, limit: Double = 600) -> (Int32, Int) {
        var status: Int32 = 0
        var usage = rusage()
        let deadline = Date().addingTimeInterval(limit)
        var killed = false
        while true {
            let result = wait4(pid, &status, WNOHANG, &usage)
            if result == pid { break }
            if result < 0 && errno != EINTR { return (-1, 0) }
            if !killed && Date() > deadline {
                kill(pid, SIGKILL)
                killed = true
            }
            usleep(2000)
        }
        let exited = status & 0x7F == 0
        let code = exited ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        return (code, Int(usage.ru_maxrss))
    }
}

/// gunzip through the system's own tools, so tests check what real readers see.
public enum Gzip {
    public static func decompress(_ bytes: [UInt8], in directory: TemporaryDirectory) -> (status: Int32, output: [UInt8]) {
        let input = directory.write(".gz-\(UUID().uuidString)", bytes)
        defer { unlink(input) }
        let result = Runner.run("/bin/gzip", ["-dc"], stdin: input, environment: ["PATH": "/usr/bin:/bin"], in: directory)
        return (result.status, result.stdout)
    }

    /// Python's gzip module reads the file and prints its SHA-256 (of the decompressed bytes).
    public static func pythonDigest(of path: String, in directory: TemporaryDirectory) -> String? {
        let script = "import gzip,hashlib,sys; print(hashlib.sha256(gzip.open(sys.argv[1]).read()).hexdigest())"
        let result = Runner.run("/usr/bin/env", ["python3", "-c", script, path], environment: ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"], in: directory)
        return result.status == 0 ? result.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines) : nil
    }
}

/// The JSON Schemas of `schemas/`, checked by `schemas/validate.py` (Python's `jsonschema`, not
/// code of ours): what a test validates is what a user's tooling would.
public enum ReportSchema {
    /// Violations of schema `name` (e.g. "manifest") in `files`; empty when every one conforms.
    public static func violations(_ name: String, _ files: [String], in directory: TemporaryDirectory) -> String? {
        let result = Runner.run(
            "/usr/bin/env", ["python3", "\(MaskBinary.repositoryRoot)/schemas/validate.py", name] + files,
            environment: ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"], in: directory)
        return result.status == 0 ? nil : result.stdoutText + result.stderr
    }
}
