#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import MaskCore
import MaskEngine
import MaskObjectStore
import MaskPipeline
import MaskLedger
import MaskPostgres
import MaskRules
import Crypto

/// Everything `mask batch` needs besides the rules and the key.
public struct BatchOptions: Sendable {
    public var input: String
    public var output: String
    /// Forces the format of every input; by default it follows each file's extension.
    public var format: InputFormat?
    /// Forces the CSV delimiter; by default `.tsv` files use tab, `.psv` `|`, others `,`.
    public var delimiter: UInt8?
    public var hasHeader = true
    /// NULL spelling and quoting of `pgtext` and `mysql` inputs.
    public var text = TextExportOptions()
    public var include: [String] = []
    public var exclude: [String] = []
    /// Worker threads in all, split across the files in flight.
    public var threads = max(1, ProcessInfo.processInfo.activeProcessorCount)
    public var parallelFiles = 2
    public var level = 6
    public var chunkSize = 2 << 20
    public var maxRecordSize = 16 << 20
    public var maxPartSize = 256 << 20
    public var force = false
    public var failFast = false
    /// An exact field name in the rules may be missing from a CSV input (`--allow-missing-fields`);
    /// by default such a file fails alone, as in pipe mode: a renamed join key would otherwise
    /// pass under the default policy (tokens instead of hashes).
    public var allowMissingFields = false
    /// Local input: follow symbolic links that lead out of the input folder (`--follow-symlinks`).
    public var followSymlinks = false
    /// Any entry under the input that is not masked (see `SkippedEntry`) fails the run before
    /// anything is written (`--fail-on-skipped`).
    public var failOnSkipped = false
    /// Any file or object in a format mask does not read (`.parquet`, `.avro`, ...) fails the
    /// run before anything is written (`--fail-on-unsupported`); other skipped entries do not.
    public var failOnUnsupported = false
    public var reportPath: String?
    public var showProgress = false
    /// One line per file on stderr.
    public var listFiles = true
    public var log: @Sendable (String) -> Void = { _ in }
    // Object storage.
    public var endpoint: String?
    public var gcsEndpoint: String?
    public var region: String?
    public var addressing: S3Configuration.Addressing = .path
    public var pageSize: Int?
    public var multipartThreshold: Int?
    public var partSize: Int?
    public var maxAttempts: Int?
    /// Local folder for temporary files when the output is in object storage.
    public var workDirectory: String?
    public var environment: [String: String] = ProcessInfo.processInfo.environment
    /// Share the run with other workers through a PostgreSQL ledger (`--ledger`).
    public var shared: SharedRun?

    public init(input: String, output: String) {
        self.input = input
        self.output = output
    }

    /// The object-store settings among these options.
    var storeOptions: ObjectStoreOptions {
        var store = ObjectStoreOptions(environment: environment)
        store.endpoint = endpoint
        store.gcsEndpoint = gcsEndpoint
        store.region = region
        store.addressing = addressing
        store.multipartThreshold = multipartThreshold
        store.partSize = partSize
        store.maxAttempts = maxAttempts
        store.log = log
        return store
    }
}

/// How a worker joins a run that many workers share through the ledger.
public struct SharedRun: Sendable {
    public var ledgerURL: String
    public var runID: String
    /// Stored with each claim; the default names the host and process.
    public var worker: String
    /// Seconds a claim lasts unless renewed (renewed every third of it).
    public var lease: Double
    public var labels: [String: String]

    public init(ledgerURL: String, runID: String, worker: String?, lease: Double, labels: [String: String]) {
        self.ledgerURL = ledgerURL
        self.runID = runID
        self.worker = worker ?? "\(ProcessInfo.processInfo.hostName):\(getpid())"
        self.lease = lease
        self.labels = labels
    }
}

/// One input and where its outputs go.
struct PlannedFile: Sendable {
    var index: Int
    var source: SourceFile
    var format: InputFormat?
    var dialect: CSVDialect
    /// The input's relative path with empty segments dropped (`a//x.csv` and `/a/x.csv` are
    /// `a/x.csv`): what its output and manifest names are made of. Local paths have none.
    var outputPath: String
    /// Folder of the outputs, relative to the destination: `""` or ending in `/`.
    var directory: String
    /// Output name parts: `users` and `.csv` for `users.csv.gz`.
    var stem: String
    var fileExtension: String

    var singleOutput: String { directory + stem + fileExtension + ".gz" }
    func partOutput(_ index: Int) -> String { directory + stem + String(format: ".part-%05d", index) + fileExtension + ".gz" }
    var manifestPath: String { "_manifests/\(outputPath).json" }

    /// Whether `name` is one of the names this input's outputs can have.
    func ownsOutputName(_ name: String) -> Bool {
        if name == singleOutput { return true }
        let head = directory + stem + ".part-"
        let tail = fileExtension + ".gz"
        guard name.hasPrefix(head), name.hasSuffix(tail), name.count == head.count + 5 + tail.count else { return false }
        return name.dropFirst(head.count).prefix(5).allSatisfy(\.isNumber)
    }

    init(index: Int, source: SourceFile, format: InputFormat?, dialect: CSVDialect) {
        self.index = index
        self.source = source
        self.format = format
        self.dialect = dialect
        let path = source.relativePath.split(separator: "/").joined(separator: "/")
        outputPath = path
        let slash = path.lastIndex(of: "/")
        directory = slash.map { String(path[...$0]) } ?? ""
        var name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        if name.lowercased().hasSuffix(".gz") { name.removeLast(3) }
        if let dot = name.lastIndex(of: "."), dot != name.startIndex {
            stem = String(name[..<dot])
            fileExtension = String(name[dot...])
        } else {
            stem = name
            fileExtension = ""
        }
    }
}

/// `mask batch`: every input file under a folder or prefix, masked into the same relative path
/// under the output, resumably.
///
/// Per input, in this order: the committed manifest (if any) is checked and the file skipped when
/// its input identity, rules fingerprint, key id and settings all match and its outputs are there;
/// otherwise the old manifest is removed, the file is masked into local staging, each output is
/// moved (renamed, or uploaded as one object) to its final name, stale outputs of the same input
/// are removed, and the manifest is written last. `_SUCCESS` is removed before the first change
/// and written after the run manifest once every file is done. A kill at any point leaves no
/// manifest for a file whose outputs are incomplete, and no `_SUCCESS`, so a rerun finishes the job
/// (the fault points `batch.*` and `CrashSafetyTests` check each step); the rerun also clears the
/// staging folder and half-written small files (`LocalDestination.prepare`).
public struct BatchJob {
    public let rules: CompiledRules
    public let hasher: KeyedHasher?
    public let options: BatchOptions

    public init(rules: CompiledRules, hasher: KeyedHasher?, options: BatchOptions) {
        self.rules = rules
        self.hasher = hasher
        self.options = options
    }

    public func run() throws -> BatchSummary {
        let started = Date()
        let inputLocation = try BatchLocation.parse(options.input)
        let outputLocation = try BatchLocation.parse(options.output)
        if let report = options.reportPath {
            // A report that cannot be written is only a warning once the run is committed: a
            // typo in its path should stop the run before it starts.
            var created: String?
            if case .local(let root) = outputLocation { created = root }
            do { try OutputFile.preflight(report, standardOutputDash: true, createdFolder: created) } catch { throw JobFailure.io("--report: \(error)") }
        }
        if inputLocation.overlaps(outputLocation) {
            throw JobFailure.usage("--input \(DisplayName.of(options.input)) and --output \(DisplayName.of(options.output)) overlap; use separate folders or prefixes")
        }
        let stores = ObjectStores(options: options.storeOptions)
        func client(_ scheme: ObjectLocation.Scheme) throws -> any ObjectStoreClient {
            do { return try stores.client(for: scheme) } catch let error as ObjectStoreError { throw JobFailure.usage(error.description) }
        }
        let source: any BatchSource
        switch inputLocation {
        case .local(let path): source = LocalSource(root: path, followSymlinks: options.followSymlinks)
        case .object(let location): source = ObjectSource(client: try client(location.scheme), location: location, pageSize: options.pageSize)
        }
        let destination: any BatchDestination
        switch outputLocation {
        case .local(let path): destination = LocalDestination(root: path)
        case .object(let location):
            destination = ObjectDestination(client: try client(location.scheme), location: location, workDirectory: options.workDirectory, log: options.log)
        }

        let (planned, skipped) = try plan(source: source)
        // Before anything is written: no output, manifest or marker of this run goes through a
        // symbolic link inside the destination.
        try destination.refuseLinks(
            along: planned.flatMap { [$0.singleOutput, $0.manifestPath] } + ["_SUCCESS", "_batch_manifest.json", ".mask-batch-staging/"])
        let unsupported = skipped.filter { $0.kind == .unsupportedFormat }
        let refusal: String?
        if options.failOnSkipped && !skipped.isEmpty {
            refusal = "--fail-on-skipped"
            options.log("error: \(skipped.count) \(skipped.count == 1 ? "entry" : "entries") under \(DisplayName.of(inputLocation.description)) would not be masked and --fail-on-skipped is given: nothing was written")
        } else if options.failOnUnsupported && !unsupported.isEmpty {
            refusal = "--fail-on-unsupported"
            options.log("error: \(unsupported.count) \(unsupported.count == 1 ? "file" : "files") under \(DisplayName.of(inputLocation.description)) in formats mask does not read (\(Self.byExtension(unsupported))) and --fail-on-unsupported is given: nothing was written")
        } else {
            refusal = nil
        }
        if let refusal {
            let notStarted = planned.map { file in
                BatchFileResult(
                    input: file.source.relativePath, uri: file.source.uri, status: .cancelled, format: file.format?.rawValue,
                    inputBytes: file.source.size, errorKind: nil, error: "not started: entries under the input would not be masked (\(refusal))")
            }
            var summary = summarize(notStarted, inputLocation: inputLocation, outputLocation: outputLocation, source: source, started: started, skipped: skipped)
            summary.status = "failed"
            try writeReport(summary)
            return summary
        }
        if planned.isEmpty { options.log("warning: no input files under \(DisplayName.of(inputLocation.description)) (looked for \(options.include.isEmpty ? ".csv, .tsv, .psv, .jsonl, .ndjson, .json, optionally .gz" : options.include.joined(separator: ", ")))") }

        var queue: SharedWorkQueue?
        if let shared = options.shared {
            do {
                let opened = try SharedWorkQueue(url: shared.ledgerURL, runID: shared.runID, worker: shared.worker, lease: shared.lease)
                let log = options.log
                opened.log = log
                let start = try opened.start(
                    command: "mask batch", labels: shared.labels, rulesFingerprint: rules.fingerprint, keyID: hasher?.keyID,
                    configuration: configurationFingerprint(input: inputLocation, output: outputLocation),
                    items: planned.map { ($0.source.relativePath, $0.source.size) })
                if case .alreadyFinished(let status) = start {
                    options.log("run \(shared.runID) already \(status) in the ledger: nothing to do")
                    var summary = summarize([], inputLocation: inputLocation, outputLocation: outputLocation, source: source, started: started, skipped: skipped)
                    summary.runID = shared.runID
                    summary.worker = shared.worker
                    summary.endedRun = false
                    return summary
                }
                queue = opened
            } catch let mismatch as SharedWorkQueue.RunMismatch {
                throw JobFailure.usage(mismatch.description)
            } catch let error as PostgresError {
                throw JobFailure.ledger(error)
            }
        }

        do { try destination.prepare(shared: queue != nil) } catch let error as ObjectStoreError { throw JobFailure.io(error.description) }
        defer { destination.finish() }
        queue?.startRenewing()
        defer { queue?.stopRenewing() }

        let context = RunContext(
            job: self, files: planned, destination: destination, source: source, queue: queue,
            progress: BatchProgress(
                files: planned.count, bytes: planned.reduce(0) { $0 + $1.source.size }, enabled: options.showProgress))
        let results = context.runAll()
        context.progress.finish()
        if let failure = context.ledgerFailure { throw JobFailure.io("ledger: \(failure)") }

        if let queue, let shared = options.shared {
            return try endSharedRun(
                queue, shared: shared, own: results, context: context, inputLocation: inputLocation, outputLocation: outputLocation,
                source: source, destination: destination, started: started, skipped: skipped)
        }

        var summary = summarize(results, inputLocation: inputLocation, outputLocation: outputLocation, source: source, started: started, skipped: skipped)
        do {
            // Whatever the outcome, the run manifest describes this run; `_SUCCESS` follows it only
            // when every file is done (a failure that came before any change still removes it).
            let encoded = try summary.encoded()
            try context.invalidateSuccessOnce()
            try destination.write(encoded, to: "_batch_manifest.json")
            FaultPoint.reach("batch.run-manifest-written")
            if summary.status == "succeeded" {
                try destination.write(Data(), to: "_SUCCESS")
                FaultPoint.reach("batch.success-written")
            }
        } catch {
            summary.status = "failed"
            if let report = options.reportPath { try? LocalPaths.writeUserFile(try summary.encoded(), to: report) }
            throw JobFailure.io("cannot write the run manifest into \(outputLocation): \(Self.describe(error).message)")
        }
        try writeReport(summary)
        return summary
    }

    /// A shared run after this worker's last file: if no file is left open, this worker ends the
    /// run (run manifest of every worker's files, then `_SUCCESS`); else it reports its own files.
    private func endSharedRun(
        _ queue: SharedWorkQueue, shared: SharedRun, own: [BatchFileResult], context: RunContext, inputLocation: BatchLocation,
        outputLocation: BatchLocation, source: any BatchSource, destination: any BatchDestination, started: Date, skipped: [SkippedEntry]
    ) throws -> BatchSummary {
        var summary = summarize(own, inputLocation: inputLocation, outputLocation: outputLocation, source: source, started: started, skipped: skipped)
        summary.runID = shared.runID
        summary.worker = shared.worker
        summary.endedRun = false
        do {
            try queue.finishIfDone { finished in
                let all = finished.results.map { text in
                    (try? ReportJSON.decode(BatchFileResult.self, from: Data(text.utf8)))
                        ?? BatchFileResult(input: "?", uri: "?", status: .failed, format: nil, inputBytes: 0, errorKind: "io", error: "no result recorded")
                }
                var whole = summarize(all, inputLocation: inputLocation, outputLocation: outputLocation, source: source, started: started, skipped: skipped)
                whole.runID = shared.runID
                whole.worker = shared.worker
                whole.endedRun = true
                // The run's span, from its first worker's start, not this worker's.
                whole.startedAt = finished.startedAt
                whole.elapsedSeconds = finished.elapsedSeconds
                defer { summary = whole }
                try context.invalidateSuccessOnce()
                destination.finishSharedRun()
                try destination.write(try whole.encoded(), to: "_batch_manifest.json")
                if whole.status == "succeeded" { try destination.write(Data(), to: "_SUCCESS") }
                return all.reduce(into: [:]) { sums, file in
                    for (id, count) in file.detectorMatches ?? [:] { sums[id, default: 0] += count }
                }
            }
        } catch let error as PostgresError {
            throw JobFailure.ledger(error)
        } catch {
            throw JobFailure.io("cannot write the run manifest into \(outputLocation): \(Self.describe(error).message)")
        }
        // The worker that ends the run reports the run (exit 1 if any file failed, so an
        // orchestrator sees a failed run once); the others report their own files.
        if summary.endedRun == true, summary.status == "failed", !own.contains(where: { $0.status == .failed }) {
            options.log("run \(shared.runID) ended with \(summary.filesFailed) failed files (other workers'; see the run manifest)")
        }
        try writeReport(summary)
        return summary
    }

    /// The report comes after `_SUCCESS`: the run is committed, and failing it now would make an
    /// orchestrator retry a finished run. A report that cannot be written is a warning.
    private func writeReport(_ summary: BatchSummary) throws {
        if let report = options.reportPath {
            do { try LocalPaths.writeUserFile(try summary.encoded(), to: report) } catch {
                options.log("warning: the run is committed, but the report \(DisplayName.of(report)) could not be written: \(Self.describe(error).message)")
            }
        }
    }

    /// What every worker of a shared run must agree on besides rules and key: a run whose
    /// workers disagree would write outputs of two kinds under one `_SUCCESS`.
    func configurationFingerprint(input: BatchLocation, output: BatchLocation) -> String {
        let fields: [String] = [
            "input=\(input)", "output=\(output)", "format=\(options.format?.rawValue ?? "auto")",
            "delimiter=\(options.delimiter.map(String.init) ?? "auto")", "header=\(options.hasHeader)", "level=\(options.level)",
            "chunk=\(options.chunkSize)", "part=\(options.maxPartSize)", "record=\(options.maxRecordSize)",
            "include=\(options.include.joined(separator: "\u{1}"))", "exclude=\(options.exclude.joined(separator: "\u{1}"))",
            "strict=\(!options.allowMissingFields)",
        ] + (options.followSymlinks ? ["follow-symlinks"] : [])
        let digest = SHA256.hash(data: Data(fields.joined(separator: "\n").utf8))
        return Hex.string(digest)
    }

    func summarize(
        _ results: [BatchFileResult], inputLocation: BatchLocation, outputLocation: BatchLocation, source: any BatchSource, started: Date,
        skipped: [SkippedEntry]
    ) -> BatchSummary {
        let finished = Date()
        let formatter = ISO8601DateFormatter()
        let failures = results.filter { $0.status == .failed }
        return BatchSummary(
            version: MaskVersion.current, status: failures.isEmpty && results.allSatisfy({ $0.status != .cancelled }) ? "succeeded" : "failed",
            source: inputLocation.description, destination: outputLocation.description,
            rules: .init(path: rules.path, fingerprint: rules.fingerprint), keyID: hasher?.keyID,
            filesTotal: results.count,
            filesMasked: results.filter { $0.status == .masked }.count,
            filesSkipped: results.filter { $0.status == .skipped }.count,
            filesFailed: failures.count,
            filesCancelled: results.filter { $0.status == .cancelled }.count,
            inputBytes: results.reduce(0) { $0 + $1.inputBytes },
            maskedInputBytes: results.filter { $0.status == .masked }.reduce(0) { $0 + $1.inputBytes },
            outputBytes: results.reduce(0) { $0 + $1.outputBytes },
            recordsIn: results.reduce(0) { $0 + $1.recordsIn },
            recordsOut: results.reduce(0) { $0 + $1.recordsOut },
            threads: options.threads, parallelFiles: options.parallelFiles, listPages: source.listPages,
            startedAt: formatter.string(from: started), finishedAt: formatter.string(from: finished),
            elapsedSeconds: (finished.timeIntervalSince(started) * 1000).rounded() / 1000,
            failures: failures.map { .init(input: $0.input, kind: $0.errorKind ?? "io", error: $0.error ?? "") },
            files: results, skipped: skipped,
            skippedCount: skipped.count, unsupportedCount: skipped.filter { $0.kind == .unsupportedFormat }.count,
            unsupportedExtensions: skipped.filter { $0.kind == .unsupportedFormat }.reduce(into: [:]) { $0[$1.formatExtension, default: 0] += 1 })
    }

    /// `.parquet: 2, .txt: 1`, most frequent first.
    public static func byExtension(_ entries: [SkippedEntry]) -> String {
        let counts = entries.reduce(into: [String: Int]()) { $0[$1.formatExtension, default: 0] += 1 }
        return counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")
    }

    /// The inputs (filtered, formats and output names decided) and the entries under the input
    /// that will not be masked; or a usage error, naming every input involved, for inputs whose
    /// outputs would collide.
    func plan(source: any BatchSource) throws -> (files: [PlannedFile], skipped: [SkippedEntry]) {
        let listing: SourceListing
        do { listing = try source.list() } catch let error as ObjectStoreError { throw JobFailure.io(error.description) }
        var skipped = listing.skipped
        let includes = options.include.map(Glob.init)
        let excludes = options.exclude.map(Glob.init)
        var planned: [PlannedFile] = []
        for file in listing.files {
            let guessed = InputFormat.guess(fromPath: file.relativePath)
            if includes.isEmpty {
                // Chosen by the user (--include, --exclude): not reported; an unknown extension is.
                guard guessed != nil else {
                    if !excludes.contains(where: { $0.matches(file.relativePath) }) {
                        skipped.append(SkippedEntry(
                            name: DisplayName.of(file.relativePath),
                            reason: "not an input format (.csv, .tsv, .psv, .jsonl, .ndjson, .json, optionally .gz; --include selects others)",
                            kind: .unsupportedFormat))
                    }
                    continue
                }
            } else {
                guard includes.contains(where: { $0.matches(file.relativePath) }) else { continue }
            }
            if excludes.contains(where: { $0.matches(file.relativePath) }) { continue }
            let dialect = CSVDialect(
                delimiter: options.delimiter ?? InputFormat.delimiter(for: options.format ?? guessed ?? .csv, path: file.relativePath),
                hasHeader: options.hasHeader)
            planned.append(PlannedFile(index: planned.count, source: file, format: options.format ?? guessed, dialect: dialect))
        }
        // Every collision at once, each with all its inputs: `users.csv` and `users.csv.gz`, or
        // object keys that differ only in slashes (`a/x.csv`, `a//x.csv`, `/a/x.csv`).
        var owners: [String: [String]] = [:]
        for file in planned { owners[file.singleOutput, default: []].append(file.source.relativePath) }
        var collisions = owners.filter { $0.value.count > 1 }.sorted { $0.key < $1.key }.map { output, inputs in
            "\(inputs.map { DisplayName.of($0) }.joined(separator: ", ")) -> \(DisplayName.of(output))"
        }
        for file in planned {
            for other in planned where other.index != file.index && other.ownsOutputName(file.singleOutput) {
                collisions.append(
                    "\(DisplayName.of(file.source.relativePath)) -> \(DisplayName.of(file.singleOutput)), a part name of \(DisplayName.of(other.source.relativePath))")
            }
        }
        // An output that is also a folder of other outputs (object keys `x.csv.gz` and `x.csv.gz/y.csv`).
        var folders: [String: String] = [:]
        for file in planned {
            var folder = ""
            for segment in file.directory.split(separator: "/") {
                folder += folder.isEmpty ? String(segment) : "/\(segment)"
                folders[folder] = folders[folder] ?? file.source.relativePath
            }
        }
        for file in planned {
            if let other = folders[file.singleOutput] {
                collisions.append(
                    "\(DisplayName.of(file.source.relativePath)) -> \(DisplayName.of(file.singleOutput)), a folder of the output of \(DisplayName.of(other))")
            }
        }
        if !collisions.isEmpty {
            throw JobFailure.usage(
                "inputs that would be written to the same output (nothing was written):\n"
                    + collisions.map { "  \($0)" }.joined(separator: "\n")
                    + "\nrename them, or leave all but one of each out with --exclude")
        }
        return (planned, SkippedEntry.sorted(skipped))
    }

    func settings(for file: PlannedFile, format: InputFormat) -> BatchFileSettings {
        let delimiter = file.dialect.delimiter == 0x09 ? "\\t" : String(UnicodeScalar(file.dialect.delimiter))
        return BatchFileSettings(
            format: format.rawValue, delimiter: format.hasFields ? delimiter : "", header: format.hasFields ? file.dialect.hasHeader : false,
            level: options.level, chunkSize: options.chunkSize, maxPartSize: options.maxPartSize, maxRecordSize: options.maxRecordSize,
            textSyntax: format.textDialect(file.dialect, options.text).map { text in
                "null=\(String(decoding: text.nullToken, as: UTF8.self)) enclosed=\(text.enclose.map { String(UnicodeScalar($0)) } ?? "") escaped=\(String(UnicodeScalar(text.escape)))"
            })
    }

    /// An error's class (data, usage, io, store) and message.
    static func describe(_ error: Error) -> (kind: String, message: String) {
        switch error {
        case let failure as JobFailure:
            // Usage and I/O by name; every other case (malformed input, verification) is about the data.
            if case .usage = failure { return ("usage", failure.description) }
            if case .io = failure { return ("io", failure.description) }
            return ("data", failure.description)
        case let failure as IOFailure: return ("io", failure.description)
        case let failure as UsageFailure: return ("usage", failure.description)
        case let failure as ObjectStoreError: return ("store", failure.description)
        default: return ("io", "\(error)")
        }
    }
}

/// The state of one run shared by its worker threads.
final class RunContext: @unchecked Sendable {
    let job: BatchJob
    let files: [PlannedFile]
    let destination: any BatchDestination
    let source: any BatchSource
    let progress: BatchProgress
    private let lock = NSCondition()
    private var next = 0
    private var running = 0
    private var cancelled = false
    private var results: [BatchFileResult?]
    /// Largest first: the last files to start are small, so the run does not end with one big
    /// file on its share of the threads while the others sit idle.
    private let order: [Int]
    private var successRemoved = false
    private var finishedWorkers = 0
    /// A shared run: files are claimed from the ledger instead of taken in `order`.
    let queue: SharedWorkQueue?
    private let indexByName: [String: Int]
    /// The first ledger error; it stops this worker (its claims go back when their leases end).
    private(set) var ledgerFailure: Error?

    init(
        job: BatchJob, files: [PlannedFile], destination: any BatchDestination, source: any BatchSource, queue: SharedWorkQueue? = nil,
        progress: BatchProgress
    ) {
        self.job = job
        self.files = files
        self.destination = destination
        self.source = source
        self.queue = queue
        self.progress = progress
        results = Array(repeating: nil, count: files.count)
        order = files.indices.sorted { files[$0].source.size != files[$1].source.size ? files[$0].source.size > files[$1].source.size : $0 < $1 }
        indexByName = Dictionary(files.map { ($0.source.relativePath, $0.index) }, uniquingKeysWith: { first, _ in first })
    }

    var options: BatchOptions { job.options }

    /// Runs every file on `parallelFiles` threads; returns the results in input order.
    func runAll() -> [BatchFileResult] {
        let workers = min(max(1, options.parallelFiles), max(files.count, 1))
        for _ in 0..<workers {
            let thread = Thread { [self] in
                while let (index, threads, claim) = self.take() {
                    let result = self.process(self.files[index], threads: threads, claim: claim)
                    self.complete(index, result)
                }
                self.lock.lock()
                self.finishedWorkers += 1
                self.lock.broadcast()
                self.lock.unlock()
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
        lock.lock()
        while self.finishedWorkers < workers { lock.wait() }
        lock.unlock()
        // A shared run's worker reports the files it masked; the others were other workers'.
        if queue != nil { return results.compactMap { $0 } }
        return files.indices.map { index in
            results[index] ?? BatchFileResult(
                input: files[index].source.relativePath, uri: files[index].source.uri, status: .cancelled,
                format: files[index].format?.rawValue, inputBytes: files[index].source.size,
                errorKind: nil, error: "not started: an earlier file failed (--fail-fast)")
        }
    }

    /// The next file and its share of the thread budget: the threads divided by the number of
    /// files that can be in flight from now on, so the shares of files running at once never
    /// add up to more than `--threads`.
    /// The next file, its share of the threads and, in a shared run, this worker's claim on it.
    private func take() -> (Int, Int, SharedWorkQueue.Claim?)? {
        if let queue { return claim(from: queue) }
        lock.lock()
        defer { lock.unlock() }
        guard !cancelled, next < files.count else { return nil }
        let index = order[next]
        next += 1
        let concurrent = min(max(1, options.parallelFiles), running + 1 + (files.count - next))
        running += 1
        return (index, max(1, options.threads / concurrent), nil)
    }

    /// The next file claimed in the ledger. While other workers still hold files (that may yet
    /// come free if a worker dies), it waits and asks again, so a dead worker's file is taken
    /// over by the workers still running rather than left to a rerun.
    private func claim(from queue: SharedWorkQueue) -> (Int, Int, SharedWorkQueue.Claim?)? {
        let share = max(1, options.threads / max(1, options.parallelFiles))
        let pause = min(2.0, max(0.05, queue.lease / 4))
        while true {
            lock.lock()
            let stop = cancelled
            lock.unlock()
            if stop { return nil }
            do {
                switch try queue.claim() {
                case .claimed(let claim):
                    guard let index = indexByName[claim.item] else {
                        // Listed by another worker only (the input changed between listings).
                        let result = BatchFileResult(
                            input: claim.item, uri: claim.item, status: .failed, format: nil, inputBytes: 0, errorKind: "io",
                            error: "not found under the input by worker \(queue.worker) (the input changed while the run started?)")
                        try queue.fail(claim, error: result.error!, result: Self.json(result))
                        continue
                    }
                    lock.lock()
                    running += 1
                    lock.unlock()
                    return (index, share, claim)
                case .wait:
                    Thread.sleep(forTimeInterval: pause)
                case .done:
                    return nil
                }
            } catch {
                lock.lock()
                if ledgerFailure == nil { ledgerFailure = error }
                cancelled = true
                lock.unlock()
                return nil
            }
        }
    }

    static func matches(_ manifest: Manifest) -> [String: Int] {
        Dictionary(manifest.detectors.map { ($0.id, $0.matches) }, uniquingKeysWith: +)
    }

    static func json(_ result: BatchFileResult) -> String {
        (try? ReportJSON.line(result)) ?? "{}"
    }

    /// Runs `work` (publishing a file's outputs) as the file's commit: directly in a local run;
    /// in a shared run under the ledger's fence, recording `result` in the same transaction.
    private func publish(_ claim: SharedWorkQueue.Claim?, _ result: BatchFileResult, _ work: () throws -> Void) throws {
        guard let queue, let claim else { return try work() }
        try queue.commit(
            claim, status: "succeeded", records: result.recordsIn, bytesOut: result.outputBytes,
            output: result.outputs.first, error: nil, result: Self.json(result), publish: work)
    }

    /// A shared run: records a failed file in the ledger (it is not retried in this run).
    /// - Returns: false if the claim was lost: the file is another worker's now, and so is its
    ///   outcome (a frozen worker's staging may well have been cleared under it).
    private func recordFailure(_ file: PlannedFile, _ claim: SharedWorkQueue.Claim?, _ result: BatchFileResult) -> Bool {
        guard let queue, let claim else { return true }
        do { try queue.fail(claim, error: result.error ?? "failed", result: Self.json(result)) } catch let lost as SharedWorkQueue.ClaimLost {
            options.log("warning: \(lost)")
            return false
        } catch {
            options.log("warning: ledger: could not record the failure of \(DisplayName.of(file.source.relativePath)): \(error)")
        }
        return true
    }

    private func complete(_ index: Int, _ result: BatchFileResult?) {
        lock.lock()
        running -= 1
        guard let result else {
            lock.unlock()
            return
        }
        results[index] = result
        if result.status == .failed && options.failFast { cancelled = true }
        lock.unlock()
        progress.fileDone(file: index, status: result.status, bytes: result.inputBytes)
        let mb = { (bytes: Int) in String(format: "%.1f MB", Double(bytes) / 1_000_000) }
        switch result.status {
        case .failed:
            progress.print("error: \(DisplayName.of(result.input)): \(result.error ?? "failed")", always: true, log: options.log)
        case .masked where options.listFiles:
            let outputs = result.outputs.count == 1 ? DisplayName.of(result.outputs[0]) : "\(result.outputs.count) parts"
            progress.print(
                "masked \(DisplayName.of(result.input)) -> \(outputs) (\(result.recordsIn) records, \(mb(result.inputBytes)) -> \(mb(result.outputBytes)), \(String(format: "%.2f", result.elapsedSeconds)) s)",
                always: false, log: options.log)
        case .skipped where options.listFiles:
            progress.print("skipped \(DisplayName.of(result.input)) (unchanged since it was masked)", always: false, log: options.log)
        default:
            break
        }
    }

    /// Removes `_SUCCESS` and the run manifest before the first change to the destination.
    func invalidateSuccessOnce() throws {
        lock.lock()
        defer { lock.unlock() }
        guard !successRemoved else { return }
        try destination.remove("_SUCCESS")
        try destination.remove("_batch_manifest.json")
        successRemoved = true
    }

    /// Masks one file into staging and publishes it. Nil when a shared run's claim on it was
    /// lost (another worker took it over and reports it).
    private func process(_ file: PlannedFile, threads: Int, claim: SharedWorkQueue.Claim?) -> BatchFileResult? {
        let started = Date()
        var result = BatchFileResult(
            input: file.source.relativePath, uri: file.source.uri, status: .failed, format: file.format?.rawValue,
            inputBytes: file.source.size, manifest: file.manifestPath)
        var work: String?
        defer { if let work { try? FileManager.default.removeItem(atPath: work) } }
        do {
            guard let format = file.format else {
                throw JobFailure.usage("cannot tell the format from the name; give --format")
            }
            let settings = job.settings(for: file, format: format)
            let committedData = try destination.read(file.manifestPath)
            if !options.force, let committedData, let committed = try? ReportJSON.decode(BatchFileManifest.self, from: committedData),
                try isCurrent(committed, file: file, settings: settings)
            {
                result.status = .skipped
                result.outputs = committed.outputs.map(\.file)
                result.outputBytes = committed.outputs.reduce(0) { $0 + $1.bytes }
                result.recordsIn = committed.masking.recordsIn
                result.recordsOut = committed.masking.recordsOut
                result.recordsRejected = committed.masking.recordsRejected
                result.detectorMatches = Self.matches(committed.masking)
                result.elapsedSeconds = Date().timeIntervalSince(started)
                try publish(claim, result) {}
                return result
            }

            // From here on the destination changes: it is no longer a finished batch. (A shared
            // run does this under its claim's fence, in `publish`: a worker whose claim was
            // taken over must not touch what the new owner committed.)
            if queue == nil {
                try invalidateSuccessOnce()
                if committedData != nil { try destination.remove(file.manifestPath) }
            }

            let folder = "\(destination.stagingDirectory)/\(file.index)"
            work = folder
            try? FileManager.default.removeItem(atPath: folder)
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let inputPath = try source.localPath(of: file.source, in: folder)
            let progress = self.progress
            let input = try HashingFileSource(path: inputPath, name: file.source.uri, progress: { [index = file.index] in progress.add(file: index, bytes: $0) })

            var jobOptions = JobOptions()
            jobOptions.threads = threads
            jobOptions.format = format
            jobOptions.dialect = file.dialect
            jobOptions.text = options.text
            jobOptions.chunkSize = options.chunkSize
            jobOptions.maxRecordSize = options.maxRecordSize
            jobOptions.compress = true
            jobOptions.level = options.level
            jobOptions.outputDirectory = "\(folder)/out"
            jobOptions.maxPartSize = options.maxPartSize
            jobOptions.overwrite = true
            jobOptions.requireExactFields = !options.allowMissingFields
            let log = options.log
            let name = file.source.relativePath
            jobOptions.log = { log("\(DisplayName.of(name)): \($0)") }
            let masked = try MaskJob(rules: job.rules, hasher: job.hasher, options: jobOptions).run(source: input)
            try input.drain()
            FaultPoint.reach("batch.staged")

            // The identity recorded must describe the bytes that were masked.
            guard input.rawBytesRead == file.source.size else {
                throw IOFailure("\(DisplayName.of(file.source.uri)) changed while it was masked (\(input.rawBytesRead) bytes read, \(file.source.size) listed)")
            }
            if let modified = file.source.modified {
                var info = stat()
                let now = stat(file.source.uri, &info) == 0 ? Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9 : -1
                guard now == modified, Int(info.st_size) == file.source.size else {
                    throw IOFailure("\(DisplayName.of(file.source.uri)) changed while it was masked")
                }
            }

            let parts = masked.manifest.parts
            let names = parts.count == 1 ? [file.singleOutput] : parts.indices.map(file.partOutput)
            let outputs: [PartInfo] = zip(parts, names).map { part, name in
                var renamed = part
                renamed.file = name
                return renamed
            }
            var engine = masked.manifest
            engine.parts = outputs
            let identity = SourceIdentity(
                uri: file.source.uri, path: file.source.relativePath, size: file.source.size, sha256: input.sha256,
                etag: file.source.etag, modified: file.source.modified)
            let manifest = BatchFileManifest(
                version: MaskVersion.current, source: identity, outputs: outputs, rulesFingerprint: job.rules.fingerprint,
                keyID: job.hasher?.keyID, settings: settings, masking: engine)

            result.status = .masked
            result.outputs = names
            result.outputBytes = outputs.reduce(0) { $0 + $1.bytes }
            result.recordsIn = engine.recordsIn
            result.recordsOut = engine.recordsOut
            result.recordsRejected = engine.recordsRejected
            result.detectorMatches = Self.matches(engine)
            result.elapsedSeconds = (Date().timeIntervalSince(started) * 1000).rounded() / 1000
            let shared = queue != nil
            try publish(claim, result) {
                if shared {
                    try invalidateSuccessOnce()
                    if committedData != nil { try destination.remove(file.manifestPath) }
                }
                for (part, name) in zip(parts, names) {
                    try destination.commit(file: "\(folder)/out/\(part.file)", to: name, sha256: part.sha256)
                    FaultPoint.reach("batch.output-renamed")
                }
                // Outputs of an earlier run of this input under names this run did not write.
                for stale in try destination.names(in: file.directory, startingWith: file.stem + ".")
                where file.ownsOutputName(stale) && !names.contains(stale) {
                    try destination.remove(stale)
                }
                try destination.write(try manifest.encoded(), to: file.manifestPath)
                FaultPoint.reach("batch.file-committed")
            }
        } catch let lost as SharedWorkQueue.ClaimLost {
            options.log("warning: \(lost)")
            return nil
        } catch {
            let (kind, message) = BatchJob.describe(error)
            result.status = .failed
            result.errorKind = kind
            result.error = message
            result.elapsedSeconds = (Date().timeIntervalSince(started) * 1000).rounded() / 1000
            if !recordFailure(file, claim, result) { return nil }
        }
        // Publishing included (the ledger's copy was taken just before it).
        result.elapsedSeconds = (Date().timeIntervalSince(started) * 1000).rounded() / 1000
        return result
    }

    /// Whether a committed manifest still describes what this run would write.
    private func isCurrent(_ committed: BatchFileManifest, file: PlannedFile, settings: BatchFileSettings) throws -> Bool {
        guard committed.rulesFingerprint == job.rules.fingerprint, committed.keyID == job.hasher?.keyID,
            committed.settings == settings, committed.source.size == file.source.size,
            !committed.outputs.isEmpty, committed.outputs.allSatisfy({ destination.exists($0.file, size: $0.bytes) })
        else { return false }
        if let etag = file.source.etag {
            return committed.source.etag == etag
        }
        // A local file: its content, not its timestamp, decides.
        guard let recorded = committed.source.sha256 else { return false }
        return try SystemIO.sha256Hex(ofFile: file.source.uri) == recorded
    }
}
