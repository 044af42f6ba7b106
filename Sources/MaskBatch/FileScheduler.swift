#if canImport(Glibc)
import Glibc
#endif
import Foundation
import MaskCore
import MaskObjectStore
import MaskPipeline
import MaskLedger
import MaskRules

/// The files of one run and the threads that mask them: which file goes next (largest first, or
/// claimed from the ledger in a shared run), each file's skip-or-mask-and-commit, and the results.
///
/// `@unchecked Sendable`: shared by the worker threads it starts; its mutable state (`next`,
/// `running`, `results`, `cancelled`, ...) is only touched under `lock`, and the rest is `let`.
final class FileScheduler: @unchecked Sendable {
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
        case .failed where !options.finalizeOnly:
            // `--finalize` masks nothing and ends at once: its missing inputs are listed once, in
            // the run's failures, not also as they are found.
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

            if options.finalizeOnly {
                result.errorKind = "missing"
                result.error = committedData == nil
                    ? "not masked yet: no committed manifest (did its shard run and succeed? rerun it)"
                    : "its committed manifest no longer matches the input, rules, key or settings, or an output is missing (rerun its shard)"
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
            jobOptions.gzipMembers = options.gzipMembers
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
