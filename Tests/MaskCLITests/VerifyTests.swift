import Foundation
import MaskTestSupport
import Testing

/// `mask verify` and `--verify`: nothing that looks like an email or phone may survive.
@Suite struct VerifyTests {
    let directory = TemporaryDirectory()

    @Test func maskedOutputPassesAndTokensAndHashesDoNotTrigger() throws {
        let input = directory.write("in.csv", Fixtures.syntheticCSV(rows: 300))
        let masked = Runner.mask(["--rules", MaskBinary.rules("pii.yaml"), "--input", input], in: directory)
        try #require(masked.status == 0, "\(masked.stderr)")
        let path = directory.write("masked.csv.gz", masked.stdout)
        let verify = Runner.mask(["verify", "--rules", MaskBinary.rules("pii-strict.yaml"), path], in: directory)
        #expect(verify.status == 0, "\(verify.stdoutText)\(verify.stderr)")
        #expect(verify.stdoutText.contains("300 records checked, 0 finding(s)"))
    }

    @Test func withoutRulesVerifyFindsTheShippedStrictRulesOrSaysWhereItLooked() throws {
        let path = directory.write("clean.csv", "id,email\n1,[REDACTED]\n")
        // Run from a temporary folder: no ./rules there, and none beside the built binary.
        let missing = Runner.run(
            "/bin/sh", ["-c", "cd \"$1\" && exec \"$2\" verify \"$3\"", "sh", directory.path, MaskBinary.path, path],
            environment: ["PATH": "/usr/bin:/bin"], in: directory)
        #expect(missing.status == 2, "\(missing.stderr)")
        #expect(missing.stderr.contains("pii-strict.yaml") && missing.stderr.contains("--rules"), "\(missing.stderr)")
        let found = Runner.mask(["verify", path], environment: ["MASK_RULES_DIR": "\(MaskBinary.repositoryRoot)/rules"], in: directory)
        #expect(found.status == 0, "\(found.stderr)")
        let help = Runner.mask(["verify", "--help"], in: directory)
        #expect(help.stdoutText.components(separatedBy: "pii-strict.yaml").count == 2, "the default is named once: \(help.stdoutText)")
    }

    @Test func aHeaderNameThatHoldsPersonalDataIsAFinding() throws {
        // Every part starts with the header: an email as a column name is published with each one.
        let path = directory.write("masked.csv", "id,ann.lee@example.com\n1,[REDACTED]\n")
        let verify = Runner.mask(["verify", "--rules", MaskBinary.rules("pii-strict.yaml"), path], in: directory)
        #expect(verify.status == 1, "\(verify.stdoutText)\(verify.stderr)")
        #expect(verify.stdoutText.contains("record 0 at byte offset 0, field column 2 of the header: looks like email"), "\(verify.stdoutText)")
        #expect(!verify.stdoutText.contains("ann.lee"))
        // The same in a database text export, whose names are read decoded.
        let text = directory.write("masked.txt", "id\tann.lee@example.com\n1\t\\N\n")
        let textVerify = Runner.mask(["verify", "--rules", MaskBinary.rules("pii-strict.yaml"), "--format", "pgtext", text], in: directory)
        #expect(textVerify.status == 1, "\(textVerify.stdoutText)\(textVerify.stderr)")
        #expect(textVerify.stdoutText.contains("field column 2 of the header: looks like email"), "\(textVerify.stdoutText)")
    }

    @Test func survivingDataIsNamedByRecordAndFieldNeverByValue() throws {
        let path = directory.write("leaky.csv", "id,email,notes\n1,KndCa9_y1E8mbPdt,fine\n2,[REDACTED],call 415-555-0123 now\n3,bob@example.org,ok\n")
        let verify = Runner.mask(["verify", "--rules", MaskBinary.rules("pii-strict.yaml"), path], in: directory)
        #expect(verify.status == 1)
        #expect(verify.stdoutText.contains("record 2 at byte offset 39, field notes: looks like phone"), "\(verify.stdoutText)")
        #expect(verify.stdoutText.contains("record 3 at byte offset 74, field email: looks like email"))
        #expect(!verify.stdoutText.contains("415-555-0123") && !verify.stdoutText.contains("bob@example.org"))
        #expect(!verify.stderr.contains("bob@example.org"))
    }

    @Test func jsonlFindingsNameTheFieldPath() throws {
        let path = directory.write("leaky.jsonl", "{\"id\":1,\"contact\":{\"email\":\"x@example.com\"},\"orders\":[{\"phone\":\"+81 90-1234-5678\"}]}\n")
        let verify = Runner.mask(["verify", "--rules", MaskBinary.rules("pii-strict.yaml"), path], in: directory)
        #expect(verify.status == 1)
        #expect(verify.stdoutText.contains("field contact.email: looks like email"), "\(verify.stdoutText)")
        #expect(verify.stdoutText.contains("field orders[].phone: looks like phone"))
    }

    @Test func verifyFlagFailsARunWhoseRulesLeaveDataBehind() throws {
        let keepAll = directory.write("keep.yaml", Fixtures.keepAllRules)
        let input = directory.write("in.csv", "id,notes\n1,mail me at a@example.com\n")
        let run = Runner.mask(["--rules", keepAll, "--input", input, "--output", directory.file("out"),
                               "--verify", MaskBinary.rules("pii-strict.yaml")], in: directory)
        #expect(run.status == 1)
        #expect(run.stderr.contains("verification failed"))
        #expect(run.stderr.contains("record 1") && run.stderr.contains("field notes: looks like email"))
        #expect(!run.stderr.contains("a@example.com"))
        #expect(directory.list("out").isEmpty)
        let good = Runner.mask(["--rules", MaskBinary.rules("pii.yaml"), "--input", input, "--output", directory.file("ok"),
                                "--verify", MaskBinary.rules("pii-strict.yaml")], in: directory)
        #expect(good.status == 0, "\(good.stderr)")
    }

    /// A pipeline gate must tell "personal data found" (1) from "this file could not be read as
    /// records" (4) and from "could not read the file at all" (3).
    @Test func malformedInputIsAnErrorNotAPass() throws {
        let csv = directory.write("broken.csv", "id,notes\n1,fine\n2,\"never closed, bob@example.org\n")
        let csvResult = Runner.mask(["verify", "--rules", MaskBinary.rules("pii-strict.yaml"), csv], in: directory)
        #expect(csvResult.status == 4)
        #expect(csvResult.stderr.contains("could not verify: malformed input"), "\(csvResult.stderr)")
        #expect(csvResult.stderr.contains("record 2 at byte offset 16: unterminated quoted field"), "\(csvResult.stderr)")
        #expect(!csvResult.stderr.contains("bob@example.org"))
        let jsonl = directory.write("broken.jsonl", "{\"a\":1}\n{\"b\": \"x@example.com\"\n")
        let jsonlResult = Runner.mask(["verify", "--rules", MaskBinary.rules("pii-strict.yaml"), jsonl], in: directory)
        #expect(jsonlResult.status == 4)
        #expect(jsonlResult.stderr.contains("record 2 at byte offset 8: invalid JSON"), "\(jsonlResult.stderr)")
        #expect(!jsonlResult.stderr.contains("x@example.com"))
        // A finding in a well-formed file is still 1, an unreadable file still 3.
        let leaky = directory.write("leaky.csv", "id,notes\n1,mail bob@example.org\n")
        #expect(Runner.mask(["verify", "--rules", MaskBinary.rules("pii-strict.yaml"), leaky], in: directory).status == 1)
        let missing = Runner.mask(["verify", "--rules", MaskBinary.rules("pii-strict.yaml"), directory.file("absent.csv")], in: directory)
        #expect(missing.status == 3, "\(missing.stderr)")
    }
}
