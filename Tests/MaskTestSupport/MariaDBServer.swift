import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A throwaway MariaDB server for integration tests: `mariadb-install-db` + `mariadbd` in a
/// temporary folder, on a free port bound to 127.0.0.1 and a socket in that folder (as root with
/// `--user=root` when the tests run as root, as CI does). Its `secure_file_priv` is the folder,
/// so `SELECT … INTO OUTFILE` and `LOAD DATA INFILE` work there and nowhere else. Started once
/// per test process and stopped when the process exits.
public final class MariaDBServer: @unchecked Sendable {
    public let directory: String
    public let port: Int
    public var socket: String { "\(directory)/mysqld.sock" }
    let pid: pid_t

    /// The shared server; the first caller starts it.
    public static let shared: MariaDBServer = {
        let server = MariaDBServer()
        serverToStop = (server.pid, server.directory)
        atexit {
            if let (pid, directory) = serverToStop {
                kill(pid, SIGTERM)
                var status: Int32 = 0
                waitpid(pid, &status, 0)
                try? FileManager.default.removeItem(atPath: directory)
            }
        }
        return server
    }()

    nonisolated(unsafe) static var serverToStop: (pid_t, String)?

    static func quiet(_ actions: inout posix_spawn_file_actions_t, log: String) {
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
    }

    init() {
        let base = "/tmp/mask-maria-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        directory = base
        try! FileManager.default.createDirectory(atPath: "\(base)/files", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o777])
        let environment = ["PATH": "/usr/sbin:/usr/bin:/bin", "LANG": "C.UTF-8"]
        let user = getuid() == 0 ? ["--user=root"] : []
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        Self.quiet(&actions, log: "\(base)/install.log")
        let install = Runner.spawn(
            "/usr/bin/mariadb-install-db",
            ["--no-defaults", "--datadir=\(base)/data", "--auth-root-authentication-method=normal", "--skip-test-db"] + user,
            environment: environment, actions: &actions)
        posix_spawn_file_actions_destroy(&actions)
        precondition(Runner.waitFor(install).0 == 0, "mariadb-install-db failed (is mariadb-server installed?)")
        var started: (pid_t, Int)?
        for _ in 0..<10 where started == nil {
            let candidate = Int.random(in: 20000...60000)
            var actions = posix_spawn_file_actions_t()
            posix_spawn_file_actions_init(&actions)
            Self.quiet(&actions, log: "\(base)/server.log")
            let server = Runner.spawn(
                "/usr/sbin/mariadbd",
                ["--no-defaults", "--datadir=\(base)/data", "--socket=\(base)/mysqld.sock", "--port=\(candidate)",
                 "--bind-address=127.0.0.1", "--pid-file=\(base)/mysqld.pid", "--secure-file-priv=\(base)/files",
                 "--skip-log-bin", "--innodb-buffer-pool-size=32M", "--character-set-server=utf8mb4"] + user,
                environment: environment, actions: &actions)
            posix_spawn_file_actions_destroy(&actions)
            // Ready when the socket answers; gone when the port was taken.
            for _ in 0..<300 {
                var status: Int32 = 0
                if waitpid(server, &status, WNOHANG) == server { break }
                if FileManager.default.fileExists(atPath: "\(base)/mysqld.sock"), Self.client(socket: "\(base)/mysqld.sock", ["-e", "SELECT 1"], directory: base).0 == 0 {
                    started = (server, candidate)
                    break
                }
                usleep(100_000)
            }
            if started == nil { kill(server, SIGKILL); var status: Int32 = 0; waitpid(server, &status, 0) }
        }
        precondition(started != nil, "mariadbd could not start (see \(base)/server.log)")
        pid = started!.0
        port = started!.1
    }

    /// Runs the `mariadb` client over the socket as root; returns its status and output (stdout
    /// and stderr).
    static func client(socket: String, _ arguments: [String], directory: String) -> (Int32, [UInt8]) {
        let output = "\(directory)/client-\(UUID().uuidString).out"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let pid = Runner.spawn("/usr/bin/mariadb", ["--no-defaults", "--socket=\(socket)", "-uroot", "--default-character-set=utf8mb4"] + arguments,
                               environment: ["PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"], actions: &actions)
        let status = Runner.waitFor(pid).0
        let bytes = Array(FileManager.default.contents(atPath: output) ?? Data())
        unlink(output)
        return (status, bytes)
    }

    /// Runs SQL (`mariadb -N -B -e`, tab-separated, no column names); returns status and output.
    @discardableResult
    public func sql(_ statement: String, database: String? = nil) -> (Int32, String) {
        let (status, bytes) = Self.client(socket: socket, ["-N", "-B"] + (database.map { ["-D", $0] } ?? []) + ["-e", statement], directory: directory)
        return (status, String(decoding: bytes, as: UTF8.self))
    }

    /// What `mariadb --batch -e STATEMENT` prints (with column names), as users pipe it.
    public func batch(_ statement: String, database: String) -> (Int32, [UInt8]) {
        Self.client(socket: socket, ["--batch", "-D", database, "-e", statement], directory: directory)
    }

    /// A folder the server may read and write (`secure_file_priv`).
    public func file(_ name: String) -> String { "\(directory)/files/\(name)" }

    /// A fresh database for one test.
    public func createDatabase() -> String {
        let name = "t\(UInt32.random(in: 0...UInt32.max))"
        let (status, output) = sql("CREATE DATABASE \(name) CHARACTER SET utf8mb4")
        precondition(status == 0, "CREATE DATABASE failed: \(output)")
        return name
    }
}
