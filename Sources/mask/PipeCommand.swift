import ArgumentParser
import Foundation
import MaskCore
import MaskEngine
import MaskPipeline
import MaskRules

#if canImport(Glibc)
import Glibc
#endif

struct Pipe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Mask one stream (stdin or --input) to stdout or to an --output directory (the default command).")

    @Option(name: .long, help: "Rules file (YAML).")
    var rules: String

    @Option(name: .long, help: "Input file (plain or gzip); standard input when omitted or '-'.")
    var input: String?

    @Option(name: .long, help: "Input format: csv or jsonl (default: from the --input extension, else csv).")
    var format: String?

    @Option(name: .long, help: "CSV delimiter: ',', '\\t' (or 'tab'), '|' or ';'.")
    var delimiter: String = ","

    @Flag(name: .long, help: "CSV without a header row: rules name columns by number (1, 2, ...).")
    var noHeader = false

    @Option(name: .long, help: "Worker threads (default: all cores).")
    var threads: Int?

    @Option(name: .long, help: "Output compression: gzip or none.")
    var compress: String = "gzip"

    @Option(name: .long, help: "Gzip level, 1 (fastest) to 9.")
    var level: Int = 6

    @Option(name: .long, help: "Write parts, _manifest.json and _SUCCESS into this directory instead of stdout.")
    var output: String?

    @Option(name: .long, help: "Start a new part when one reaches this size (bytes; K, M, G suffixes).")
    var maxPartSize: String = "256M"

    @Flag(name: .long, help: "Replace a masked extract already in --output.")
    var overwrite = false

    @Option(name: .long, help: "Target chunk size (bytes; K, M suffixes).")
    var chunkSize: String = "2M"

    @Option(name: .long, help: "Largest record accepted (bytes; K, M suffixes).")
    var maxRecordSize: String = "16M"

    @Option(name: .long, help: "Write malformed records, masked by a scan with every detector, to this file and go on.")
    var rejects: String?

    @Option(name: .long, help: "Write the run report (JSON, as _manifest.json) to this file ('-': stdout, with --output).")
    var report: String?

    @Flag(name: .shortAndLong, help: "No summary on stderr.")
    var quiet = false

    @Option(name: .long, help: "Rescan the masked output with these rules' detectors and fail (exit 1) if anything is found.")
    var verify: String?

    @OptionGroup var ledgerOptions: LedgerOptions

    func validate() throws {
        guard (1...9).contains(level) else { throw ValidationError("--level must be 1...9") }
        guard ["gzip", "none"].contains(compress) else { throw ValidationError("--compress must be gzip or none") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if let format, InputFormat(rawValue: format) == nil { throw ValidationError("--format must be csv or jsonl") }
        _ = try Delimiter.parse(delimiter)
        try ByteSize.validate([("--max-part-size", maxPartSize), ("--chunk-size", chunkSize), ("--max-record-size", maxRecordSize)])
        if report == "-" && output == nil { throw ValidationError("--report - needs --output DIR: without it stdout carries the masked data") }
    }

    func run() throws {
        signal(SIGPIPE, SIG_IGN)
        try runMapped {
            let compiled = try RulesLoader.load(path: rules)
            let hasher = compiled.usesHash ? try KeyedHasher.load(settings: compiled.hash) : nil
            var options = JobOptions()
            options.input = input
            options.format = format.flatMap(InputFormat.init(rawValue:)) ?? input.flatMap(InputFormat.guess(fromPath:)) ?? .csv
            options.dialect = CSVDialect(delimiter: try Delimiter.parse(delimiter), hasHeader: !noHeader)
            if let threads { options.threads = threads }
            options.compress = compress == "gzip"
            options.level = level
            options.outputDirectory = output
            options.overwrite = overwrite
            options.maxPartSize = ByteSize.parse(maxPartSize)!
            options.chunkSize = ByteSize.parse(chunkSize)!
            options.maxRecordSize = ByteSize.parse(maxRecordSize)!
            options.rejectsPath = rejects
            options.verifyRules = try verify.map { try RulesLoader.load(path: $0) }
            options.reportPath = report
            options.showProgress = isatty(STDERR_FILENO) != 0 && !quiet
            options.log = { printNote($0) }
            if output == nil && options.compress && isatty(STDOUT_FILENO) != 0 {
                throw JobFailure.usage("refusing to write gzip data to a terminal; redirect stdout or use --output DIR")
            }
            let ledger = try ledgerOptions.start(command: "mask run", rulesFingerprint: compiled.fingerprint, keyID: hasher?.keyID)
            let result: JobResult
            do {
                result = try MaskJob(rules: compiled, hasher: hasher, options: options).run()
            } catch {
                finishLedger(ledger, .init(status: "failed", recordsIn: 0, recordsOut: 0, bytesIn: 0, bytesOut: 0, detectorCounts: [:], error: "\(error)"))
                throw error
            }
            let manifest = result.manifest
            finishLedger(ledger, .init(
                status: "succeeded", recordsIn: manifest.recordsIn, recordsOut: manifest.recordsOut, bytesIn: manifest.inputBytes,
                bytesOut: manifest.outputBytes, detectorCounts: Dictionary(manifest.detectors.map { ($0.id, $0.matches) }, uniquingKeysWith: +),
                error: nil))
            if let (opened, id) = ledger {
                try? opened.recordItem(id, .init(item: manifest.input, inputIdentity: nil, output: output ?? "<stdout>", records: manifest.recordsOut,
                                                 bytesOut: manifest.outputBytes, status: "succeeded", error: nil))
            }
            if !quiet && (output != nil || isatty(STDERR_FILENO) != 0) {
                printNote(Summary.line(result.manifest, output: output))
            }
        }
    }
}

/// `--delimiter` as every command accepts it.
enum Delimiter {
    static func parse(_ text: String) throws -> UInt8 {
        switch text {
        case ",": return UInt8(ascii: ",")
        case "\\t", "\t", "tab", "TAB": return 0x09
        case "|": return UInt8(ascii: "|")
        case ";": return UInt8(ascii: ";")
        default: throw ValidationError("--delimiter must be ',', '\\t', '|' or ';'")
        }
    }
}

enum ByteSize {
    /// Checks size options in `validate()`: each must parse and be positive.
    static func validate(_ options: [(name: String, value: String)]) throws {
        for (name, value) in options {
            guard let size = parse(value), size > 0 else { throw ValidationError("\(name): '\(value)' is not a size") }
        }
    }

    /// Parses `123`, `64K`, `2M`, `1G` (binary multiples).
    static func parse(_ text: String) -> Int? {
        let upper = text.uppercased()
        let multipliers: [Character: Int] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30]
        if let last = upper.last, let multiplier = multipliers[last] {
            return Int(upper.dropLast()).map { $0 * multiplier }
        }
        return Int(upper)
    }
}

enum Summary {
    static func line(_ manifest: Manifest, output: String?) -> String {
        let rate = manifest.elapsedSeconds > 0 ? Double(manifest.inputBytes) / manifest.elapsedSeconds / 1_000_000 : 0
        var text = String(
            format: "masked %d records (%d rejected) from %@, %.1f MB in %.2f s (%.1f MB/s)",
            manifest.recordsIn, manifest.recordsRejected, DisplayName.of(manifest.input), Double(manifest.inputBytes) / 1_000_000,
            manifest.elapsedSeconds, rate)
        if let output { text += " -> \(DisplayName.of(output)) (\(manifest.parts.count) part\(manifest.parts.count == 1 ? "" : "s"))" }
        let detections = manifest.detectors.map { "\($0.id)=\($0.matches)" }.joined(separator: " ")
        if !detections.isEmpty { text += "; found \(detections)" }
        let changed = manifest.fields.filter { $0.changed > 0 }.map { "\($0.name):\($0.policy)=\($0.changed)" }.joined(separator: " ")
        if !changed.isEmpty { text += "; changed \(changed)" }
        return text
    }
}
