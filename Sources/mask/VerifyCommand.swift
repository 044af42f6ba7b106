import ArgumentParser
import Foundation
import MaskCore
import MaskPipeline
import MaskRules

#if canImport(Glibc)
import Glibc
#endif

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rescan masked output and fail if anything that looks like personal data survived.",
        discussion: """
            Every field (CSV) or string value (JSONL) is scanned with every detector of the rules; field policies in
            that file are ignored. Findings name the file, record and field,
            never the value. Exit 0: nothing found; 1: something found; 2: usage; 3: I/O (unreadable file, corrupt
            gzip); 4: could not verify, the input is malformed (a file that cannot be read as records proves nothing).
            Hash and redaction tokens do not look like emails or phone numbers, so they pass.
            """)

    @Option(name: .long, help: ArgumentHelp(
        "Rules whose detectors to use (default: the shipped pii-strict.yaml).",
        discussion: "Searched in $MASK_RULES_DIR, ./rules and ../share/mask/rules beside the binary."))
    var rules: String?

    @OptionGroup var inputFormat: InputFormatOptions

    @Argument(help: "Masked files (plain or gzip); standard input when none.")
    var files: [String] = []

    func run() throws {
        var found = 0
        try runMapped {
            guard let path = rules ?? ShippedRules.locate("pii-strict.yaml") else {
                throw JobFailure.usage(
                    "no --rules given, and the shipped pii-strict.yaml is in none of \(ShippedRules.searchPath().joined(separator: ", ")); pass --rules FILE")
            }
            let compiled = try RulesLoader.load(path: path)
            for file in files.isEmpty ? ["-"] : files {
                var options = JobOptions()
                options.input = file
                options.format = inputFormat.format(for: file)
                options.dialect = try inputFormat.dialect(for: file)
                options.text = try inputFormat.textOptions()
                let result: VerifyResult
                do {
                    result = try VerifyJob(rules: compiled, options: options).run()
                } catch JobFailure.data(let error) {
                    // Not "personal data found" (1): a gate must tell a leak from a file it
                    // could not read as records, so this has a code of its own.
                    printError("could not verify: malformed input: \(error)")
                    throw ExitCode(ExitStatus.cannotVerify.rawValue)
                }
                for finding in result.findings.prefix(50) { print("found: \(finding)") }
                let shown = DisplayName.of(result.input)
                if result.findings.count > 50 { print("found: … and \(result.findings.count - 50) more in \(shown)") }
                found += result.findings.count
                for line in LocatedFinding.summary(result.findings) { print("summary: \(shown): \(line)") }
                print("\(shown): \(result.recordsChecked) records checked, \(result.findings.count) finding(s)")
            }
        }
        if found > 0 { throw ExitCode(ExitStatus.dataError.rawValue) }
    }
}
