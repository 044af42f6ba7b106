import MaskPipeline
import MaskPostgres

extension JobFailure {
    /// A ledger error: an unparsable URL is the user's to fix (exit 2), anything else (refused,
    /// authentication, connection lost) is I/O (exit 3).
    public static func ledger(_ error: PostgresError) -> JobFailure {
        error.kind == .badURL ? .usage("ledger: \(error)") : .io("ledger: \(error)")
    }
}
