import Foundation
import MaskTestSupport
import Testing

/// `mask extract --query` runs exactly one read-only statement, whatever the text tries.
@Suite(.serialized) struct ExtractQueryTests {
    let directory = TemporaryDirectory()
    let cluster = PostgresCluster.shared

    func database() throws -> String {
        let name = cluster.createDatabase()
        let (status, output) = cluster.psql("""
            CREATE TABLE users (id int, email text);
            INSERT INTO users VALUES (1, 'ann@example.com'), (2, 'bob@example.com');
            CREATE TABLE canary (id int);
            INSERT INTO canary VALUES (42);
            """, database: name)
        try #require(status == 0, "\(output)")
        return name
    }

    func extract(_ db: String, query: String, output: String = "out") -> RunResult {
        Runner.mask(["extract", "--from", cluster.url(database: db), "--query", query,
                     "--rules", MaskBinary.rules("pii.yaml"), "--output", directory.file(output)], in: directory)
    }

    func canaryIsIntact(_ db: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let (status, output) = cluster.psql("SELECT id FROM canary", database: db)
        #expect(status == 0 && output.trimmingCharacters(in: .whitespacesAndNewlines) == "42", "canary: \(output)", sourceLocation: sourceLocation)
    }

    func expectRefused(_ result: RunResult, _ message: String, output: String = "out", sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(result.status == 2, "\(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.stderr.contains(message), "\(result.stderr)", sourceLocation: sourceLocation)
        #expect(!result.stderr.contains(PostgresCluster.password), sourceLocation: sourceLocation)
        #expect(!directory.exists("\(output)/_SUCCESS") && !directory.exists("\(output)/query"), sourceLocation: sourceLocation)
    }

    @Test func theWrapperEscapeIsRefusedAndTheCanarySurvives() throws {
        let db = try database()
        let exploit = extract(db, query: "select * from users) TO STDOUT; COMMIT; DROP TABLE canary; COPY (SELECT 1")
        expectRefused(exploit, #"syntax error at or near ")""#)
        #expect(exploit.stderr.contains("--query must be exactly one"), "\(exploit.stderr)")
        canaryIsIntact(db)
        // The same without the parenthesis: several statements are refused by the server, not run.
        expectRefused(extract(db, query: "SELECT 1; DROP TABLE canary"), "cannot insert multiple commands into a prepared statement")
        canaryIsIntact(db)
        // A line comment cannot swallow the COPY's own target and options. (/tmp: the server's
        // user could create the file there, were the program run.)
        let pwned = "/tmp/mask-pwned-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: pwned) }
        expectRefused(extract(db, query: "SELECT * FROM users) TO PROGRAM 'touch \(pwned)' --"), "syntax error")
        expectRefused(extract(db, query: "SELECT * FROM users\n) TO PROGRAM 'touch \(pwned)' --"), "syntax error")
        #expect(!FileManager.default.fileExists(atPath: pwned))
        // Statements that return no rows or that write are refused before anything is written.
        expectRefused(extract(db, query: "DROP TABLE canary"), "returns none")
        expectRefused(extract(db, query: "DELETE FROM canary RETURNING *"), "cannot execute DELETE in a read-only transaction")
        expectRefused(extract(db, query: "WITH gone AS (DELETE FROM canary RETURNING *) SELECT * FROM gone"), "read-only transaction")
        canaryIsIntact(db)
        expectRefused(extract(db, query: " ;\n "), "--query is empty")
    }

    @Test func serverErrorsAreShownInFull() throws {
        let db = try database()
        let syntax = extract(db, query: "SELEC id FROM users")
        expectRefused(syntax, #"syntax error at or near "SELEC""#)
        let missing = extract(db, query: "SELECT * FROM no_such_table")
        #expect(missing.status == 3, "\(missing.stderr)")
        #expect(missing.stderr.contains(#"relation "no_such_table" does not exist"#), "\(missing.stderr)")
        let column = extract(db, query: "SELECT nope FROM users")
        #expect(column.status == 3, "\(column.stderr)")
        #expect(column.stderr.contains(#"column "nope" does not exist"#), "\(column.stderr)")
        #expect(!column.stderr.contains(PostgresCluster.password))
    }

    @Test func plainQueriesTrailingSemicolonsAndCommentsWork() throws {
        let db = try database()
        for (index, query) in ["SELECT id, email FROM users ORDER BY id", "SELECT id, email FROM users ORDER BY id; \n",
                               "SELECT id, email FROM users ORDER BY id -- newest first", "VALUES (1, 'ann@example.com'), (2, 'x')"].enumerated() {
            let result = extract(db, query: query, output: "ok\(index)")
            #expect(result.status == 0, "\(query): \(result.stderr)")
            let text = String(decoding: Gzip.decompress(directory.read("ok\(index)/query/part-00000.csv.gz"), in: directory).output, as: UTF8.self)
            #expect(text.split(separator: "\n").count == 3, "\(query): \(text)")
            #expect(!text.contains("ann@example.com"))
        }
    }
}
