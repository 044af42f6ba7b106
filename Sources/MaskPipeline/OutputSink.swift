#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Crypto
import Foundation

/// One finished output file.
public struct PartInfo: Sendable, Codable, Equatable {
    public var file: String
    public var bytes: Int
    public var records: Int
    public var sha256: String
}

/// Where masked bytes go. Called on the ordered writer thread only.
protocol OutputSink: AnyObject {
    /// Appends one unit of output (a gzip member, or plain bytes) holding `records` records.
    func write(_ bytes: [UInt8], records: Int) throws
    /// Makes the output visible. Called once, after every record was written.
    func commit() throws -> [PartInfo]
    /// Removes everything not yet committed. Must be safe to call after a failure at any point.
    func abort()
}

/// Streams to standard output; a closed pipe ends the run quietly.
final class StandardOutputSink: OutputSink {
    private let file = WritableFile(standardOutput: ())
    private var bytes = 0
    private var records = 0
    private var digest = SHA256()

    init(header: [UInt8]) throws {
        try write(header, records: 0)
    }

    func write(_ chunk: [UInt8], records: Int) throws {
        try file.write(chunk)
        chunk.withUnsafeBytes { digest.update(bufferPointer: $0) }
        bytes += chunk.count
        self.records += records
    }

    func commit() throws -> [PartInfo] {
        let sha = digest.finalize().map { String(format: "%02x", $0) }.joined()
        return [PartInfo(file: "<stdout>", bytes: bytes, records: records, sha256: sha)]
    }

    func abort() {}
}

/// Writes `part-NNNNN<ext>` files into a directory, rotating at `maxPartSize` bytes.
///
/// Every part is written under a hidden temporary name and renamed only in `commit()`, after the
/// whole input was masked: a data error late in the input must leave no part behind that a
/// loader could pick up as if the extract were complete. Each part starts with the header, so
/// each loads on its own (BigQuery `skip_leading_rows=1`).
final class DirectorySink: OutputSink {
    let directory: String
    let fileExtension: String
    let header: [UInt8]
    let maxPartSize: Int
    private var current: WritableFile?
    private var currentInfo: PartInfo?
    private var currentDigest = SHA256()
    private var finished: [(temporary: String, info: PartInfo)] = []
    private var temporaries: [String] = []

    init(directory: String, fileExtension: String, header: [UInt8], maxPartSize: Int, overwrite: Bool) throws {
        self.directory = directory
        self.fileExtension = fileExtension
        self.header = header
        self.maxPartSize = maxPartSize
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw IOFailure("cannot create output directory \(directory): \(error.localizedDescription)")
        }
        let existing = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        let previous = existing.filter { $0 == "_SUCCESS" || $0 == "_manifest.json" || $0.hasPrefix("part-") }
        if !previous.isEmpty && !overwrite {
            throw UsageFailure("output directory \(directory) already holds a masked extract (\(previous.sorted().prefix(3).joined(separator: ", "))); use --overwrite to replace it")
        }
    }

    private func partName(_ index: Int) -> String {
        "part-" + String(repeating: "0", count: max(0, 5 - String(index).count)) + String(index) + fileExtension
    }

    private func openPart() throws {
        let name = partName(finished.count)
        let temporary = temporaryName(for: "\(directory)/\(name)")
        temporaries.append(temporary)
        current = try WritableFile(creating: temporary)
        currentInfo = PartInfo(file: name, bytes: 0, records: 0, sha256: "")
        currentDigest = SHA256()
        try append(header, records: 0)
    }

    private func append(_ bytes: [UInt8], records: Int) throws {
        try current!.write(bytes)
        bytes.withUnsafeBytes { currentDigest.update(bufferPointer: $0) }
        currentInfo!.bytes += bytes.count
        currentInfo!.records += records
    }

    private func closePart() throws {
        guard let file = current, var info = currentInfo else { return }
        try file.sync()
        info.sha256 = currentDigest.finalize().map { String(format: "%02x", $0) }.joined()
        finished.append((file.path, info))
        current = nil
        currentInfo = nil
    }

    func write(_ bytes: [UInt8], records: Int) throws {
        if let info = currentInfo, info.bytes >= maxPartSize, info.records > 0 { try closePart() }
        if current == nil { try openPart() }
        try append(bytes, records: records)
    }

    func commit() throws -> [PartInfo] {
        if current == nil && finished.isEmpty { try openPart() }  // an empty input still gives one part with the header
        try closePart()
        // Replace an earlier extract (--overwrite): its _SUCCESS goes first, so no sensor fires on a mix.
        unlink("\(directory)/_SUCCESS")
        let keep = Set(finished.map(\.info.file))
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        where name.hasPrefix("part-") && !keep.contains(name) {
            unlink("\(directory)/\(name)")
        }
        for (temporary, info) in finished {
            guard rename(temporary, "\(directory)/\(info.file)") == 0 else {
                throw IOFailure("cannot rename \(temporary): \(String(cString: strerror(errno)))")
            }
        }
        temporaries.removeAll()
        return finished.map(\.info)
    }

    func abort() {
        current = nil
        for temporary in temporaries { unlink(temporary) }
        temporaries.removeAll()
    }
}

/// A usage problem found while running (exit code 2).
public struct UsageFailure: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Writes nothing (`mask verify` reads only); still counts what would have been written.
final class DiscardSink: OutputSink {
    private var bytes = 0
    private var records = 0

    func write(_ chunk: [UInt8], records: Int) throws {
        bytes += chunk.count
        self.records += records
    }

    func commit() throws -> [PartInfo] { [] }

    func abort() {}
}
