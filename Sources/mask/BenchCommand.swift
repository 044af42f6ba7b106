import ArgumentParser
import Foundation
import MaskSynthetic
import MaskBench
import MaskPipeline
import MaskCore
import MaskRules

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure rule sets side by side: throughput, and cost and catches per detector and field.",
        discussion: """
            The input is held in memory and replayed, so I/O does not dominate. Each rule set gets a warm-up pass, then
            --iterations timed passes (median, min, max). Per-detector cost is measured by running each detector alone over
            the values its scan policies see in the first --profile-size bytes, timed per pass, with and without its prefilter.
            """)

    @Option(name: .long, help: "Rules file; repeat to compare rule sets.")
    var rules: [String] = []

    @Option(name: .long, help: "Input file (plain or gzip).")
    var input: String?

    @Option(name: .long, help: "Generate this many rows with the built-in deterministic generator instead of --input.")
    var synthetic: Int?

    @Option(name: .long, help: "Seed of the --synthetic generator: the same seed and row count give the same bytes (default 20261125).")
    var seed: UInt64?

    @OptionGroup var inputFormat: InputFormatOptions

    @OptionGroup var parallel: ParallelOptions

    @Option(name: .long, help: "Timed passes per rule set.")
    var iterations: Int = 5

    @Option(name: .long, help: "Also deflate every masked chunk at this gzip level, to include compression.")
    var level: Int?

    @Option(name: .long, help: "Bytes of input profiled per detector.")
    var profileSize: String = "8M"

    @Flag(name: .long, help: "Print the report as JSON.")
    var json = false

    @Option(name: .long, help: "An earlier --json report: exit 1 if a rule set got slower than --max-regression.")
    var baseline: String?

    @Option(name: .long, help: "Allowed slowdown against --baseline, e.g. 10%.")
    var maxRegression: String = "10%"

    @Option(name: .long, help: "Write the synthetic input to this file and exit (the generator the benchmarks use).")
    var emit: String?

    @Flag(name: .long, help: "Micro-benchmarks of the hot kernels (tokenizer, framing, each detector, HMAC, deflate, gunzip) on a CSV input.")
    var micro = false

    func validate() throws {
        if rules.isEmpty && emit == nil { throw ValidationError("give at least one --rules") }
        if emit != nil && synthetic == nil { throw ValidationError("--emit needs --synthetic") }
        if seed != nil && synthetic == nil { throw ValidationError("--seed needs --synthetic") }
        if let synthetic, synthetic < 0 { throw ValidationError("--synthetic must not be negative") }
        if (input == nil) == (synthetic == nil) { throw ValidationError("give exactly one of --input and --synthetic") }
        if let level { try PartOptions.validate(level: level) }
        if iterations < 1 { throw ValidationError("--iterations must be at least 1") }
        if Self.percent(maxRegression) == nil { throw ValidationError("--max-regression must look like 10%") }
    }

    static func percent(_ text: String) -> Double? {
        Double(text.hasSuffix("%") ? String(text.dropLast()) : text).map { $0 / 100 }
    }

    func run() throws {
        try runMapped {
            let chosenFormat: SyntheticExtract.Format
            chosenFormat = inputFormat.format(for: input) == .jsonl ? .jsonl : .csv
            let chosenSeed = seed ?? SyntheticExtract.defaultSeed
            if let synthetic, let emit {
                try Self.emit(rows: synthetic, format: chosenFormat, seed: chosenSeed, to: emit)
                return
            }
            let bytes: [UInt8]
            let name: String
            if let synthetic {
                bytes = SyntheticExtract.generate(rows: synthetic, format: chosenFormat, seed: chosenSeed)
                name = "synthetic:\(synthetic):\(chosenFormat.rawValue)" + (seed.map { ":seed=\($0)" } ?? "")
            } else {
                bytes = try InputLoader.load(input!)
                name = input!
            }
            if micro {
                let compiled = try RulesLoader.load(path: rules[0])
                let results = MicroBench.run(rules: compiled, csv: bytes, repeats: iterations)
                if json {
                    print(String(decoding: try ReportJSON.encode(results), as: UTF8.self), terminator: "")
                } else {
                    print(BenchTable.render(results))
                }
                return
            }
            var options = BenchOptions(input: bytes, inputName: name, format: chosenFormat)
            options.threads = parallel.threads ?? ProcessInfo.processInfo.activeProcessorCount
            options.chunkSize = ByteSize.parse(parallel.chunkSize)!
            options.dialect = try inputFormat.dialect(for: input)
            options.iterations = iterations
            options.deflateLevel = level
            options.profileBytes = ByteSize.parse(profileSize) ?? (8 << 20)
            var reports: [RuleSetReport] = []
            for path in rules {
                let compiled = try RulesLoader.load(path: path)
                do {
                    reports.append(try BenchRunner.run(rules: compiled, options: options))
                } catch let error as BenchError {
                    throw JobFailure.usage(error.description)
                }
            }
            let report = BenchReport(input: name, format: chosenFormat.rawValue, ruleSets: reports)
            if json {
                print(String(decoding: try ReportJSON.encode(report), as: UTF8.self), terminator: "")
            } else {
                print(BenchTable.render(report))
            }
            if let baseline {
                guard let data = FileManager.default.contents(atPath: baseline),
                    let earlier = try? ReportJSON.decode(BenchReport.self, from: data)
                else { throw JobFailure.usage("cannot read the baseline report \(baseline)") }
                let regressions = BenchTable.regressions(report, against: earlier, allowed: Self.percent(maxRegression)!)
                for line in regressions { printError(line) }
                if !regressions.isEmpty { throw ExitCode(ExitStatus.dataError.rawValue) }
            }
        }
    }
}

extension Bench {
    /// Streamed in blocks: a million JSONL rows are about 400 MB, which need not sit in memory.
    static func emit(rows: Int, format: SyntheticExtract.Format, seed: UInt64, to path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil),
            let handle = FileHandle(forWritingAtPath: path)
        else { throw JobFailure.io("cannot create \(path)") }
        defer { try? handle.close() }
        do {
            try SyntheticExtract.write(rows: rows, format: format, seed: seed) { block in
                try handle.write(contentsOf: Data(block))
            }
        } catch {
            throw JobFailure.io("cannot write \(path): \(error.localizedDescription)")
        }
    }
}
