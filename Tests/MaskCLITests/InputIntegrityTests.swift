import Foundation
import MaskTestSupport
import Testing

/// Bytes after a gzip member that are not another member, and names that try to forge log lines.
@Suite struct InputIntegrityTests {
    let directory = TemporaryDirectory()

    func gzipped(_ text: String) -> [UInt8] {
        let plain = directory.write(".plain-\(UUID().uuidString)", text)
        defer { unlink(plain) }
        return Runner.run("/bin/gzip", ["-c"], stdin: plain, environment: ["PATH": "/usr/bin:/bin"], in: directory).stdout
    }

    @Test func anythingButAnotherMemberAfterAGzipMemberIsAnError() throws {
        let rules = directory.write("r.yaml", Fixtures.keepAllRules)
        let first = gzipped("id,note\n1,a\n")
        let second = gzipped("2,b\n")
        // Two members: one stream, both read.
        let joined = directory.write("joined.csv.gz", first + second)
        let both = Runner.mask(["--rules", rules, "--input", joined, "--compress", "none"], in: directory)
        #expect(both.status == 0, "\(both.stderr)")
        #expect(both.stdoutText == "id,note\n1,a\n2,b\n")
        // Garbage, or zero padding, after the last member: refused, with where it starts.
        for (name, tail) in [("garbage", Array("2,lost\n".utf8)), ("zeros", [UInt8](repeating: 0, count: 512))] {
            let path = directory.write("\(name).csv.gz", first + tail)
            let result = Runner.mask(["--rules", rules, "--input", path, "--compress", "none"], in: directory)
            #expect(result.status == 3, "\(name): \(result.stderr)")
            #expect(result.stderr.contains("trailing data after gzip member at compressed offset \(first.count)"), "\(name): \(result.stderr)")
            #expect(result.stdout.isEmpty || !result.stdoutText.contains("lost"))
        }
        // The same in the middle of a larger input read in several blocks.
        let big = gzipped(Fixtures.syntheticCSV(rows: 30000))
        let path = directory.write("big.csv.gz", big + Array("tail".utf8) + second)
        let result = Runner.mask(["--rules", rules, "--input", path, "--output", directory.file("out")], in: directory)
        #expect(result.status == 3, "\(result.stderr)")
        #expect(result.stderr.contains("trailing data after gzip member at compressed offset \(big.count)"), "\(result.stderr)")
        #expect(!directory.exists("out/_SUCCESS"))
    }

    /// A name with a newline and an escape sequence is printed escaped: each message stays one
    /// line, and no line can be made to look like another message.
    @Test func namesInMessagesCannotForgeLines() throws {
        let rules = directory.write("r.yaml", Fixtures.everyPolicyRules)
        let hostile = "in\nmask: masked 0 records\u{1B}[2K.csv"
        let input = directory.write(hostile, "id,email\n1,a@example.com\n2\n")
        let failed = Runner.mask(["--rules", rules, "--input", input, "--compress", "none"], in: directory)
        #expect(failed.status == 1)
        let lines = failed.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(failed.stderr)")
        #expect(failed.stderr.contains("in\\nmask: masked 0 records\\x1b[2K.csv: record 2"), "\(failed.stderr)")
        #expect(!failed.stderr.contains("\u{1B}"))
        // The summary line of a run into a folder, and a missing input.
        directory.write(hostile, "id,email\n1,a@example.com\n")
        let output = "out\nmask: error: forged"
        let done = Runner.mask(["--rules", rules, "--input", input, "--output", directory.file(output)], in: directory)
        #expect(done.status == 0, "\(done.stderr)")
        #expect(done.stderr.split(separator: "\n").count == 1, "\(done.stderr)")
        #expect(done.stderr.contains("out\\nmask: error: forged"), "\(done.stderr)")
        let missing = Runner.mask(["--rules", rules, "--input", input + "\nx"], in: directory)
        #expect(missing.status == 3)
        #expect(missing.stderr.split(separator: "\n").count == 1, "\(missing.stderr)")
        // Batch: the per-file line.
        try FileManager.default.createDirectory(atPath: directory.file("src"), withIntermediateDirectories: true)
        directory.write("src/a\nmask: batch: 0 files.tsv", BatchFixtures.tsv(rows: 3))
        let batchRules = directory.write("b.yaml", BatchFixtures.rules)
        let batch = Runner.mask(["batch", "--rules", batchRules, "--input", directory.file("src"), "--output", directory.file("dst")], in: directory)
        #expect(batch.status == 0, "\(batch.stderr)")
        #expect(batch.stderr.contains("masked a\\nmask: batch: 0 files.tsv -> a\\nmask: batch: 0 files.tsv.gz"), "\(batch.stderr)")
        #expect(!batch.stderr.split(separator: "\n").contains { $0.hasPrefix("mask: batch: 0 files") }, "\(batch.stderr)")
        // Verify names the file the same way.
        let verified = Runner.mask(["verify", "--rules", MaskBinary.rules("pii-strict.yaml"), input], in: directory)
        #expect(verified.status == 1)
        #expect(verified.stdoutText.contains("in\\nmask: masked 0 records\\x1b[2K.csv: record 1"), "\(verified.stdoutText)")
    }
}
