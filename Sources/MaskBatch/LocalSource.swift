#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import MaskCore
import MaskPipeline

/// An entry under the input that is not masked, and why: listed in the run summary and on
/// stderr, so nothing under the input is left out without a word (`--fail-on-skipped` makes
/// any of them fail the run before anything is written).
public struct SkippedEntry: Codable, Sendable, Equatable {
    /// Why, as a class a program can count on.
    public enum Kind: String, Codable, Sendable {
        /// A regular file or object in a format mask does not read (`.parquet`, `.avro`, `.txt`):
        /// data that is there and was not masked (`--fail-on-unsupported`).
        case unsupportedFormat = "unsupported_format"
        /// An entry mask will not open: a FIFO, socket or device, a name that is not UTF-8, a link
        /// out of the input or in a cycle, a key with a `.` or `..` segment.
        case notReadable = "not_readable"
    }

    /// Relative path, escaped for display (`DisplayName`): bytes that are not UTF-8 as `\xNN`.
    public var name: String
    public var reason: String
    public var kind: Kind

    public init(name: String, reason: String, kind: Kind = .notReadable) {
        self.name = name
        self.reason = reason
        self.kind = kind
    }

    /// The extension that names the format (`.parquet`; `.csv.bz2` is `.bz2`), lower-cased, or
    /// `(none)`.
    public var formatExtension: String {
        let last = name.split(separator: "/").last.map(String.init) ?? name
        guard let dot = last.lastIndex(of: "."), dot != last.startIndex else { return "(none)" }
        return last[dot...].lowercased()
    }

    static func sorted(_ entries: [SkippedEntry]) -> [SkippedEntry] {
        entries.sorted { Array($0.name.utf8).lexicographicallyPrecedes(Array($1.name.utf8)) }
    }
}

/// A local input folder, walked without following symbolic links out of it.
///
/// - Names starting with `.` or `_` are not inputs and are passed over silently (as `isHiddenPath`).
/// - A symbolic link is followed when its target lies inside the input folder; a link out of it
///   is reported as skipped unless `followSymlinks`. A folder that is one of its own ancestors
///   (a link cycle) is reported, never walked twice.
/// - Names that are not UTF-8, FIFOs, sockets, devices, dangling links and entries that cannot
///   be read are reported, never opened (opening a FIFO would block the run).
final class LocalSource: BatchSource {
    let root: String
    let followSymlinks: Bool
    var listPages: Int? { nil }

    init(root: String, followSymlinks: Bool = false) {
        self.root = root
        self.followSymlinks = followSymlinks
    }

    private struct Node: Hashable {
        var device: UInt64
        var inode: UInt64
        init(_ info: stat) {
            device = UInt64(info.st_dev)
            inode = UInt64(info.st_ino)
        }
    }

    func list() throws -> SourceListing {
        var info = stat()
        guard stat(root, &info) == 0 else { throw JobFailure.io("cannot read input folder \(DisplayName.of(root)): \(LocalPaths.errorText())") }
        guard info.st_mode & S_IFMT == S_IFDIR else { throw JobFailure.usage("--input \(DisplayName.of(root)) is not a folder") }
        guard let resolved = realpath(root, nil) else { throw JobFailure.io("cannot resolve input folder \(DisplayName.of(root)): \(LocalPaths.errorText())") }
        let realRoot = String(cString: resolved)
        free(resolved)
        var listing = SourceListing()
        try walk(relative: [], ancestors: [Node(info)], realRoot: realRoot, into: &listing)
        listing.files.sort { Array($0.relativePath.utf8).lexicographicallyPrecedes(Array($1.relativePath.utf8)) }
        listing.skipped = SkippedEntry.sorted(listing.skipped)
        return listing
    }

    /// The names in a folder, as bytes (a name need not be UTF-8), `.` and `..` left out.
    private func entries(of directory: [UInt8]) throws -> [[UInt8]] {
        guard let handle = opendir(directory.map { CChar(bitPattern: $0) } + [0]) else {
            throw JobFailure.io("cannot list \(DisplayName.of(bytes: directory)): \(LocalPaths.errorText())")
        }
        defer { closedir(handle) }
        var names: [[UInt8]] = []
        errno = 0
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: &entry.pointee.d_name) { raw in Array(raw.prefix { $0 != 0 }) }
            if name != [0x2E] && name != [0x2E, 0x2E] { names.append(name) }
            errno = 0
        }
        if errno != 0 { throw JobFailure.io("cannot list \(DisplayName.of(bytes: directory)): \(LocalPaths.errorText())") }
        return names.sorted { $0.lexicographicallyPrecedes($1) }
    }

    private func walk(relative: [UInt8], ancestors: [Node], realRoot: String, into listing: inout SourceListing) throws {
        let rootBytes = Array(root.utf8)
        let directory = relative.isEmpty ? rootBytes : rootBytes + [0x2F] + relative
        for name in try entries(of: directory) {
            // Hidden and marker files (`.tmp`, `_SUCCESS`, `_temporary/`): never inputs, by convention.
            if name.first == UInt8(ascii: ".") || name.first == UInt8(ascii: "_") { continue }
            let pathBytes = relative.isEmpty ? name : relative + [0x2F] + name
            let shown = DisplayName.of(bytes: pathBytes)
            func skip(_ reason: String) { listing.skipped.append(SkippedEntry(name: shown, reason: reason)) }
            // Output names, manifests and object keys are UTF-8: such a name has no faithful output.
            guard let path = String(validating: pathBytes, as: UTF8.self) else {
                var info = stat()
                let fullBytes = rootBytes + [0x2F] + pathBytes
                let isFolder = lstat(fullBytes.map { CChar(bitPattern: $0) } + [0], &info) == 0 && info.st_mode & S_IFMT == S_IFDIR
                skip(isFolder ? "name is not valid UTF-8 (a folder: nothing under it was read)" : "name is not valid UTF-8")
                continue
            }
            let full = "\(root)/\(path)"
            var info = stat()
            guard lstat(full, &info) == 0 else {
                skip("cannot read: \(LocalPaths.errorText())")
                continue
            }
            var viaLink = false
            if info.st_mode & S_IFMT == S_IFLNK {
                viaLink = true
                guard stat(full, &info) == 0 else {
                    skip(errno == ELOOP ? "symlink cycle" : "dangling symlink")
                    continue
                }
                guard let target = realpath(full, nil) else {
                    skip("cannot resolve symlink: \(LocalPaths.errorText())")
                    continue
                }
                let resolved = String(cString: target)
                free(target)
                let inside = realRoot == "/" || resolved == realRoot || resolved.hasPrefix(realRoot + "/")
                if !inside && !followSymlinks {
                    skip("symlink out of the input folder")
                    continue
                }
            }
            switch info.st_mode & S_IFMT {
            case S_IFDIR:
                let node = Node(info)
                guard !ancestors.contains(node) else {
                    skip(viaLink ? "symlink cycle" : "folder cycle (bind mount)")
                    continue
                }
                try walk(relative: pathBytes, ancestors: ancestors + [node], realRoot: realRoot, into: &listing)
            case S_IFREG:
                let modified = Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9
                listing.files.append(SourceFile(relativePath: path, uri: full, size: Int(info.st_size), etag: nil, modified: modified))
            case S_IFIFO: skip("not a regular file (FIFO)")
            case S_IFSOCK: skip("not a regular file (socket)")
            case S_IFCHR: skip("not a regular file (character device)")
            case S_IFBLK: skip("not a regular file (block device)")
            default: skip("not a regular file")
            }
        }
    }

    /// The file itself, if it is still a regular file (one replaced by a FIFO since it was listed
    /// would block the run when opened).
    func localPath(of file: SourceFile, in directory: String) throws -> String {
        var info = stat()
        guard stat(file.uri, &info) == 0 else { throw IOFailure("cannot read \(file.uri): \(LocalPaths.errorText())") }
        guard info.st_mode & S_IFMT == S_IFREG else { throw IOFailure("\(file.uri) is no longer a regular file") }
        return file.uri
    }
}
