import Foundation
import MaskTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `mask extract --from mysql://` against a real MariaDB server started by the tests, with the
/// masked CSV loaded back by a real loader (PostgreSQL's `COPY … FROM` in CSV mode, which reads
/// NULL and `""` apart as BigQuery's CSV load does).
@Suite(.serialized) struct MySQLExtractTests {
    let directory = TemporaryDirectory()
    let server = MariaDBServer.shared
    static let password = "maria-extract-pw-5e1c"

    /// A database with `setup` run in it, and a TCP user `masker` that may read it.
    func database(_ setup: String) throws -> String {
        let name = server.createDatabase()
        let (status, output) = server.sql(setup, database: name)
        try #require(status == 0, "\(output)")
        let (granted, grantOutput) = server.sql("""
            CREATE USER IF NOT EXISTS 'masker'@'127.0.0.1' IDENTIFIED BY '\(Self.password)';
            GRANT SELECT, SHOW VIEW ON \(name).* TO 'masker'@'127.0.0.1';
            """)
        try #require(granted == 0, "\(grantOutput)")
        return name
    }

    func url(_ database: String, user: String = "masker", password: String? = MySQLExtractTests.password) -> String {
        "mysql://\(user)\(password.map { ":\($0)" } ?? "")@127.0.0.1:\(server.port)/\(database)"
    }

    func extract(_ arguments: [String], environment: [String: String] = [:]) -> RunResult {
        Runner.mask(["extract"] + arguments + ["--rules", MaskBinary.rules("pii.yaml")], environment: environment, in: directory)
    }

    func csv(_ path: String) -> String {
        String(decoding: Gzip.decompress(directory.read(path), in: directory).output, as: UTF8.self)
    }

    static let schema = #"""
        SET SESSION sql_mode = '';
        SET SESSION time_zone = '+00:00';
        CREATE TABLE users (
          id int PRIMARY KEY, email varchar(200), phone varchar(40), note text, amount decimal(30,9),
          born date, seen datetime(3), changed timestamp NULL, photo blob, flags bit(10), meta json, city varchar(40));
        INSERT INTO users VALUES
          (1, 'Ann@Example.com', '+1 (415) 555-0123', 'two\tcolumns\nand "quotes", mail x@y.io \\N', 12345678901234567890.123456789,
           '1990-02-03', '2024-03-05 14:22:31.250', '2024-03-05 14:22:31', x'00ff10', b'1000000001', '{"email": "j@k.io", "n": 1}', 'Zürich 🏔'),
          (2, NULL, '', NULL, NULL, '0000-00-00', NULL, NULL, NULL, NULL, NULL, ''),
          (3, 'NULL', 'n/a', '\\N', -0.5, NULL, '0000-00-00 00:00:00', NULL, '', b'0', 'null', 'a,b');
        CREATE TABLE orders (id int, contact varchar(100));
        INSERT INTO orders SELECT seq, CONCAT('call 090-1234-', LPAD(seq, 4, '0')) FROM seq_1_to_500;
        CREATE TABLE audit_log (id int, payload text);
        INSERT INTO audit_log VALUES (1, 'secret@example.com');
        CREATE VIEW recent AS SELECT id FROM orders;
        """#

    @Test func schemaExtractKeepsNullsTypesAndTextAndLoadsBack() throws {
        let db = try database(Self.schema)
        let result = extract(["--from", url(db), "--schema", db, "--exclude", "audit_log", "--output", directory.file("out")])
        #expect(result.status == 0, "\(result.stderr)")
        // Base tables only (the view is not one), audit_log excluded, _SUCCESS last.
        #expect(directory.list("out") == ["_SUCCESS", "_extract.json", "\(db).orders", "\(db).users"])
        let users = csv("out/\(db).users/part-00000.csv.gz")
        let lines = users.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines[0] == "id,email,phone,note,amount,born,seen,changed,photo,flags,meta,city")
        for clear in ["Ann@Example.com", "ann@example.com", "x@y.io", "j@k.io", "555-0123"] {
            #expect(!users.contains(clear), "\(clear) left in clear")
        }
        // Quoting, digits, dates in UTC, base64 bytes, BIT as a number, emoji: as BigQuery's CSV load reads them.
        #expect(users.contains("\"two\tcolumns\nand \"\"quotes\"\", mail [EMAIL] \\N\""), "\(users)")
        #expect(users.contains(",12345678901234567890.123456789,1990-02-03,2024-03-05 14:22:31.250,2024-03-05 14:22:31,AP8Q,513,"))
        #expect(users.contains("Zürich 🏔"))
        // NULL stays an empty unquoted field, '' stays "" (also under hash), the word NULL is a value.
        #expect(lines.contains("2,,\"\",,,0000-00-00,,,,,,\"\""), "\(users)")
        let third = lines.first { $0.hasPrefix("3,") } ?? ""
        // The string 'NULL' is a value (no email: a glob-matched hash scans it and finds nothing).
        #expect(third == "3,NULL,n/a,\\N,-0.500000000,,0000-00-00 00:00:00.000,,\"\",0,null,\"a,b\"", "\(third)")
        let orders = csv("out/\(db).orders/part-00000.csv.gz")
        #expect(orders.split(separator: "\n").count == 501)
        #expect(!orders.contains("090-1234"))
        let summary = String(decoding: directory.read("out/_extract.json"), as: UTF8.self)
        #expect(!summary.contains(Self.password))
        #expect(summary.contains("masker:***@"))
        #expect(summary.contains("time_zone +00:00"))
        #expect(ReportSchema.violations("extract-summary", [directory.file("out/_extract.json")], in: directory) == nil)

        // The real loader: PostgreSQL's COPY FROM in CSV mode reads the masked table back.
        let cluster = PostgresCluster.shared
        let target = cluster.createDatabase()
        let plain = directory.write("users.csv", Array(users.utf8))
        chmod(plain, 0o644)
        let (status, output) = cluster.psql(
            "CREATE TABLE users (id int, email text, phone text, note text, amount numeric, born text, seen text, changed timestamptz, photo text, flags int, meta jsonb, city text)",
            database: target)
        try #require(status == 0, "\(output)")
        let (loaded, loadOutput) = cluster.psql("\\copy users from '\(plain)' with (format csv, header)", database: target)
        #expect(loaded == 0, "\(loadOutput)")
        let (_, check) = cluster.psql(
            "SELECT count(*), count(email), count(phone), count(note), count(photo), sum(amount)::text, "
                + "count(*) FILTER (WHERE phone = ''), count(*) FILTER (WHERE city = ''), string_agg(decode(photo, 'base64')::text, ';') FROM users",
            database: target)
        #expect(check.trimmingCharacters(in: .whitespacesAndNewlines) == "3|2|3|2|2|12345678901234567889.623456789|1|1|\\x00ff10;\\x", "\(check)")
    }

    @Test func tableAndQuerySelectWhatIsExtractedAndAQueryOnlyReads() throws {
        let db = try database(Self.schema + "\nCREATE TABLE canary (id int); INSERT INTO canary VALUES (1), (2);")
        _ = server.sql("GRANT DELETE, DROP ON \(db).* TO 'masker'@'127.0.0.1'")
        // --ledger as for PostgreSQL: the run and its table, and no password of either database.
        let cluster = PostgresCluster.shared
        let ledger = cluster.url(database: cluster.createDatabase())
        let table = extract(["--from", url(db), "--table", "orders", "--output", directory.file("a"), "--ledger", ledger, "--run-id", "maria-1"])
        #expect(table.status == 0, "\(table.stderr)")
        #expect(directory.list("a") == ["_SUCCESS", "_extract.json", "\(db).orders"])
        let status = Runner.mask(["ledger", "status", "--ledger", ledger, "maria-1"], in: directory)
        #expect(status.stdoutText.contains("items succeeded: 1 (500 records)"), "\(status.stdoutText)")
        let (_, dump) = cluster.psql("SELECT row_to_json(i)::text FROM mask_ledger.items i", database: String(ledger.split(separator: "/").last!))
        #expect(dump.contains("masker:***@") && !dump.contains(Self.password), "\(dump)")
        let qualified = extract(["--from", "mysql://masker:\(Self.password)@127.0.0.1:\(server.port)", "--table", "\(db).audit_log",
                                 "--output", directory.file("b")])
        #expect(qualified.status == 0, "\(qualified.stderr)")
        #expect(!csv("b/\(db).audit_log/part-00000.csv.gz").contains("secret@example.com"))
        let query = extract(["--from", url(db), "--query", "SELECT id, contact FROM orders WHERE id <= 10;", "--output", directory.file("c")])
        #expect(query.status == 0, "\(query.stderr)")
        #expect(csv("c/query/part-00000.csv.gz").split(separator: "\n").count == 11)
        // Writing statements never run: refused before (no rows / two statements) or by the read-only snapshot.
        for (statement, reason) in [("DROP TABLE canary", "returns none"), ("DELETE FROM canary RETURNING id", "only read"),
                                    ("SELECT 1; DROP TABLE canary", "exactly one")] {
            let refused = extract(["--from", url(db), "--query", statement, "--output", directory.file("d")])
            #expect(refused.status == 2, "\(statement): \(refused.stderr)")
            #expect(refused.stderr.contains(reason), "\(statement): \(refused.stderr)")
            #expect(directory.list("d").isEmpty)
        }
        #expect(server.sql("SELECT count(*) FROM canary", database: db).1.trimmingCharacters(in: .whitespacesAndNewlines) == "2")
        let noDatabase = extract(["--from", "mysql://masker:\(Self.password)@127.0.0.1:\(server.port)", "--table", "orders",
                                  "--output", directory.file("e")])
        #expect(noDatabase.status == 2)
        #expect(noDatabase.stderr.contains("name the database"))
    }

    @Test func failuresAreClearAndNeverShowThePassword() throws {
        let db = try database(Self.schema)
        func run(_ url: String, _ table: String = "users", environment: [String: String] = [:]) -> RunResult {
            extract(["--from", url, "--table", table, "--output", directory.file("fail")], environment: environment)
        }
        let wrongPassword = run(url(db, password: "not-the-password-xyz"))
        #expect(wrongPassword.status == 3)
        #expect(wrongPassword.stderr.contains("authentication failed"), "\(wrongPassword.stderr)")
        #expect(!wrongPassword.stderr.contains("not-the-password-xyz"))
        let refused = run("mysql://masker:\(Self.password)@127.0.0.1:1/\(db)")
        #expect(refused.status == 3)
        #expect(refused.stderr.contains("cannot connect"), "\(refused.stderr)")
        #expect(!refused.stderr.contains(Self.password))
        let missing = run(url(db), "no_such_table")
        #expect(missing.status == 3)
        #expect(missing.stderr.contains("missing table"), "\(missing.stderr)")
        for bad in ["mysql://masker@127.0.0.1:99999/\(db)", "mysql://masker:\(Self.password)@127.0.0.1/\(db)?password=x", "mysql:///\(db)"] {
            let badURL = run(bad)
            #expect(badURL.status == 2, "\(bad): \(badURL.stderr)")
            #expect(!badURL.stderr.contains(Self.password))
        }
        _ = server.sql("CREATE USER IF NOT EXISTS 'outsider'@'127.0.0.1' IDENTIFIED BY 'outsider-pw-9'; GRANT SELECT ON \(db).orders TO 'outsider'@'127.0.0.1';")
        let denied = run("mysql://outsider:outsider-pw-9@127.0.0.1:\(server.port)/\(db)")
        #expect(denied.status == 3)
        #expect(denied.stderr.contains("permission denied"), "\(denied.stderr)")
        #expect(!denied.stderr.contains("outsider-pw-9"))
        #expect(directory.list("fail").isEmpty)

        // The password from MYSQL_PWD, or from the [client] group of ~/.my.cnf: not in the URL at all.
        let fromEnvironment = run(url(db, password: nil), environment: ["MYSQL_PWD": Self.password])
        #expect(fromEnvironment.status == 0, "\(fromEnvironment.stderr)")
        #expect(!fromEnvironment.stderr.contains(Self.password))
        let home = directory.file("home")
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        _ = directory.write("home/.my.cnf", Array("[client]\npassword=\(Self.password)\n".utf8))
        chmod("\(home)/.my.cnf", 0o600)
        let fromOptionFile = extract(["--from", url(db, password: nil), "--table", "orders", "--output", directory.file("cnf")],
                                     environment: ["HOME": home])
        #expect(fromOptionFile.status == 0, "\(fromOptionFile.stderr)")
    }

    @Test func lostConnectionMidStreamLeavesNothingVisible() throws {
        let db = try database("""
            CREATE TABLE big AS SELECT seq AS id, CONCAT('user', seq, '@example.com') AS email, REPEAT('x', 200) AS filler FROM seq_1_to_400000;
            """)
        let server = self.server
        // Kill the connection serving the SELECT while it streams.
        let killer = Thread {
            for _ in 0..<400 {
                usleep(50_000)
                let (_, ids) = server.sql(
                    "SELECT ID FROM information_schema.PROCESSLIST WHERE USER = 'masker' AND INFO LIKE 'SELECT * FROM%big%'")
                if let id = ids.split(separator: "\n").first.flatMap({ Int($0) }) {
                    server.sql("KILL CONNECTION \(id)")
                    return
                }
            }
        }
        killer.start()
        let result = extract(["--from", url(db), "--table", "big", "--output", directory.file("lost"), "--threads", "1", "--level", "9"])
        #expect(result.status == 3, "\(result.stderr)")
        #expect(result.stderr.contains("connection lost"), "\(result.stderr)")
        let left = (try? FileManager.default.contentsOfDirectory(atPath: directory.file("lost"))) ?? []
        #expect(left.isEmpty, "left behind: \(left)")
    }
}
