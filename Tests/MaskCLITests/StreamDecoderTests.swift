import Foundation
import MaskCompression
import MaskTestSupport
import Testing

/// The streaming decoders write straight into the caller's memory (the chunk being filled), in
/// whatever pieces the reader asks for. Their input here is text nobody here wrote (Debian's
/// license texts), compressed by the system's own `gzip` and `zstd`, several members or frames in
/// a row, fed in random slices and drained into random-sized buffers, down to one byte.
@Suite struct StreamDecoderTests {
    let directory = TemporaryDirectory()

    /// Debian's license texts, one after another, and the same split in three, each piece
    /// compressed on its own and the results joined (three members or frames).
    func corpus(_ tool: String, _ arguments: [String]) throws -> (plain: [UInt8], compressed: [UInt8]) {
        let licenses = try FileManager.default.contentsOfDirectory(atPath: "/usr/share/common-licenses").sorted()
        var plain: [UInt8] = []
        for name in licenses {
            let path = "/usr/share/common-licenses/\(name)"
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
                let data = FileManager.default.contents(atPath: path)
            else { continue }
            plain += Array(data)
        }
        var compressed: [UInt8] = []
        let third = plain.count / 3
        for piece in [plain[0..<third], plain[third..<2 * third], plain[(2 * third)...]] {
            let input = directory.write("piece-\(UUID().uuidString)", Array(piece))
            let result = Runner.run("/usr/bin/env", [tool] + arguments, stdin: input, environment: ["PATH": "/usr/bin:/bin"], in: directory)
            #expect(result.status == 0, "\(tool): \(result.stderr)")
            compressed += result.stdout
        }
        return (plain, compressed)
    }

    /// Feeds `compressed` in random slices and drains into random-sized buffers, as the reader
    /// does: after each slice, until the decoder gives nothing more.
    func decode(_ compressed: [UInt8], with decoder: any StreamDecoder, seed: UInt64, largest: Int) throws -> [UInt8] {
        var generator = VerifyStrictTests.Generator(state: seed)
        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: largest)
        var offset = 0
        var endOfInput = false
        while true {
            let slice = endOfInput ? 0 : min(compressed.count - offset, 1 + Int(generator.next() % 70_000))
            var used = 0
            while true {
                let room = 1 + Int(generator.next() % UInt64(largest))
                let step = try compressed.withUnsafeBytes { input in
                    try buffer.withUnsafeMutableBytes { memory in
                        try decoder.decompress(
                            UnsafeRawBufferPointer(rebasing: input[(offset + used)..<(offset + slice)]),
                            into: UnsafeMutableRawBufferPointer(rebasing: memory[0..<room]))
                    }
                }
                #expect(step.produced <= room)
                output += buffer[0..<step.produced]
                used += step.consumed
                if step.produced == 0 && used == slice { break }
            }
            offset += slice
            if endOfInput { break }
            endOfInput = offset == compressed.count
        }
        try decoder.finish()
        return output
    }

    @Test(arguments: [(1, 11), (2, 4096), (3, 1 << 20)])
    func gzipMembersDecodeWhateverTheBufferSizes(seed: UInt64, largest: Int) throws {
        let (plain, compressed) = try corpus("gzip", ["-6", "-c"])
        #expect(try decode(compressed, with: GzipStreamDecoder(), seed: seed, largest: largest) == plain)
    }

    @Test(arguments: [(1, 11), (2, 4096), (3, 1 << 20)])
    func zstdFramesDecodeWhateverTheBufferSizes(seed: UInt64, largest: Int) throws {
        let (plain, compressed) = try corpus("zstd", ["-3", "-c", "-q"])
        #expect(try decode(compressed, with: ZstdStreamDecoder(), seed: seed, largest: largest) == plain)
    }

    @Test func aTruncatedStreamFailsAtTheEnd() throws {
        for (tool, arguments) in [("gzip", ["-6", "-c"]), ("zstd", ["-3", "-c", "-q"])] {
            let (_, compressed) = try corpus(tool, arguments)
            let decoder: any StreamDecoder = tool == "gzip" ? try GzipStreamDecoder() : ZstdStreamDecoder()
            #expect(throws: CompressionError.self, "\(tool)") {
                _ = try decode(Array(compressed.dropLast(5)), with: decoder, seed: 4, largest: 4096)
            }
        }
    }

    /// A gzip stream that starts arriving one byte at a time (a slow producer on a pipe) is
    /// still recognised as gzip: the reader sniffs four bytes, not what the first read brought.
    @Test func gzipOnAPipeThatDeliversOneByteFirstIsStillGzip() throws {
        let rules = directory.write("r.yaml", Fixtures.keepAllRules)
        let text = "id,note\n1,a\n2,b\n"
        let plain = directory.write("in.csv", text)
        let gzipped = directory.write("in.csv.gz", Runner.run("/bin/gzip", ["-c"], stdin: plain, environment: ["PATH": "/usr/bin:/bin"], in: directory).stdout)
        let script = "{ head -c 1 \"$1\"; sleep 0.3; tail -c +2 \"$1\"; } | \"$2\" --rules \"$3\" --compress none"
        let result = Runner.run("/bin/sh", ["-c", script, "sh", gzipped, MaskBinary.path, rules], environment: ["PATH": "/usr/bin:/bin"], in: directory)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdoutText == text)
    }
}
