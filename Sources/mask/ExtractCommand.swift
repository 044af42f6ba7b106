import ArgumentParser
import Foundation
import MaskCore
import MaskEngine
import MaskExtract
import MaskPipeline
import MaskRules

#if canImport(Glibc)
import Glibc
#endif

struct Extract: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Extract tables from PostgreSQL (COPY) or MySQL/MariaDB straight into masked, staged files.",
        discussion: """
            Output: DIR/<schema>.<table>/part-NNNNN.csv.gz with _manifest.json per table, DIR/_extract.json and
            DIR/_SUCCESS after every table succeeded. All tables come from one read-only snapshot (PostgreSQL:
            REPEATABLE READ, READ ONLY; MySQL: START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY, time_zone +00:00).
            NULL is an empty unquoted field and an empty string is "" (PostgreSQL's CSV convention), kept as such;
            MySQL binary columns are written as base64 and BIT columns as numbers.
            A MySQL password may come from MYSQL_PWD or the [client] group of ~/.my.cnf instead of the URL.
            """)

    @Option(name: .long, help: "postgresql://user:pass@host:port/db, key=value conninfo, or mysql://user@host:port/db (also mariadb://).")
    var from: String

    @Option(name: .long, help: "One table (schema.table, public when unqualified; MySQL: db.table, the URL's database when unqualified).")
    var table: String?

    @Option(name: .long, help: "A query whose result is extracted (folder 'query').")
    var query: String?

    @Option(name: .long, help: "Every base table of this schema (MySQL: this database).")
    var schema: String?

    @Option(name: .long, help: "With --schema: only these tables (comma-separated).")
    var include: String?

    @Option(name: .long, help: "With --schema: all tables but these (comma-separated).")
    var exclude: String?

    @OptionGroup var rulesOption: RulesOption

    @Option(name: .long, help: "Output directory.")
    var output: String

    @OptionGroup var parallel: ParallelOptions

    @OptionGroup var parts: PartOptions

    @Flag(name: .long, help: "Replace a finished extract in --output.")
    var overwrite = false

    @Flag(name: .shortAndLong, help: "No progress lines on stderr.")
    var quiet = false

    @OptionGroup var ledgerOptions: LedgerOptions

    func validate() throws {
        let chosen = [table != nil, query != nil, schema != nil].filter { $0 }.count
        guard chosen == 1 else { throw ValidationError("give exactly one of --table, --query and --schema") }
        if (include != nil || exclude != nil) && schema == nil { throw ValidationError("--include and --exclude need --schema") }
        if include != nil && exclude != nil { throw ValidationError("give --include or --exclude, not both") }
    }

    func run() throws {
        try runMapped {
            let (compiled, hasher) = try rulesOption.load()
            let selection: ExtractSelection
            if let table {
                selection = .table(table)
            } else if let query {
                selection = .query(query)
            } else {
                let list = { (text: String?) in (text ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
                selection = .schema(schema!, include: list(include), exclude: list(exclude))
            }
            var options = JobOptions()
            parallel.apply(to: &options)
            parts.apply(to: &options)
            options.overwrite = overwrite
            options.requireExactFields = !rulesOption.allowMissingFields
            options.log = { message in if !quiet || message.hasPrefix("error") { printNote(message) } }
            let summary = try ExtractJob(url: from, selection: selection, rules: compiled, hasher: hasher, options: options, outputDirectory: output)
                .run(recordingIn: ledgerOptions.settings)
            if !quiet {
                printNote("extracted \(summary.tables.count) table(s), \(summary.tables.reduce(0) { $0 + $1.records }) records -> \(DisplayName.of(output))")
            }
        }
    }
}
