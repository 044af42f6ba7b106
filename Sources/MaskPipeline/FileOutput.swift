#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import MaskCore

/// A file descriptor opened for writing (the write loop itself is `SystemIO.write`).
final class WritableFile {
    let descriptor: Int32
    let path: String
    private let owns: Bool

    convenience init(creating path: String) throws {
        try self.init(opening: path, flags: O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC)
    }

    init(opening path: String, flags: Int32) throws {
        let descriptor = open(path, flags, 0o644)
        guard descriptor >= 0 else { throw IOFailure("cannot open \(DisplayName.of(path)) for writing: \(String(cString: strerror(errno)))") }
        self.descriptor = descriptor
        self.path = path
        owns = true
    }

    init(standardOutput: ()) {
        descriptor = STDOUT_FILENO
        path = "<stdout>"
        owns = false
    }

    deinit {
        if owns { close(descriptor) }
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        do {
            try SystemIO.write(descriptor, bytes)
        } catch {
            if error.isBrokenPipe { throw BrokenPipe() }
            throw IOFailure("cannot write \(DisplayName.of(path)): \(error)")
        }
    }

    func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    /// fsync; pipes, terminals and character devices cannot be synced (EINVAL), which is no failure.
    func sync() throws {
        if fsync(descriptor) != 0 && errno != EINVAL && errno != EROFS {
            throw IOFailure("cannot flush \(DisplayName.of(path)): \(String(cString: strerror(errno)))")
        }
    }
}

/// The one way `mask` writes a whole file by name: `--report`, `--rejects`, manifests, `_SUCCESS`,
/// batch and extract summaries.
///
/// What the name is decides how it is written, because a rename replaces whatever was at the name:
/// - absent, or a regular file: written under a hidden temporary name beside it (`.NAME.PID.tmp`),
///   fsynced, and renamed over it, so a reader sees the old file or the whole new one, never half
///   of one (a replaced file keeps its permission bits);
/// - a symbolic link to a regular file: the same, beside the file it resolves to and renamed onto
///   that file, so the link stays a link and points at the new content;
/// - a FIFO, a terminal, a device, or a link to one of them, a link under `/dev` or `/proc`
///   (`/dev/stdout`, `/proc/self/fd/1`: whatever that descriptor is) or a link to nothing yet:
///   opened and written through (appending, as `>>` would, except for the dangling link, which
///   creates its file). A rename there would replace a device node or a pipe with a regular file
///   (as root, `--report /dev/full` replaced the system's `/dev/full`);
/// - `-`, where the caller allows it (`--report -`): standard output.
public final class OutputFile {
    /// The name as given, for messages.
    public let path: String
    private let file: WritableFile
    /// Set when written under a temporary name: (temporary, the regular file it replaces).
    private let replacement: (temporary: String, target: String)?
    private var finished = false

    /// Opens `path` for writing as described above.
    /// - Parameters:
    ///   - standardOutputDash: `-` means standard output.
    ///   - sweepStale: first remove this name's temporaries left by processes that no longer run
    ///     (a kill during an earlier write). Off for the files of folders whose owner clears them.
    public init(path: String, standardOutputDash: Bool = false, sweepStale: Bool = false) throws {
        self.path = path
        if standardOutputDash && path == "-" {
            file = WritableFile(standardOutput: ())
            replacement = nil
            return
        }
        switch try Self.plan(path) {
        case .replace(let target):
            if sweepStale { Self.removeStaleTemporaries(of: target) }
            let temporary = temporaryName(for: target)
            file = try WritableFile(opening: temporary, flags: O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC)
            var existing = stat()
            if stat(target, &existing) == 0 { fchmod(file.descriptor, existing.st_mode & 0o7777) }
            replacement = (temporary, target)
        case .through(let flags):
            file = try WritableFile(opening: path, flags: flags)
            replacement = nil
        }
    }

    deinit {
        if !finished { abort() }
    }

    public func write(_ bytes: [UInt8]) throws {
        try file.write(bytes)
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        try file.write(bytes)
    }

    /// Makes the written bytes the file's content: fsync, then the rename (if any).
    public func commit() throws {
        try file.sync()
        finished = true
        guard let (temporary, target) = replacement else { return }
        guard rename(temporary, target) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw IOFailure("cannot rename \(DisplayName.of(temporary)) to \(DisplayName.of(target)): \(reason)")
        }
    }

    /// Drops a temporary; what was written through a FIFO or device cannot be taken back.
    public func abort() {
        finished = true
        if let (temporary, _) = replacement { unlink(temporary) }
    }

    /// Writes all of `bytes` to `path` (see the type) and commits.
    public static func write(_ bytes: [UInt8], to path: String, standardOutputDash: Bool = false, sweepStale: Bool = false) throws {
        let file = try OutputFile(path: path, standardOutputDash: standardOutputDash, sweepStale: sweepStale)
        do {
            try file.write(bytes)
            try file.commit()
        } catch {
            file.abort()
            throw error
        }
    }

    /// Checks, before a run starts, that `path` can be written as the type says: a typo in
    /// `--report` should stop the run before it masks anything, not after it committed.
    /// Nothing is created (a FIFO is not opened: that would wait for its reader).
    /// - Parameter createdFolder: the output folder the run creates before it writes the file
    ///   (`--report DIR/run.json` beside `--output DIR`): that parent need not exist yet.
    public static func preflight(_ path: String, standardOutputDash: Bool = false, createdFolder: String? = nil) throws {
        if standardOutputDash && path == "-" { return }
        guard case .replace(let target) = try plan(path) else { return }
        var parent = (target as NSString).deletingLastPathComponent
        if parent.isEmpty { parent = "." }
        if let createdFolder, access(parent, F_OK) != 0,
            URL(fileURLWithPath: parent).standardizedFileURL.path == URL(fileURLWithPath: createdFolder).standardizedFileURL.path
        {
            return
        }
        guard access(parent, W_OK) == 0 else {
            throw IOFailure("cannot write \(DisplayName.of(path)): \(DisplayName.of(parent)): \(String(cString: strerror(errno)))")
        }
    }

    enum Plan {
        case replace(target: String)
        case through(flags: Int32)
    }

    static func plan(_ path: String) throws -> Plan {
        let through = O_WRONLY | O_APPEND | O_CLOEXEC
        var info = stat()
        guard lstat(path, &info) == 0 else {
            guard errno == ENOENT else { throw IOFailure("cannot write \(DisplayName.of(path)): \(String(cString: strerror(errno)))") }
            return .replace(target: path)
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG:
            return .replace(target: path)
        case S_IFDIR:
            throw IOFailure("cannot write \(DisplayName.of(path)): it is a folder")
        case S_IFLNK:
            // /dev/stdout and /proc/self/fd/N name whatever the descriptor is: never a rename.
            if isSystemPath(absolute(path)) { return .through(flags: through) }
            guard let resolved = realpath(path, nil) else {
                // A link to nothing yet: opening it creates the file it names.
                return .through(flags: O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC)
            }
            let target = String(cString: resolved)
            free(resolved)
            var resolvedInfo = stat()
            guard stat(target, &resolvedInfo) == 0 else { return .through(flags: through) }
            switch resolvedInfo.st_mode & S_IFMT {
            case S_IFREG: return .replace(target: target)
            case S_IFDIR: throw IOFailure("cannot write \(DisplayName.of(path)): it is a folder")
            default: return .through(flags: through)
            }
        default:
            return .through(flags: through)  // FIFO, character or block device, socket
        }
    }

    private static func isSystemPath(_ path: String) -> Bool {
        path == "/dev" || path.hasPrefix("/dev/") || path == "/proc" || path.hasPrefix("/proc/")
    }

    /// `path` made absolute against the working folder (not resolved: a link stays a link).
    private static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        return FileManager.default.currentDirectoryPath + "/" + path
    }

    /// Removes `.NAME.PID.tmp` beside `target` for every PID that is no longer a live process.
    static func removeStaleTemporaries(of target: String) {
        let url = URL(fileURLWithPath: target)
        let directory = url.deletingLastPathComponent().path
        let prefix = ".\(url.lastPathComponent)."
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where name.hasPrefix(prefix) && name.hasSuffix(".tmp") {
            let middle = name.dropFirst(prefix.count).dropLast(4)
            guard let pid = Int32(middle), pid > 0, pid != getpid(), !processIsAlive(pid) else { continue }
            unlink("\(directory)/\(name)")
        }
    }
}

/// Whether `pid` is a running process (of any user).
func processIsAlive(_ pid: Int32) -> Bool {
    kill(pid, 0) == 0 || errno == EPERM
}

/// A hidden name beside `path` (loaders skip dot files and `*.tmp`), with this process's id, so a
/// later run can tell whose it was.
func temporaryName(for path: String) -> String {
    let url = URL(fileURLWithPath: path)
    let directory = url.deletingLastPathComponent().path
    return "\(directory)/.\(url.lastPathComponent).\(getpid()).tmp"
}

/// Whether `name` is one of the temporary names `temporaryName(for:)` gives (`.NAME.PID.tmp`).
public func isTemporaryName(_ name: String) -> Bool {
    guard name.hasPrefix("."), name.hasSuffix(".tmp") else { return false }
    let stem = name.dropLast(4)
    guard let dot = stem.lastIndex(of: "."), dot > stem.startIndex else { return false }
    let digits = stem[stem.index(after: dot)...]
    return !digits.isEmpty && digits.allSatisfy { $0.isASCII && $0.isNumber }
}

/// fsyncs a folder, so the renames and removals in it survive a crash of the machine, not only
/// of the process: the commit journal must be on disk before the first part is renamed.
public func syncDirectory(_ path: String) {
    let descriptor = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard descriptor >= 0 else { return }
    fsync(descriptor)
    close(descriptor)
}
