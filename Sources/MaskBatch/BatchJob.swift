#if canImport(Glibc)
import Glibc
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
        let source = try makeSource(inputLocation, stores: stores)
        let destination: any BatchDestination
        switch outputLocation {
        case .local(let path): destination = LocalDestination(root: path)
        case .object(let location):
            destination = ObjectDestination(client: try client(location.scheme), location: location, workDirectory: options.workDirectory, log: options.log)
        }

        var (planned, skipped) = try plan(source: source)
        if let shard = options.shard {
            // This worker's share only, renumbered (the index names its staging folder and result slot).
            let shardOf = BatchShard.assign(planned, count: shard.count)
            planned = planned.indices.filter { shardOf[$0] == shard.index }.enumerated().map { position, index in
                var file = planned[index]
                file.index = position
                return file
            }
            options.log("shard \(shard): \(planned.count) of the listing's files (\(planned.reduce(0) { $0 + $1.source.size }) bytes)")
        }
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

        do { try destination.prepare(shared: queue != nil || options.shard != nil) } catch let error as ObjectStoreError { throw JobFailure.io(error.description) }
        defer { destination.finish() }
        queue?.startRenewing()
        defer { queue?.stopRenewing() }

        let context = FileScheduler(
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
        if options.shard != nil {
            // A shard commits its files only; `--finalize` writes the run manifest and `_SUCCESS`.
            try writeReport(summary)
            return summary
        }
        if options.finalizeOnly && summary.status != "succeeded" {
            // Not every input is committed: no run manifest, no `_SUCCESS`.
            try writeReport(summary)
            return summary
        }
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
        _ queue: SharedWorkQueue, shared: SharedRun, own: [BatchFileResult], context: FileScheduler, inputLocation: BatchLocation,
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
    /// The listing of `--input`: a local folder or an object-store prefix.
    func makeSource(_ location: BatchLocation, stores: ObjectStores) throws -> any BatchSource {
        switch location {
        case .local(let path): return LocalSource(root: path, followSymlinks: options.followSymlinks)
        case .object(let object):
            let client: any ObjectStoreClient
            do { client = try stores.client(for: object.scheme) } catch let error as ObjectStoreError { throw JobFailure.usage(error.description) }
            return ObjectSource(client: client, location: object, pageSize: options.pageSize)
        }
    }

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
            "delimiter=\(options.delimiter.map(String.init) ?? "auto")", "header=\(options.hasHeader)", "level=\(options.level)", "gzip-members=\(options.gzipMembers.rawValue)",
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

    func settings(for file: PlannedFile, format: InputFormat) -> BatchFileSettings {
        let delimiter = file.dialect.delimiter == 0x09 ? "\\t" : String(UnicodeScalar(file.dialect.delimiter))
        return BatchFileSettings(
            format: format.rawValue, delimiter: format.hasFields ? delimiter : "", header: format.hasFields ? file.dialect.hasHeader : false,
            level: options.level, gzipMembers: options.gzipMembers.rawValue, chunkSize: options.chunkSize, maxPartSize: options.maxPartSize, maxRecordSize: options.maxRecordSize,
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
