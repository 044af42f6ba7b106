/// What kind of failure ended a run, which decides its exit code (mapped once, in the CLI's
/// `ExitStatus`): orchestrators retry I/O and store failures, and never retry usage errors.
public enum FailureCategory: Sendable {
    /// The input itself is malformed (exit 1).
    case data
    /// The masked output still holds what the verify rules detect (exit 1).
    case verification
    /// A command line, rules file, key or setting to fix before running again (exit 2).
    case usage
    /// A local file, pipe, database or connection failed (exit 3).
    case io
    /// Object storage refused or failed a request (exit 3).
    case store
}

/// Every error `mask` raises on purpose: a category for the exit code, and a message for the user
/// that names where it happened and never holds record bytes or secrets.
public protocol CategorizedFailure: Error, CustomStringConvertible {
    var category: FailureCategory { get }
    /// What the user reads after `mask: error: ` (by default the description).
    var message: String { get }
}

extension CategorizedFailure {
    public var message: String { description }
}

/// An I/O failure (exit code 3): a file that cannot be opened, read or written.
public struct IOFailure: CategorizedFailure, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
    public var category: FailureCategory { .io }
}

/// A usage problem found while running (exit code 2).
public struct UsageFailure: CategorizedFailure, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
    public var category: FailureCategory { .usage }
}

/// The reader of a closed pipe went away (`mask … | head`): end quietly.
public struct BrokenPipe: Error, Sendable {
    public init() {}
}

extension DataError: CategorizedFailure {
    public var category: FailureCategory { .data }
}
