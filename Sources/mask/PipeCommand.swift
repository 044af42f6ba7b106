import ArgumentParser
import Foundation
import MaskCore
import MaskBatch
import MaskEngine
import MaskLedger
import MaskPipeline
import MaskRules

#if canImport(Glibc)
import Glibc
#endif

struct Pipe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Mask one stream (stdin or --input) to stdout or to an --output directory (the default command).")

    @OptionGroup var rulesOption: RulesOption

    @Option(name: .long, help: "Input file or object (s3://bucket/key, gs://bucket/key; plain or gzip); standard input when omitted or '-'.")
    var input: String?

    @OptionGroup var inputFormat: InputFormatOptions

    @OptionGroup var parallel: ParallelOptions

    @Option(name: .long, help: "Output compression: gzip, zstd (one frame per chunk, .zst) or none.")
    var compress: String = "gzip"

    @OptionGroup var parts: PartOptions

    @Option(name: .long, help: "Write parts, _manifest.json and _SUCCESS into this directory (or s3:// / gs:// prefix, _SUCCESS uploaded last) instead of stdout.")
    var output: String?

    @Flag(name: .long, help: "Replace a masked extract already in --output.")
    var overwrite = false

    @Option(name: .long, help: "Write malformed records, masked (see README: Malformed input), to this file and go on.")
    var rejects: String?

    @Option(name: .long, help: "Write the run report (JSON, as _manifest.json) to this file ('-': stdout, with --output).")
    var report: String?

    @Flag(name: .shortAndLong, help: "No summary on stderr.")
    var quiet = false

    @Option(name: .long, help: "Rescan the masked output with these rules' detectors and fail (exit 1) if anything is found.")
    var verify: String?

    @OptionGroup var store: ObjectStoreFlags

    @OptionGroup var ledgerOptions: LedgerOptions

    func validate() throws {
        guard compress == "none" || OutputCodec(rawValue: compress) != nil else { throw ValidationError("--compress must be gzip, zstd or none") }
        if report == "-" && output == nil { throw ValidationError("--report - needs --output DIR: without it stdout carries the masked data") }
    }

    func run() throws {
        try runMapped {
            let (compiled, hasher) = try rulesOption.load()
            var options = JobOptions()
            options.input = input
            options.format = inputFormat.format(for: input)
            options.dialect = try inputFormat.dialect(for: input)
            options.text = try inputFormat.textOptions()
            parallel.apply(to: &options)
            options.compress = compress != "none"
            options.codec = OutputCodec(rawValue: compress) ?? .gzip
            parts.apply(to: &options)
            options.outputDirectory = output
            options.overwrite = overwrite
            options.rejectsPath = rejects
            options.verifyRules = try verify.map { try RulesLoader.load(path: $0) }
            options.reportPath = report
            options.requireExactFields = !rulesOption.allowMissingFields
            options.showProgress = isatty(STDERR_FILENO) != 0 && !quiet
            options.log = { printNote($0) }
            if output == nil && options.compress && isatty(STDOUT_FILENO) != 0 {
                throw JobFailure.usage("refusing to write gzip data to a terminal; redirect stdout or use --output DIR")
            }
            let result = try RunRecorder.recordPipeRun(
                ledgerOptions.settings, command: "mask run", rules: (compiled.fingerprint, hasher?.keyID), output: output, log: { printNote($0) }
            ) {
                guard ObjectPipe.isObjectRun(input: input, output: output) else {
                    return try MaskJob(rules: compiled, hasher: hasher, options: options).run()
                }
                let stores = store.options(log: { printNote($0) })
                return try ObjectPipe(rules: compiled, hasher: hasher, options: options, stores: stores, workDirectory: store.workDir).run()
            }
            // Logs of schedulers (Airflow, Argo, Kubernetes) are not terminals: the summary goes
            // there too, unless --quiet.
            if !quiet { printNote(result.manifest.summaryLine(output: output)) }
        }
    }
}
