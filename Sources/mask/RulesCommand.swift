import ArgumentParser
import Foundation
import MaskEngine
import MaskRules

struct Rules: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rules",
        abstract: "Validate rules files and run the examples embedded in them.",
        subcommands: [Check.self, Test.self])

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Validate a rules file (exit 2 with every problem listed).")

        @Argument(help: "Rules files.")
        var files: [String]

        func run() throws {
            try runMapped {
                for file in files {
                    let rules = try RulesLoader.load(path: file)
                    print("\(file): ok (\(rules.detectors.count) detectors, \(rules.fields.count) field rules, fingerprint \(rules.fingerprint))")
                }
            }
        }
    }

    struct Test: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run each detector's match / no_match examples (exit 1 on any failure).")

        @Argument(help: "Rules files.")
        var files: [String]

        func run() throws {
            var failed = false
            try runMapped {
                for file in files {
                    let rules = try RulesLoader.load(path: file)
                    let summary = RuleExamples.run(rules)
                    for failure in summary.failures { print("\(file): FAIL \(failure)") }
                    print("\(file): \(summary.passed) passed, \(summary.failures.count) failed")
                    if !summary.failures.isEmpty { failed = true }
                }
            }
            if failed { throw ExitCode(ExitStatus.dataError.rawValue) }
        }
    }
}
