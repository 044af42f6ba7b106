import Foundation
import MaskTestSupport
import Testing

/// Database URLs that libpq would refuse before connecting (bad port, unknown scheme,
/// unparsable) are usage errors (exit 2) for `--from` and `--ledger`, and never show the password.
@Suite struct DatabaseURLTests {
    let directory = TemporaryDirectory()

    @Test func badPortsAndSchemesAreUsageErrors() throws {
        let secret = "url-secret-91b2"
        let urls = [
            ("postgresql://u:\(secret)@127.0.0.1:99999/db", #"invalid port "99999""#),
            ("postgresql://u:\(secret)@127.0.0.1:abc/db", #"invalid port "abc""#),
            ("postgresql://u:\(secret)@127.0.0.1:0/db", #"invalid port "0""#),
            ("postgresql://u:\(secret)@127.0.0.1/db?port=70000", #"invalid port "70000""#),
            ("host=127.0.0.1 port=x1 password=\(secret)", #"invalid port "x1""#),
            ("postgresql://u:\(secret)@a:1,b:2,c:3/db?port=5432,5433", "2 ports for 3 host(s)"),
            ("oracle://u:\(secret)@127.0.0.1/db", "unknown scheme 'oracle://'"),
            ("postgresql://u:\(secret)@[::1/db", "invalid connection URL"),
        ]
        for (url, message) in urls {
            let extract = Runner.mask(["extract", "--from", url, "--table", "users", "--rules", MaskBinary.rules("pii.yaml"),
                                       "--output", directory.file("url")], in: directory)
            #expect(extract.status == 2, "\(url): \(extract.stderr)")
            #expect(extract.stderr.contains("invalid connection URL") && extract.stderr.contains(message), "\(url): \(extract.stderr)")
            #expect(!extract.stderr.contains(secret), "\(url): \(extract.stderr)")
            let ledger = Runner.mask(["ledger", "init", "--ledger", url], in: directory)
            #expect(ledger.status == 2, "\(url): \(ledger.stderr)")
            #expect(ledger.stderr.contains(message), "\(url): \(ledger.stderr)")
            #expect(!ledger.stderr.contains(secret), "\(url): \(ledger.stderr)")
        }
        // A password with an unencoded @: libpq cuts the URL at the first @ and names the rest as a
        // host; no piece of the password may reach the message.
        for scheme in ["postgresql", "mysql"] {
            let cut = Runner.mask(["extract", "--from", "\(scheme)://u:pw@\(secret)@127.0.0.1:1/db", "--table", "users",
                                   "--rules", MaskBinary.rules("pii.yaml"), "--output", directory.file("url")], in: directory)
            #expect(cut.status == 3, "\(cut.stderr)")
            #expect(!cut.stderr.contains(secret), "\(scheme): \(cut.stderr)")
        }
        // The ledger is PostgreSQL only; extract also reads MySQL (MySQLExtractTests).
        let mysqlLedger = Runner.mask(["ledger", "init", "--ledger", "mysql://u:\(secret)@127.0.0.1/db"], in: directory)
        #expect(mysqlLedger.status == 2 && mysqlLedger.stderr.contains("unknown scheme 'mysql://'"), "\(mysqlLedger.stderr)")
        #expect(!mysqlLedger.stderr.contains(secret))
        // --ledger on a run: refused before anything is read or written.
        let input = directory.write("in.csv", "id,email\n1,a@example.com\n")
        let run = Runner.mask(["--rules", MaskBinary.rules("pii.yaml"), "--input", input, "--output", directory.file("runout"),
                               "--ledger", "postgresql://u:\(secret)@127.0.0.1:99999/db"], in: directory)
        #expect(run.status == 2, "\(run.stderr)")
        #expect(run.stderr.contains(#"invalid port "99999""#) && !run.stderr.contains(secret), "\(run.stderr)")
        #expect(!directory.exists("runout/_SUCCESS"))
    }
}
