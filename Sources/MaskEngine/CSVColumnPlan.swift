import MaskCore
import MaskRules

/// A rule that names a column the input does not have (exit code 2).
public struct PlanError: Error, Sendable, CustomStringConvertible {
    public var description: String
}

/// The rules resolved against one CSV header: a policy per column, by position.
public struct CSVColumnPlan: Sendable {
    public var names: [String]
    public var policies: [FieldPolicy]
    /// Per column: which rule gave the policy (index in `CompiledRules.fields`) and how.
    public var resolutions: [FieldResolution]
    /// Per column: the rules for the JSON it holds, where a rule names a path inside it
    /// (`_airbyte_data.email`; see `CompiledRules.rulesInside(column:columnPolicy:)`).
    public var rulesInside: [CompiledRules?]
    public var expectedFieldCount: Int { names.count }
    /// No column is changed or dropped: records can be copied without parsing fields further.
    public var isPassThrough: Bool { policies.allSatisfy { $0 == .keep } && rulesInside.allSatisfy { $0 == nil } }

    /// - Parameters:
    ///   - names: header names, or "1", "2", … with `--no-header`.
    ///   - requireExactFields: an exact field name that is not a column is an error (a typo would
    ///     otherwise leave a column unmasked); off for multi-table extracts, where one rules file
    ///     serves tables with different columns.
    /// - Throws: `PlanError` when an exact field rule names no column, or every column is dropped.
    public init(names: [String], rules: CompiledRules, requireExactFields: Bool = true) throws {
        var missing: [String] = []
        for rule in rules.fields where requireExactFields {
            if case .exact(let name) = rule.selector, !names.contains(name),
                !names.contains(where: { CompiledRules.isPath(name, inside: $0) })
            {
                missing.append("\(rules.path):\(rule.line): unknown column '\(name)' (the input has: \(names.joined(separator: ", ")))")
            }
        }
        if !missing.isEmpty { throw PlanError(description: missing.joined(separator: "\n")) }
        self.names = names
        resolutions = names.map { rules.resolve(field: $0) }
        policies = resolutions.map(\.policy)
        // A whole-column drop or null wins over the rules inside: nothing of the column is left.
        rulesInside = zip(names, policies).map { name, policy in
            policy == .drop || policy == .null ? nil : rules.rulesInside(column: name, columnPolicy: policy)
        }
        // A column whose paths are named is reviewed; what no rule names inside it fails its
        // record under `default: error`, as in JSONL.
        let unreviewed = names.indices.filter { policies[$0] == .error && rulesInside[$0] == nil }.map { names[$0] }
        if !unreviewed.isEmpty {
            throw PlanError(description: Self.unreviewedMessage(unreviewed, rules: rules))
        }
        if !policies.isEmpty && policies.allSatisfy({ $0 == .drop }) {
            throw PlanError(description: "\(rules.path): every column is dropped")
        }
    }

    /// `default: error` met columns no rule names: all of them, and the YAML that names them, to
    /// paste under `fields:` once each has been given the policy it needs.
    static func unreviewedMessage(_ columns: [String], rules: CompiledRules) -> String {
        let listed = columns.map(DisplayName.of).joined(separator: ", ")
        var text = "\(rules.path): default: error, and no rule names \(columns.count) column\(columns.count == 1 ? "" : "s") of the input: \(listed)\n"
        text += "review each and add it under fields: (scan masks what the detectors find; keep, hash, redact, mask or null are the others):\n"
        text += columns.map { "  \(YAMLName.quoted($0)): scan" }.joined(separator: "\n")
        return text
    }

    /// The header record with dropped columns removed; kept names are copied byte for byte.
    public func maskedHeader(_ header: UnsafeRawBufferPointer, record: CSVRecordSpan, fields: [CSVField], delimiter: UInt8) -> [UInt8] {
        var output: [UInt8] = []
        var first = true
        for (index, field) in fields.enumerated() where index >= policies.count || policies[index] != .drop {
            if !first { output.append(delimiter) }
            output.append(contentsOf: UnsafeRawBufferPointer(rebasing: header[field.rawStart..<field.rawEnd]))
            first = false
        }
        output.append(contentsOf: UnsafeRawBufferPointer(rebasing: header[record.contentEnd..<record.end]))
        return output
    }
}

/// Field names written as YAML keys in messages and generated rules.
public enum YAMLName {
    /// A double-quoted YAML scalar: `"` and `\` escaped; control characters, line separators and
    /// bidirectional controls as `\uXXXX` (YAML reads them back; a terminal shows them inert).
    public static func quoted(_ name: String) -> String {
        var text = "\""
        for scalar in name.unicodeScalars {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            default:
                let value = scalar.value
                if value < 0x20 || (0x7F...0x9F).contains(value) || value == 0x2028 || value == 0x2029 || value == 0x200E
                    || value == 0x200F || (0x202A...0x202E).contains(value) || (0x2066...0x2069).contains(value)
                {
                    let hex = String(value, radix: 16, uppercase: true)
                    text += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    text.unicodeScalars.append(scalar)
                }
            }
        }
        return text + "\""
    }
}

extension CSVColumnPlan {
    /// Each column's policy program, built once per run. A column holding JSON with rules for
    /// paths inside it gets the byte-faithful JSON masker of those rules (its records are the
    /// cells, decoded from the dialect's quoting or escapes first and encoded back after).
    func programs(values: ValueMasker, maxRecordSize: Int) -> [PolicyProgram] {
        zip(resolutions, rulesInside).map { resolution, inside in
            let cell = inside.map {
                JSONLChunkMasker(values: ValueMasker(rules: $0, hasher: values.hasher), maxRecordSize: maxRecordSize, collectRejects: false)
            }
            return PolicyProgram(resolution.policy, matchedBy: resolution.matchedBy, detectors: values.rules.detectors, cell: cell)
        }
    }
}
