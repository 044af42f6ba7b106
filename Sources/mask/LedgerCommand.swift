import ArgumentParser
import Foundation
import MaskPipeline
import MaskLedger

/// `--ledger`, `--label`, `--run-id`, shared by the commands that record runs.
struct LedgerOptions: ParsableArguments {
    @Option(name: .long, help: "Record this run in a PostgreSQL ledger (postgresql://…).")
    var ledger: String?

    @Option(name: .long, help: "A label for the ledger, key=value (repeatable), e.g. service=billing.")
    var label: [String] = []

    @Option(name: .long, help: "Run id for the ledger (default: a new UUID).")
    var runId: String?

    func validate() throws {
        for item in label where !item.contains("=") { throw ValidationError("--label must be key=value, got '\(item)'") }
        if ledger == nil && (!label.isEmpty || runId != nil) { throw ValidationError("--label and --run-id need --ledger") }
    }

    var labels: [String: String] {
        Dictionary(label.map { item in
            let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
            return (parts[0], parts.count > 1 ? parts[1] : "")
        }, uniquingKeysWith: { _, last in last })
    }

    /// The ledger settings, `nil` without `--ledger`.
    var settings: LedgerSettings? {
        ledger.map { LedgerSettings(url: $0, runID: runId, labels: labels) }
    }
}

struct Ledger: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The PostgreSQL run ledger: create or migrate its schema, show a run.",
        subcommands: [Init.self, Status.self])

    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create or migrate the ledger schema (idempotent).")

        @Option(name: .long, help: "PostgreSQL URL.")
        var ledger: String

        func run() throws {
            try runMapped {
                let version = try RunLedger.using(ledger) { try $0.migrate() }
                print("ledger schema mask_ledger at version \(version)")
            }
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one run: status, labels, counts, failures.")

        @Option(name: .long, help: "PostgreSQL URL.")
        var ledger: String

        @Argument(help: "Run id.")
        var runID: String

        func run() throws {
            try runMapped {
                let text = try RunLedger.using(ledger) { opened in
                    try opened.migrate()
                    return try opened.status(runID)
                }
                guard let text else { throw JobFailure.usage("no run \(runID) in the ledger") }
                print(text)
            }
        }
    }
}
