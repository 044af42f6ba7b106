#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import MaskCore
import MaskObjectStore
import MaskPipeline
import Synchronization

/// A batch's `--input` or `--output`: a local folder, or an `s3://` or `gs://` bucket and prefix.
public enum BatchLocation: Sendable, CustomStringConvertible {
    case local(String)
    case object(ObjectLocation)

    public static func parse(_ text: String) throws -> BatchLocation {
        if ObjectLocation.looksLikeObjectURL(text) {
            guard let location = ObjectLocation.parse(text) else {
                throw JobFailure.usage("'\(text)' is not a \(text.prefix { $0 != ":" })://bucket/prefix URL")
            }
            return .object(location)
        }
        if text.contains("://") { throw JobFailure.usage("'\(text)': only local folders, s3:// and gs:// URLs are supported") }
        return .local(text)
    }

    public var description: String {
        switch self {
        case .local(let path): return path
        case .object(let location): return "\(location.scheme.rawValue)://\(location.bucket)/\(location.folderPrefix)"
        }
    }

    var objectLocation: ObjectLocation? { if case .object(let location) = self { return location } else { return nil } }

    /// Whether one location lies inside the other (or they are the same).
    func overlaps(_ other: BatchLocation) -> Bool {
        switch (self, other) {
        case (.local(let a), .local(let b)):
            let x = LocalPaths.absolute(a) + "/"
            let y = LocalPaths.absolute(b) + "/"
            return x.hasPrefix(y) || y.hasPrefix(x)
        case (.object(let a), .object(let b)):
            return a.scheme == b.scheme && a.bucket == b.bucket
                && (a.folderPrefix.hasPrefix(b.folderPrefix) || b.folderPrefix.hasPrefix(a.folderPrefix))
        default:
            return false
        }
    }
}

/// An input file found under the source.
struct SourceFile: Sendable {
    /// Path relative to the source root, `/`-separated.
    var relativePath: String
    var uri: String
    var size: Int
    /// Object storage: the ETag from the listing.
    var etag: String?
    /// Local files: modification time.
    var modified: Double?
}

/// What a source's listing found: the inputs, and the entries it passed over (with why).
struct SourceListing: Sendable {
    var files: [SourceFile] = []
    var skipped: [SkippedEntry] = []
}

/// Where inputs come from.
protocol BatchSource: Sendable {
    func list() throws -> SourceListing
    /// A local path to read the file from; downloads into `directory` when remote.
    /// - Returns: the path, and whether it is a temporary copy.
    func localPath(of file: SourceFile, in directory: String) throws -> String
    var listPages: Int? { get }
}

/// Where outputs go. Relative paths are `/`-separated, under the destination root.
protocol BatchDestination: Sendable {
    /// Takes the destination for this run (lock, staging, snapshot of what is there).
    /// `shared`: other workers of the same run write here at the same time, so nothing of
    /// theirs (staging, unfinished uploads) may be cleared.
    func prepare(shared: Bool) throws
    /// After the last file of a shared run: clears what killed workers left behind.
    func finishSharedRun()
    /// A local folder for this run's temporary files (masked parts before commit, downloads).
    var stagingDirectory: String { get }
    func read(_ path: String) throws -> Data?
    /// Whether a committed output is still there with this size.
    func exists(_ path: String, size: Int) -> Bool
    func remove(_ path: String) throws
    /// Moves a finished local file to its final name, atomically (rename, or one object upload).
    func commit(file: String, to path: String, sha256: String) throws
    /// Writes a small file atomically.
    func write(_ data: Data, to path: String) throws
    /// Names (full relative paths) in the folder `directory` (`""` or ending in `/`) starting with `prefix`.
    func names(in directory: String, startingWith prefix: String) throws -> [String]
    /// Removes the staging folder and releases the destination.
    func finish()
    /// Refuses (usage error) when one of `paths`, or a folder on the way to it, is a symbolic link
    /// inside the destination: nothing is ever written through a link (it could lead anywhere).
    func refuseLinks(along paths: [String]) throws
}

enum LocalPaths {
    static func absolute(_ path: String) -> String {
        var url = URL(fileURLWithPath: path).standardizedFileURL
        if let resolved = realpath(url.path, nil) {
            url = URL(fileURLWithPath: String(cString: resolved))
            free(resolved)
        }
        var text = url.path
        while text.count > 1 && text.hasSuffix("/") { text.removeLast() }
        return text
    }

    static func errorText() -> String { String(cString: strerror(errno)) }

    /// Creates `path`'s parent folders.
    static func makeParent(of path: String) throws {
        let parent = (path as NSString).deletingLastPathComponent
        guard !parent.isEmpty else { return }
        do {
            try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        } catch {
            throw IOFailure("cannot create \(DisplayName.of(parent)): \(error.localizedDescription)")
        }
    }

    /// Writes a whole file the way `OutputFile` does (temporary and rename for regular files,
    /// through for FIFOs and devices), creating its folders first.
    static func writeAtomically(_ data: Data, to path: String) throws {
        try makeParent(of: path)
        try OutputFile.write(Array(data), to: path)
    }

    /// A file the user named (`--report`): `-` is standard output, and a killed run's temporary
    /// beside it is removed.
    static func writeUserFile(_ data: Data, to path: String) throws {
        try OutputFile.write(Array(data), to: path, standardOutputDash: true, sweepStale: true)
    }
}

/// Path components starting with `.` or `_` are not inputs (temporary files, `_SUCCESS`,
/// `_manifest.json`, Spark's `_temporary/`), as for Hadoop and Spark.
func isHiddenPath(_ relativePath: String) -> Bool {
    relativePath.split(separator: "/").contains { $0.hasPrefix(".") || $0.hasPrefix("_") }
}

// MARK: - Local folders (the source: LocalSource.swift)

final class LocalDestination: BatchDestination {
    let root: String
    /// Hidden, so a loader reading the folder never takes a staged part for an output.
    var stagingRoot: String { "\(root)/.mask-batch-staging" }
    /// Set by `prepare`, before the workers start; cleared by `finish`, after they end.
    private struct State {
        var stagingDirectory: String
        var lockDescriptor: Int32 = -1
        var shared = false
    }
    private let state: Mutex<State>
    var stagingDirectory: String { state.withLock { $0.stagingDirectory } }

    init(root: String) {
        self.root = root
        state = Mutex(State(stagingDirectory: "\(root)/.mask-batch-staging"))
    }

    private func full(_ path: String) -> String { "\(root)/\(path)" }

    func prepare(shared: Bool) throws {
        do { try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true) } catch {
            throw JobFailure.io("cannot create output folder \(DisplayName.of(root)): \(error.localizedDescription)")
        }
        // One batch at a time per destination: an advisory lock on the folder itself, released by
        // the kernel when the process ends however it ends (no lock file left behind). Workers of
        // one shared run write here together (a shared lock), so a plain batch (exclusive)
        // cannot start while they do, nor they while it does.
        let lockDescriptor = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard lockDescriptor >= 0 else { throw JobFailure.io("cannot open \(DisplayName.of(root)): \(LocalPaths.errorText())") }
        if flock(lockDescriptor, (shared ? LOCK_SH : LOCK_EX) | LOCK_NB) != 0 {
            close(lockDescriptor)
            throw JobFailure.usage("another mask batch\(shared ? " (not of this shared run)" : "") is writing to \(DisplayName.of(root))")
        }
        // Each worker of a shared run its own folder; what killed workers leave is cleared by the last one.
        let stagingDirectory = shared ? "\(stagingRoot)/worker-\(UUID().uuidString.lowercased())" : stagingRoot
        state.withLock { $0 = State(stagingDirectory: stagingDirectory, lockDescriptor: lockDescriptor, shared: shared) }
        if !shared {
            // A killed run's temporary files: nothing in there was committed, and under the
            // exclusive lock no other run is writing any.
            try? FileManager.default.removeItem(atPath: stagingDirectory)
            for name in (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [] where isTemporaryName(name) { unlink(full(name)) }
            removeTemporaries(in: full("_manifests"))
        }
        do { try FileManager.default.createDirectory(atPath: stagingDirectory, withIntermediateDirectories: true) } catch {
            throw JobFailure.io("cannot create \(stagingDirectory): \(error.localizedDescription)")
        }
    }

    /// The half-written `.NAME.PID.tmp` files of small writes (`write(_:to:)`) a kill left in
    /// `folder` and below (the per-file manifests; the run manifest and `_SUCCESS` are at the root).
    private func removeTemporaries(in folder: String) {
        guard let walker = FileManager.default.enumerator(atPath: folder) else { return }
        while let relative = walker.nextObject() as? String {
            if isTemporaryName((relative as NSString).lastPathComponent) { unlink("\(folder)/\(relative)") }
        }
    }

    func read(_ path: String) throws -> Data? {
        guard FileManager.default.fileExists(atPath: full(path)) else { return nil }
        guard let data = FileManager.default.contents(atPath: full(path)) else { throw IOFailure("cannot read \(DisplayName.of(full(path)))") }
        return data
    }

    func exists(_ path: String, size: Int) -> Bool {
        var info = stat()
        // A link at an output's name is not that output (lstat: never judged through a link).
        return lstat(full(path), &info) == 0 && info.st_mode & S_IFMT == S_IFREG && Int(info.st_size) == size
    }

    func remove(_ path: String) throws {
        if unlink(full(path)) != 0 && errno != ENOENT { throw IOFailure("cannot remove \(DisplayName.of(full(path))): \(LocalPaths.errorText())") }
    }

    /// The first symbolic link among `path`'s components below the root (the root itself is the
    /// user's to choose), with its target.
    func link(along path: String) -> (path: String, target: String)? {
        var prefix = root
        for component in path.split(separator: "/") {
            prefix += "/\(component)"
            var info = stat()
            guard lstat(prefix, &info) == 0 else { return nil }
            if info.st_mode & S_IFMT == S_IFLNK {
                let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: prefix)) ?? "?"
                return (prefix, target)
            }
            guard info.st_mode & S_IFMT == S_IFDIR else { return nil }
        }
        return nil
    }

    func refuseLinks(along paths: [String]) throws {
        var links: [String: String] = [:]
        for path in paths {
            if let found = link(along: path) { links[found.path] = found.target }
        }
        guard !links.isEmpty else { return }
        let named = links.keys.sorted().map { "\(DisplayName.of($0)) -> \(DisplayName.of(links[$0]!))" }
        throw JobFailure.usage(
            "symbolic link\(links.count == 1 ? "" : "s") inside --output \(root): \(named.joined(separator: ", ")); "
                + "mask batch never writes through a link in its destination: replace it with a folder, or choose another --output (nothing was written)")
    }

    func commit(file: String, to path: String, sha256: String) throws {
        try refuseLinks(along: [path])
        try LocalPaths.makeParent(of: full(path))
        guard rename(file, full(path)) == 0 else { throw IOFailure("cannot move \(DisplayName.of(file)) to \(DisplayName.of(full(path))): \(LocalPaths.errorText())") }
    }

    func write(_ data: Data, to path: String) throws {
        try refuseLinks(along: [path])
        try LocalPaths.writeAtomically(data, to: full(path))
    }

    func names(in directory: String, startingWith prefix: String) throws -> [String] {
        let folder = directory.isEmpty ? root : full(String(directory.dropLast()))
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return names.filter { $0.hasPrefix(prefix) }.map { directory + $0 }
    }

    func finishSharedRun() {
        try? FileManager.default.removeItem(atPath: stagingRoot)
    }

    func finish() {
        let ended = state.withLock { state -> State in
            defer { state.lockDescriptor = -1 }
            return state
        }
        try? FileManager.default.removeItem(atPath: ended.stagingDirectory)
        // The last worker out leaves no empty staging folder.
        if ended.shared { rmdir(stagingRoot) }
        if ended.lockDescriptor >= 0 { close(ended.lockDescriptor) }
    }
}

// MARK: - Object storage

/// Objects under an `s3://` or `gs://` prefix.
final class ObjectSource: BatchSource {
    let client: any ObjectStoreClient
    let location: ObjectLocation
    let pageSize: Int?
    /// Written by `list`, read by the workers' downloads after it.
    private struct State {
        var pages: Int?
        /// Listed objects by relative path (the generation to download with).
        var listed: [String: StoredObject] = [:]
    }
    private let state = Mutex(State())
    var listPages: Int? { state.withLock { $0.pages } }

    init(client: any ObjectStoreClient, location: ObjectLocation, pageSize: Int?) {
        self.client = client
        self.location = location
        self.pageSize = pageSize
    }

    /// Every object under the prefix but folder markers (keys ending in `/`) and hidden names.
    /// A key with a `.` or `..` segment is reported (a local destination would resolve it).
    /// Keys are kept as listed (`a//x.csv`): the output name drops empty segments (`PlannedFile`).
    func list() throws -> SourceListing {
        let prefix = location.folderPrefix
        let before = client.listPages
        let objects = try client.listObjects(bucket: location.bucket, prefix: prefix, pageSize: pageSize)
        var listed: [String: StoredObject] = [:]
        var listing = SourceListing()
        for object in objects {
            guard object.key.hasPrefix(prefix), !object.key.hasSuffix("/") else { continue }
            let relative = String(object.key.dropFirst(prefix.count))
            let segments = relative.split(separator: "/")
            guard !segments.isEmpty else { continue }
            if segments.contains(where: { $0 == "." || $0 == ".." }) {
                listing.skipped.append(SkippedEntry(name: DisplayName.of(relative), reason: "'.' or '..' in the key"))
                continue
            }
            guard !isHiddenPath(relative) else { continue }
            listed[relative] = object
            listing.files.append(
                SourceFile(relativePath: relative, uri: location.uri(of: object.key), size: object.size, etag: object.identity, modified: nil))
        }
        listing.files.sort { Array($0.relativePath.utf8).lexicographicallyPrecedes(Array($1.relativePath.utf8)) }
        listing.skipped = SkippedEntry.sorted(listing.skipped)
        let pages = client.listPages - before
        state.withLock { $0 = State(pages: pages, listed: listed) }
        return listing
    }

    func localPath(of file: SourceFile, in directory: String) throws -> String {
        let path = "\(directory)/input"
        // A precondition (S3 If-Match on the ETag, GCS the generation): the object must still be
        // the one listed, or the identity recorded would lie.
        let expected = state.withLock { $0.listed[file.relativePath] } ?? StoredObject(key: "", size: file.size, identity: file.etag ?? "")
        try client.download(bucket: location.bucket, key: location.folderPrefix + file.relativePath, to: path, expected: expected)
        return path
    }
}

/// Outputs under an `s3://` or `gs://` prefix. Where the store enforces preconditions (GCS),
/// every write says what it expects to find: nothing (`ifGenerationMatch=0`) or the generation
/// this run last saw or wrote. A concurrent writer makes the commit fail (HTTP 412) instead of
/// being silently overwritten. Not in a shared run: its workers write the same prefix by
/// design, and the ledger's claims are what keeps them apart.
final class ObjectDestination: BatchDestination {
    let client: any ObjectStoreClient
    let location: ObjectLocation
    let workDirectory: String?
    let log: @Sendable (String) -> Void
    private struct State {
        var stagingDirectory = ""
        /// What is under the prefix: relative path -> (size, generation), from the listing at
        /// the start, then kept up to date by this run's own writes and removals.
        var existing: [String: (size: Int, generation: String?)] = [:]
        var usePreconditions = false
    }
    private let state = Mutex(State())
    var stagingDirectory: String { state.withLock { $0.stagingDirectory } }

    init(client: any ObjectStoreClient, location: ObjectLocation, workDirectory: String?, log: @escaping @Sendable (String) -> Void) {
        self.client = client
        self.location = location
        self.workDirectory = workDirectory
        self.log = log
    }

    private func key(_ path: String) -> String { location.folderPrefix + path }

    func prepare(shared: Bool) throws {
        let prefix = location.folderPrefix
        var existing: [String: (size: Int, generation: String?)] = [:]
        for object in try client.listObjects(bucket: location.bucket, prefix: prefix, pageSize: nil) where object.key.hasPrefix(prefix) {
            existing[String(object.key.dropFirst(prefix.count))] = (object.size, object.generation)
        }
        let usePreconditions = client.supportsPreconditions && !shared
        state.withLock {
            $0.existing = existing
            $0.usePreconditions = usePreconditions
        }
        // In a shared run the other workers' uploads are in flight: the last worker aborts
        // what is left instead (finishSharedRun).
        if !shared { try clearUnfinishedUploads() }
        let base = workDirectory ?? FileManager.default.temporaryDirectory.path
        do { try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true) } catch {
            throw JobFailure.io("cannot create work folder \(base): \(error.localizedDescription)")
        }
        var template = Array("\(base)/mask-batch-XXXXXX".utf8CString)
        guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else {
            throw JobFailure.io("cannot create a work folder in \(base): \(LocalPaths.errorText())")
        }
        let stagingDirectory = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        state.withLock { $0.stagingDirectory = stagingDirectory }
    }

    /// Multipart uploads a killed run left open are invisible but billed: abort them.
    private func clearUnfinishedUploads() throws {
        for key in try client.clearUnfinishedUploads(bucket: location.bucket, prefix: location.folderPrefix) {
            log("aborted an unfinished upload of \(location.uri(of: key)) (a killed run's)")
        }
    }

    func finishSharedRun() {
        do { try clearUnfinishedUploads() } catch { log("warning: could not abort unfinished uploads: \(error)") }
    }

    /// What a write of `path` must find there.
    private func precondition(for path: String) -> WritePrecondition {
        return state.withLock { state in
            guard state.usePreconditions else { return .none }
            guard let known = state.existing[path] else { return .absent }
            return known.generation.map(WritePrecondition.generation) ?? .none
        }
    }

    private func record(_ path: String, size: Int?, generation: String?) {
        state.withLock { $0.existing[path] = size.map { ($0, generation) } }
    }

    func read(_ path: String) throws -> Data? {
        guard state.withLock({ $0.existing[path] }) != nil else { return nil }
        return try client.fetch(bucket: location.bucket, key: key(path))
    }

    func exists(_ path: String, size: Int) -> Bool { state.withLock { $0.existing[path]?.size == size } }

    func remove(_ path: String) throws {
        // Nothing to remove that this run knows of (a name not listed may be another run's,
        // just written: a precondition of "absent" makes no sense for a delete).
        if state.withLock({ $0.usePreconditions && $0.existing[path] == nil }) { return }
        try client.remove(bucket: location.bucket, key: key(path), precondition: precondition(for: path))
        record(path, size: nil, generation: nil)
    }

    func commit(file: String, to path: String, sha256: String) throws {
        let type = path.hasSuffix(".gz") ? "application/gzip" : "application/octet-stream"
        let size = (try? S3Client.fileSize(file)) ?? 0
        let generation = try client.upload(
            bucket: location.bucket, key: key(path), file: file, sha256: sha256, contentType: type, precondition: precondition(for: path))
        record(path, size: size, generation: generation)
    }

    func write(_ data: Data, to path: String) throws {
        let generation = try client.write(
            bucket: location.bucket, key: key(path), data: data, contentType: path.hasSuffix(".json") ? "application/json" : "application/octet-stream",
            precondition: precondition(for: path))
        record(path, size: data.count, generation: generation)
    }

    func names(in directory: String, startingWith prefix: String) throws -> [String] {
        state.withLock { $0.existing.keys.filter { $0.hasPrefix(directory + prefix) && !$0.dropFirst(directory.count).contains("/") } }
    }

    func finish() {
        let stagingDirectory = self.stagingDirectory
        if !stagingDirectory.isEmpty { try? FileManager.default.removeItem(atPath: stagingDirectory) }
    }

    /// Object keys are names, not paths: no link can redirect a write.
    func refuseLinks(along paths: [String]) throws {}
}
