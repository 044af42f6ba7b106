import Foundation
import MaskTestSupport
import Testing

/// `--compress zstd`: one zstd frame per chunk, read back by the real `zstd` tool and by `mask`.
@Suite struct ZstdOutputTests {
    let directory = TemporaryDirectory()

    func zstd(_ arguments: [String]) -> RunResult {
        Runner.run("/usr/bin/env", ["zstd"] + arguments, environment: ["PATH": "/usr/bin:/bin"], in: directory)
    }

    @Test func framesDecompressToTheUncompressedOutputWhateverTheThreads() throws {
        let input = directory.write("in.csv", Fixtures.syntheticCSV(rows: 4000))
        let rules = MaskBinary.rules("pii.yaml")
        let plain = Runner.mask(["--rules", rules, "--input", input, "--compress", "none"], in: directory)
        try #require(plain.status == 0, "\(plain.stderr)")
        var parts: [[UInt8]] = []
        for threads in ["1", "3"] {
            let out = directory.file("out-\(threads)")
            let run = Runner.mask(["--rules", rules, "--input", input, "--compress", "zstd", "--chunk-size", "64K", "--threads", threads,
                                   "--output", out], in: directory)
            try #require(run.status == 0, "\(run.stderr)")
            #expect(directory.list("out-\(threads)") == ["_SUCCESS", "_manifest.json", "part-00000.csv.zst"])
            parts.append(directory.read("out-\(threads)/part-00000.csv.zst"))
            #expect(ReportSchema.violations("manifest", ["\(out)/_manifest.json"], in: directory) == nil)
            let manifest = String(decoding: directory.read("out-\(threads)/_manifest.json"), as: UTF8.self)
            #expect(manifest.contains("\"compression\" : \"zstd-3\""))
        }
        #expect(parts[0] == parts[1], "the bytes do not depend on the thread count")
        let part = directory.file("out-1/part-00000.csv.zst")
        let decoded = zstd(["-dc", part])
        #expect(decoded.status == 0, "\(decoded.stderr)")
        #expect(decoded.stdout == plain.stdout)
        // One frame per chunk (and the header's), each with its content size and a checksum.
        let listing = zstd(["-lv", part])
        let text = listing.stdoutText + listing.stderr
        let frames = text.split(separator: "\n").first { $0.contains("Frames") }.flatMap { $0.split(separator: " ").last }.flatMap { Int($0) } ?? 0
        #expect(frames > 3, "\(text)")
        #expect(text.contains("XXH64"), "\(text)")
        #expect(text.contains("Decompressed Size"), "\(text)")
    }

    @Test func maskAndVerifyReadZstdInput() throws {
        let input = directory.write("in.csv", Fixtures.syntheticCSV(rows: 500))
        let rules = MaskBinary.rules("pii.yaml")
        let run = Runner.mask(["--rules", rules, "--input", input, "--compress", "zstd", "--output", directory.file("out")], in: directory)
        try #require(run.status == 0, "\(run.stderr)")
        let part = directory.file("out/part-00000.csv.zst")
        let verify = Runner.mask(["verify", "--rules", rules, part], in: directory)
        #expect(verify.status == 0, "\(verify.stdoutText)\(verify.stderr)")
        #expect(verify.stdoutText.contains("500 records checked, 0 finding(s)"))
        let again = Runner.mask(["--rules", rules, "--input", part, "--compress", "none"], in: directory)
        #expect(again.status == 0, "\(again.stderr)")
        let decoded = zstd(["-dc", part])
        #expect(again.stdoutText.split(separator: "\n").count == decoded.stdoutText.split(separator: "\n").count)
        #expect(again.stderr.contains("masked 500 records"), "\(again.stderr)")
    }

    @Test func aCorruptOrTruncatedZstdInputIsAnIOError() throws {
        let input = directory.write("in.csv", Fixtures.syntheticCSV(rows: 500))
        try #require(zstd(["-q", input, "-o", directory.file("in.csv.zst")]).status == 0)
        var bytes = directory.read("in.csv.zst")
        let truncated = directory.write("truncated.csv.zst", Array(bytes.dropLast(7)))
        bytes[bytes.count / 2] ^= 0xFF
        let corrupt = directory.write("corrupt.csv.zst", bytes)
        for (path, expected) in [(truncated, "truncated zstd stream"), (corrupt, "corrupt")] {
            let run = Runner.mask(["--rules", MaskBinary.rules("pii.yaml"), "--input", path, "--compress", "none"], in: directory)
            #expect(run.status == 3, "\(path): \(run.stderr)")
            #expect(run.stderr.contains(expected), "\(run.stderr)")
        }
    }

    @Test func anUnknownCodecOrLevelIsAUsageError() {
        let input = directory.write("in.csv", "id,email\n1,a@example.com\n")
        for arguments in [["--compress", "brotli"], ["--compress", "zstd", "--level", "12"]] {
            let run = Runner.mask(["--rules", MaskBinary.rules("pii.yaml"), "--input", input] + arguments, in: directory)
            #expect(run.status == 2, "\(arguments): \(run.stderr)")
        }
    }
}
