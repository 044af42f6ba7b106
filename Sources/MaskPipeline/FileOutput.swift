#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// A file descriptor opened for writing, with the EINTR/partial-write loop written once.
final class WritableFile {
    let descriptor: Int32
    let path: String
    private let owns: Bool

    init(creating path: String) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw IOFailure("cannot create \(path): \(String(cString: strerror(errno)))") }
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
        var offset = 0
        while offset < bytes.count {
            let written = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                if errno == EPIPE { throw BrokenPipe() }
                throw IOFailure("cannot write \(path): \(String(cString: strerror(errno)))")
            }
            offset += written
        }
    }

    func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    func sync() throws {
        if fsync(descriptor) != 0 && errno != EINVAL {
            throw IOFailure("cannot flush \(path): \(String(cString: strerror(errno)))")
        }
    }
}

/// Writes a whole file under a temporary name and renames it into place, so a reader never sees
/// it half-written.
func writeAtomically(_ bytes: [UInt8], to path: String) throws {
    let temporary = temporaryName(for: path)
    do {
        let file = try WritableFile(creating: temporary)
        try file.write(bytes)
        try file.sync()
    } catch {
        unlink(temporary)
        throw error
    }
    guard rename(temporary, path) == 0 else {
        unlink(temporary)
        throw IOFailure("cannot rename \(temporary) to \(path): \(String(cString: strerror(errno)))")
    }
}

/// A hidden name beside `path` (loaders skip dot files and `*.tmp`).
func temporaryName(for path: String) -> String {
    let url = URL(fileURLWithPath: path)
    let directory = url.deletingLastPathComponent().path
    return "\(directory)/.\(url.lastPathComponent).\(getpid()).tmp"
}
