import Foundation
import MaskCore

/// What a run did, written as `_manifest.json` beside the parts and by `--report`.
/// Holds counts, names and fingerprints only: never record values, never the key.
public struct Manifest: Codable, Sendable {
    public struct Rules: Codable, Sendable {
        public var path: String
        public var fingerprint: String
    }

    public struct DetectorCounts: Codable, Sendable {
        public var id: String
        public var matches: Int
        public var validatorRejections: Int
        /// Values the detector's search gave up on (PCRE2 match limit), replaced whole.
        public var matchLimitHits: Int = 0

        enum CodingKeys: String, CodingKey {
            case id, matches
            case validatorRejections = "validator_rejections"
            case matchLimitHits = "match_limit_hits"
        }
    }

    /// Why a run failed (`status` "failed"): the category that decided the exit code, and the
    /// message printed on stderr (which never holds record bytes or secrets).
    public struct Failure: Codable, Sendable {
        public var category: String
        public var message: String
    }

    public struct FieldCounts: Codable, Sendable {
        public var name: String
        public var policy: String
        public var changed: Int
        /// `exact`, `pattern` or `default`: how the column (or JSON rule slot) got its policy.
        public var matchedBy: String
        /// The pattern that matched (pattern-matched fields only).
        public var rule: String?
        /// Values the column's hash normaliser could not read, hashed as they are instead.
        public var unreadableByNormalizer: Int = 0
        /// The named key (`hash.keys`) the column is hashed with; absent for `hash.key`.
        public var key: String?

        public init(
            name: String, policy: String, changed: Int, matchedBy: String, rule: String? = nil, unreadableByNormalizer: Int = 0, key: String? = nil
        ) {
            self.key = key
            self.name = name
            self.policy = policy
            self.changed = changed
            self.matchedBy = matchedBy
            self.rule = rule
            self.unreadableByNormalizer = unreadableByNormalizer
        }

        enum CodingKeys: String, CodingKey {
            case name, policy, changed, rule, key
            case matchedBy = "matched_by"
            case unreadableByNormalizer = "unreadable_by_normalizer"
        }
    }

    /// A JSON path whose values a pattern rule or the default policy changed: JSON has no header,
    /// so the paths are listed as they were met, each with its count.
    public struct PathCounts: Codable, Sendable {
        public var path: String
        public var policy: String
        public var changed: Int
        public var matchedBy: String
        public var rule: String?

        enum CodingKeys: String, CodingKey {
            case path, policy, changed, rule
            case matchedBy = "matched_by"
        }
    }

    public var schemaVersion = ReportJSON.schemaVersion
    public var tool = "mask"
    public var version: String
    public var status: String
    public var input: String
    public var format: String
    public var inputBytes: Int
    public var inputCompressedBytes: Int?
    public var recordsIn: Int
    public var recordsOut: Int
    public var recordsRejected: Int
    public var outputBytes: Int
    public var parts: [PartInfo]
    public var rules: Rules
    /// Fingerprint of the HMAC key (see `KeyedHasher.keyID`), `null` when the rules never hash.
    public var keyID: String?
    /// Fingerprints of the named keys (`hash.keys`), by name: which key hashed which column.
    public var keyIDs: [String: String]?
    public var detectors: [DetectorCounts]
    public var fields: [FieldCounts]
    /// JSONL: the paths changed by a pattern rule or by the default policy (empty for CSV, whose
    /// `fields` name every column).
    public var paths: [PathCounts] = []
    /// Columns (CSV) or field rules (JSONL) under `drop`: removed from the output. Listed on their
    /// own, and in the summary line, so that a removed column is never a surprise at load time.
    public var dropped: [String] = []
    public var threads: Int
    public var compression: String
    /// gzip output only: `single` (one member per part) or `per-chunk`.
    public var gzipMembers: String?
    public var startedAt: String
    public var finishedAt: String
    public var elapsedSeconds: Double
    /// Set when the run failed; a failed run's report has no parts.
    public var error: Failure?

    enum CodingKeys: String, CodingKey {
        case schemaVersion = "schema_version"
        case tool, version, status, input, format, error
        case inputBytes = "input_bytes"
        case inputCompressedBytes = "input_compressed_bytes"
        case recordsIn = "records_in"
        case recordsOut = "records_out"
        case recordsRejected = "records_rejected"
        case outputBytes = "output_bytes"
        case parts, rules
        case keyID = "key_id"
        case keyIDs = "key_ids"
        case detectors, fields, paths, dropped, threads, compression
        case gzipMembers = "gzip_members"
        case startedAt = "started_at"
        case finishedAt = "finished_at"
        case elapsedSeconds = "elapsed_seconds"
    }

    public func encoded() throws -> [UInt8] {
        try ReportJSON.encode(self)
    }
}

extension Manifest {
    /// The one-line summary of a run on stderr: records, rate, parts, detections, changed fields.
    /// Names are escaped (`DisplayName`): a file name cannot forge a log line.
    public func summaryLine(output: String?) -> String {
        let rate = elapsedSeconds > 0 ? Double(inputBytes) / elapsedSeconds / 1_000_000 : 0
        var text = String(
            format: "masked %d records (%d rejected) from %@, %.1f MB in %.2f s (%.1f MB/s)",
            recordsIn, recordsRejected, DisplayName.of(input), Double(inputBytes) / 1_000_000, elapsedSeconds, rate)
        if let output { text += " -> \(DisplayName.of(output)) (\(parts.count) part\(parts.count == 1 ? "" : "s"))" }
        let detections = detectors.map { "\($0.id)=\($0.matches)" }.joined(separator: " ")
        if !detections.isEmpty { text += "; found \(detections)" }
        let changed = fields.filter { $0.changed > 0 }.map { "\($0.name):\($0.policy)=\($0.changed)" }.joined(separator: " ")
        if !changed.isEmpty { text += "; changed \(changed)" }
        if !dropped.isEmpty { text += "; dropped \(dropped.map(DisplayName.of).joined(separator: " "))" }
        return text
    }
}
