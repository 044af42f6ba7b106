import Foundation
import MaskCore
import MaskObjectStore
import MaskPipeline
import Crypto

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

extension BatchJob {
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
}

/// `--shard K/N`: worker K (from 0, as Kubernetes' `JOB_COMPLETION_INDEX`, Argo's
/// `withSequence` and Airflow's map index count) of N masks its share of the listing.
public struct BatchShard: Sendable, Equatable, CustomStringConvertible {
    public let index: Int
    public let count: Int

    public init(index: Int, count: Int) {
        self.index = index
        self.count = count
    }

    /// `K/N` with 0 ≤ K < N ≤ 10000, or nil.
    public init?(parsing text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]), count >= 1, count <= 10_000,
            index >= 0, index < count
        else { return nil }
        self.init(index: index, count: count)
    }

    public var description: String { "\(index)/\(count)" }

    /// The shard of each file (by position in `files`): size-balanced and deterministic. Files go
    /// largest first (ties by relative path) to the shard with the fewest bytes so far (ties: the
    /// lowest shard), so the same listing (paths and sizes) gives the same shares on every machine
    /// whatever order the store lists in, and no shard gets two large files while another has none.
    static func assign(_ files: [PlannedFile], count: Int) -> [Int] {
        let order = files.indices.sorted {
            files[$0].source.size != files[$1].source.size
                ? files[$0].source.size > files[$1].source.size : files[$0].source.relativePath < files[$1].source.relativePath
        }
        var load = [Int](repeating: 0, count: count)
        var shardOf = [Int](repeating: 0, count: files.count)
        for index in order {
            var lightest = 0
            for shard in 1..<max(count, 1) where load[shard] < load[lightest] { lightest = shard }
            shardOf[index] = lightest
            // One byte more per file, so empty files spread out instead of all landing on shard 0.
            load[lightest] += files[index].source.size + 1
        }
        return shardOf
    }
}

/// One shard of `mask batch --plan N`: what a scheduler hands each task (`withParam`, `.expand()`).
public struct BatchShardPlan: Codable, Sendable {
    /// The argument of `--shard`.
    public var shard: String
    public var index: Int
    public var files: Int
    public var bytes: Int
    /// SHA-256 of the listing (relative paths and sizes) the plan was made from.
    public var listing: String
}

extension BatchJob {
    /// SHA-256 of the planned files' relative paths and sizes: equal for equal listings.
    static func listingFingerprint(_ files: [PlannedFile]) -> String {
        let lines = files.map { "\($0.source.relativePath)\u{0}\($0.source.size)" }.sorted().joined(separator: "\n")
        return Hex.string(SHA256.hash(data: Data(lines.utf8)))
    }

    /// `mask batch --plan N`: how N shards split the listing, without writing anything.
    public func shardPlan(count: Int) throws -> [BatchShardPlan] {
        let inputLocation = try BatchLocation.parse(options.input)
        let source = try makeSource(inputLocation, stores: ObjectStores(options: options.storeOptions))
        let files = try plan(source: source).files
        let shardOf = BatchShard.assign(files, count: count)
        let listing = Self.listingFingerprint(files)
        return (0..<count).map { shard in
            let mine = files.indices.filter { shardOf[$0] == shard }
            return BatchShardPlan(
                shard: "\(shard)/\(count)", index: shard, files: mine.count, bytes: mine.reduce(0) { $0 + files[$1].source.size }, listing: listing)
        }
    }
}
