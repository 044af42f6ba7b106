#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import MaskCompression
import MaskCore

/// Where a job's bytes come from: a file or stdin (`InputSource`), or a PostgreSQL COPY
/// (`CopySource`). The chunker only ever asks for more bytes.
public protocol ByteSource: AnyObject {
    /// The name used in messages and manifests (never holds a password).
    var name: String { get }
    /// Appends up to `limit` bytes to `buffer`; returns 0 only at the end of input.
    func read(into buffer: inout [UInt8], limit: Int) throws -> Int
    /// Bytes read from the underlying source before decompression (nil when not compressed).
    var compressedBytesRead: Int? { get }
}

/// A byte stream from stdin or a file, transparently gunzipped when it starts with the gzip
/// magic number (so `.gz` inputs need no flag and misnamed files still work).
///
/// Not `Sendable`: a source is created by the caller and handed, inside the `Chunker`, to the
/// job's reader thread, which alone reads it.
public final class InputSource: ByteSource {
    public let name: String
    private let descriptor: Int32
    private let ownsDescriptor: Bool
    private var decoder: (any StreamDecoder)?
    private var raw = [UInt8](repeating: 0, count: 1 << 20)
    private var decoded: [UInt8] = []
    private var decodedStart = 0
    private var sniffed = false
    private var endOfInput = false
    /// Bytes read from the underlying file (compressed size for gzip or zstd input).
    public private(set) var rawBytesRead = 0
    public private(set) var isGzip = false
    public private(set) var isZstd = false
    public var compressedBytesRead: Int? { isGzip || isZstd ? rawBytesRead : nil }
    /// The end of the underlying file was reached.
    public var reachedEnd: Bool { endOfInput }
    /// Sees every block of file bytes as read, before decompression (batch hashes inputs with it).
    private let onRawBytes: ((UnsafeRawBufferPointer) -> Void)?

    /// - Parameters:
    ///   - path: a file, or `nil`/`-` for standard input.
    ///   - displayName: the name for messages and manifests (default: the path).
    ///   - onRawBytes: called with each block of file bytes as it is read.
    public init(path: String?, displayName: String? = nil, onRawBytes: ((UnsafeRawBufferPointer) -> Void)? = nil) throws {
        self.onRawBytes = onRawBytes
        if let path, path != "-" {
            let descriptor = open(path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else {
                throw IOFailure("cannot open input \(DisplayName.of(displayName ?? path)): \(String(cString: strerror(errno)))")
            }
            self.descriptor = descriptor
            ownsDescriptor = true
            name = displayName ?? path
        } else {
            descriptor = STDIN_FILENO
            ownsDescriptor = false
            name = "<stdin>"
        }
    }

    deinit {
        if ownsDescriptor { close(descriptor) }
    }

    private func readRaw() throws -> Int {
        let count: Int
        do {
            count = try raw.withUnsafeMutableBytes { buffer throws(SystemIO.Failure) in try SystemIO.read(descriptor, into: buffer) }
        } catch {
            throw IOFailure("cannot read \(DisplayName.of(name)): \(error)")
        }
        rawBytesRead += count
        if count > 0, let onRawBytes { raw.withUnsafeBytes { onRawBytes(UnsafeRawBufferPointer(rebasing: $0[0..<count])) } }
        return count
    }

    /// Reads the rest of the file without decoding it (so `onRawBytes` has seen every byte).
    public func drain() throws {
        while !endOfInput {
            if try readRaw() == 0 { endOfInput = true }
        }
    }

    /// Appends up to `limit` bytes of (decompressed) input to `buffer`.
    /// - Returns: the number of bytes appended; 0 only at the end of input.
    public func read(into buffer: inout [UInt8], limit: Int) throws -> Int {
        while true {
            if decodedStart < decoded.count {
                let count = min(limit, decoded.count - decodedStart)
                buffer.append(contentsOf: decoded[decodedStart..<decodedStart + count])
                decodedStart += count
                if decodedStart == decoded.count {
                    decoded.removeAll(keepingCapacity: true)
                    decodedStart = 0
                }
                return count
            }
            if endOfInput { return 0 }
            let count = try readRaw()
            if count == 0 {
                endOfInput = true
                if let decoder {
                    do { try decoder.finish() } catch { throw IOFailure("\(DisplayName.of(name)): \(error)") }
                }
                return 0
            }
            if !sniffed {
                sniffed = true
                if count >= 2 && raw[0] == 0x1F && raw[1] == 0x8B {
                    isGzip = true
                    decoder = try GzipStreamDecoder()
                } else if count >= 4 && raw[0] == 0x28 && raw[1] == 0xB5 && raw[2] == 0x2F && raw[3] == 0xFD {
                    // A zstd frame (RFC 8878 magic number): what `--compress zstd` writes.
                    isZstd = true
                    decoder = ZstdStreamDecoder()
                }
            }
            if let decoder {
                do {
                    try raw.withUnsafeBytes { try decoder.decompress(UnsafeRawBufferPointer(rebasing: $0[0..<count]), into: &decoded) }
                } catch {
                    throw IOFailure("\(DisplayName.of(name)): \(error)")
                }
            } else {
                // Plain input goes straight into the caller's buffer, without a second copy.
                let take = min(limit, count)
                buffer.append(contentsOf: raw[0..<take])
                if take < count { decoded.append(contentsOf: raw[take..<count]) }
                return take
            }
        }
    }
}
