import MaskPipeline
import MaskPostgres

extension JobFailure {
    /// A ledger error: an unparsable URL is the user's to fix (exit 2), anything else (refused,
    /// authentication, connection lost) is I/O (exit 3).
    public static func ledger(_ error: PostgresError) -> JobFailure {
        error.kind == .badURL ? .usage("ledger: \(error)") : .io("ledger: \(error)")
    }
}

extension RunLedger {
    /// Opens the ledger at `url` and runs `body` on it, its PostgreSQL errors reported as ledger
    /// failures (so callers above need not know the database adapter).
    public static func using<Result>(_ url: String, _ body: (RunLedger) throws -> Result) throws -> Result {
        do {
            return try body(try RunLedger(url: url))
        } catch let error as PostgresError {
            throw JobFailure.ledger(error)
        }
    }
}
