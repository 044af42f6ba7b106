import Foundation
import MaskTestSupport
import Testing

/// `mask extract` against a real PostgreSQL server started by the tests.
@Suite(.serialized) struct ExtractTests {
    let directory = TemporaryDirectory()
    let cluster = PostgresCluster.shared

    func database(_ setup: String) throws -> String {
        let name = cluster.createDatabase()
        let (status, output) = cluster.psql(setup, database: name)
        try #require(status == 0, "\(output)")
        return name
    }

    static let schema = """
        CREATE TABLE users (id int, email text, phone text, note text, data jsonb, blob bytea, tags text[], at timestamptz, n numeric);
        INSERT INTO users VALUES
          (1, 'Ann@Example.com', '+1 (415) 555-0123', E'two lines\\n"quoted", mail x@y.io', '{"email": "j@k.io", "n": 1}',
           '\\xdeadbeef', '{a,"b c"}', '2024-03-05 14:22:31+00', 12345678901234567890.123456789),
          (2, NULL, '', NULL, NULL, NULL, NULL, NULL, NULL);
        CREATE TABLE orders (id int, contact text);
        INSERT INTO orders SELECT g, 'call 090-1234-' || lpad(g::text, 4, '0') FROM generate_series(1, 500) g;
        CREATE TABLE audit_log (id int, payload text);
        INSERT INTO audit_log VALUES (1, 'secret@example.com');
        """

    @Test func schemaExtractWritesAFolderPerTableAndSuccessLast() throws {
        let db = try database(Self.schema)
        let out = directory.file("out")
        let result = Runner.mask(["extract", "--from", cluster.url(database: db), "--schema", "public", "--exclude", "audit_log",
                                  "--rules", MaskBinary.rules("pii.yaml"), "--output", out], in: directory)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(directory.list("out") == ["_SUCCESS", "_extract.json", "public.orders", "public.users"])
        let users = Gzip.decompress(directory.read("out/public.users/part-00000.csv.gz"), in: directory).output
        let text = String(decoding: users, as: UTF8.self)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines[0] == "id,email,phone,note,data,blob,tags,at,n")
        #expect(!text.contains("Ann@Example.com") && !text.contains("x@y.io") && !text.contains("j@k.io") && !text.contains("555-0123"))
        #expect(text.contains("\"two lines\n\"\"quoted\"\", mail [EMAIL]\""))
        #expect(text.contains("\\xdeadbeef,\"{a,\"\"b c\"\"}\",2024-03-05 14:22:31+00,12345678901234567890.123456789"))
        // NULL stays an empty unquoted field; the empty string stays "".
        #expect(text.contains("\n2,,\"\",,,,,,\n"))
        let orders = String(decoding: Gzip.decompress(directory.read("out/public.orders/part-00000.csv.gz"), in: directory).output, as: UTF8.self)
        #expect(orders.split(separator: "\n").count == 501)
        #expect(!orders.contains("090-1234"))
        let summary = String(decoding: directory.read("out/_extract.json"), as: UTF8.self)
        #expect(!summary.contains(PostgresCluster.password))
        #expect(summary.contains("postgres:***@"))
        #expect(ReportSchema.violations("extract-summary", [directory.file("out/_extract.json")], in: directory) == nil)
        #expect(ReportSchema.violations("manifest", [directory.file("out/public.users/_manifest.json")], in: directory) == nil)
    }

    @Test func includeAndTableAndQuerySelectWhatIsExtracted() throws {
        let db = try database(Self.schema)
        let rules = MaskBinary.rules("pii.yaml")
        let include = Runner.mask(["extract", "--from", cluster.url(database: db), "--schema", "public", "--include", "orders",
                                   "--rules", rules, "--output", directory.file("a")], in: directory)
        #expect(include.status == 0, "\(include.stderr)")
        #expect(directory.list("a") == ["_SUCCESS", "_extract.json", "public.orders"])
        let query = Runner.mask(["extract", "--from", cluster.url(database: db), "--query", "SELECT id, contact FROM orders WHERE id <= 10",
                                 "--rules", rules, "--output", directory.file("b")], in: directory)
        #expect(query.status == 0, "\(query.stderr)")
        let rows = Gzip.decompress(directory.read("b/query/part-00000.csv.gz"), in: directory).output
        #expect(String(decoding: rows, as: UTF8.self).split(separator: "\n").count == 11)
        let both = Runner.mask(["extract", "--from", cluster.url(database: db), "--schema", "public", "--include", "a", "--exclude", "b",
                                "--rules", rules, "--output", directory.file("c")], in: directory)
        #expect(both.status == 64 || both.status == 2)
        #expect(both.stderr.contains("not both"))
    }

    @Test func failuresAreClearAndNeverShowThePassword() throws {
        let db = try database(Self.schema)
        let rules = MaskBinary.rules("pii.yaml")
        func extract(_ url: String, _ table: String = "users") -> RunResult {
            Runner.mask(["extract", "--from", url, "--table", table, "--rules", rules, "--output", directory.file("fail")], in: directory)
        }
        let wrongPassword = extract(cluster.url(database: db, password: "not-the-password-xyz"))
        #expect(wrongPassword.status == 3)
        #expect(wrongPassword.stderr.contains("authentication failed"))
        #expect(!wrongPassword.stderr.contains("not-the-password-xyz"))
        let refused = extract("postgresql://postgres:\(PostgresCluster.password)@127.0.0.1:1/\(db)")
        #expect(refused.status == 3)
        #expect(refused.stderr.contains("cannot connect"))
        #expect(!refused.stderr.contains(PostgresCluster.password))
        let missing = extract(cluster.url(database: db), "no_such_table")
        #expect(missing.status == 3)
        #expect(missing.stderr.contains("missing table"))
        let badURL = extract("postgresql://[broken")
        #expect(badURL.status == 2)
        cluster.psql("CREATE ROLE reader LOGIN PASSWORD 'reader-pass-123'", database: db)
        let denied = extract(cluster.url(database: db, user: "reader", password: "reader-pass-123"))
        #expect(denied.status == 3)
        #expect(denied.stderr.contains("permission denied"), "\(denied.stderr)")
        #expect(!denied.stderr.contains("reader-pass-123"))
        #expect(!directory.exists("fail/_SUCCESS"))
        #expect(directory.list("fail").isEmpty)
    }

    @Test func lostConnectionMidCopyLeavesNothingVisible() throws {
        let db = try database("""
            CREATE TABLE big AS SELECT g AS id, 'user' || g || '@example.com' AS email, repeat('x', 200) AS filler
            FROM generate_series(1, 400000) g;
            """)
        let rules = MaskBinary.rules("pii.yaml")
        // Kill the backend serving the COPY while it streams.
        let cluster = self.cluster
        let killer = Thread {
            for _ in 0..<200 {
                usleep(50_000)
                let (_, output) = cluster.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'COPY%' AND datname = '\(db)'")
                if output.contains("t") { return }
            }
        }
        killer.start()
        let result = Runner.mask(["extract", "--from", cluster.url(database: db), "--table", "big", "--rules", rules,
                                  "--output", directory.file("lost"), "--threads", "1", "--level", "9"], in: directory)
        #expect(result.status == 3, "\(result.stderr)")
        #expect(result.stderr.contains("connection lost") || result.stderr.contains("terminat"), "\(result.stderr)")
        let left = (try? FileManager.default.contentsOfDirectory(atPath: directory.file("lost"))) ?? []
        #expect(left.isEmpty, "left behind: \(left)")
    }
}
