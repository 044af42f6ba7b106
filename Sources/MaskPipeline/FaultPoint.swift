#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Fault injection for the commit protocols: `MASK_FAULT_POINT=<name>` makes the process kill
/// itself with SIGKILL the first time it reaches the named step, exactly as `kill -9`, the OOM
/// killer or a lost node would stop it there. The crash-safety tests run every step this way and
/// check that a rerun finishes the job; without them "a kill at any point is safe" is a claim.
///
/// The variable is read once; unset, `reach` is one load and one comparison with nil.
///
/// The steps, in order (README, "Crash safety"):
/// - pipe `--output DIR`: `pipe.masking` (a first chunk written into a hidden part),
///   `pipe.parts-written`, `pipe.journal-written`, `pipe.old-output-removed`, `pipe.part-renamed`
///   (the first of several), `pipe.parts-renamed`, `pipe.manifest-written`, `pipe.success-written`; with an object
///   `--output`, `pipe.part-uploaded` (each part, before the manifest and `_SUCCESS` go up);
/// - `mask batch`: `batch.staged`, `batch.output-renamed`, `batch.file-committed`,
///   `batch.run-manifest-written`, `batch.success-written`;
/// - `mask extract`: `extract.tables-staged`, `extract.journal-written`, `extract.table-moved`,
///   `extract.tables-moved`, `extract.summary-written`, `extract.success-written`.
public enum FaultPoint {
    private static let armed: String? = getenv("MASK_FAULT_POINT").map { String(cString: $0) }

    /// Dies here, by SIGKILL, if this is the step named in `MASK_FAULT_POINT`.
    @inline(__always)
    public static func reach(_ name: String) {
        guard let armed, armed == name else { return }
        kill(getpid(), SIGKILL)
    }
}
