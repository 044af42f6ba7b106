#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Crypto
import Foundation
import MaskCompression
import MaskCore

/// A unit of output (a gzip member or deflate span, a zstd frame, plain bytes) and, for a
/// single-member gzip part, the CRC-32 and length of what it decompresses to.
struct OutputUnit: Sendable {
    var bytes: [UInt8]
    var crc: UInt32 = 0
    var plainLength = 0

    /// Records the check of the plain bytes this unit holds.
    mutating func check(_ plain: UnsafeRawBufferPointer) {
        crc = CRC32.checksum(plain)
        plainLength = plain.count
    }
}

/// One finished output file.
public struct PartInfo: Sendable, Codable, Equatable {
    public var file: String
    public var bytes: Int
    public var records: Int
    public var sha256: String
}

/// Where masked bytes go. Called on the ordered writer thread only.
protocol OutputSink: AnyObject {
    /// Appends one unit of output holding `records` records.
    func write(_ unit: OutputUnit, records: Int) throws
    /// Ends the output after every record was written (parts closed and synced, still hidden).
    func finish() throws -> [PartInfo]
    /// Makes the finished output visible with its manifest. Called once, after `finish`.
    func publish(manifest: [UInt8]) throws
    /// Removes everything not yet committed. Must be safe to call after a failure at any point.
    func abort()
}

/// Streams to standard output; a closed pipe ends the run quietly.
final class StandardOutputSink: OutputSink {
    private let file = WritableFile(standardOutput: ())
    private var bytes = 0
    private var records = 0
    private var digest = SHA256()
    /// With `singleMember`: the one member the whole stream is.
    private var frame: GzipMemberFrame?

    init(header: OutputUnit, singleMember: Bool) throws {
        if singleMember {
            frame = GzipMemberFrame()
            try append(GzipMemberFrame.header)
        }
        try write(header, records: 0)
    }

    func write(_ unit: OutputUnit, records: Int) throws {
        try append(unit.bytes)
        frame?.add(crc: unit.crc, length: unit.plainLength)
        self.records += records
    }

    private func append(_ chunk: [UInt8]) throws {
        try file.write(chunk)
        chunk.withUnsafeBytes { digest.update(bufferPointer: $0) }
        bytes += chunk.count
    }

    func finish() throws -> [PartInfo] {
        if let frame { try append(frame.trailer) }
        let sha = Hex.string(digest.finalize())
        return [PartInfo(file: "<stdout>", bytes: bytes, records: records, sha256: sha)]
    }

    func publish(manifest: [UInt8]) throws {}

    func abort() {}
}

/// Writes `part-NNNNN<ext>` files into a directory, rotating at `maxPartSize` bytes.
///
/// Every part is written under a hidden temporary name and renamed only in `publish`, after the
/// whole input was masked: a data error late in the input must leave no part behind that a
/// loader could pick up as if the extract were complete. Each part starts with the header, so
/// each loads on its own (BigQuery `skip_leading_rows=1`).
///
/// The commit, in this order, so that a kill at any step leaves a folder the next run can tell
/// apart and finish (README, "--output DIR"):
/// 1. parts complete and fsynced under `.part-NNNNN<ext>.PID.tmp`;
/// 2. the journal `_COMMITTING` (the parts about to appear) written and the folder fsynced: from
///    here the folder is marked as an unfinished commit;
/// 3. an earlier `_SUCCESS`, `_manifest.json` and parts this run does not write removed;
/// 4. the parts renamed into place, the folder fsynced;
/// 5. `_manifest.json`, then `_SUCCESS`, then the journal removed.
///
/// A run takes an exclusive lock on the folder (`flock`, released by the kernel however the
/// process ends), so every temporary it finds there is a dead run's and is removed. A journal
/// without `_SUCCESS` is an interrupted commit: its parts and manifest are removed before this
/// run masks anything, without `--overwrite` (the run that wrote it had the right to replace the
/// folder). A journal beside `_SUCCESS` is a commit that completed: only the journal goes.
final class DirectorySink: OutputSink {
    static let journalName = CommitJournal.fileName

    let directory: String
    let fileExtension: String
    let header: OutputUnit
    /// Each part is one gzip member: `GzipMemberFrame` around its units.
    let singleMember: Bool
    let maxPartSize: Int
    let writeSuccessMarker: Bool
    private var current: WritableFile?
    private var currentFrame: GzipMemberFrame?
    private var currentInfo: PartInfo?
    private var currentDigest = SHA256()
    private var finished: [(temporary: String, info: PartInfo)] = []
    private var temporaries: [String] = []
    private var lockDescriptor: Int32 = -1

    /// - Parameter writeSuccessMarker: false where a caller commits several folders under one
    ///   `_SUCCESS` of its own (`mask extract`).
    init(directory: String, fileExtension: String, header: OutputUnit, singleMember: Bool, maxPartSize: Int, overwrite: Bool,
         writeSuccessMarker: Bool = true, log: (String) -> Void = { _ in }) throws {
        self.directory = directory
        self.fileExtension = fileExtension
        self.header = header
        self.singleMember = singleMember
        self.maxPartSize = maxPartSize
        self.writeSuccessMarker = writeSuccessMarker
        let shown = DisplayName.of(directory)
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw IOFailure("cannot create output directory \(shown): \(error.localizedDescription)")
        }
        lockDescriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard lockDescriptor >= 0 else { throw IOFailure("cannot open output directory \(shown): \(String(cString: strerror(errno)))") }
        if flock(lockDescriptor, LOCK_EX | LOCK_NB) != 0 {
            close(lockDescriptor)
            lockDescriptor = -1
            throw UsageFailure("another mask run is writing to \(shown)")
        }
        var existing = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        // Under the lock, a temporary here belongs to no running mask: a killed run's.
        for name in existing where isTemporaryName(name) { unlink("\(directory)/\(name)") }
        if existing.contains(Self.journalName) {
            if !existing.contains("_SUCCESS") {
                for name in existing where name.hasPrefix("part-") || name == "_manifest.json" { unlink("\(directory)/\(name)") }
                log("warning: \(shown) held an interrupted commit (\(Self.journalName) without _SUCCESS); removed its parts")
            }
            unlink("\(directory)/\(Self.journalName)")
            syncDirectory(directory)
            existing = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        }
        let previous = existing.filter { $0 == "_SUCCESS" || $0 == "_manifest.json" || $0.hasPrefix("part-") }
        if !previous.isEmpty && !overwrite {
            unlock()
            throw UsageFailure("output directory \(shown) already holds a masked extract (\(previous.sorted().prefix(3).map(DisplayName.of).joined(separator: ", "))); use --overwrite to replace it")
        }
    }

    deinit { unlock() }

    private func unlock() {
        if lockDescriptor >= 0 {
            close(lockDescriptor)
            lockDescriptor = -1
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
        if singleMember {
            currentFrame = GzipMemberFrame()
            try append(GzipMemberFrame.header, records: 0)
        }
        try append(header, records: 0)
    }

    private func append(_ unit: OutputUnit, records: Int) throws {
        try append(unit.bytes, records: records)
        currentFrame?.add(crc: unit.crc, length: unit.plainLength)
    }

    private func append(_ bytes: [UInt8], records: Int) throws {
        try current!.write(bytes)
        bytes.withUnsafeBytes { currentDigest.update(bufferPointer: $0) }
        currentInfo!.bytes += bytes.count
        currentInfo!.records += records
    }

    private func closePart() throws {
        guard let file = current else { return }
        if let frame = currentFrame { try append(frame.trailer, records: 0) }
        currentFrame = nil
        guard var info = currentInfo else { return }
        try file.sync()
        info.sha256 = Hex.string(currentDigest.finalize())
        finished.append((file.path, info))
        current = nil
        currentInfo = nil
    }

    func write(_ unit: OutputUnit, records: Int) throws {
        if let info = currentInfo, info.bytes >= maxPartSize, info.records > 0 { try closePart() }
        if current == nil { try openPart() }
        try append(unit, records: records)
        FaultPoint.reach("pipe.masking")
    }

    func finish() throws -> [PartInfo] {
        if current == nil && finished.isEmpty { try openPart() }  // an empty input still gives one part with the header
        try closePart()
        FaultPoint.reach("pipe.parts-written")
        return finished.map(\.info)
    }

    func publish(manifest: [UInt8]) throws {
        let journal = CommitJournal(pid: getpid(), parts: finished.map(\.info.file))
        try OutputFile.write(try journal.encoded(), to: "\(directory)/\(Self.journalName)")
        syncDirectory(directory)
        FaultPoint.reach("pipe.journal-written")
        // Replace an earlier extract (--overwrite): its _SUCCESS goes first, so no sensor fires on a mix.
        unlink("\(directory)/_SUCCESS")
        unlink("\(directory)/_manifest.json")
        let keep = Set(finished.map(\.info.file))
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        where name.hasPrefix("part-") && !keep.contains(name) {
            unlink("\(directory)/\(name)")
        }
        FaultPoint.reach("pipe.old-output-removed")
        for (index, (temporary, info)) in finished.enumerated() {
            guard rename(temporary, "\(directory)/\(info.file)") == 0 else {
                throw IOFailure("cannot rename \(DisplayName.of(temporary)): \(String(cString: strerror(errno)))")
            }
            temporaries.removeAll { $0 == temporary }
            if index == 0 && finished.count > 1 { FaultPoint.reach("pipe.part-renamed") }
        }
        syncDirectory(directory)
        FaultPoint.reach("pipe.parts-renamed")
        try OutputFile.write(manifest, to: "\(directory)/_manifest.json")
        FaultPoint.reach("pipe.manifest-written")
        if writeSuccessMarker {
            try OutputFile.write([], to: "\(directory)/_SUCCESS")
            FaultPoint.reach("pipe.success-written")
        }
        unlink("\(directory)/\(Self.journalName)")
        syncDirectory(directory)
        unlock()
    }

    func abort() {
        current = nil
        for temporary in temporaries { unlink(temporary) }
        temporaries.removeAll()
        unlock()
    }
}

/// The content of `_COMMITTING`: which run was committing which parts (for people; a later run
/// only needs to know the file is there).
public struct CommitJournal: Codable, Sendable {
    /// The journal's name in the output folder.
    public static let fileName = "_COMMITTING"
    public var pid: Int32
    public var parts: [String]

    public init(pid: Int32, parts: [String]) {
        self.pid = pid
        self.parts = parts
    }

    public func encoded() throws -> [UInt8] {
        try ReportJSON.encode(self)
    }
}
