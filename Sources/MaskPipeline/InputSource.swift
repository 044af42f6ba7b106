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
    /// Writes up to `buffer.count` bytes (at least one is asked for) into `buffer`, the chunk
    /// being filled, so that bytes are written into it once; returns 0 only at the end of input.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
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
    /// Compressed bytes read from the file, and the first read of any file (to sniff it).
    private var raw = [UInt8](repeating: 0, count: 1 << 20)
    /// The part of `raw` not yet decoded (or, for a plain file, not yet handed out).
    private var pendingStart = 0
    private var pendingEnd = 0
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

    /// Reads the next block of the file into `buffer`, counting it and showing it to `onRawBytes`.
    private func readRaw(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let count: Int
        do {
            count = try SystemIO.read(descriptor, into: buffer)
        } catch {
            throw IOFailure("cannot read \(DisplayName.of(name)): \(error)")
        }
        rawBytesRead += count
        if count > 0, let onRawBytes { onRawBytes(UnsafeRawBufferPointer(rebasing: buffer[0..<count])) }
        return count
    }

    private func readRaw() throws -> Int {
        try raw.withUnsafeMutableBytes { try readRaw(into: $0) }
    }

    /// Reads the rest of the file without decoding it (so `onRawBytes` has seen every byte).
    public func drain() throws {
        while !endOfInput {
            if try readRaw() == 0 { endOfInput = true }
        }
    }

    /// Writes up to `buffer.count` bytes of (decompressed) input into `buffer`.
    /// - Returns: the number of bytes written; 0 only at the end of input.
    ///
    /// A plain file is read straight into `buffer`, and a compressed one is decoded straight into
    /// it: the chunk a worker masks is the memory the bytes first landed in.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        precondition(buffer.count > 0, "a read must ask for at least one byte")
        while true {
            if let decoder {
                let step: (consumed: Int, produced: Int)
                do {
                    step = try raw.withUnsafeBytes { try decoder.decompress(UnsafeRawBufferPointer(rebasing: $0[pendingStart..<pendingEnd]), into: buffer) }
                } catch {
                    throw IOFailure("\(DisplayName.of(name)): \(error)")
                }
                pendingStart += step.consumed
                if step.produced > 0 { return step.produced }
                if pendingStart < pendingEnd {
                    // Decoders take what they are offered into their own state; one that took
                    // nothing and gave nothing would spin here.
                    if step.consumed > 0 { continue }
                    throw IOFailure("\(DisplayName.of(name)): the decoder made no progress at compressed byte \(rawBytesRead - (pendingEnd - pendingStart))")
                }
                if endOfInput {
                    do { try decoder.finish() } catch { throw IOFailure("\(DisplayName.of(name)): \(error)") }
                    return 0
                }
            } else if pendingStart < pendingEnd {
                // What the sniffing read brought in of a plain file.
                let count = min(buffer.count, pendingEnd - pendingStart)
                raw.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[pendingStart..<pendingStart + count])) }
                pendingStart += count
                return count
            } else if sniffed {
                // Plain input goes straight into the caller's buffer.
                if endOfInput { return 0 }
                let count = try readRaw(into: buffer)
                if count == 0 { endOfInput = true }
                return count
            }
            if endOfInput { return 0 }
            if sniffed {
                // Compressed input: the next block to decode.
                pendingStart = 0
                pendingEnd = try readRaw()
                if pendingEnd == 0 { endOfInput = true }  // the decoder may still hold output
                continue
            }
            // The first bytes say what the file is. A pipe may deliver fewer than the four the
            // magic numbers need at first: read on until there are four, or the input ends.
            sniffed = true
            pendingStart = 0
            pendingEnd = 0
            while pendingEnd < 4 {
                let count = try raw.withUnsafeMutableBytes { try readRaw(into: UnsafeMutableRawBufferPointer(rebasing: $0[pendingEnd...])) }
                if count == 0 {
                    endOfInput = true
                    break
                }
                pendingEnd += count
            }
            if pendingEnd >= 2 && raw[0] == 0x1F && raw[1] == 0x8B {
                isGzip = true
                decoder = try GzipStreamDecoder()
            } else if pendingEnd >= 4 && raw[0] == 0x28 && raw[1] == 0xB5 && raw[2] == 0x2F && raw[3] == 0xFD {
                // A zstd frame (RFC 8878 magic number): what `--compress zstd` writes.
                isZstd = true
                decoder = ZstdStreamDecoder()
            }
        }
    }
}
