import Foundation
import MaskTestSupport
import Testing

/// Issue 13, "no silent damage": the shipped rules keep the table's shape, a `drop` a user writes
/// is said out loud, and what a pattern or the default changed is in the report.
@Suite struct NoSilentDamageTests {
    let directory = TemporaryDirectory()

    @Test func theMaskedExampleLoadsIntoASourceShapedPostgreSQLTable() throws {
        let output = directory.file("out")
        let result = Runner.mask(
            ["--rules", MaskBinary.rules("pii.yaml"), "--input", "\(MaskBinary.repositoryRoot)/examples/customers.csv", "--output", output,
             "--compress", "none", "-q"], in: directory)
        try #require(result.status == 0, "\(result.stderr)")
        let cluster = PostgresCluster.shared
        let database = cluster.createDatabase()
        // The source's shape, and the source itself loaded beside it to compare with.
        let (created, createOutput) = cluster.psql("""
            CREATE TABLE source (id bigint PRIMARY KEY, created_at timestamptz NOT NULL, full_name text, email text, phone text,
                                 card_number text, ssn text, country char(2), notes text);
            CREATE TABLE customers (LIKE source INCLUDING ALL)
            """, database: database)
        try #require(created == 0, "\(createOutput)")
        let (sourceLoaded, sourceOutput) = cluster.psql(
            "\\copy source FROM '\(MaskBinary.repositoryRoot)/examples/customers.csv' WITH (FORMAT csv, HEADER true)", database: database)
        try #require(sourceLoaded == 0, "\(sourceOutput)")
        let part = directory.file("out/part-00000.csv")
        let (loaded, loadOutput) = cluster.psql("\\copy customers FROM '\(part)' WITH (FORMAT csv, HEADER true)", database: database)
        #expect(loaded == 0, "\(loadOutput)")
        let (_, counted) = cluster.psql(
            "SELECT (SELECT count(*) FROM source), count(*), count(ssn), (SELECT count(notes) FROM source) = count(notes) FROM customers",
            database: database)
        let manifest = try JSONSerialization.jsonObject(with: Data(directory.read("out/_manifest.json"))) as! [String: Any]
        let recordsIn = manifest["records_in"] as! Int
        #expect(recordsIn == 60)
        #expect(counted.trimmingCharacters(in: .whitespacesAndNewlines) == "60|60|0|t", "every row loaded, ssn NULL, NULL notes still NULL")
        #expect((manifest["dropped"] as? [String]) == [])
    }

    @Test(arguments: ["pii.yaml", "pii-strict.yaml", "pii-fail-closed.yaml"])
    func shippedRulesNeverDropAColumn(file: String) throws {
        let text = try String(contentsOfFile: MaskBinary.rules(file), encoding: .utf8)
        let fields = text.components(separatedBy: "\nfields:\n")[1].components(separatedBy: "\n\n")[0]
        let policies = fields.split(separator: "\n").filter { !$0.trimmingCharacters(in: .whitespaces).hasPrefix("#") }
        #expect(policies.count > 20)
        #expect(!policies.contains { $0.contains(": drop") || $0.contains(":drop") }, "\(file)")
    }

    @Test func aDropTheUserWroteIsInTheSummaryAndTheReport() throws {
        let rules = directory.write("drop.yaml", """
            version: 1
            fields:
              legacy_blob: drop
              "*secret*": drop
            default: keep
            """)
        let input = directory.write("in.csv", "id,legacy_blob,api_secret,name\n1,xx,yy,Ann\n")
        let report = directory.file("report.json")
        let result = Runner.mask(["--rules", rules, "--input", input, "--report", report, "--compress", "none"], in: directory)
        try #require(result.status == 0, "\(result.stderr)")
        #expect(result.stdoutText == "id,name\n1,Ann\n")
        #expect(result.stderr.contains("; dropped legacy_blob api_secret"), "\(result.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(directory.read("report.json"))) as! [String: Any]
        #expect(json["dropped"] as? [String] == ["legacy_blob", "api_secret"])
        let fields = json["fields"] as! [[String: Any]]
        #expect(fields.first { $0["name"] as? String == "api_secret" }?["matched_by"] as? String == "pattern")
        #expect(fields.first { $0["name"] as? String == "legacy_blob" }?["matched_by"] as? String == "exact")
    }

    @Test func columnsChangedByAPatternOrTheDefaultAreMarkedInTheReport() throws {
        let input = directory.write("in.csv", "id,personal_email,notes,ssn\n1,Ann@Example.com,call 415-555-0123,506-16-4622\n")
        let report = directory.file("report.json")
        let result = Runner.mask(["--rules", MaskBinary.rules("pii.yaml"), "--input", input, "--report", report, "--compress", "none", "-q"], in: directory)
        try #require(result.status == 0, "\(result.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(directory.read("report.json"))) as! [String: Any]
        let fields = Dictionary(uniqueKeysWithValues: (json["fields"] as! [[String: Any]]).map { ($0["name"] as! String, $0) })
        #expect(fields["personal_email"]?["matched_by"] as? String == "pattern")
        #expect(fields["personal_email"]?["rule"] as? String == "*email*")
        #expect(fields["personal_email"]?["changed"] as? Int == 1)
        #expect(fields["notes"]?["matched_by"] as? String == "default")
        #expect(fields["notes"]?["changed"] as? Int == 1)
        #expect(fields["ssn"]?["policy"] as? String == "null")
        #expect(result.stdoutText == "id,personal_email,notes,ssn\n1,\(result.stdoutText.split(separator: "\n")[1].split(separator: ",")[1]),call [PHONE],\n")
    }
}
