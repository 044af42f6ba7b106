import Foundation
import MaskCore
import MaskPipeline

/// The settings that decide the bytes of a file's output, besides its input, rules and key.
/// A rerun redoes a file whose committed settings differ.
public struct BatchFileSettings: Codable, Sendable, Equatable {
    public var format: String
    public var delimiter: String
    public var header: Bool
    public var level: Int
    /// `single` or `per-chunk` (absent in manifests written before the option existed).
    public var gzipMembers: String?
    public var chunkSize: Int
    public var maxPartSize: Int
    public var maxRecordSize: Int
    /// `pgtext` and `mysql`: the NULL spelling and quoting (`--null-string`, `--enclosed-by`,
    /// `--escaped-by`) as `null=… enclosed=… escaped=…`; absent for CSV and JSONL.
    public var textSyntax: String? = nil

    enum CodingKeys: String, CodingKey {
        case format, delimiter, header, level
        case gzipMembers = "gzip_members"
        case textSyntax = "text_syntax"
        case chunkSize = "chunk_size"
        case maxPartSize = "max_part_size"
        case maxRecordSize = "max_record_size"
    }
}

/// What identifies an input's content: its size and SHA-256 (local files), or its size and ETag
/// (object storage, where the listing gives the ETag without reading the object).
public struct SourceIdentity: Codable, Sendable, Equatable {
    public var uri: String
    public var path: String
    public var size: Int
    public var sha256: String?
    public var etag: String?
    /// Local files: modification time (seconds since 1970), informative only.
    public var modified: Double?

    /// Same content as `other`, by the strongest evidence both sides have.
    func sameContent(as other: SourceIdentity) -> Bool {
        guard size == other.size else { return false }
        if let etag, let theirs = other.etag { return etag == theirs }
        if let sha256, let theirs = other.sha256 { return sha256 == theirs }
        return false
    }
}

/// `_manifests/<input path>.json`, written last when a file's outputs are in place: the commit
/// record of one input. Only outputs listed in a manifest count as done.
public struct BatchFileManifest: Codable, Sendable {
    public var schemaVersion = ReportJSON.schemaVersion
    public var tool = "mask"
    public var kind = "batch-file"
    public var version: String
    public var source: SourceIdentity
    /// Output files, relative to the destination, in order; each with its size, records and SHA-256.
    public var outputs: [PartInfo]
    public var rulesFingerprint: String
    public var keyID: String?
    public var settings: BatchFileSettings
    /// The engine's manifest of the run (counts per detector and field, timings).
    public var masking: Manifest

    enum CodingKeys: String, CodingKey {
        case schemaVersion = "schema_version"
        case tool, kind, version, source, outputs
        case rulesFingerprint = "rules_fingerprint"
        case keyID = "key_id"
        case settings, masking
    }

    func encoded() throws -> Data {
        Data(try ReportJSON.encode(self))
    }
}

/// One input's line in the run summary.
public struct BatchFileResult: Codable, Sendable {
    public enum Status: String, Codable, Sendable {
        case masked, skipped, failed
        /// Not started because an earlier file failed under --fail-fast.
        case cancelled
    }

    public var input: String
    public var uri: String
    public var status: Status
    public var format: String?
    public var inputBytes: Int
    public var outputs: [String] = []
    public var outputBytes = 0
    public var recordsIn = 0
    public var recordsOut = 0
    public var recordsRejected = 0
    public var manifest: String?
    /// data (malformed input), usage (e.g. an exact rules field missing from the file), io, store.
    public var errorKind: String?
    public var error: String?
    public var elapsedSeconds = 0.0
    /// Matches per detector (masked or skipped files: from their masking manifest).
    public var detectorMatches: [String: Int]?

    enum CodingKeys: String, CodingKey {
        case input, uri, status, format
        case inputBytes = "input_bytes"
        case outputs
        case outputBytes = "output_bytes"
        case recordsIn = "records_in"
        case recordsOut = "records_out"
        case recordsRejected = "records_rejected"
        case manifest
        case errorKind = "error_kind"
        case error
        case elapsedSeconds = "elapsed_seconds"
        case detectorMatches = "detector_matches"
    }
}

/// `DST/_batch_manifest.json` and `--report`: the whole run.
public struct BatchSummary: Codable, Sendable {
    public struct Rules: Codable, Sendable {
        public var path: String
        public var fingerprint: String
    }

    public struct Failure: Codable, Sendable {
        public var input: String
        public var kind: String
        public var error: String
    }

    public var schemaVersion = ReportJSON.schemaVersion
    public var tool = "mask"
    public var kind = "batch"
    public var version: String
    public var status: String
    public var source: String
    public var destination: String
    public var rules: Rules
    public var keyID: String?
    public var filesTotal: Int
    public var filesMasked: Int
    public var filesSkipped: Int
    public var filesFailed: Int
    public var filesCancelled: Int
    public var inputBytes: Int
    public var maskedInputBytes: Int
    public var outputBytes: Int
    public var recordsIn: Int
    public var recordsOut: Int
    public var threads: Int
    public var parallelFiles: Int
    public var listPages: Int?
    public var startedAt: String
    public var finishedAt: String
    public var elapsedSeconds: Double
    public var failures: [Failure]
    public var files: [BatchFileResult]
    /// Entries under the input that were not masked, each with why: unknown extensions, FIFOs,
    /// devices, sockets, names that are not UTF-8, links out of the input, link cycles. (Not
    /// `files_skipped`, which counts inputs left as they were because they are unchanged.)
    public var skipped: [SkippedEntry] = []
    /// How many entries `skipped` lists, and how many of them are data in a format mask does not
    /// read, by extension (`{".parquet": 3}`): a count a monitor can alert on.
    public var skippedCount = 0
    public var unsupportedCount = 0
    public var unsupportedExtensions: [String: Int] = [:]
    /// A shared run (`--ledger`): its id, and the worker that wrote this summary.
    public var runID: String?
    public var worker: String?
    /// A shared run: whether this worker ended the run (finished its last file and wrote the
    /// run manifest); its summary then covers every worker's files, else only its own.
    public var endedRun: Bool?

    enum CodingKeys: String, CodingKey {
        case schemaVersion = "schema_version"
        case tool, kind, version, status, source, destination, rules
        case keyID = "key_id"
        case filesTotal = "files_total"
        case filesMasked = "files_masked"
        case filesSkipped = "files_skipped"
        case filesFailed = "files_failed"
        case filesCancelled = "files_cancelled"
        case inputBytes = "input_bytes"
        case maskedInputBytes = "masked_input_bytes"
        case outputBytes = "output_bytes"
        case recordsIn = "records_in"
        case recordsOut = "records_out"
        case threads
        case parallelFiles = "parallel_files"
        case listPages = "list_pages"
        case startedAt = "started_at"
        case finishedAt = "finished_at"
        case elapsedSeconds = "elapsed_seconds"
        case failures, files, skipped
        case skippedCount = "skipped_count"
        case unsupportedCount = "unsupported_count"
        case unsupportedExtensions = "unsupported_extensions"
        case runID = "run_id"
        case worker
        case endedRun = "ended_run"
    }

    public func encoded() throws -> Data {
        Data(try ReportJSON.encode(self))
    }
}

extension BatchSummary {
    /// The run's summary for stderr: one line of counts and rate, a warning when files in formats
    /// `mask` does not read were left unmasked, and the first skipped entries (all of them are in
    /// the report and the run manifest). Names are escaped (`DisplayName`): a file name cannot
    /// forge a log line.
    public func summaryLines(shownSkipped: Int = 20) -> [String] {
        var lines: [String] = []
        let rate = elapsedSeconds > 0 ? Double(maskedInputBytes) / elapsedSeconds / 1e6 : 0
        var line = worker.map { "batch: worker \($0): " } ?? "batch: "
        if endedRun == true { line += "ended run \(runID ?? "?"): " }
        line += "\(filesTotal) files: \(filesMasked) masked, \(filesSkipped) skipped, \(filesFailed) failed"
        if filesCancelled > 0 { line += ", \(filesCancelled) not started" }
        line += String(format: "; %.1f MB masked in %.2f s (%.1f MB/s) -> %@", Double(maskedInputBytes) / 1e6, elapsedSeconds, rate, DisplayName.of(destination))
        lines.append(line)
        if unsupportedCount > 0 {
            // Data that is there and was not masked: the line a reader of the log must not miss.
            lines.append("warning: \(unsupportedCount) \(unsupportedCount == 1 ? "file" : "files") under the input in formats mask does not read, NOT masked (\(BatchJob.byExtension(skipped.filter { $0.kind == .unsupportedFormat }))); --fail-on-unsupported makes this fail the run")
        }
        if !skipped.isEmpty {
            lines.append("\(skipped.count) \(skipped.count == 1 ? "entry" : "entries") under the input not masked:")
            for entry in skipped.prefix(shownSkipped) { lines.append("  skipped \(entry.name): \(entry.reason)") }
            if skipped.count > shownSkipped {
                lines.append("  … and \(skipped.count - shownSkipped) more (all listed under \"skipped\" in _batch_manifest.json and the report)")
            }
        }
        return lines
    }
}
