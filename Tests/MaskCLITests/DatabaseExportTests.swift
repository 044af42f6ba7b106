import Foundation
import MaskTestSupport
import Testing

/// The exports databases really write (issue 14), produced by real servers and loaded back by
/// their real loaders: PostgreSQL `COPY … TO STDOUT` (text and CSV) through `COPY … FROM`, MySQL
/// `SELECT … INTO OUTFILE` (tab, MySQL CSV, Cloud SQL's `ESCAPED BY '"'`) through `LOAD DATA
/// INFILE`, and what `mariadb --batch` prints.
///
/// Every round trip checks the same things: as many rows back, NULLs still NULL, untouched
/// columns byte-equal, no planted email or phone left in clear, the newline before an email kept
/// and the phone after an escaped tab found (the leak and the corruption of the issue).
@Suite(.serialized) struct DatabaseExportTests {
    let directory = TemporaryDirectory()

    /// The rows, as SQL both servers read (backslash escapes in MariaDB, `E''` in PostgreSQL):
    /// tabs, newlines, CRLF, backslashes, quotes, `\N`-looking and `NULL`-looking strings, and
    /// phone values no normaliser can read (`n/a`, `unknown`).
    static let rows: [(Int, String?, String?, String?, String)] = [
        (1, "ann@example.com", "415-555-0104", "col1\\t415-555-0104\\tmore", "tab\\there"),
        (2, nil, "n/a", "line1\\nbob@example.com", "back\\\\slash"),
        (3, "Carl@Example.com", nil, "quote \"q\" carl.q@example.com and \\'s", "\\\\N"),
        (4, "", "unknown", nil, "NULL"),
        (5, "dee@example.com", "+1 (415) 555-0188", "ends with backslash\\\\", "line\\nbreak\\r\\ncr"),
        (6, "eve@example.com", "415 555 0199", "\"q\" eve.q@example.com, starts with quote", "\"quoted\", comma"),
        (7, "fay@example.com", "(415) 555-0142", "call 415-555-0142 now", "\\\\t is not a tab"),
    ]

    static func literal(_ value: String?, postgres: Bool) -> String {
        guard let value else { return "NULL" }
        return postgres ? "E'\(value)'" : "'\(value)'"
    }

    static func insert(into table: String, postgres: Bool, rows: [(Int, String?, String?, String?, String)] = rows) -> String {
        "INSERT INTO \(table) VALUES " + rows.map { row in
            "(\(row.0), \(literal(row.1, postgres: postgres)), \(literal(row.2, postgres: postgres)), \(literal(row.3, postgres: postgres)), \(literal(row.4, postgres: postgres)))"
        }.joined(separator: ", ")
    }

    /// pii.yaml's detectors, with the columns named both ways (header names and, for exports
    /// without a header, numbers).
    func rules(numbered: Bool) throws -> String {
        let pii = try String(contentsOfFile: MaskBinary.rules("pii.yaml"), encoding: .utf8)
        let detectors = pii.components(separatedBy: "\nfields:")[0]
        let (email, phone) = numbered ? ("\"2\"", "\"3\"") : ("email", "phone")
        return directory.write(
            numbered ? "numbered.yaml" : "named.yaml",
            detectors + """

                fields:
                  \(email): { hash: { detector: email } }
                  \(phone): { hash: { detector: phone } }
                default: scan
                hash: { algorithm: hmac-sha256, key: env:MASK_HMAC_KEY, encoding: base64url, length: 16 }

                """)
    }

    func mask(_ arguments: [String], input: String, output: String, numbered: Bool) throws -> String {
        let result = Runner.mask(
            ["--rules", try rules(numbered: numbered), "--compress", "none", "--input", input, "--report", directory.file("report.json")] + arguments,
            in: directory)
        #expect(result.status == 0, "\(result.stderr)")
        FileManager.default.createFile(atPath: output, contents: Data(result.stdout))
        return String(decoding: result.stdout, as: UTF8.self)
    }

    /// The report's count of phone values hashed as they are (`n/a`, `unknown`).
    func unreadablePhones() throws -> Int {
        let report = try JSONSerialization.jsonObject(with: Data(directory.read("report.json"))) as! [String: Any]
        let fields = report["fields"] as! [[String: Any]]
        return fields.first { ($0["name"] as! String) == "phone" || ($0["name"] as! String) == "3" }!["unreadable_by_normalizer"] as! Int
    }

    // MARK: PostgreSQL

    func postgresChecks(_ cluster: PostgresCluster, database: String) {
        func count(_ sql: String) -> String { cluster.psql(sql, database: database).1.trimmingCharacters(in: .whitespacesAndNewlines) }
        #expect(count("SELECT count(*) FROM back") == "\(Self.rows.count)")
        #expect(count("""
            SELECT count(*) FROM people a JOIN back b USING (id) WHERE (a.email IS NULL) <> (b.email IS NULL) OR (a.phone IS NULL) <> (b.phone IS NULL)
              OR (a.note IS NULL) <> (b.note IS NULL) OR a.plain IS DISTINCT FROM b.plain
            """) == "0")
        #expect(count("SELECT count(*) FROM back WHERE concat_ws('|', email, phone, note) ~ '@example\\.com|555[- ]01|Example\\.com'") == "0")
        #expect(count("SELECT count(*) FROM people a JOIN back b USING (id) WHERE a.email <> '' AND a.email = b.email") == "0")
        #expect(count("SELECT count(*) FROM back WHERE email = ''") == "1")
        #expect(count("SELECT count(DISTINCT phone) FROM back WHERE id IN (2, 4)") == "2")
        #expect(count("SELECT count(*) FROM back WHERE note = E'line1\\n[EMAIL]' OR note = E'col1\\t[PHONE]\\tmore'") == "2")
    }

    func postgresSetup(_ cluster: PostgresCluster) throws -> String {
        let database = cluster.createDatabase()
        let (status, output) = cluster.psql(
            "CREATE TABLE people (id int PRIMARY KEY, email text, phone text, note text, plain text); CREATE TABLE back (LIKE people); "
                + Self.insert(into: "people", postgres: true), database: database)
        try #require(status == 0, "\(output)")
        return database
    }

    @Test func postgresTextCopyRoundTripsThroughCopyFrom() throws {
        let cluster = PostgresCluster.shared
        let database = try postgresSetup(cluster)
        let export = directory.file("people.txt")
        let masked = directory.file("people.masked.txt")
        let (status, output) = cluster.psql("\\copy people to '\(export)' with (format text, header)", database: database)
        try #require(status == 0, "\(output)")
        let text = try mask(["--format", "pgtext"], input: export, output: masked, numbered: false)
        #expect(text.contains("\t\\N\t"), "NULL stays \\N")
        #expect(try unreadablePhones() == 2)
        let (loaded, loadOutput) = cluster.psql("\\copy back from '\(masked)' with (format text, header)", database: database)
        try #require(loaded == 0, "\(loadOutput)")
        postgresChecks(cluster, database: database)
    }

    /// The `\.` line pg_dump writes after each table's COPY data is the end-of-data marker, not a
    /// one-field record: it passes through as it came, is not counted, and the masked data with it
    /// loads back through `COPY FROM` (which stops there, as it would on the input).
    @Test(arguments: ["1", "3", "2M"])
    func pgDumpEndOfDataMarkerPassesThrough(chunkSize: String) throws {
        let input = directory.write("dump-\(chunkSize).txt", "1\tann@example.com\tkeep\n2\t\\N\tx\n\\.\n")
        let result = Runner.mask(
            ["--rules", MaskBinary.rules("pii.yaml"), "--format", "pgtext", "--no-header", "--compress", "none", "--input", input,
             "--chunk-size", chunkSize, "--report", directory.file("dump-\(chunkSize).json")],
            in: directory)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdoutText.hasSuffix("\n\\.\n"), "the marker comes out as it went in: \(result.stdoutText)")
        #expect(!result.stdoutText.contains("ann@example.com"))
        let report = try JSONSerialization.jsonObject(with: Data(directory.read("dump-\(chunkSize).json"))) as! [String: Any]
        #expect(report["records_in"] as? Int == 2 && report["records_out"] as? Int == 2, "the marker is no record: \(report)")
    }

    @Test func pgDumpDataWithItsMarkerLoadsBackThroughCopyFrom() throws {
        let cluster = PostgresCluster.shared
        let database = try postgresSetup(cluster)
        let export = directory.file("people-dump.txt")
        let masked = directory.file("people-dump.masked.txt")
        // pg_dump's own data section: COPY ... FROM stdin; the rows; \.
        let dump = Runner.run("/usr/bin/pg_dump", ["--data-only", "--table", "people", cluster.url(database: database)],
                              environment: ["PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"], in: directory)
        try #require(dump.status == 0, "\(dump.stderr)")
        let lines = dump.stdoutText.components(separatedBy: "\n")
        let copy = try #require(lines.firstIndex { $0.hasPrefix("COPY ") })
        let end = try #require(lines[copy...].firstIndex(of: "\\."), "pg_dump ends its data with \\.")
        _ = directory.write("people-dump.txt", lines[(copy + 1)...end].joined(separator: "\n") + "\n")
        _ = try mask(["--format", "pgtext", "--no-header"], input: export, output: masked, numbered: true)
        let (loaded, loadOutput) = cluster.psql("\\copy back from '\(masked)' with (format text)", database: database)
        try #require(loaded == 0, "\(loadOutput)")
        postgresChecks(cluster, database: database)
    }

    @Test func postgresCSVCopyKeepsNullsThroughCopyFrom() throws {
        let cluster = PostgresCluster.shared
        let database = try postgresSetup(cluster)
        let export = directory.file("people.csv")
        let masked = directory.file("people.masked.csv")
        let (status, output) = cluster.psql("\\copy people to '\(export)' with (format csv, header)", database: database)
        try #require(status == 0, "\(output)")
        _ = try mask(["--format", "csv"], input: export, output: masked, numbered: false)
        let (loaded, loadOutput) = cluster.psql("\\copy back from '\(masked)' with (format csv, header)", database: database)
        try #require(loaded == 0, "\(loadOutput)")
        postgresChecks(cluster, database: database)
    }

    // MARK: MariaDB

    func mariaSetup(_ server: MariaDBServer) throws -> String {
        let database = server.createDatabase()
        let (status, output) = server.sql(
            "CREATE TABLE people (id INT PRIMARY KEY, email VARCHAR(200) NULL, phone VARCHAR(100) NULL, note TEXT NULL, plain TEXT NULL); "
                + "CREATE TABLE back LIKE people; " + Self.insert(into: "people", postgres: false), database: database)
        try #require(status == 0, "\(output)")
        return database
    }

    func mariaChecks(_ server: MariaDBServer, database: String, rows: [Int] = rows.map(\.0), plainIsExact: Bool = true) {
        func count(_ sql: String) -> String { server.sql(sql, database: database).1.trimmingCharacters(in: .whitespacesAndNewlines) }
        let ids = rows.map(String.init).joined(separator: ",")
        #expect(count("SELECT count(*) FROM back") == "\(rows.count)")
        #expect(count("""
            SELECT count(*) FROM people a JOIN back b USING (id) WHERE (a.email IS NULL) <> (b.email IS NULL) OR (a.phone IS NULL) <> (b.phone IS NULL)
              OR (a.note IS NULL) <> (b.note IS NULL)
            """) == "0")
        if plainIsExact {
            #expect(count("SELECT count(*) FROM people a JOIN back b USING (id) WHERE NOT (CAST(a.plain AS BINARY) <=> CAST(b.plain AS BINARY))") == "0")
        }
        #expect(count("SELECT count(*) FROM back WHERE CONCAT_WS('|', email, phone, note) REGEXP '@example\\\\.com|555[- ]01|Example\\\\.com'") == "0")
        #expect(count("SELECT count(*) FROM people a JOIN back b USING (id) WHERE a.email <> '' AND CAST(a.email AS BINARY) = CAST(b.email AS BINARY)") == "0")
        #expect(count("SELECT count(*) FROM back WHERE email = ''") == (rows.contains(4) ? "1" : "0"))
        #expect(count("SELECT count(DISTINCT phone) FROM back WHERE id IN (2, 4)") == "\([2, 4].filter(rows.contains).count)")
        let expectedNotes = (rows.contains(1) ? 1 : 0) + (rows.contains(2) ? 1 : 0)
        #expect(count("SELECT count(*) FROM back WHERE note = 'line1\\n[EMAIL]' OR note = 'col1\\t[PHONE]\\tmore'") == "\(expectedNotes)")
        #expect(count("SELECT count(*) FROM people WHERE id IN (\(ids))") == "\(rows.count)")
    }

    @Test func mysqlIntoOutfileRoundTripsThroughLoadData() throws {
        let server = MariaDBServer.shared
        let database = try mariaSetup(server)
        let export = server.file("\(database).txt")
        let masked = server.file("\(database).masked.txt")
        let (status, output) = server.sql("SELECT * INTO OUTFILE '\(export)' FROM people", database: database)
        try #require(status == 0, "\(output)")
        let text = try mask(["--format", "mysql", "--no-header"], input: export, output: masked, numbered: true)
        #expect(text.contains("\t\\N\t"))
        #expect(try unreadablePhones() == 2)
        let (loaded, loadOutput) = server.sql("LOAD DATA INFILE '\(masked)' INTO TABLE back", database: database)
        try #require(loaded == 0, "\(loadOutput)")
        mariaChecks(server, database: database)
    }

    @Test func mysqlCSVEnclosedByQuoteRoundTripsThroughLoadData() throws {
        let server = MariaDBServer.shared
        let database = try mariaSetup(server)
        let export = server.file("\(database).csv")
        let masked = server.file("\(database).masked.csv")
        let fields = "FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' ESCAPED BY '\\\\'"
        let (status, output) = server.sql("SELECT * INTO OUTFILE '\(export)' \(fields) FROM people", database: database)
        try #require(status == 0, "\(output)")
        let text = try mask(["--format", "mysql", "--delimiter", ",", "--enclosed-by", "\"", "--no-header"], input: export, output: masked, numbered: true)
        #expect(text.contains(",\\N,"))
        let (loaded, loadOutput) = server.sql("LOAD DATA INFILE '\(masked)' INTO TABLE back \(fields)", database: database)
        try #require(loaded == 0, "\(loadOutput)")
        mariaChecks(server, database: database)
    }

    /// Cloud SQL for MySQL's CSV export (`ESCAPED BY '"'`): NULL is `"N`. MariaDB's LOAD DATA
    /// reads neither that NULL nor a newline inside a value (written `"` + newline) back from its
    /// own export, so the NULLs are checked in the masked bytes and the round trip is made with
    /// the rows that have neither.
    @Test func cloudSQLCSVWithQuoteNullKeepsNullsAndRoundTrips() throws {
        let server = MariaDBServer.shared
        let database = try mariaSetup(server)
        let fields = "FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' ESCAPED BY '\"'"
        let arguments = ["--format", "mysql", "--delimiter", ",", "--enclosed-by", "\"", "--escaped-by", "\"", "--no-header"]
        let export = server.file("\(database).cloud.csv")
        let (status, output) = server.sql("SELECT * INTO OUTFILE '\(export)' \(fields) FROM people WHERE id <> 2 AND id <> 5", database: database)
        try #require(status == 0, "\(output)")
        let original = String(decoding: FileManager.default.contents(atPath: export) ?? Data(), as: UTF8.self)
        let text = try mask(arguments, input: export, output: server.file("\(database).cloud.masked.csv"), numbered: true)
        func nulls(_ text: String) -> Int { text.components(separatedBy: ",\"N,").count + text.components(separatedBy: ",\"N\n").count - 2 }
        #expect(nulls(original) == 2 && nulls(text) == 2)
        #expect(text.split(separator: "\n").count == Self.rows.count - 2)
        #expect(!text.contains("@example.com") && !text.contains("555-01") && !text.contains("Example.com"))
        #expect(try unreadablePhones() == 1)

        let complete = server.file("\(database).complete.csv")
        let masked = server.file("\(database).complete.masked.csv")
        let (exported, exportOutput) = server.sql(
            "SELECT * INTO OUTFILE '\(complete)' \(fields) FROM people WHERE email IS NOT NULL AND phone IS NOT NULL AND note IS NOT NULL AND id <> 5",
            database: database)
        try #require(exported == 0, "\(exportOutput)")
        _ = try mask(arguments, input: complete, output: masked, numbered: true)
        let (loaded, loadOutput) = server.sql(
            "LOAD DATA INFILE '\(masked)' INTO TABLE back \(fields); DELETE FROM people WHERE id NOT IN (SELECT id FROM back)", database: database)
        try #require(loaded == 0, "\(loadOutput)")
        mariaChecks(server, database: database, rows: [1, 6, 7])
    }

    /// `mariadb --batch` prints NULL as the word NULL, as it prints the string 'NULL':
    /// `--null-string NULL` keeps both as they are (the word is never hashed or redacted).
    @Test func mariadbBatchOutputWithNullWordLoadsBack() throws {
        let server = MariaDBServer.shared
        let database = try mariaSetup(server)
        let (status, printed) = server.batch("SELECT * FROM people ORDER BY id", database: database)
        try #require(status == 0, "\(String(decoding: printed, as: UTF8.self))")
        let export = directory.write("batch.tsv", printed)
        let masked = server.file("\(database).batch.masked.txt")
        let text = try mask(["--format", "mysql", "--null-string", "NULL"], input: export, output: masked, numbered: false)
        #expect(text.hasPrefix("id\temail\tphone\tnote\tplain\n"))
        #expect(text.contains("\n2\tNULL\t"))
        #expect(try unreadablePhones() == 2)
        let (loaded, loadOutput) = server.sql(
            "LOAD DATA INFILE '\(masked)' INTO TABLE back IGNORE 1 LINES (id, @email, @phone, @note, plain) "
                + "SET email = NULLIF(@email, 'NULL'), phone = NULLIF(@phone, 'NULL'), note = NULLIF(@note, 'NULL')", database: database)
        try #require(loaded == 0, "\(loadOutput)")
        mariaChecks(server, database: database)
    }

    // MARK: Formats from file names

    @Test func tsvInPipeModeIsReadWithTabs() throws {
        let input = directory.write("people.tsv", "id\temail\n1\tann@example.com\n")
        let result = Runner.mask(["--rules", MaskBinary.rules("pii.yaml"), "--compress", "none", "--input", input], in: directory)
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdoutText.split(separator: "\n")
        #expect(lines.first == "id\temail")
        #expect(lines.count == 2 && lines[1].hasPrefix("1\t") && !lines[1].contains("ann@"))
    }
}

/// The escaped text formats on hand-made inputs: escapes a server writes rarely, chunk
/// boundaries anywhere, malformed records, verification.
@Suite struct EscapedTextFormatTests {
    let directory = TemporaryDirectory()

    /// Octal and hex escapes hide an email from a detector that reads the raw bytes; CRLF line
    /// ends and an escaped CR stay as they were.
    static let pgtext = "id\tnote\tplain\r\n1\tann\\100example.com\tkeep\\\\me\r\n2\tbob\\x40example.com\t\\N\r\n3\tline1\\nann@example.com\ta\\\rb\r\n"

    @Test(arguments: ["1", "7", "64", "2M"])
    func pgtextEscapesAreDecodedWhateverTheChunkSize(chunkSize: String) throws {
        let input = directory.write("in.txt", Self.pgtext)
        let result = Runner.mask(
            ["--rules", MaskBinary.rules("pii.yaml"), "--format", "pgtext", "--compress", "none", "--input", input, "--chunk-size", chunkSize],
            in: directory)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdoutText == "id\tnote\tplain\r\n1\t[EMAIL]\tkeep\\\\me\r\n2\t[EMAIL]\t\\N\r\n3\tline1\\n[EMAIL]\ta\\\rb\r\n")
    }

    /// MySQL's own escapes (`\0`, `\Z`), and an escaped delimiter and line end as INTO OUTFILE
    /// writes them (backslash + the byte itself).
    @Test(arguments: ["1", "5", "2M"])
    func mysqlEscapedTabAndNewlineStayInsideTheValue(chunkSize: String) throws {
        let input = directory.write("in.txt", "1\tcol1\\\t415-555-0104\\\tmore\\0\\Z\n2\tline1\\\nann@example.com\n")
        let result = Runner.mask(
            ["--rules", MaskBinary.rules("pii.yaml"), "--format", "mysql", "--no-header", "--compress", "none", "--input", input, "--chunk-size", chunkSize],
            in: directory)
        #expect(result.status == 0, "\(result.stderr)")
        // Only the detections change: the escapes around them stay as they were written.
        #expect(result.stdoutText == "1\tcol1\\\t[PHONE]\\\tmore\\0\\Z\n2\tline1\\\n[EMAIL]\n")
    }

    /// MySQL CSV: a line end inside an enclosed field (raw, as a hand-made file may have it, or
    /// escaped, as INTO OUTFILE writes it) is data, wherever the chunks are cut.
    @Test(arguments: ["1", "3", "2M"])
    func mysqlCSVEnclosedLineEndsStayInsideTheValue(chunkSize: String) throws {
        let input = directory.write("in.csv", "1,\"raw\nann@example.com\",\\N\n2,\"esc\\\nbob@example.com \\\"q\\\"\",\"x,y\"\n")
        let result = Runner.mask(
            ["--rules", MaskBinary.rules("pii.yaml"), "--format", "mysql", "--delimiter", ",", "--enclosed-by", "\"", "--no-header",
             "--compress", "none", "--input", input, "--chunk-size", chunkSize], in: directory)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdoutText == "1,\"raw\n[EMAIL]\",\\N\n2,\"esc\\\n[EMAIL] \\\"q\\\"\",\"x,y\"\n")
    }

    /// A scan splices its tokens into the raw bytes; a hash writes its (plain) value.
    @Test func scanKeepsTheEscapesAroundWhatItFinds() throws {
        let input = directory.write("in.txt", "id\tnote\tphone\n1\t\\x41\\102C\\\\ ann@example.com \\t\\x7e\t\\x34\\x315-555-0104\n")
        let result = Runner.mask(["--rules", MaskBinary.rules("pii.yaml"), "--format", "pgtext", "--compress", "none", "--input", input], in: directory)
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdoutText.split(separator: "\n")
        #expect(lines[1].hasPrefix("1\t\\x41\\102C\\\\ [EMAIL] \\t\\x7e\t"))
        #expect(!lines[1].hasSuffix("\\x34\\x315-555-0104") && lines[1].split(separator: "\t").last!.count == 16)
    }

    @Test func malformedRecordGoesToRejectsMasked() throws {
        let input = directory.write("in.txt", "id\temail\tnote\n1\tann@example.com\tok\n2\tbob@example.com\tcarl@example.com\textra\n")
        let rejects = directory.file("rejects.txt")
        let result = Runner.mask(
            ["--rules", MaskBinary.rules("pii.yaml"), "--format", "pgtext", "--compress", "none", "--input", input, "--rejects", rejects], in: directory)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("record 2 at byte offset 35: wrong number of fields"))
        let rejected = String(decoding: directory.read("rejects.txt"), as: UTF8.self)
        #expect(rejected.hasPrefix("id\temail\tnote\n") && rejected.split(separator: "\n").count == 2)
        #expect(!rejected.contains("@example.com"))
        let without = Runner.mask(["--rules", MaskBinary.rules("pii.yaml"), "--format", "pgtext", "--compress", "none", "--input", input], in: directory)
        #expect(without.status == 1)
        #expect(!without.stderr.contains("example.com"))
    }

    @Test func verifyReadsDecodedValues() throws {
        let clean = directory.write("clean.txt", "id\tnote\n1\t[EMAIL]\n2\t\\N\n")
        let dirty = directory.write("dirty.txt", "id\tnote\n1\tann\\x40example.com\n")
        let rules = MaskBinary.rules("pii.yaml")
        #expect(Runner.mask(["verify", "--rules", rules, "--format", "pgtext", clean], in: directory).status == 0)
        let found = Runner.mask(["verify", "--rules", rules, "--format", "pgtext", dirty], in: directory)
        #expect(found.status == 1, "\(found.stderr)")
        #expect(found.stdoutText.contains("field note") || found.stderr.contains("field note"))
    }

    @Test func nullStringNeedsATextFormat() {
        let result = Runner.mask(["--rules", MaskBinary.rules("pii.yaml"), "--null-string", "NULL"], in: directory)
        #expect(result.status == 2)
        #expect(result.stderr.contains("--null-string needs --format pgtext or mysql"))
    }

    /// JSON `null` and CSV's unquoted empty field (PostgreSQL's NULL) stay NULL under every policy.
    @Test func nullStaysNullInCSVAndJSONUnderEveryPolicy() throws {
        let rules = directory.write("rules.yaml", """
            version: 1
            detectors:
              email: { pattern: '[a-z]+@[a-z]+\\.com', token: "[EMAIL]" }
            fields:
              h: hash
              r: redact
              m: { mask: { keep_last: 2 } }
              s: scan
            default: scan
            hash: { algorithm: hmac-sha256, key: env:MASK_HMAC_KEY }

            """)
        let csv = directory.write("in.csv", "h,r,m,s\n,,,\n\"\",\"\",\"\",\"\"\n")
        let csvResult = Runner.mask(["--rules", rules, "--compress", "none", "--input", csv], in: directory)
        #expect(csvResult.status == 0, "\(csvResult.stderr)")
        #expect(csvResult.stdoutText == "h,r,m,s\n,,,\n\"\",\"\",\"\",\"\"\n")
        let jsonl = directory.write("in.jsonl", "{\"h\":null,\"r\":null,\"m\":null,\"s\":null}\n")
        let jsonResult = Runner.mask(["--rules", rules, "--compress", "none", "--input", jsonl], in: directory)
        #expect(jsonResult.status == 0, "\(jsonResult.stderr)")
        #expect(jsonResult.stdoutText == "{\"h\":null,\"r\":null,\"m\":null,\"s\":null}\n")
        let text = directory.write("in.txt", "h\tr\tm\ts\n\\N\t\\N\t\\N\t\\N\n")
        let textResult = Runner.mask(["--rules", rules, "--format", "pgtext", "--compress", "none", "--input", text], in: directory)
        #expect(textResult.stdoutText == "h\tr\tm\ts\n\\N\t\\N\t\\N\t\\N\n")
    }

    @Test func nullPolicyWritesTheFormatsOwnNull() throws {
        let rules = directory.write("rules.yaml", """
            version: 1
            detectors:
              email: { pattern: '[a-z]+@[a-z]+\\.com', token: "[EMAIL]" }
            fields:
              email: "null"
            default: scan

            """)
        let text = directory.write("in.txt", "id\temail\n1\tann@x.com\n2\t\n")
        let pg = Runner.mask(["--rules", rules, "--format", "pgtext", "--compress", "none", "--input", text], in: directory)
        #expect(pg.stdoutText == "id\temail\n1\t\\N\n2\t\\N\n", "\(pg.stderr)")
        let batch = Runner.mask(["--rules", rules, "--format", "mysql", "--null-string", "NULL", "--compress", "none", "--input", text], in: directory)
        #expect(batch.stdoutText == "id\temail\n1\tNULL\n2\tNULL\n", "\(batch.stderr)")
    }
}

/// `mask batch` reads the database text formats too, with the same options as pipe mode.
@Suite struct BatchTextFormatTests {
    let directory = TemporaryDirectory()

    @Test func batchMasksPgtextFilesChosenByInclude() throws {
        try FileManager.default.createDirectory(atPath: directory.file("in"), withIntermediateDirectories: true)
        directory.write("in/users.txt", "id\temail\tnote\n1\tann@example.com\tline1\\nbob@example.com\n2\t\\N\tNULL\n")
        let result = Runner.mask(
            ["batch", "--rules", MaskBinary.rules("pii.yaml"), "--format", "mysql", "--null-string", "NULL", "--include", "*.txt",
             "--input", directory.file("in"), "--output", directory.file("out")], in: directory)
        #expect(result.status == 0, "\(result.stderr)")
        let outputs = directory.list("out").filter { !$0.hasPrefix("_") && !$0.hasPrefix(".") }
        try #require(outputs.count == 1, "\(directory.list("out"))")
        let text = String(decoding: Gzip.decompress(directory.read("out/\(outputs[0])"), in: directory).output, as: UTF8.self)
        #expect(text.hasPrefix("id\temail\tnote\n1\t"))
        #expect(text.contains("\tline1\\n[EMAIL]\n2\t\\N\tNULL\n"))
        #expect(!text.contains("example.com"))
        let manifest = String(decoding: directory.read("out/_manifests/users.txt.json"), as: UTF8.self)
        #expect(manifest.contains("\"text_syntax\""))
    }
}
