#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import MaskCompression

/// `--rejects FILE`: malformed records, already masked by a raw scan, under the input's header.
/// Gzip-compressed when the name ends in `.gz`, as one gzip member like the parts (each write a
/// span of non-final blocks, the header first, the trailer at the commit), so that a reader that
/// stops after the first member still reads every reject. A regular file appears atomically at the
/// end of a successful run; a FIFO or device is written through as records come (see
/// `OutputFile`), each span decodable as it arrives.
final class RejectsWriter {
    let path: String
    private let file: OutputFile
    private let encoder: GzipSpanEncoder?
    private var frame = GzipMemberFrame()

    init(path: String, header: [UInt8]) throws {
        self.path = path
        file = try OutputFile(path: path, sweepStale: true)
        encoder = path.hasSuffix(".gz") ? GzipSpanEncoder(level: 6) : nil
        if encoder != nil { try file.write(GzipMemberFrame.header) }
        if !header.isEmpty { try write(header) }
    }

    func write(_ bytes: [UInt8]) throws {
        if let encoder {
            var span: [UInt8] = []
            bytes.withUnsafeBytes {
                encoder.compress($0, appendingTo: &span)
                frame.add(crc: CRC32.checksum($0), length: $0.count)
            }
            try file.write(span)
        } else {
            try file.write(bytes)
        }
    }

    func commit() throws {
        if encoder != nil { try file.write(frame.trailer) }
        try file.commit()
    }

    func abort() {
        file.abort()
    }
}

/// A progress line on stderr (only when stderr is a terminal): records, MB/s.
final class ProgressLine {
    private let started = Date()
    private var lastPrint = Date.distantPast
    private var printed = false

    func update(records: Int, bytes: Int) {
        let now = Date()
        guard now.timeIntervalSince(lastPrint) >= 0.5 else { return }
        lastPrint = now
        printed = true
        let seconds = max(now.timeIntervalSince(started), 0.001)
        let rate = Double(bytes) / seconds / 1_000_000
        let line = String(format: "\r\u{1B}[Kmask: %d records, %.1f MB, %.1f MB/s", records, Double(bytes) / 1_000_000, rate)
        FileHandle.standardError.write(line.data(using: .utf8)!)
    }

    func finish() {
        guard printed else { return }
        FileHandle.standardError.write("\r\u{1B}[K".data(using: .utf8)!)
    }
}
