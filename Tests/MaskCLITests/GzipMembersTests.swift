import Foundation
import MaskCompression
import MaskTestSupport
import Testing

/// `--gzip-members single` (the default): each part is one gzip member, its chunks deflated in
/// parallel, so that readers which stop after the first member still read every record. Checked
/// with such a reader: Python's `zlib.decompressobj(31)` called once, which decodes one member
/// and leaves whatever follows in `unused_data`.
@Suite struct GzipMembersTests {
    let directory = TemporaryDirectory()

    /// What a first-member-only reader sees in each file: (decoded bytes, member complete, bytes left after it).
    func firstMember(_ paths: [String]) throws -> [(output: [UInt8], complete: Bool, leftover: Int)] {
        let script = """
            import sys, zlib, json, base64
            out = []
            for path in sys.argv[1:]:
                data = open(path, 'rb').read()
                d = zlib.decompressobj(31)
                body = d.decompress(data)
                out.append({'body': base64.b64encode(body).decode(), 'eof': d.eof, 'left': len(d.unused_data)})
            print(json.dumps(out))
            """
        let result = Runner.run("/usr/bin/env", ["python3", "-c", script] + paths,
                                environment: ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"], in: directory)
        try #require(result.status == 0, "\(result.stderr)")
        let decoded = try JSONSerialization.jsonObject(with: Data(result.stdout)) as! [[String: Any]]
        return decoded.map {
            ([UInt8](Data(base64Encoded: $0["body"] as! String)!), $0["eof"] as! Bool, $0["left"] as! Int)
        }
    }

    func parts(_ folder: String) -> [String] {
        directory.list(folder).filter { $0.hasPrefix("part-") }.sorted().map { directory.file("\(folder)/\($0)") }
    }

    @Test(arguments: [1, 2, 3, 4, 6, 9])
    func aFirstMemberOnlyReaderGetsEveryRecordOfEveryPart(level: Int) throws {
        let input = directory.write("in.csv", Fixtures.syntheticCSV(rows: 6000))
        let rules = MaskBinary.rules("pii.yaml")
        let plain = Runner.mask(["--rules", rules, "--input", input, "--compress", "none"], in: directory)
        try #require(plain.status == 0, "\(plain.stderr)")
        var firstParts: [[UInt8]] = []
        for threads in ["1", "3"] {
            let folder = "out-\(level)-\(threads)"
            let run = Runner.mask(["--rules", rules, "--input", input, "--level", String(level), "--threads", threads, "--chunk-size", "32K",
                                   "--max-part-size", "100K", "--output", directory.file(folder)], in: directory)
            try #require(run.status == 0, "\(run.stderr)")
            let files = parts(folder)
            try #require(files.count >= 2, "several parts: \(files)")
            let members = try firstMember(files)
            let header = plain.stdout.prefix { $0 != 0x0A } + [0x0A]
            var records: [UInt8] = []
            for (file, member) in zip(files, members) {
                #expect(member.complete && member.leftover == 0, "\(file): one complete member and nothing after it")
                #expect(member.output.starts(with: header), "each part starts with the header")
                records += member.output.dropFirst(header.count)
            }
            #expect(records == Array(plain.stdout.dropFirst(header.count)), "every record, in order, through the first member of each part")
            // gzip itself agrees, CRC-32 and length included.
            for file in files { #expect(Runner.run("/bin/gzip", ["-t", file], environment: ["PATH": "/usr/bin:/bin"], in: directory).status == 0, "\(file)") }
            let manifest = String(decoding: directory.read("\(folder)/_manifest.json"), as: UTF8.self)
            #expect(manifest.contains("\"gzip_members\" : \"single\""), "\(manifest)")
            #expect(ReportSchema.violations("manifest", [directory.file("\(folder)/_manifest.json")], in: directory) == nil)
            firstParts.append(directory.read("\(folder)/part-00000.csv.gz"))
        }
        #expect(firstParts[0] == firstParts[1], "the bytes do not depend on the thread count")
    }

    /// A real loader: DuckDB's `read_csv` over the gzip parts loads every record the manifest
    /// counts, with both framings, and the same ids as the uncompressed output.
    @Test func duckDBLoadsEveryRecordOfEveryPart() throws {
        let input = directory.write("in.csv", Fixtures.syntheticCSV(rows: 6000))
        let rules = MaskBinary.rules("pii.yaml")
        for members in ["single", "per-chunk"] {
            let folder = directory.file("duck-\(members)")
            let run = Runner.mask(["--rules", rules, "--input", input, "--gzip-members", members, "--chunk-size", "32K", "--max-part-size", "100K",
                                   "--output", folder], in: directory)
            try #require(run.status == 0, "\(run.stderr)")
            let manifest = try JSONSerialization.jsonObject(with: Data(directory.read("duck-\(members)/_manifest.json"))) as! [String: Any]
            let script = """
                import sys, duckdb
                rows = duckdb.connect().execute("select count(*), sum(id) from read_csv('" + sys.argv[1] + "/part-*.csv.gz', header=true)").fetchone()
                print(rows[0], rows[1])
                """
            let loaded = Runner.run("/usr/bin/env", ["python3", "-c", script, folder],
                                    environment: ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"], in: directory)
            try #require(loaded.status == 0, "\(loaded.stderr)")
            let expectedSum = (1...(manifest["records_out"] as! Int)).reduce(0, +)
            #expect(loaded.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines) == "\(manifest["records_out"]!) \(expectedSum)", "\(members)")
        }
    }

    @Test func standardOutputIsOneMemberToo() throws {
        let input = directory.write("in.csv", Fixtures.syntheticCSV(rows: 2000))
        let rules = MaskBinary.rules("pii.yaml")
        let plain = Runner.mask(["--rules", rules, "--input", input, "--compress", "none"], in: directory)
        for level in ["2", "6"] {
            let run = Runner.mask(["--rules", rules, "--input", input, "--level", level, "--chunk-size", "16K"], in: directory)
            try #require(run.status == 0, "\(run.stderr)")
            let member = try firstMember([directory.write("stdout-\(level).gz", run.stdout)])[0]
            #expect(member.complete && member.leftover == 0)
            #expect(member.output == plain.stdout, "level \(level)")
        }
    }

    @Test func perChunkMembersAreStillOfferedAndRecordedAsSuch() throws {
        let input = directory.write("in.csv", Fixtures.syntheticCSV(rows: 2000))
        let rules = MaskBinary.rules("pii.yaml")
        let run = Runner.mask(["--rules", rules, "--input", input, "--gzip-members", "per-chunk", "--chunk-size", "16K",
                               "--output", directory.file("out")], in: directory)
        try #require(run.status == 0, "\(run.stderr)")
        let part = directory.file("out/part-00000.csv.gz")
        // The reader this option exists for: it stops after the first member (the header's) and
        // leaves the rest unread. gzip reads every member.
        let member = try firstMember([part])[0]
        #expect(member.leftover > 0)
        let all = Gzip.decompress(directory.read("out/part-00000.csv.gz"), in: directory)
        #expect(all.status == 0)
        let plain = Runner.mask(["--rules", rules, "--input", input, "--compress", "none"], in: directory)
        #expect(all.output == plain.stdout)
        let manifest = String(decoding: directory.read("out/_manifest.json"), as: UTF8.self)
        #expect(manifest.contains("\"gzip_members\" : \"per-chunk\""), "\(manifest)")
        let wrong = Runner.mask(["--rules", rules, "--input", input, "--gzip-members", "one"], in: directory)
        #expect(wrong.status == 2, "\(wrong.stderr)")
        #expect(wrong.stderr.contains("--gzip-members"), "\(wrong.stderr)")
    }

    /// The span encoder on inputs that make libdeflate and ISA-L choose every block type (stored
    /// blocks for random bytes, one fixed block for a few bytes, dynamic blocks for text), at every
    /// level: one member, decoded whole by zlib with its CRC-32 and length checked.
    @Test func spansOfEveryBlockTypeJoinIntoOneMember() throws {
        var generator = SystemRandomNumberGenerator()
        let random = (0..<300_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let text = Array(String(repeating: "id,email,notes\n7,ann@example.com,call +1 415 555 0199 \n", count: 4000).utf8)
        // Skewed bytes (about geometric): most of the 256 literals get codes of 11 to 15 bits,
        // past the walker's one-lookup table.
        let skewed = (0..<200_000).map { _ in UInt8(min(255, Int(-log2(Double.random(in: 0.000_001..<1, using: &generator)) * 9))) }
        let pieces: [[UInt8]] = [
            [0x41], Array("a,b\n".utf8), random, text, Array(random.prefix(65_537)), [], Array(text.prefix(100_000)), skewed,
            Array(repeating: 0x30, count: 1_000_000), skewed + text + random.prefix(1000),
        ]
        var files: [String] = []
        var expected: [UInt8] = []
        for piece in pieces { expected += piece }
        for level in 1...9 {
            let encoder = GzipSpanEncoder(level: level)
            var frame = GzipMemberFrame()
            var member = GzipMemberFrame.header
            for piece in pieces {
                piece.withUnsafeBytes { plain in
                    encoder.compress(plain, appendingTo: &member)
                    frame.add(crc: CRC32.checksum(plain), length: plain.count)
                }
            }
            member += frame.trailer
            files.append(directory.write("spans-\(level).gz", member))
        }
        for (index, member) in try firstMember(files).enumerated() {
            #expect(member.complete && member.leftover == 0, "level \(index + 1)")
            #expect(member.output == expected, "level \(index + 1)")
        }
    }

    /// Members of random spans: random lengths cut from random, skewed and textual bytes
    /// and their mixes, at random levels 4...9 (libdeflate and the block walk), each member
    /// checked whole by zlib.
    @Test func randomSpansAlwaysMakeAValidMember() throws {
        var generator = SystemRandomNumberGenerator()
        let text = Array(String(repeating: "2024-03-05,ann@example.com,\"call +44 20 7946 0958\",ORD-2024-000123\n", count: 3000).utf8)
        var files: [String] = []
        var expected: [[UInt8]] = []
        for member in 0..<30 {
            let encoder = GzipSpanEncoder(level: Int.random(in: 4...9, using: &generator))
            var frame = GzipMemberFrame()
            var bytes = GzipMemberFrame.header
            var plain: [UInt8] = []
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                let length = Int.random(in: 1...300_000, using: &generator)
                var piece: [UInt8]
                switch Int.random(in: 0...3, using: &generator) {
                case 0: piece = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
                case 1: piece = (0..<length).map { _ in UInt8(min(255, Int(-log2(Double.random(in: 0.000_001..<1, using: &generator)) * Double.random(in: 2...12, using: &generator)))) }
                case 2: piece = Array(text.prefix(length))
                default: piece = (0..<length).map { index in index % 97 < 60 ? text[index % text.count] : UInt8.random(in: 0...255, using: &generator) }
                }
                piece.withUnsafeBytes { raw in
                    encoder.compress(raw, appendingTo: &bytes)
                    frame.add(crc: CRC32.checksum(raw), length: raw.count)
                }
                plain += piece
            }
            bytes += frame.trailer
            files.append(directory.write("random-\(member).gz", bytes))
            expected.append(plain)
        }
        for (index, member) in try firstMember(files).enumerated() {
            #expect(member.complete && member.leftover == 0 && member.output == expected[index], "member \(index)")
        }
    }

    /// A level is gzip's ratio (`GzipEngine.libdeflateLevel`): on text nobody here wrote (the
    /// license texts every Debian system has, /usr/share/common-licenses, one line per record),
    /// mask's output at levels 4...9 is no more than 3% larger than zlib's at the same level on
    /// the same bytes, and at 6 (libdeflate's 5) no larger than 1% over. zlib here is Python's.
    @Test func eachLevelWritesAtMostZlibsSizeAtThatLevel() throws {
        let folder = URL(fileURLWithPath: "/usr/share/common-licenses")
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        var csv = "source,line,text\n"
        for name in names {
            guard let text = try? String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8) else { continue }
            for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                csv += "\(name),\(number + 1),\"\(line.replacingOccurrences(of: "\"", with: "\"\""))\"\n"
            }
        }
        try #require(csv.utf8.count > 200_000, "the license texts are there")
        let input = directory.write("licenses.csv", csv)
        let rules = directory.write("keep.yaml", "version: 1\ndefault: keep\n")
        let script = """
            import sys, zlib
            data = open(sys.argv[1], 'rb').read()
            for level in range(1, 10):
                c = zlib.compressobj(level, zlib.DEFLATED, 31)
                print(level, len(c.compress(data) + c.flush()))
            """
        let zlib = Runner.run("/usr/bin/env", ["python3", "-c", script, input],
                              environment: ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"], in: directory)
        try #require(zlib.status == 0, "\(zlib.stderr)")
        var zlibSize: [Int: Int] = [:]
        for line in String(decoding: zlib.stdout, as: UTF8.self).split(separator: "\n") {
            let fields = line.split(separator: " ").compactMap { Int($0) }
            if fields.count == 2 { zlibSize[fields[0]] = fields[1] }
        }
        for level in 4...9 {
            let run = Runner.mask(["--rules", rules, "--input", input, "--level", String(level), "--chunk-size", "4M"], in: directory)
            try #require(run.status == 0, "\(run.stderr)")
            let reference = try #require(zlibSize[level])
            let limit = level == 6 ? 1.01 : 1.03
            #expect(Double(run.stdout.count) <= Double(reference) * limit,
                    "level \(level): \(run.stdout.count) bytes, zlib \(reference)")
        }
    }

    /// `--rejects FILE.gz` is one member too: the first-member-only reader gets the header and
    /// every reject, masked; with no reject the file is still valid gzip holding the header.
    @Test func rejectsAreOneMember() throws {
        var csv = "id,email,notes\n"
        for row in 0..<300 {
            // Every third record has a field too many: a reject.
            csv += row % 3 == 0 ? "\(row),user\(row)@example.com,a,extra\n" : "\(row),user\(row)@example.com,fine\n"
        }
        let input = directory.write("bad.csv", csv)
        let clean = directory.write("clean.csv", "id,email,notes\n1,a@example.com,x\n")
        let rules = MaskBinary.rules("pii.yaml")
        for (file, expected) in [(input, 100), (clean, 0)] {
            let rejects = directory.file("rejects-\(expected).csv.gz")
            let run = Runner.mask(["--rules", rules, "--input", file, "--rejects", rejects, "--chunk-size", "1K", "--compress", "none"], in: directory)
            try #require(run.status == 0, "\(run.stderr)")
            let member = try #require(try firstMember([rejects]).first)
            #expect(member.complete && member.leftover == 0, "one complete member")
            let lines = String(decoding: member.output, as: UTF8.self).split(separator: "\n")
            #expect(lines.first == "id,email,notes", "the header first")
            #expect(lines.count == 1 + expected, "every reject: \(lines.count - 1) of \(expected)")
            #expect(!lines.contains { $0.contains("@example.com") }, "rejects are masked")
        }
    }
}
