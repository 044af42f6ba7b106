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
import MaskRules

/// Everything `mask batch` needs besides the rules and the key.
public struct BatchOptions: Sendable {
    public var input: String
    public var output: String
    /// Forces the format of every input; by default it follows each file's extension.
    public var format: InputFormat?
    /// Forces the CSV delimiter; by default `.tsv` files use tab, `.psv` `|`, others `,`.
    public var delimiter: UInt8?
    public var hasHeader = true
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
    /// Exact field names in the rules must be columns of every CSV input.
    public var strictFields = false
    public var reportPath: String?
    public var showProgress = false
    /// One line per file on stderr.
    public var listFiles = true
    public var log: @Sendable (String) -> Void = { _ in }
    // Object storage.
    public var endpoint: String?
    public var region: String?
    public var addressing: S3Configuration.Addressing = .path
    public var pageSize: Int?
    public var multipartThreshold: Int?
    public var partSize: Int?
    public var maxAttempts: Int?
    /// Local folder for temporary files when the output is in object storage.
    public var workDirectory: String?
    public var environment: [String: String] = ProcessInfo.processInfo.environment

    public init(input: String, output: String) {
        self.input = input
        self.output = output
    }
}

/// One input and where its outputs go.
struct PlannedFile: Sendable {
    var index: Int
    var source: SourceFile
    var format: InputFormat?
    var dialect: CSVDialect
    /// Folder of the outputs, relative to the destination: `""` or ending in `/`.
    var directory: String
    /// Output name parts: `users` and `.csv` for `users.csv.gz`.
    var stem: String
    var fileExtension: String

    var singleOutput: String { directory + stem + fileExtension + ".gz" }
    func partOutput(_ index: Int) -> String { directory + stem + String(format: ".part-%05d", index) + fileExtension + ".gz" }
    var manifestPath: String { "_manifests/\(source.relativePath).json" }

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
        let path = source.relativePath
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
/// manifest for a file whose outputs are incomplete, and no `_SUCCESS`, so a rerun finishes the job.
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
        if inputLocation.overlaps(outputLocation) {
            throw JobFailure.usage("--input \(options.input) and --output \(options.output) overlap; use separate folders or prefixes")
        }
        var client: S3Client?
        if inputLocation.isS3 || outputLocation.isS3 {
            do {
                var configuration = try S3Configuration.fromEnvironment(endpoint: options.endpoint, region: options.region, environment: options.environment)
                configuration.addressing = options.addressing
                if let value = options.multipartThreshold { configuration.multipartThreshold = value }
                if let value = options.partSize { configuration.partSize = value }
                if let value = options.maxAttempts { configuration.maxAttempts = max(1, value) }
                let made = S3Client(configuration: configuration)
                let log = options.log
                made.onRetry = { log("warning: \($0)") }
                client = made
            } catch let error as S3Error {
                throw JobFailure.usage(error.description)
            }
        }
        let source: any BatchSource
        switch inputLocation {
        case .local(let path): source = LocalSource(root: path)
        case .s3(let location): source = S3Source(client: client!, location: location, pageSize: options.pageSize)
        }
        let destination: any BatchDestination
        switch outputLocation {
        case .local(let path): destination = LocalDestination(root: path)
        case .s3(let location): destination = S3Destination(client: client!, location: location, workDirectory: options.workDirectory, log: options.log)
        }

        let planned = try plan(source: source)
        if planned.isEmpty { options.log("warning: no input files under \(inputLocation) (looked for \(options.include.isEmpty ? ".csv, .tsv, .psv, .jsonl, .ndjson, .json, optionally .gz" : options.include.joined(separator: ", ")))") }

        do { try destination.prepare() } catch let error as S3Error { throw JobFailure.io(error.description) }
        defer { destination.finish() }

        let context = RunContext(
            job: self, files: planned, destination: destination, source: source,
            progress: BatchProgress(
                files: planned.count, bytes: planned.reduce(0) { $0 + $1.source.size }, enabled: options.showProgress))
        let results = context.runAll()
        context.progress.finish()

        let finished = Date()
        let formatter = ISO8601DateFormatter()
        let failures = results.filter { $0.status == .failed }
        var summary = BatchSummary(
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
            files: results)
        do {
            // Whatever the outcome, the run manifest describes this run; `_SUCCESS` follows it only
            // when every file is done (a failure that came before any change still removes it).
            let encoded = try summary.encoded()
            try context.invalidateSuccessOnce()
            try destination.write(encoded, to: "_batch_manifest.json")
            if summary.status == "succeeded" { try destination.write(Data(), to: "_SUCCESS") }
        } catch {
            summary.status = "failed"
            if let report = options.reportPath { try? LocalPaths.writeAtomically(try summary.encoded(), to: report) }
            throw JobFailure.io("cannot write the run manifest into \(outputLocation): \(Self.describe(error).message)")
        }
        if let report = options.reportPath {
            do { try LocalPaths.writeAtomically(try summary.encoded(), to: report) } catch {
                throw JobFailure.io("cannot write the report \(report): \(Self.describe(error).message)")
            }
        }
        return summary
    }

    /// The inputs (filtered, formats and output names decided), or a usage error for names that
    /// would collide in the output.
    func plan(source: any BatchSource) throws -> [PlannedFile] {
        let listed: [SourceFile]
        do { listed = try source.list() } catch let error as S3Error { throw JobFailure.io(error.description) }
        let includes = options.include.map(Glob.init)
        let excludes = options.exclude.map(Glob.init)
        var planned: [PlannedFile] = []
        for file in listed {
            let guessed = InputFormat.guess(fromPath: file.relativePath)
            if includes.isEmpty {
                guard guessed != nil else { continue }
            } else {
                guard includes.contains(where: { $0.matches(file.relativePath) }) else { continue }
            }
            if excludes.contains(where: { $0.matches(file.relativePath) }) { continue }
            var dialect = CSVDialect(delimiter: UInt8(ascii: ","), hasHeader: options.hasHeader)
            if let delimiter = options.delimiter {
                dialect.delimiter = delimiter
            } else {
                var name = file.relativePath.lowercased()
                if name.hasSuffix(".gz") { name.removeLast(3) }
                if name.hasSuffix(".tsv") { dialect.delimiter = 0x09 } else if name.hasSuffix(".psv") { dialect.delimiter = UInt8(ascii: "|") }
            }
            planned.append(PlannedFile(index: planned.count, source: file, format: options.format ?? guessed, dialect: dialect))
        }
        var owners: [String: String] = [:]
        for file in planned {
            if let other = owners[file.singleOutput] {
                throw JobFailure.usage("\(other) and \(file.source.relativePath) would both be written to \(file.singleOutput); rename one or leave one out with --exclude")
            }
            owners[file.singleOutput] = file.source.relativePath
        }
        for file in planned {
            for other in planned where other.index != file.index && other.ownsOutputName(file.singleOutput) {
                throw JobFailure.usage("\(file.source.relativePath) would be written to \(file.singleOutput), a part name of \(other.source.relativePath); rename one or leave one out with --exclude")
            }
        }
        return planned
    }

    func settings(for file: PlannedFile, format: InputFormat) -> BatchFileSettings {
        let delimiter = file.dialect.delimiter == 0x09 ? "\\t" : String(UnicodeScalar(file.dialect.delimiter))
        return BatchFileSettings(
            format: format.rawValue, delimiter: format == .csv ? delimiter : "", header: format == .csv ? file.dialect.hasHeader : false,
            level: options.level, chunkSize: options.chunkSize, maxPartSize: options.maxPartSize, maxRecordSize: options.maxRecordSize)
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
        case let failure as S3Error: return ("store", failure.description)
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

    init(job: BatchJob, files: [PlannedFile], destination: any BatchDestination, source: any BatchSource, progress: BatchProgress) {
        self.job = job
        self.files = files
        self.destination = destination
        self.source = source
        self.progress = progress
        results = Array(repeating: nil, count: files.count)
        order = files.indices.sorted { files[$0].source.size != files[$1].source.size ? files[$0].source.size > files[$1].source.size : $0 < $1 }
    }

    var options: BatchOptions { job.options }

    /// Runs every file on `parallelFiles` threads; returns the results in input order.
    func runAll() -> [BatchFileResult] {
        let workers = min(max(1, options.parallelFiles), max(files.count, 1))
        for _ in 0..<workers {
            let thread = Thread { [self] in
                while let (index, threads) = self.take() {
                    let result = self.process(self.files[index], threads: threads)
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
    private func take() -> (Int, Int)? {
        lock.lock()
        defer { lock.unlock() }
        guard !cancelled, next < files.count else { return nil }
        let index = order[next]
        next += 1
        let concurrent = min(max(1, options.parallelFiles), running + 1 + (files.count - next))
        running += 1
        return (index, max(1, options.threads / concurrent))
    }

    private func complete(_ index: Int, _ result: BatchFileResult) {
        lock.lock()
        results[index] = result
        running -= 1
        if result.status == .failed && options.failFast { cancelled = true }
        lock.unlock()
        progress.fileDone(file: index, status: result.status, bytes: result.inputBytes)
        let mb = { (bytes: Int) in String(format: "%.1f MB", Double(bytes) / 1_000_000) }
        switch result.status {
        case .failed:
            progress.print("error: \(result.input): \(result.error ?? "failed")", always: true, log: options.log)
        case .masked where options.listFiles:
            let outputs = result.outputs.count == 1 ? result.outputs[0] : "\(result.outputs.count) parts"
            progress.print(
                "masked \(result.input) -> \(outputs) (\(result.recordsIn) records, \(mb(result.inputBytes)) -> \(mb(result.outputBytes)), \(String(format: "%.2f", result.elapsedSeconds)) s)",
                always: false, log: options.log)
        case .skipped where options.listFiles:
            progress.print("skipped \(result.input) (unchanged since it was masked)", always: false, log: options.log)
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

    private func process(_ file: PlannedFile, threads: Int) -> BatchFileResult {
        let started = Date()
        var result = BatchFileResult(
            input: file.source.relativePath, uri: file.source.uri, status: .failed, format: file.format?.rawValue,
            inputBytes: file.source.size, manifest: file.manifestPath)
        var work: String?
        do {
            guard let format = file.format else {
                throw JobFailure.usage("cannot tell the format from the name; give --format")
            }
            let settings = job.settings(for: file, format: format)
            let committedData = try destination.read(file.manifestPath)
            if !options.force, let committedData, let committed = try? JSONDecoder().decode(BatchFileManifest.self, from: committedData),
                try isCurrent(committed, file: file, settings: settings)
            {
                result.status = .skipped
                result.outputs = committed.outputs.map(\.file)
                result.outputBytes = committed.outputs.reduce(0) { $0 + $1.bytes }
                result.recordsIn = committed.masking.recordsIn
                result.recordsOut = committed.masking.recordsOut
                result.recordsRejected = committed.masking.recordsRejected
                result.elapsedSeconds = Date().timeIntervalSince(started)
                return result
            }

            // From here on the destination changes: it is no longer a finished batch.
            try invalidateSuccessOnce()
            if committedData != nil { try destination.remove(file.manifestPath) }

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
            jobOptions.chunkSize = options.chunkSize
            jobOptions.maxRecordSize = options.maxRecordSize
            jobOptions.compress = true
            jobOptions.level = options.level
            jobOptions.outputDirectory = "\(folder)/out"
            jobOptions.maxPartSize = options.maxPartSize
            jobOptions.overwrite = true
            jobOptions.requireExactFields = options.strictFields
            let log = options.log
            let name = file.source.relativePath
            jobOptions.log = { log("\(name): \($0)") }
            let masked = try MaskJob(rules: job.rules, hasher: job.hasher, options: jobOptions).run(source: input)
            try input.drain()

            // The identity recorded must describe the bytes that were masked.
            guard input.rawBytesRead == file.source.size else {
                throw IOFailure("\(file.source.uri) changed while it was masked (\(input.rawBytesRead) bytes read, \(file.source.size) listed)")
            }
            if let modified = file.source.modified {
                var info = stat()
                let now = stat(file.source.uri, &info) == 0 ? Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9 : -1
                guard now == modified, Int(info.st_size) == file.source.size else {
                    throw IOFailure("\(file.source.uri) changed while it was masked")
                }
            }

            let parts = masked.manifest.parts
            let names = parts.count == 1 ? [file.singleOutput] : parts.indices.map(file.partOutput)
            var outputs: [PartInfo] = []
            for (part, name) in zip(parts, names) {
                try destination.commit(file: "\(folder)/out/\(part.file)", to: name, sha256: part.sha256)
                var renamed = part
                renamed.file = name
                outputs.append(renamed)
            }
            // Outputs of an earlier run of this input under names this run did not write.
            for stale in try destination.names(in: file.directory, startingWith: file.stem + ".")
            where file.ownsOutputName(stale) && !names.contains(stale) {
                try destination.remove(stale)
            }
            var engine = masked.manifest
            engine.parts = outputs
            let identity = SourceIdentity(
                uri: file.source.uri, path: file.source.relativePath, size: file.source.size, sha256: input.sha256,
                etag: file.source.etag, modified: file.source.modified)
            let manifest = BatchFileManifest(
                version: MaskVersion.current, source: identity, outputs: outputs, rulesFingerprint: job.rules.fingerprint,
                keyID: job.hasher?.keyID, settings: settings, masking: engine)
            try destination.write(try manifest.encoded(), to: file.manifestPath)

            result.status = .masked
            result.outputs = names
            result.outputBytes = outputs.reduce(0) { $0 + $1.bytes }
            result.recordsIn = engine.recordsIn
            result.recordsOut = engine.recordsOut
            result.recordsRejected = engine.recordsRejected
        } catch {
            let (kind, message) = BatchJob.describe(error)
            result.status = .failed
            result.errorKind = kind
            result.error = message
        }
        if let work { try? FileManager.default.removeItem(atPath: work) }
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
        return try sha256OfFile(file.source.uri) == recorded
    }
}
