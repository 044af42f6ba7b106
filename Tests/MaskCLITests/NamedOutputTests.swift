import Foundation
import MaskTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `--report` and `--rejects` write through what the user named: a FIFO stays a FIFO, a symbolic
/// link stays a link (its file gets the content), a device is written, never replaced; and a
/// report that fails after the output was committed does not fail the run.
@Suite struct NamedOutputTests {
    let directory = TemporaryDirectory()

    static func kind(_ path: String) -> mode_t {
        var info = stat()
        return lstat(path, &info) == 0 ? info.st_mode & S_IFMT : 0
    }

    /// Reads a FIFO to its end on another thread. The test holds the FIFO open read-write until
    /// `wait()` (after mask exited), so neither side's open waits for the other and the reader
    /// sees its end even if mask never opened the FIFO: a failure fails, it does not hang.
    final class FIFOReader: @unchecked Sendable {
        private var bytes: [UInt8] = []
        private let done = DispatchSemaphore(value: 0)
        private let keeper: Int32

        init(_ path: String) {
            keeper = open(path, O_RDWR)
            let descriptor = open(path, O_RDONLY)
            Thread.detachNewThread { [self] in
                var buffer = [UInt8](repeating: 0, count: 65536)
                while descriptor >= 0 {
                    let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
                    if count <= 0 { break }
                    bytes += buffer[0..<count]
                }
                if descriptor >= 0 { close(descriptor) }
                done.signal()
            }
        }

        func wait() -> [UInt8] {
            close(keeper)
            done.wait()
            return bytes
        }
    }

    /// A run over three records; with `--rejects` among `extra`, the second is malformed.
    func maskArguments(_ extra: [String]) -> [String] {
        let rules = directory.write("r.yaml", Fixtures.everyPolicyRules)
        let second = extra.contains("--rejects") ? "2,short" : "2,b@example.com,y"
        let input = directory.write("in.csv", "id,email,notes\n1,a@example.com,x\n\(second)\n3,c@example.com,z\n")
        return ["--rules", rules, "--input", input] + extra
    }

    @Test func reportAndRejectsIntoFIFOs() throws {
        let report = directory.file("report.fifo")
        let rejects = directory.file("rejects.fifo")
        try #require(mkfifo(report, 0o600) == 0 && mkfifo(rejects, 0o600) == 0)
        let reportReader = FIFOReader(report)
        let rejectsReader = FIFOReader(rejects)
        let result = Runner.mask(maskArguments(["--output", directory.file("out"), "--report", report, "--rejects", rejects]), in: directory)
        #expect(result.status == 0, "\(result.stderr)")
        let json = BatchFixtures.json(reportReader.wait())
        #expect(json["records_in"] as? Int == 3)
        #expect(json["records_rejected"] as? Int == 1)
        #expect(String(decoding: rejectsReader.wait(), as: UTF8.self) == "id,email,notes\n[REDACTED],[REDACTED]\n")
        #expect(Self.kind(report) == S_IFIFO && Self.kind(rejects) == S_IFIFO)
        #expect(directory.list().allSatisfy { !$0.hasSuffix(".tmp") }, "\(directory.list())")
    }

    @Test func reportAndRejectsThroughSymbolicLinks() throws {
        try FileManager.default.createDirectory(atPath: directory.file("real"), withIntermediateDirectories: true)
        directory.write("real/report.json", "old")
        chmod(directory.file("real/report.json"), 0o640)
        try FileManager.default.createSymbolicLink(atPath: directory.file("report.json"), withDestinationPath: "real/report.json")
        // A link to a file that does not exist yet: the file is created where the link points.
        try FileManager.default.createSymbolicLink(atPath: directory.file("rejects.csv"), withDestinationPath: directory.file("real/rejects.csv"))
        let result = Runner.mask(
            maskArguments(["--output", directory.file("out"), "--report", directory.file("report.json"), "--rejects", directory.file("rejects.csv")]),
            in: directory)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(Self.kind(directory.file("report.json")) == S_IFLNK && Self.kind(directory.file("rejects.csv")) == S_IFLNK)
        #expect(BatchFixtures.json(directory.read("real/report.json"))["records_in"] as? Int == 3)
        #expect(String(decoding: directory.read("real/rejects.csv"), as: UTF8.self) == "id,email,notes\n[REDACTED],[REDACTED]\n")
        var info = stat()
        #expect(stat(directory.file("real/report.json"), &info) == 0 && info.st_mode & 0o777 == 0o640)
        // A second run replaces the files behind the links (atomically), the links stay.
        let again = Runner.mask(
            maskArguments(["--output", directory.file("out"), "--overwrite", "--report", directory.file("report.json"), "--rejects", directory.file("rejects.csv")]),
            in: directory)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(Self.kind(directory.file("report.json")) == S_IFLNK && Self.kind(directory.file("rejects.csv")) == S_IFLNK)
        #expect(String(decoding: directory.read("real/rejects.csv"), as: UTF8.self) == "id,email,notes\n[REDACTED],[REDACTED]\n")
        #expect(directory.list("real") == ["rejects.csv", "report.json"])
    }

    /// A "full" device (1,7) that takes no byte. As root it is a node of our own in the test's
    /// folder, so a regression replaces that node, not the machine's `/dev/full`; otherwise
    /// `/dev/full` itself, which a process that is not root cannot replace.
    func fullDevice() -> String {
        let own = directory.file("full")
        // makedev(1, 7), a macro Swift does not import
        return mknod(own, S_IFCHR | 0o666, dev_t(1 << 8 | 7)) == 0 ? own : "/dev/full"
    }

    /// The output is committed first, so the failing report is a warning, exit 0, and the
    /// device is still a device.
    @Test func aReportThatFailsAfterTheCommitIsAWarning() throws {
        let full = fullDevice()
        let result = Runner.mask(maskArguments(["--output", directory.file("out"), "--report", full]), in: directory)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("warning: the output is committed, but the report could not be written"), "\(result.stderr)")
        #expect(directory.exists("out/_SUCCESS"))
        #expect(Self.kind(full) == S_IFCHR)
        // The same in batch.
        try FileManager.default.createDirectory(atPath: directory.file("src"), withIntermediateDirectories: true)
        directory.write("src/a.tsv", BatchFixtures.tsv(rows: 5))
        let rules = directory.write("b.yaml", BatchFixtures.rules)
        let batch = Runner.mask(["batch", "--rules", rules, "--input", directory.file("src"), "--output", directory.file("dst"), "--report", full], in: directory)
        #expect(batch.status == 0, "\(batch.stderr)")
        #expect(batch.stderr.contains("could not be written"), "\(batch.stderr)")
        #expect(directory.exists("dst/_SUCCESS"))
        #expect(Self.kind(full) == S_IFCHR)
    }

    @Test func reportDashIsStandardOutputAndABadReportPathStopsTheRunFirst() throws {
        let result = Runner.mask(maskArguments(["--output", directory.file("out"), "--report", "-"]), in: directory)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(BatchFixtures.json(result.stdout)["records_in"] as? Int == 3)
        #expect(!directory.exists("-"))
        // Without --output stdout carries the masked data: refused.
        let mixed = Runner.mask(maskArguments(["--report", "-"]), in: directory)
        #expect(mixed.status == 2, "\(mixed.stderr)")
        // A report in a folder that does not exist: exit 3 before anything is written.
        let typo = Runner.mask(maskArguments(["--output", directory.file("never"), "--report", directory.file("no/such/report.json")]), in: directory)
        #expect(typo.status == 3, "\(typo.stderr)")
        #expect(!directory.exists("never"))
        // A report inside the --output folder the run creates is no typo.
        let inside = Runner.mask(maskArguments(["--output", directory.file("fresh"), "--report", directory.file("fresh/run.json")]), in: directory)
        #expect(inside.status == 0, "\(inside.stderr)")
        #expect(BatchFixtures.json(directory.read("fresh/run.json"))["records_in"] as? Int == 3)
    }
}
