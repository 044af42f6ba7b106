import Foundation
import MaskTestSupport
import Testing

/// JSON inside a column (issue 14): a rule path that goes into a CSV or database column holding
/// JSON (`data.email`, `data.contact.phone`, `data.orders[].note`), as PostgreSQL exports a
/// `jsonb` column and as Airbyte stages a record in `_airbyte_data`. The masked export loads back
/// through PostgreSQL's own `COPY … FROM` into a `jsonb` column, so every cell is still JSON.
@Suite(.serialized) struct JSONInColumnTests {
    let directory = TemporaryDirectory()

    /// Rows as PostgreSQL SQL: the email is both a column and a key inside the JSON, so the two
    /// hashes can be compared; JSON null, SQL NULL, escapes, non-ASCII and nested arrays.
    static let insert = #"""
        INSERT INTO src VALUES
        (1, 'ann@example.com', '{"email": "Ann@Example.com", "name": "Ann", "contact": {"phone": "+1 415-555-0104", "city": "Oslo"}, "orders": [{"note": "ship to ann@example.com", "n": 1}, {"note": "none", "n": 2}], "ssn": "078-05-1120"}'),
        (2, 'bob@example.com', '{"email": "bob@example.com", "name": "Bøb \"the\" builder", "contact": {"phone": null}, "orders": [], "ssn": null}'),
        (3, NULL, NULL),
        (4, 'carl@example.com', '{"email": "carl@example.com", "name": "Carl\tTab", "orders": [{"note": "call 415-555-0188\nor mail carl@example.com", "n": 3}], "extra": {"deep": ["x", "carl@example.com"]}}'),
        (5, 'dee@example.com', '[1, 2]');
        """#

    func rules() throws -> String {
        let pii = try String(contentsOfFile: MaskBinary.rules("pii.yaml"), encoding: .utf8)
        let detectors = pii.components(separatedBy: "\nfields:")[0]
        return directory.write("rules.yaml", detectors + """

            fields:
              id: keep
              email: { hash: { detector: email } }
              data.email: { hash: { detector: email } }
              data.contact.phone: { hash: { detector: phone } }
              data.contact.city: keep
              data.name: keep
              data.orders[].note: scan
              data.orders[].n: keep
              data.ssn: null
            default: scan
            hash: { algorithm: hmac-sha256, key: env:MASK_HMAC_KEY, encoding: base64url, length: 16 }

            """)
    }

    @Test(arguments: ["csv", "text"])
    func jsonbColumnIsMaskedInsideAndLoadsBackAsJSON(copyFormat: String) throws {
        defer { directory.remove() }
        let cluster = PostgresCluster.shared
        let database = cluster.createDatabase()
        let setup = cluster.psql("CREATE TABLE src (id int PRIMARY KEY, email text, data jsonb); CREATE TABLE back (LIKE src); " + Self.insert, database: database)
        try #require(setup.0 == 0, "\(setup.1)")
        let export = directory.file("src.\(copyFormat)")
        let dumped = cluster.psql("\\copy src to '\(export)' with (format \(copyFormat), header)", database: database)
        try #require(dumped.0 == 0, "\(dumped.1)")
        let run = Runner.mask(
            ["--rules", try rules(), "--compress", "none", "--input", export, "--format", copyFormat == "csv" ? "csv" : "pgtext",
             "--report", directory.file("report.json")], in: directory)
        #expect(run.status == 0, "\(run.stderr)")
        let masked = directory.write("masked.\(copyFormat)", run.stdout)
        let text = String(decoding: run.stdout, as: UTF8.self)
        for planted in ["ann@example.com", "Ann@Example.com", "carl@example.com", "555-0104", "555-0188", "078-05-1120"] {
            #expect(!text.contains(planted), "\(planted) in clear:\n\(text)")
        }
        let loaded = cluster.psql("\\copy back from '\(masked)' with (format \(copyFormat), header)", database: database)
        try #require(loaded.0 == 0, "not loadable as jsonb: \(loaded.1)\n\(text)")
        func value(_ sql: String) -> String { cluster.psql(sql, database: database).1.trimmingCharacters(in: .whitespacesAndNewlines) }
        #expect(value("SELECT count(*) FROM back") == "5")
        // The email hashed inside the JSON is the hash of the same email in its own column.
        #expect(value("SELECT count(*) FROM back WHERE data->>'email' = email") == "3")
        #expect(value("SELECT count(*) FROM back WHERE data->>'email' IS NOT NULL AND data->>'email' LIKE '%@%'") == "0")
        // NULLs: SQL NULL stays NULL, JSON null stays null; `null` writes JSON null.
        #expect(value("SELECT count(*) FROM back WHERE data IS NULL AND email IS NULL AND id = 3") == "1")
        #expect(value("SELECT count(*) FROM back WHERE id = 2 AND data->'contact'->'phone' = 'null'::jsonb AND data->'ssn' = 'null'::jsonb") == "1")
        #expect(value("SELECT count(*) FROM back WHERE data ? 'ssn' AND data->'ssn' <> 'null'::jsonb") == "0")
        // Untouched paths are equal; kept names (escapes, non-ASCII, tab) unchanged.
        #expect(value("SELECT count(*) FROM back b JOIN src s USING (id) WHERE b.data->'name' IS DISTINCT FROM s.data->'name'") == "0")
        #expect(value("SELECT count(*) FROM back b JOIN src s USING (id) WHERE b.data->'contact'->'city' IS DISTINCT FROM s.data->'contact'->'city'") == "0")
        #expect(value("SELECT count(*) FROM back b JOIN src s USING (id) WHERE jsonb_path_query_array(b.data, '$.orders[*].n') <> jsonb_path_query_array(s.data, '$.orders[*].n')") == "0")
        // Scanned by the column's default policy: the note and the unnamed deep value.
        #expect(value("SELECT b.data->'orders'->0->>'note' FROM back b WHERE id = 1") == "ship to [EMAIL]")
        #expect(value("SELECT b.data->'extra'->'deep'->>1 FROM back b WHERE id = 4") == "[EMAIL]")
        // A cell that is JSON but not the shape the rules name (an array) is masked under them.
        #expect(value("SELECT data::text FROM back WHERE id = 5") == "[1, 2]")
    }

    @Test func aCellThatIsNotJSONIsScannedWithEveryDetectorAndCounted() throws {
        defer { directory.remove() }
        let input = directory.write("in.csv", """
            id,email,data
            1,a@example.com,"{""email"": ""a@example.com""}"
            2,b@example.com,not json: mail b@example.com or call 415-555-0104
            3,c@example.com,"{""email"": ""c@example.com"",
             ""pretty"": ""printed d@example.com""}"

            """)
        let run = Runner.mask(["--rules", try rules(), "--compress", "none", "--input", input, "--report", directory.file("report.json")], in: directory)
        #expect(run.status == 0, "\(run.stderr)")
        let text = String(decoding: run.stdout, as: UTF8.self)
        for planted in ["a@example.com", "b@example.com", "c@example.com", "d@example.com", "555-0104"] {
            #expect(!text.contains(planted), "\(planted) in clear:\n\(text)")
        }
        #expect(text.contains("not json: mail [EMAIL] or call [PHONE]"), "\(text)")
        let report = try JSONSerialization.jsonObject(with: Data(directory.read("report.json"))) as! [String: Any]
        let columns = try #require(report["fields"] as? [[String: Any]], "\(report)")
        let data = try #require(columns.first { $0["name"] as? String == "data" })
        #expect(data["unreadable_by_normalizer"] as? Int == 2, "\(data)")

        // Fail closed: a string under a path no rule reviews redacts its cell whole.
        let closed = directory.write("closed.yaml", try String(contentsOfFile: try rules(), encoding: .utf8)
            .replacingOccurrences(of: "default: scan", with: "default: error").replacingOccurrences(of: "  data.name: keep\n", with: ""))
        let strictInput = directory.write("strict.csv", """
            id,email,data
            1,a@example.com,"{""email"": ""a@example.com"", ""contact"": {""city"": ""Oslo""}}"
            2,b@example.com,"{""email"": ""b@example.com"", ""name"": ""Bob Smith""}"

            """)
        let strict = Runner.mask(["--rules", closed, "--compress", "none", "--input", strictInput], in: directory)
        #expect(strict.status == 0, "\(strict.stderr)")
        let strictText = String(decoding: strict.stdout, as: UTF8.self)
        #expect(strictText.contains("\"{\"\"email\"\": \"\"") && strictText.contains("\"\"city\"\": \"\"Oslo\"\"}}\""), "\(strictText)")
        #expect(strictText.contains("2,") && strictText.contains(",\"[REDACTED]\"\n") && !strictText.contains("Bob Smith"), "\(strictText)")

        // A path under a column the input does not have is still a typo, and said so.
        let typo = directory.write("typo.yaml", try String(contentsOfFile: try rules(), encoding: .utf8).replacingOccurrences(of: "data.email:", with: "dta.email:"))
        let refused = Runner.mask(["--rules", typo, "--input", input], in: directory)
        #expect(refused.status == 2 && refused.stderr.contains("unknown column 'dta.email'"), "\(refused.stderr)")
    }
}
