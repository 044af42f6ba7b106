import Foundation
import MaskTestSupport
import Testing

/// --output DIR: parts, manifest, _SUCCESS, atomic appearance.
@Suite struct OutputDirectoryTests {
    let directory = TemporaryDirectory()

    @Test func partsRotateAndEachCarriesTheHeader() throws {
        let rulesPath = directory.write("r.yaml", Fixtures.everyPolicyRules)
        let input = directory.write("in.csv", Fixtures.syntheticCSV(rows: 20000))
        let result = Runner.mask(
            ["--rules", rulesPath, "--input", input, "--output", directory.file("out"), "--max-part-size", "64K", "--chunk-size", "32K"],
            in: directory)
        #expect(result.status == 0, "\(result.stderr)")
        let files = directory.list("out")
        let parts = files.filter { $0.hasPrefix("part-") }
        #expect(parts.count > 2, "\(files)")
        #expect(files.contains("_SUCCESS") && files.contains("_manifest.json"))
        #expect(files.allSatisfy { !$0.hasPrefix(".") })
        let manifest = try JSONSerialization.jsonObject(with: Data(directory.read("out/_manifest.json"))) as! [String: Any]
        let listed = manifest["parts"] as! [[String: Any]]
        #expect(listed.map { $0["file"] as! String } == parts)
        var records = 0
        var combined: [UInt8] = []
        for (index, part) in parts.enumerated() {
            let bytes = directory.read("out/\(part)")
            #expect(listed[index]["bytes"] as? Int == bytes.count)
            let digest = Runner.run("/usr/bin/env", ["sha256sum", directory.file("out/\(part)")], environment: ["PATH": "/usr/bin:/bin"], in: directory).stdoutText.prefix(64)
            #expect(listed[index]["sha256"] as? String == String(digest))
            let text = Gzip.decompress(bytes, in: directory).output
            #expect(text.starts(with: Array("id,name,email,phone,notes\n".utf8)))
            combined += index == 0 ? text : Array(text.dropFirst("id,name,email,phone,notes\n".utf8.count))
            records += listed[index]["records"] as! Int
        }
        #expect(records == 20000)
        #expect(manifest["records_in"] as? Int == 20000)
        #expect(manifest["key_id"] as? String != nil)
        #expect(!String(decoding: directory.read("out/_manifest.json"), as: UTF8.self).contains(Runner.key))
        // The parts together are exactly the stdout output.
        let piped = Runner.mask(["--rules", rulesPath, "--input", input, "--compress", "none"], in: directory)
        #expect(combined == piped.stdout)
    }

    @Test func existingOutputIsProtectedUnlessOverwrite() throws {
        let rulesPath = directory.write("r.yaml", Fixtures.everyPolicyRules)
        let input = directory.write("in.csv", Fixtures.syntheticCSV(rows: 10))
        let out = directory.file("out")
        #expect(Runner.mask(["--rules", rulesPath, "--input", input, "--output", out], in: directory).status == 0)
        let again = Runner.mask(["--rules", rulesPath, "--input", input, "--output", out], in: directory)
        #expect(again.status == 2)
        #expect(again.stderr.contains("--overwrite"))
        #expect(Runner.mask(["--rules", rulesPath, "--input", input, "--output", out, "--overwrite"], in: directory).status == 0)
        #expect(directory.list("out") == ["_SUCCESS", "_manifest.json", "part-00000.csv.gz"])
    }

    @Test func reportHoldsCountsPerDetectorAndField() throws {
        let rulesPath = directory.write("r.yaml", Fixtures.everyPolicyRules)
        let input = directory.write("in.csv", "id,email,notes\n1,a@example.com,\"x@y.io and 415-555-0123\"\n2,b@example.com,none\n")
        let report = directory.file("report.json")
        let result = Runner.mask(["--rules", rulesPath, "--input", input, "--report", report], in: directory)
        #expect(result.status == 0, "\(result.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(directory.read("report.json"))) as! [String: Any]
        let detectors = json["detectors"] as! [[String: Any]]
        #expect(detectors.first { $0["id"] as? String == "email" }?["matches"] as? Int == 1)
        #expect(detectors.first { $0["id"] as? String == "phone" }?["matches"] as? Int == 1)
        let fields = json["fields"] as! [[String: Any]]
        #expect(fields.first { $0["name"] as? String == "email" }?["changed"] as? Int == 2)
        #expect(fields.first { $0["name"] as? String == "email" }?["policy"] as? String == "hash")
        #expect((json["rules"] as! [String: Any])["fingerprint"] as? String != nil)
    }
}
