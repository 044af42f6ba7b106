#if canImport(Glibc)
import Glibc
#endif
import Foundation
import MaskCore
import MaskObjectStore

/// Everything `mask batch` needs besides the rules and the key.
public struct BatchOptions: Sendable {
    public var input: String
    public var output: String
    /// Forces the format of every input; by default it follows each file's extension.
    public var format: InputFormat?
    /// Forces the CSV delimiter; by default `.tsv` files use tab, `.psv` `|`, others `,`.
    public var delimiter: UInt8?
    public var hasHeader = true
    /// NULL spelling and quoting of `pgtext` and `mysql` inputs.
    public var text = TextExportOptions()
    public var include: [String] = []
    public var exclude: [String] = []
    /// Worker threads in all, split across the files in flight.
    public var threads = max(1, ProcessInfo.processInfo.activeProcessorCount)
    public var parallelFiles = 2
    public var level = 6
    public var gzipMembers = GzipMembers.single
    public var chunkSize = 2 << 20
    public var maxRecordSize = 16 << 20
    public var maxPartSize = 256 << 20
    public var force = false
    public var failFast = false
    /// An exact field name in the rules may be missing from a CSV input (`--allow-missing-fields`);
    /// by default such a file fails alone, as in pipe mode: a renamed join key would otherwise
    /// pass under the default policy (tokens instead of hashes).
    public var allowMissingFields = false
    /// Local input: follow symbolic links that lead out of the input folder (`--follow-symlinks`).
    public var followSymlinks = false
    /// Any entry under the input that is not masked (see `SkippedEntry`) fails the run before
    /// anything is written (`--fail-on-skipped`).
    public var failOnSkipped = false
    /// Any file or object in a format mask does not read (`.parquet`, `.avro`, ...) fails the
    /// run before anything is written (`--fail-on-unsupported`); other skipped entries do not.
    public var failOnUnsupported = false
    public var reportPath: String?
    public var showProgress = false
    /// One line per file on stderr.
    public var listFiles = true
    public var log: @Sendable (String) -> Void = { _ in }
    // Object storage.
    public var endpoint: String?
    public var gcsEndpoint: String?
    public var region: String?
    public var addressing: S3Configuration.Addressing = .path
    public var pageSize: Int?
    public var multipartThreshold: Int?
    public var partSize: Int?
    public var maxAttempts: Int?
    /// Local folder for temporary files when the output is in object storage.
    public var workDirectory: String?
    public var environment: [String: String] = ProcessInfo.processInfo.environment
    /// Share the run with other workers through a PostgreSQL ledger (`--ledger`).
    public var shared: SharedRun?
    /// Mask only this share of the listing (`--shard K/N`); the run manifest and `_SUCCESS` are
    /// left to `--finalize`.
    public var shard: BatchShard?
    /// Mask nothing (`--finalize`): check that every input has its current committed manifest
    /// and outputs, and only then write the run manifest and `_SUCCESS`; the inputs that have none
    /// fail (exit 1) and nothing is written.
    public var finalizeOnly = false

    public init(input: String, output: String) {
        self.input = input
        self.output = output
    }

    /// The object-store settings among these options.
    var storeOptions: ObjectStoreOptions {
        var store = ObjectStoreOptions(environment: environment)
        store.endpoint = endpoint
        store.gcsEndpoint = gcsEndpoint
        store.region = region
        store.addressing = addressing
        store.multipartThreshold = multipartThreshold
        store.partSize = partSize
        store.maxAttempts = maxAttempts
        store.log = log
        return store
    }
}

/// How a worker joins a run that many workers share through the ledger.
public struct SharedRun: Sendable {
    public var ledgerURL: String
    public var runID: String
    /// Stored with each claim; the default names the host and process.
    public var worker: String
    /// Seconds a claim lasts unless renewed (renewed every third of it).
    public var lease: Double
    public var labels: [String: String]

    public init(ledgerURL: String, runID: String, worker: String?, lease: Double, labels: [String: String]) {
        self.ledgerURL = ledgerURL
        self.runID = runID
        self.worker = worker ?? "\(ProcessInfo.processInfo.hostName):\(getpid())"
        self.lease = lease
        self.labels = labels
    }
}
