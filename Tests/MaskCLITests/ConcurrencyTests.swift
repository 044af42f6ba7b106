import Foundation
import MaskTestSupport
import Testing

/// Output bytes do not depend on threads or chunk size; memory stays bounded.
@Suite struct ConcurrencyTests {
    let directory = TemporaryDirectory()

    @Test func outputIsIdenticalForAnyThreadCount() throws {
        let rulesPath = directory.write("r.yaml", Fixtures.everyPolicyRules)
        let input = directory.write("in.csv", Fixtures.syntheticCSV(rows: 30000))
        let one = Runner.mask(["--rules", rulesPath, "--input", input, "--threads", "1", "--chunk-size", "64K"], in: directory)
        let two = Runner.mask(["--rules", rulesPath, "--input", input, "--threads", "2", "--chunk-size", "64K"], in: directory)
        let four = Runner.mask(["--rules", rulesPath, "--input", input, "--threads", "4", "--chunk-size", "64K"], in: directory)
        #expect(one.status == 0 && two.status == 0 && four.status == 0)
        #expect(one.stdout.count > 1000)
        #expect(one.stdout == two.stdout)
        #expect(one.stdout == four.stdout)
    }

    @Test func maskedTextIsIdenticalForAnyChunkSize() throws {
        let rulesPath = directory.write("r.yaml", Fixtures.everyPolicyRules)
        let input = directory.write("in.csv", Fixtures.syntheticCSV(rows: 5000))
        var outputs: [[UInt8]] = []
        for size in ["1", "100", "4K", "2M"] {
            let result = Runner.mask(["--rules", rulesPath, "--input", input, "--chunk-size", size, "--threads", "2"], in: directory)
            #expect(result.status == 0, "\(result.stderr)")
            outputs.append(Gzip.decompress(result.stdout, in: directory).output)
        }
        #expect(outputs[0].count > 1000)
        #expect(outputs.allSatisfy { $0 == outputs[0] })
    }

    @Test func memoryStaysBoundedOnALongStream() throws {
        // ~300 MB of CSV produced on the fly and piped through; mask must not hold it.
        let block = directory.write("block.csv", Fixtures.syntheticCSV(rows: 2000))
        let header = "id,name,email,phone,notes\n"
        let script = """
            import sys
            data = open(sys.argv[1], 'rb').read()
            body = data[data.index(b'\\n') + 1:]
            out = sys.stdout.buffer
            out.write(data[:data.index(b'\\n') + 1])
            for _ in range(int(sys.argv[2])):
                out.write(body)
            """
        let scriptPath = directory.write("produce.py", script)
        let blockBytes = directory.read("block.csv").count - header.utf8.count
        let repeats = 300_000_000 / blockBytes
        let rulesPath = directory.write("r.yaml", """
            version: 1
            fields:
              email: hash
            default: keep
            hash: { key: env:MASK_HMAC_KEY }
            """)
        let python = ["/usr/bin/env", "python3", scriptPath, block, String(repeats)]
        let result = Runner.pipe(producer: python, into: ["--rules", rulesPath, "--level", "1", "--report", directory.file("report.json")], in: directory)
        #expect(result.producerStatus == 0)
        #expect(result.mask.status == 0, "\(result.mask.stderr)")
        let report = try JSONSerialization.jsonObject(with: Data(directory.read("report.json"))) as! [String: Any]
        #expect((report["input_bytes"] as! Int) > 250_000_000)
        #expect(result.mask.maxRSSKiB < 256 * 1024, "peak RSS \(result.mask.maxRSSKiB) KiB")
    }
}
