#if canImport(Glibc)
import Glibc
#endif
import Crypto

/// The one boundary between `mask` and the kernel's `read(2)` and `write(2)`: the EINTR retry and
/// the partial-write loop are written here and nowhere else. Callers turn the `errno` into a
/// message that names their file.
///
/// Hand-written rather than swift-system's `FileDescriptor`: the two calls are all `mask` needs,
/// and the input and output loops run on raw buffers that `FileDescriptor` would only wrap again.
public enum SystemIO {
    /// A failed system call: the `errno` it left, and its text (`strerror`).
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let code: Int32
        public init(code: Int32) { self.code = code }
        public var isBrokenPipe: Bool { code == EPIPE }
        public var description: String { String(cString: strerror(code)) }
    }

    /// Reads at most `buffer.count` bytes; 0 only at the end of the file.
    public static func read(_ descriptor: Int32, into buffer: UnsafeMutableRawBufferPointer) throws(Failure) -> Int {
        while true {
            let count = Glibc.read(descriptor, buffer.baseAddress, buffer.count)
            if count >= 0 { return count }
            if errno != EINTR { throw Failure(code: errno) }
        }
    }

    /// Writes all of `bytes`, however many calls that takes.
    public static func write(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer) throws(Failure) {
        var offset = 0
        while offset < bytes.count {
            let written = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw Failure(code: errno)
            }
            offset += written
        }
    }

    /// The SHA-256 of a whole regular file, in hex: an input's identity in batch, an upload's
    /// checksum. Opened without blocking, so a file replaced by a FIFO since it was listed fails
    /// instead of hanging the run.
    public static func sha256Hex(ofFile path: String) throws -> String {
        let descriptor = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard descriptor >= 0 else { throw IOFailure("cannot open \(DisplayName.of(path)): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            throw IOFailure("\(DisplayName.of(path)) is not a regular file")
        }
        var hasher = SHA256()
        var block = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count: Int
            do {
                count = try block.withUnsafeMutableBytes { buffer throws(Failure) in try read(descriptor, into: buffer) }
            } catch {
                throw IOFailure("cannot read \(DisplayName.of(path)): \(error)")
            }
            if count == 0 { break }
            block.withUnsafeBytes { hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
        }
        return Hex.string(hasher.finalize())
    }
}
