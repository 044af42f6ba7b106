import Foundation
import MaskTestSupport
import Testing

/// `mask bench`: figures per rule set, detector and field; baselines gate regressions.
@Suite struct BenchTests {
    let directory = TemporaryDirectory()

    func benchJSON(_ extra: [String]) throws -> [String: Any] {
        let result = Runner.mask(["bench", "--rules", MaskBinary.rules("pii.yaml"), "--rules", MaskBinary.rules("pii-strict.yaml"),
                                  "--synthetic", "3000", "--iterations", "2", "--json"] + extra, in: directory)
        try #require(result.status == 0, "\(result.stderr)")
        return try JSONSerialization.jsonObject(with: Data(result.stdout)) as! [String: Any]
    }

    @Test func reportsEveryRuleSetDetectorAndField() throws {
        let report = try benchJSON([])
        let sets = report["ruleSets"] as! [[String: Any]]
        #expect(sets.count == 2)
        let first = sets[0]
        #expect((first["records"] as? Int) == 3000)
        #expect(((first["megabytesPerSecond"] as! [String: Double])["median"] ?? 0) > 0)
        let detectors = first["detectors"] as! [[String: Any]]
        #expect(detectors.map { $0["id"] as! String } == ["email", "phone"])
        let email = detectors[0]
        #expect((email["matches"] as! Int) > 100, "the synthetic notes mention emails")
        #expect((email["prefilterPassRate"] as! Double) < 0.5, "most scanned values hold no @")
        let shares = detectors.map { $0["timeShare"] as! Double }
        #expect(abs(shares.reduce(0, +) - 1) < 0.001)
        let fields = first["fields"] as! [[String: Any]]
        #expect(fields.first { $0["name"] as? String == "email" }?["changed"] as? Int == 3000)
        #expect(((sets[1]["detectors"] as! [[String: Any]]).count) == 6)
    }

    @Test func baselineGatesRegressions() throws {
        var report = try benchJSON([])
        let path = directory.file("baseline.json")
        // A baseline 100x faster than anything real: the gate must fail.
        var sets = report["ruleSets"] as! [[String: Any]]
        for index in sets.indices {
            var rate = sets[index]["megabytesPerSecond"] as! [String: Double]
            rate["median"] = (rate["median"] ?? 1) * 100
            sets[index]["megabytesPerSecond"] = rate
        }
        report["ruleSets"] = sets
        FileManager.default.createFile(atPath: path, contents: try JSONSerialization.data(withJSONObject: report))
        let slower = Runner.mask(["bench", "--rules", MaskBinary.rules("pii.yaml"), "--synthetic", "2000", "--iterations", "1",
                                  "--baseline", path, "--max-regression", "10%"], in: directory)
        #expect(slower.status == 1)
        #expect(slower.stderr.contains("got slower"), "\(slower.stderr)")
        // Against itself with a generous threshold it passes.
        let own = directory.file("own.json")
        let fresh = Runner.mask(["bench", "--rules", MaskBinary.rules("pii.yaml"), "--synthetic", "2000", "--iterations", "1", "--json"], in: directory)
        FileManager.default.createFile(atPath: own, contents: Data(fresh.stdout))
        let same = Runner.mask(["bench", "--rules", MaskBinary.rules("pii.yaml"), "--synthetic", "2000", "--iterations", "1",
                                "--baseline", own, "--max-regression", "95%"], in: directory)
        #expect(same.status == 0, "\(same.stderr)")
    }

    @Test func syntheticExtractIsDeterministicAndMaskable() throws {
        let a = directory.file("a.csv")
        let b = directory.file("b.csv")
        #expect(Runner.mask(["bench", "--synthetic", "500", "--emit", a], in: directory).status == 0)
        #expect(Runner.mask(["bench", "--synthetic", "500", "--emit", b], in: directory).status == 0)
        #expect(directory.read("a.csv") == directory.read("b.csv"))
        let text = String(decoding: directory.read("a.csv"), as: UTF8.self)
        #expect(text.hasPrefix("id,created_at,full_name,email,phone,amount,currency,country,user_agent,notes\n"))
        let masked = Runner.mask(["--rules", MaskBinary.rules("pii.yaml"), "--input", a, "--compress", "none"], in: directory)
        #expect(masked.status == 0, "\(masked.stderr)")
        #expect(masked.stdoutText.split(separator: "\n").count >= 501)
    }
}
