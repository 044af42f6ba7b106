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
    public var expectedFieldCount: Int { names.count }
    /// No column is changed or dropped: records can be copied without parsing fields further.
    public var isPassThrough: Bool { policies.allSatisfy { $0 == .keep } }

    /// - Parameters:
    ///   - names: header names, or "1", "2", … with `--no-header`.
    ///   - requireExactFields: an exact field name that is not a column is an error (a typo would
    ///     otherwise leave a column unmasked); off for multi-table extracts, where one rules file
    ///     serves tables with different columns.
    /// - Throws: `PlanError` when an exact field rule names no column, or every column is dropped.
    public init(names: [String], rules: CompiledRules, requireExactFields: Bool = true) throws {
        var missing: [String] = []
        for rule in rules.fields where requireExactFields {
            if case .exact(let name) = rule.selector, !names.contains(name) {
                missing.append("\(rules.path):\(rule.line): unknown column '\(name)' (the input has: \(names.joined(separator: ", ")))")
            }
        }
        if !missing.isEmpty { throw PlanError(description: missing.joined(separator: "\n")) }
        self.names = names
        resolutions = names.map { rules.resolve(field: $0) }
        policies = resolutions.map(\.policy)
        if !policies.isEmpty && policies.allSatisfy({ $0 == .drop }) {
            throw PlanError(description: "\(rules.path): every column is dropped")
        }
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
