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
    }

    public struct FieldCounts: Codable, Sendable {
        public var name: String
        public var policy: String
        public var changed: Int
        /// Values the column's hash normaliser could not read, hashed as they are instead.
        public var unreadableByNormalizer: Int = 0

        enum CodingKeys: String, CodingKey {
            case name, policy, changed
            case unreadableByNormalizer = "unreadable_by_normalizer"
        }
    }

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
    public var detectors: [DetectorCounts]
    public var fields: [FieldCounts]
    public var threads: Int
    public var compression: String
    public var startedAt: String
    public var finishedAt: String
    public var elapsedSeconds: Double

    enum CodingKeys: String, CodingKey {
        case tool, version, status, input, format
        case inputBytes = "input_bytes"
        case inputCompressedBytes = "input_compressed_bytes"
        case recordsIn = "records_in"
        case recordsOut = "records_out"
        case recordsRejected = "records_rejected"
        case outputBytes = "output_bytes"
        case parts, rules
        case keyID = "key_id"
        case detectors, fields, threads, compression
        case startedAt = "started_at"
        case finishedAt = "finished_at"
        case elapsedSeconds = "elapsed_seconds"
    }

    public func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(self)) + [0x0A]
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
        return text
    }
}
