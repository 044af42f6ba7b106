import Foundation
import MaskPipeline
import MaskPostgres

/// Where and under which id and labels a run is recorded (`--ledger`, `--run-id`, `--label`).
public struct LedgerSettings: Sendable {
    public var url: String
    public var runID: String?
    public var labels: [String: String]

    public init(url: String, runID: String?, labels: [String: String]) {
        self.url = url
        self.runID = runID
        self.labels = labels
    }
}

/// The ledger lifecycle of one run, written once for every command that records runs: the start
/// before any data is read, then one end (succeeded with its counts, or failed with its error),
/// and the files or tables in between. A ledger failure at the end is reported through `log` but
/// never hides the run's own outcome.
public final class RunRecorder {
    public let ledger: RunLedger
    public let runID: String
    private let log: (String) -> Void

    /// Opens the ledger and records the start; `nil` without settings.
    public static func start(
        _ settings: LedgerSettings?, command: String, rulesFingerprint: String, keyID: String?, log: @escaping (String) -> Void
    ) throws -> RunRecorder? {
        guard let settings else { return nil }
        let id = settings.runID ?? UUID().uuidString.lowercased()
        do {
            let opened = try RunLedger(url: settings.url)
            try opened.startRun(.init(runID: id, command: command, labels: settings.labels, rulesFingerprint: rulesFingerprint, keyID: keyID))
            return RunRecorder(ledger: opened, runID: id, log: log)
        } catch let error as PostgresError {
            throw JobFailure.ledger(error)
        }
    }

    private init(ledger: RunLedger, runID: String, log: @escaping (String) -> Void) {
        self.ledger = ledger
        self.runID = runID
        self.log = log
    }

    /// Runs `body`; a failure is recorded as the run's end and rethrown.
    public func run<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch {
            finish(.init(status: "failed", recordsIn: 0, recordsOut: 0, bytesIn: 0, bytesOut: 0, detectorCounts: [:], error: "\(error)"))
            throw error
        }
    }

    public func record(_ item: RunLedger.Item) {
        do { try ledger.recordItem(runID, item) } catch { log("warning: ledger: could not record \(item.item) of run \(runID): \(error)") }
    }

    public func finish(_ end: RunLedger.RunEnd) {
        do { try ledger.finishRun(runID, end) } catch { log("error: ledger: could not record the end of run \(runID): \(error)") }
    }

    /// A pipe-mode run, recorded from its manifest: one item (the input) and the run's counts.
    public static func recordPipeRun(
        _ settings: LedgerSettings?, command: String, rules: (fingerprint: String, keyID: String?), output: String?,
        log: @escaping (String) -> Void, _ body: () throws -> JobResult
    ) throws -> JobResult {
        guard let recorder = try start(settings, command: command, rulesFingerprint: rules.fingerprint, keyID: rules.keyID, log: log) else {
            return try body()
        }
        let result = try recorder.run(body)
        let manifest = result.manifest
        recorder.record(.init(item: manifest.input, inputIdentity: nil, output: output ?? "<stdout>", records: manifest.recordsOut,
                              bytesOut: manifest.outputBytes, status: "succeeded", error: nil))
        recorder.finish(.init(
            status: "succeeded", recordsIn: manifest.recordsIn, recordsOut: manifest.recordsOut, bytesIn: manifest.inputBytes,
            bytesOut: manifest.outputBytes, detectorCounts: Dictionary(manifest.detectors.map { ($0.id, $0.matches) }, uniquingKeysWith: +),
            error: nil))
        return result
    }
}
