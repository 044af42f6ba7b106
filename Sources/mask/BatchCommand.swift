import ArgumentParser
import Foundation
import MaskBatch
import MaskCore
import MaskEngine
import MaskObjectStore
import MaskPipeline
import MaskRules

#if canImport(Glibc)
import Glibc
#endif

struct Batch: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Mask every file under a folder, s3:// or gs:// prefix into the same relative paths under another, resumably.",
        discussion: """
            Inputs: .csv .tsv .psv .jsonl .ndjson .json, each optionally .gz (or what --include selects); names \
            starting with '.' or '_' are ignored. Other entries that are not masked (unknown extensions, FIFOs, devices, \
            sockets, names that are not UTF-8, symbolic links out of the input, link cycles) are listed with why on \
            stderr and under "skipped" in the run manifest, counted in "skipped_count", "unsupported_count" and \
            "unsupported_extensions" (--fail-on-skipped: exit 1, nothing written; --fail-on-unsupported: the same for \
            files in formats mask does not read only). A symbolic \
            link inside --output is refused (exit 2). SRC/rel/users.csv becomes DST/rel/users.csv.gz (or \
            users.part-00000.csv.gz, ... over --max-part-size), committed by DST/_manifests/rel/users.csv.json. \
            DST/_batch_manifest.json sums up the run; DST/_SUCCESS appears only when every file is done.

            A rerun skips files whose input (size and SHA-256, S3 ETag or GCS MD5), rules, key and settings are unchanged \
            (--force redoes them) and finishes what a failed or killed run left.

            Object storage: s3://bucket/prefix (AWS_REGION, AWS_ENDPOINT_URL for MinIO and other S3-compatible \
            stores) and gs://bucket/prefix (the GCS JSON API; STORAGE_EMULATOR_HOST for an emulator), each with the \
            credentials its environment provides (see the README: "Object storage and credentials"). GCS writes \
            carry ifGenerationMatch preconditions: an output another writer changed during the run fails the file.

            Many workers, one batch: start any number of `mask batch` processes (on any machines) with the same \
            --ledger and --run-id and the same arguments. Each claims files in the ledger (FOR UPDATE SKIP LOCKED) \
            under a lease it renews every third of --lease; a worker that dies loses its files when their lease runs \
            out and the others take them over. Outputs are published under the claim's fence, so each is committed \
            exactly once; the worker that finishes the last file writes _batch_manifest.json (every worker's files) \
            and _SUCCESS. A worker with nothing left to claim waits while others still hold files. Starting a run \
            that already succeeded does nothing; starting a failed run again retries its failed files. Passwords: \
            put them in PGPASSWORD or ~/.pgpass rather than in the URL.

            Sharded, no ledger: --plan N prints how N shards split the listing (JSON); each task runs --shard K/N \
            (deterministic, size-balanced; no run manifest or _SUCCESS); then --finalize checks that every input is \
            committed and current and only then writes _batch_manifest.json and _SUCCESS (else exit 1, naming what is missing).

            Exit codes: 0 every file done, 1 some file failed (each listed), 2 usage or rules error, 3 I/O error.
            """)

    @OptionGroup var rulesOption: RulesOption

    @Option(name: .long, help: "Source: a local folder, s3://bucket/prefix or gs://bucket/prefix.")
    var input: String

    @Option(name: .long, help: "Destination: a local folder, s3://bucket/prefix or gs://bucket/prefix.")
    var output: String

    @OptionGroup var inputFormat: InputFormatOptions

    @Option(name: .long, help: "Only inputs whose relative path matches this glob (* ? [..] within a folder, ** across; no '/' = file name). Repeatable.")
    var include: [String] = []

    @Option(name: .long, help: "Leave out inputs matching this glob. Repeatable.")
    var exclude: [String] = []

    @OptionGroup var parallel: ParallelOptions

    @Option(name: .long, help: "Files masked at once (the --threads are split across them).")
    var parallelFiles: Int = 2

    @OptionGroup var parts: PartOptions

    @Flag(name: .long, help: "Mask every file again, even those already done with the same input, rules, key and settings.")
    var force = false

    @Flag(name: .long, help: "Stop starting new files after the first failure.")
    var failFast = false

    /// Kept so that existing invocations still parse: failing a file whose CSV lacks an exact
    /// field name is now the default (`--allow-missing-fields` turns it off).
    @Flag(name: .long, help: .hidden)
    var strictFields = false

    @Flag(name: .long, help: "Local input: follow symbolic links that lead out of the input folder (by default they are skipped and reported; cycles always are).")
    var followSymlinks = false

    @Flag(name: .long, help: "Fail the run (exit 1) before writing anything if any entry under the input would not be masked (unknown extension, FIFO, device, socket, name not UTF-8, link out of the input).")
    var failOnSkipped = false

    @Flag(name: .long, help: "Fail the run (exit 1) before writing anything if any file or object under the input is in a format mask does not read (.parquet, .avro, .txt, ...); other skipped entries are only reported.")
    var failOnUnsupported = false

    @Option(name: .long, help: "Write the run summary (JSON, as DST/_batch_manifest.json) to this local file.")
    var report: String?

    @OptionGroup var store: ObjectStoreFlags

    @Option(name: .long, help: "Keys per listing request (default: the server's, 1000 on AWS and GCS).")
    var pageSize: Int?

    @Flag(name: .shortAndLong, help: "Only failures and the summary on stderr; no per-file lines or progress.")
    var quiet = false

    @OptionGroup var ledgerOptions: LedgerOptions

    @Option(name: .long, help: "With --ledger: how long a claim on a file lasts unless renewed (e.g. 60s, 2m, 500ms).")
    var lease: String = "60s"

    @Option(name: .long, help: "With --ledger: this worker's name in the ledger (default: host:pid), e.g. the pod name.")
    var worker: String?

    @Option(name: .long, help: "Mask only share K of N of the listing (K from 0: a Kubernetes Indexed Job passes $(JOB_COMPLETION_INDEX)/N). No run manifest or _SUCCESS: run --finalize after the last shard.")
    var shard: String?

    @Option(name: .long, help: "Print how N shards split the listing (a JSON array, for Argo withParam or Airflow .expand()) and exit.")
    var plan: Int?

    @Flag(name: .long, help: "Mask nothing: if every input has its current committed manifest and outputs, write _batch_manifest.json and _SUCCESS; else list what is missing (exit 1).")
    var finalize = false

    func validate() throws {
        guard parallelFiles >= 1 else { throw ValidationError("--parallel-files must be at least 1") }
        if let pageSize, pageSize < 1 || pageSize > 1000 { throw ValidationError("--page-size must be 1...1000") }
        try store.validate()
        guard let seconds = DurationOption.seconds(lease), seconds >= 0.2 else {
            throw ValidationError("--lease must be a duration of at least 200ms, like 60s, 2m or 1500ms (got '\(lease)')")
        }
        if ledgerOptions.ledger == nil && worker != nil { throw ValidationError("--worker needs --ledger") }
        if let shard, BatchShard(parsing: shard) == nil {
            throw ValidationError("--shard must be K/N with 0 <= K < N <= 10000, like 0/4 (got '\(shard)')")
        }
        if let plan, !(1...10_000).contains(plan) { throw ValidationError("--plan must be a number of shards from 1 to 10000") }
        let modes = [shard != nil, plan != nil, finalize, ledgerOptions.ledger != nil].filter { $0 }.count
        if modes > 1 { throw ValidationError("give at most one of --shard, --plan, --finalize and --ledger") }
        if finalize && force { throw ValidationError("--finalize masks nothing; --force does not apply") }
    }

    func run() throws {
        var failed = false
        try runMapped {
            // A plan reads the listing only: it needs the rules file to be valid, not the key.
            let (compiled, hasher) = plan != nil ? (try RulesLoader.load(path: rulesOption.rules), nil) : try rulesOption.load()
            var options = BatchOptions(input: input, output: output)
            options.format = inputFormat.chosenFormat
            options.delimiter = try inputFormat.parsedDelimiter()
            options.hasHeader = !inputFormat.noHeader
            options.text = try inputFormat.textOptions()
            options.include = include
            options.exclude = exclude
            if let threads = parallel.threads { options.threads = threads }
            options.parallelFiles = parallelFiles
            options.level = parts.level ?? OutputCodec.gzip.defaultLevel
            options.gzipMembers = GzipMembers(rawValue: parts.gzipMembers)!
            options.maxPartSize = ByteSize.parse(parts.maxPartSize)!
            options.chunkSize = ByteSize.parse(parallel.chunkSize)!
            options.maxRecordSize = ByteSize.parse(parallel.maxRecordSize)!
            options.force = force
            options.failFast = failFast
            options.allowMissingFields = rulesOption.allowMissingFields
            options.followSymlinks = followSymlinks
            options.failOnSkipped = failOnSkipped
            options.failOnUnsupported = failOnUnsupported
            options.reportPath = report
            options.showProgress = isatty(STDERR_FILENO) != 0 && !quiet
            options.listFiles = !quiet
            options.log = { line in
                if line.hasPrefix("error: ") { printError(String(line.dropFirst(7))) } else { printNote(line) }
            }
            options.endpoint = store.endpoint
            options.gcsEndpoint = store.gcsEndpoint
            options.region = store.region
            options.addressing = store.virtualHost ? .virtual : .path
            options.pageSize = pageSize
            options.multipartThreshold = ByteSize.parse(store.multipartThreshold)!
            options.partSize = ByteSize.parse(store.partSize)!
            options.maxAttempts = store.retries
            options.workDirectory = store.workDir
            if let url = ledgerOptions.ledger {
                options.shared = SharedRun(
                    ledgerURL: url, runID: ledgerOptions.runId ?? UUID().uuidString.lowercased(), worker: worker,
                    lease: DurationOption.seconds(lease)!, labels: ledgerOptions.labels)
                if ledgerOptions.runId == nil { printNote("batch: run id \(options.shared!.runID) (give it as --run-id to more workers)") }
            }
            options.shard = shard.flatMap(BatchShard.init(parsing:))
            options.finalizeOnly = finalize
            if let plan {
                let shards = try BatchJob(rules: compiled, hasher: hasher, options: options).shardPlan(count: plan)
                print(try ReportJSON.line(shards))
                return
            }
            let summary = try BatchJob(rules: compiled, hasher: hasher, options: options).run()
            for line in summary.summaryLines() { printNote(line) }
            for failure in summary.failures {
                printError("failed: \(DisplayName.of(failure.input)): \(failure.error)")
            }
            failed = summary.status != "succeeded"
        }
        if failed { throw ExitCode(ExitStatus.dataError.rawValue) }
    }
}
