import Foundation

/// How every JSON document `mask` writes is spelled: manifests, reports, summaries, journals,
/// bench reports. Keys are snake_case (declared by each type's `CodingKeys`, not by an encoder
/// strategy, which would also rewrite the keys of maps such as labels); output is sorted,
/// indented and ends with a newline, so two runs can be diffed. Each document carries a
/// `schema_version`, and its JSON Schema is in `schemas/`.
public enum ReportJSON {
    /// The version of the documents' shape; raised when a key is renamed or removed.
    public static let schemaVersion = 1

    public static func encode<Value: Encodable>(_ value: Value) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(value)) + [0x0A]
    }

    /// The same on one line (sorted keys, no newline): a result stored in a ledger row.
    public static func line<Value: Encodable>(_ value: Value) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    public static func decode<Value: Decodable>(_ type: Value.Type, from data: Data) throws -> Value {
        try JSONDecoder().decode(type, from: data)
    }
}
