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
        let sets = report["rule_sets"] as! [[String: Any]]
        #expect(sets.count == 2)
        let first = sets[0]
        #expect((first["records"] as? Int) == 3000)
        #expect(((first["megabytes_per_second"] as! [String: Double])["median"] ?? 0) > 0)
        let detectors = first["detectors"] as! [[String: Any]]
        #expect(detectors.map { $0["id"] as! String } == ["email", "phone"])
        let email = detectors[0]
        #expect((email["matches"] as! Int) > 100, "the synthetic notes mention emails")
        #expect((email["prefilter_pass_rate"] as! Double) < 0.5, "most scanned values hold no @")
        let shares = detectors.map { $0["time_share"] as! Double }
        #expect(abs(shares.reduce(0, +) - 1) < 0.001)
        let fields = first["fields"] as! [[String: Any]]
        #expect(fields.first { $0["name"] as? String == "email" }?["changed"] as? Int == 3000)
        #expect(((sets[1]["detectors"] as! [[String: Any]]).count) == 6)
    }

    /// The JSONL profile sees only the string values scan policies hand the detectors: keys,
    /// numbers and values under a keep rule are not scanned, so no @ reaches the email detector.
    @Test func jsonlProfileTimesOnlyScannedValues() throws {
        let lines = (1...2000).map { "{\"id\":\($0),\"contact\":{\"email\":\"user\($0)@example.com\"},\"note\":\"call +1 415 555 \(1000 + $0 % 9000)\"}\n" }
        let input = directory.write("events.jsonl", lines.joined())
        let rules = directory.write("r.yaml", """
            version: 1
            \(Fixtures.detectors)
            fields:
              contact.email: keep
            default: scan
            """)
        let result = Runner.mask(["bench", "--rules", rules, "--input", input, "--iterations", "1", "--json"], in: directory)
        try #require(result.status == 0, "\(result.stderr)")
        let report = try JSONSerialization.jsonObject(with: Data(result.stdout)) as! [String: Any]
        let detectors = (report["rule_sets"] as! [[String: Any]])[0]["detectors"] as! [[String: Any]]
        let email = try #require(detectors.first { $0["id"] as? String == "email" })
        let phone = try #require(detectors.first { $0["id"] as? String == "phone" })
        #expect(email["prefilter_pass_rate"] as? Double == 0, "\(email)")
        #expect(email["matches"] as? Int == 0)
        #expect((phone["matches"] as? Int) == 2000)
        #expect((phone["prefilter_pass_rate"] as? Double ?? 0) > 0.99, "\(phone)")
    }

    @Test func baselineGatesRegressions() throws {
        var report = try benchJSON([])
        let path = directory.file("baseline.json")
        // A baseline 100x faster than anything real: the gate must fail.
        var sets = report["rule_sets"] as! [[String: Any]]
        for index in sets.indices {
            var rate = sets[index]["megabytes_per_second"] as! [String: Double]
            rate["median"] = (rate["median"] ?? 1) * 100
            sets[index]["megabytes_per_second"] = rate
        }
        report["rule_sets"] = sets
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

    /// The benchmarks' input: the realism the detectors are measured on must not quietly erode.
    @Test func syntheticCSVIsDeterministicParseableAndVaried() throws {
        func emit(_ name: String, _ extra: [String] = []) throws -> [UInt8] {
            let result = Runner.mask(["bench", "--synthetic", "3000", "--format", "csv", "--emit", directory.file(name)] + extra,
                                     in: directory)
            try #require(result.status == 0, "\(result.stderr)")
            return directory.read(name)
        }
        let bytes = try emit("one.csv")
        #expect(bytes == (try emit("two.csv")))
        #expect(bytes != (try emit("seeded.csv", ["--seed", "7"])))

        let records = Self.csvRecords(bytes)
        #expect(records.count == 3001)
        #expect(records.allSatisfy { $0.fields.count == 10 }, "every record has the header's ten fields")
        let rows = records.dropFirst()
        #expect(rows.contains { $0.quoted }, "names like \"Smith, John\" and user agents need quotes")
        #expect(rows.contains { $0.fields[9].contains("\n") }, "some notes break lines inside quotes")
        #expect(rows.contains { $0.fields[9].contains("\"") }, "some notes quote the customer")
        #expect(rows.contains { $0.fields[2].contains(", ") })

        let phones = rows.map { $0.fields[4] }
        let prefixes = ["+1 (", "+44 ", "+81", "090-", "+91 ", "+49 ", "+33 ", "+61 ", "+31 ", "+34 ", "+65 "]
        let seen = prefixes.filter { prefix in phones.contains { $0.hasPrefix(prefix) } }
        #expect(seen.count >= 5, "phone formats seen: \(seen)")
        #expect(phones.contains(""), "some phones are missing")

        let notes = rows.map { $0.fields[9] }
        let email = try Regex(#"[a-z0-9._+]+@[a-z0-9.-]+\.[a-z]{2,}"#).ignoresCase()
        let ipv4 = try Regex(#"\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b"#)
        let version = try Regex(#" v\d+\.\d+\.\d+"#)
        #expect(notes.contains { $0.contains(email) }, "some notes mention an email")
        #expect(notes.contains { $0.contains(ipv4) }, "IPv4 addresses are hard negatives")
        #expect(notes.contains { $0.contains(version) }, "versions are hard negatives")
        #expect(notes.contains { $0.contains("ORD-") }, "order numbers are hard negatives")
        #expect(notes.contains(""), "many rows have no notes")
    }

    @Test func syntheticJSONLIsOneNestedObjectPerLine() throws {
        let path = directory.file("extract.jsonl")
        let result = Runner.mask(["bench", "--synthetic", "3000", "--format", "jsonl", "--emit", path], in: directory)
        try #require(result.status == 0, "\(result.stderr)")
        let bytes = directory.read("extract.jsonl")
        #expect(bytes.last == 0x0A)
        let lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false).dropLast()
        #expect(lines.count == 3000)
        var withOrders = 0
        for line in lines {
            let object = try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any]
            try #require(object != nil, "\(String(decoding: line, as: UTF8.self))")
            let contact = object?["contact"] as? [String: Any]
            #expect((contact?["email"] as? String)?.contains("@") == true)
            let orders = try #require(object?["orders"] as? [[String: Any]])
            if !orders.isEmpty { withOrders += 1 }
            #expect(orders.allSatisfy { ($0["order_id"] as? String)?.hasPrefix("ORD-") == true })
        }
        #expect(withOrders > 1000, "most records carry orders")
    }

    /// RFC 4180 records, with whether any field was quoted; enough to check the generator, not a
    /// second CSV reader for the product.
    static func csvRecords(_ bytes: [UInt8]) -> [(fields: [String], quoted: Bool)] {
        var records: [(fields: [String], quoted: Bool)] = []
        var fields: [String] = []
        var field: [UInt8] = []
        var quoted = false
        var inQuotes = false
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if inQuotes {
                if byte == 0x22 {
                    if index + 1 < bytes.count && bytes[index + 1] == 0x22 {
                        field.append(0x22)
                        index += 1
                    } else {
                        inQuotes = false
                    }
                } else {
                    field.append(byte)
                }
            } else if byte == 0x22 && field.isEmpty {
                inQuotes = true
                quoted = true
            } else if byte == 0x2C {
                fields.append(String(decoding: field, as: UTF8.self))
                field.removeAll()
            } else if byte == 0x0A {
                fields.append(String(decoding: field, as: UTF8.self))
                records.append((fields, quoted))
                fields = []
                field.removeAll()
                quoted = false
            } else {
                field.append(byte)
            }
            index += 1
        }
        return records
    }
}
