import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A throwaway PostgreSQL server for integration tests: `initdb` + `pg_ctl` in a temporary
/// folder, on a free port, as the `postgres` user when the tests run as root (CI does).
/// Started once per test process and stopped when the process exits.
public final class PostgresCluster: @unchecked Sendable {
    public let directory: String
    public let port: Int
    public static let password = "pg-test-secret-7f3a"

    /// The shared cluster; the first caller starts it.
    public static let shared: PostgresCluster = {
        let cluster = PostgresCluster()
        clusterToStop = cluster.directory
        atexit {
            if let directory = clusterToStop {
                _ = PostgresCluster.asPostgres(["pg_ctl", "-D", "\(directory)/data", "-m", "immediate", "-w", "stop"])
                try? FileManager.default.removeItem(atPath: directory)
            }
        }
        return cluster
    }()

    nonisolated(unsafe) static var clusterToStop: String?

    /// The binaries' folder (Debian installs them under /usr/lib/postgresql/<version>/bin).
    static let binDirectory: String = {
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []).sorted { (Int($0) ?? 0) > (Int($1) ?? 0) }
        for version in versions where FileManager.default.isExecutableFile(atPath: "/usr/lib/postgresql/\(version)/bin/initdb") {
            return "/usr/lib/postgresql/\(version)/bin"
        }
        return "/usr/bin"
    }()

    /// Runs a PostgreSQL binary, as the `postgres` user if we are root.
    ///
    /// posix_spawn + wait4 rather than Foundation's Process: `pg_ctl start` leaves a daemon that
    /// inherits the child's descriptors, and Process waits on those, so it would hang.
    @discardableResult
    static func asPostgres(_ command: [String]) -> Int32 {
        let binary = "\(binDirectory)/\(command[0])"
        let executable = getuid() == 0 ? "/usr/sbin/runuser" : binary
        let arguments = getuid() == 0 ? ["-u", "postgres", "--", binary] + command.dropFirst() : Array(command.dropFirst())
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let pid = Runner.spawn(executable, arguments, environment: ["PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"], actions: &actions)
        return Runner.waitFor(pid).0
    }

    init() {
        let base = "/tmp/mask-pg-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        directory = base
        try! FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        let passwordFile = "\(base)/pw"
        FileManager.default.createFile(atPath: passwordFile, contents: Data((Self.password + "\n").utf8))
        if getuid() == 0 {
            let owner = getpwnam("postgres")
            precondition(owner != nil, "the postgres user is missing: install postgresql")
            chown(base, owner!.pointee.pw_uid, owner!.pointee.pw_gid)
            chown(passwordFile, owner!.pointee.pw_uid, owner!.pointee.pw_gid)
        }
        let initialised = Self.asPostgres([
            "initdb", "-D", "\(base)/data", "-U", "postgres", "--auth-local=trust", "--auth-host=scram-sha-256",
            "--pwfile=\(passwordFile)", "--no-sync",
        ])
        precondition(initialised == 0, "initdb failed (is postgresql installed?)")
        var chosen = 0
        for _ in 0..<20 {
            let candidate = Int.random(in: 20000...60000)
            let started = Self.asPostgres([
                "pg_ctl", "-D", "\(base)/data", "-w", "-l", "\(base)/log",
                "-o", "-p \(candidate) -k \(base) -c listen_addresses=127.0.0.1 -c fsync=off", "start",
            ])
            if started == 0 {
                chosen = candidate
                break
            }
        }
        precondition(chosen != 0, "pg_ctl could not start a server")
        port = chosen
    }

    /// A URL with the password, as users pass it.
    public func url(database: String = "postgres", user: String = "postgres", password: String = PostgresCluster.password) -> String {
        "postgresql://\(user):\(password)@127.0.0.1:\(port)/\(database)"
    }

    /// Runs SQL through psql (over TCP, with the password); returns psql's exit status and output.
    @discardableResult
    public func psql(_ sql: String, database: String = "postgres", user: String = "postgres", password: String = PostgresCluster.password) -> (Int32, String) {
        let output = "\(directory)/psql-\(UUID().uuidString).out"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let pid = Runner.spawn("/usr/bin/psql", [url(database: database, user: user, password: password), "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql],
                               environment: ["PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"], actions: &actions)
        let status = Runner.waitFor(pid).0
        let text = String(decoding: FileManager.default.contents(atPath: output) ?? Data(), as: UTF8.self)
        unlink(output)
        return (status, text)
    }

    /// A fresh database for one test.
    public func createDatabase() -> String {
        let name = "t\(UInt32.random(in: 0...UInt32.max))"
        let (status, output) = psql("CREATE DATABASE \(name)")
        precondition(status == 0, "CREATE DATABASE failed: \(output)")
        return name
    }
}
