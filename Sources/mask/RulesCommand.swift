import ArgumentParser
import Foundation
import MaskObjectStore
import MaskBatch
import MaskEngine
import MaskPipeline
import MaskRules
import MaskSuggest

struct Rules: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rules",
        abstract: "Validate rules files, run the examples embedded in them, suggest rules from a sample.",
        subcommands: [Check.self, Test.self, Suggest.self])

    struct Suggest: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a complete, fail-closed rules file for a sample (every field listed with a policy and its evidence).",
            discussion: """
                Reads up to --rows records of the sample (CSV or JSONL, plain or gzip), runs every detector of the base
                rules over every column or JSON path, looks at names and value shapes (booleans, numbers, timestamps),
                and prints a rules file: the base rules' detectors and hash settings, one exact rule per field with a
                comment giving the evidence, and default: error. Review it before use: the counts are of the sample.
                """)

        @Option(name: .long, help: "The sample: a file or one object (s3://bucket/key, gs://bucket/key; plain or gzip); standard input when omitted or '-'.")
        var input: String?

        @Option(name: .long, help: "Records to sample (default 10000).")
        var rows: Int = 10_000

        @Option(name: .long, help: "Rules whose detectors, name rules and hash settings to start from (default: the shipped pii-strict.yaml).")
        var base: String?

        @OptionGroup var inputFormat: InputFormatOptions

        @OptionGroup var stores: ObjectStoreFlags

        func validate() throws {
            if rows < 1 { throw ValidationError("--rows must be at least 1") }
        }

        func run() throws {
            try runMapped {
                guard let base = base ?? ShippedRules.locate("pii-strict.yaml") else {
                    throw JobFailure.usage("no --base given, and the shipped pii-strict.yaml is in none of \(ShippedRules.searchPath().joined(separator: ", "))")
                }
                let compiled = try RulesLoader.load(path: base)
                let text = String(decoding: FileManager.default.contents(atPath: base) ?? Data(), as: UTF8.self)
                var options = SuggestOptions()
                options.input = input
                if let input, ObjectLocation.looksLikeObjectURL(input) {
                    // One GET into a work folder, read as a local sample, named by its URL.
                    let downloaded = try ObjectPipe.download(input, stores: stores.options(log: { printNote($0) }), workDirectory: stores.workDir)
                    options.input = downloaded.file
                    options.displayName = input
                    defer { try? FileManager.default.removeItem(atPath: downloaded.folder) }
                    options.format = inputFormat.format(for: input)
                    options.dialect = try inputFormat.dialect(for: input)
                    options.rows = rows
                    print(try RulesSuggester(base: compiled, baseText: text, options: options).suggest(), terminator: "")
                    return
                }
                options.format = inputFormat.format(for: input)
                options.dialect = try inputFormat.dialect(for: input)
                options.rows = rows
                print(try RulesSuggester(base: compiled, baseText: text, options: options).suggest(), terminator: "")
            }
        }
    }

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
