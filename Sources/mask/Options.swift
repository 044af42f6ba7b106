import ArgumentParser
import MaskCore
import MaskEngine
import MaskObjectStore
import MaskPipeline
import MaskRules

// The options more than one command takes, each declared and validated once. A command lists
// the groups it needs (`@OptionGroup`), and each group writes itself into the job description
// (`apply(to:)`), so "where is --threads parsed" has one answer: here.

/// `--rules FILE`, and the HMAC key the rules name: loaded the same way by every command.
struct RulesOption: ParsableArguments {
    @Option(name: .long, help: "Rules file (YAML).")
    var rules: String

    @Flag(name: .long, help: "An exact field name in the rules may be missing from a CSV input (by default that input fails: a renamed column would otherwise pass under the default policy).")
    var allowMissingFields = false

    /// The validated rules, and the key when they hash (from the environment or a file, never
    /// from the rules file).
    func load() throws -> (rules: CompiledRules, hasher: KeyedHasher?) {
        try loadRules(at: rules)
    }
}

/// Loads a rules file and, when it hashes, its key.
func loadRules(at path: String) throws -> (rules: CompiledRules, hasher: KeyedHasher?) {
    let compiled = try RulesLoader.load(path: path)
    return (compiled, compiled.usesHash ? try KeyedHasher.load(settings: compiled.hash) : nil)
}

/// `--format`, `--delimiter`, `--no-header`, and the database text formats' `--null-string`,
/// `--enclosed-by`, `--escaped-by`: how input bytes are read as records.
struct InputFormatOptions: ParsableArguments {
    @Option(name: .long, help: "Input format: csv, jsonl, pgtext (PostgreSQL COPY text) or mysql (INTO OUTFILE, mariadb --batch) (default: from the input's extension, else csv).")
    var format: String?

    @Option(name: .long, help: "Field delimiter: ',', '\\t' (or 'tab'), '|' or ';' (default: tab for .tsv, pgtext and mysql, '|' for .psv, else ',').")
    var delimiter: String?

    @Flag(name: .long, help: "No header row: rules name columns by number (1, 2, ...).")
    var noHeader = false

    @Option(name: .long, help: "pgtext, mysql: a further spelling of NULL besides \\N (e.g. NULL for mariadb --batch).")
    var nullString: String?

    @Option(name: .long, help: "mysql: FIELDS ENCLOSED BY character of the export (only '\"').")
    var enclosedBy: String?

    @Option(name: .long, help: "mysql: FIELDS ESCAPED BY character of the export: '\\' (default) or '\"' (Cloud SQL, needs --enclosed-by '\"').")
    var escapedBy: String?

    func validate() throws {
        if let format, InputFormat(rawValue: format) == nil { throw ValidationError("--format must be csv, jsonl, pgtext or mysql") }
        _ = try parsedDelimiter()
        let text = chosenFormat == .pgtext || chosenFormat == .mysql
        if nullString != nil && !text { throw ValidationError("--null-string needs --format pgtext or mysql (in CSV an unquoted empty field is NULL)") }
        if nullString == "" { throw ValidationError("--null-string must not be empty: an empty field is the empty string in pgtext and mysql") }
        if (enclosedBy != nil || escapedBy != nil) && chosenFormat != .mysql { throw ValidationError("--enclosed-by and --escaped-by need --format mysql") }
        if let enclosedBy, enclosedBy != "\"" { throw ValidationError("--enclosed-by must be '\"'") }
        if let escapedBy {
            guard escapedBy == "\\" || escapedBy == "\"" else { throw ValidationError("--escaped-by must be '\\' or '\"'") }
            if escapedBy == "\"" && enclosedBy == nil { throw ValidationError("--escaped-by '\"' needs --enclosed-by '\"'") }
        }
    }

    /// NULL spelling and quoting of the database text formats.
    func textOptions() throws -> TextExportOptions {
        TextExportOptions(
            nullString: nullString.map { Array($0.utf8) }, enclose: enclosedBy.map { _ in EscapedTextDialect.quote },
            escape: escapedBy == "\"" ? EscapedTextDialect.quote : EscapedTextDialect.backslash)
    }

    /// The chosen format, or `nil` to decide by each input's name.
    var chosenFormat: InputFormat? { format.flatMap(InputFormat.init(rawValue:)) }

    /// The format for one input: `--format`, else its extension, else CSV.
    func format(for path: String?) -> InputFormat {
        chosenFormat ?? path.flatMap(InputFormat.guess(fromPath:)) ?? .csv
    }

    func parsedDelimiter() throws -> UInt8? {
        guard let delimiter else { return nil }
        switch delimiter {
        case ",": return UInt8(ascii: ",")
        case "\\t", "\t", "tab", "TAB": return 0x09
        case "|": return UInt8(ascii: "|")
        case ";": return UInt8(ascii: ";")
        default: throw ValidationError("--delimiter must be ',', '\\t', '|' or ';'")
        }
    }

    /// The dialect of one input: `--delimiter`, else by its format and extension (`.tsv` tab,
    /// `.psv` `|`, pgtext and mysql tab).
    func dialect(for path: String?) throws -> CSVDialect {
        CSVDialect(delimiter: try parsedDelimiter() ?? InputFormat.delimiter(for: format(for: path), path: path ?? ""), hasHeader: !noHeader)
    }
}

/// `--threads`, `--chunk-size`, `--max-record-size`: how the work is cut and spread.
struct ParallelOptions: ParsableArguments {
    @Option(name: .long, help: "Worker threads (default: all cores).")
    var threads: Int?

    @Option(name: .long, help: "Target chunk size (bytes; K, M suffixes).")
    var chunkSize: String = "2M"

    @Option(name: .long, help: "Largest record accepted (bytes; K, M suffixes).")
    var maxRecordSize: String = "16M"

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        try ByteSize.validate([("--chunk-size", chunkSize), ("--max-record-size", maxRecordSize)])
    }

    func apply(to options: inout JobOptions) {
        if let threads { options.threads = threads }
        options.chunkSize = ByteSize.parse(chunkSize)!
        options.maxRecordSize = ByteSize.parse(maxRecordSize)!
    }
}

/// `--level`, `--max-part-size`: how staged parts are written.
struct PartOptions: ParsableArguments {
    @Option(name: .long, help: "Compression level, 1 (fastest) to 9 (default: 6 for gzip, 3 for zstd). gzip 1-3 are ISA-L's, 4-9 libdeflate's at gzip's ratio for the level (6 is libdeflate 5).")
    var level: Int?

    @Option(name: .long, help: "Start a new part when one reaches this size (bytes; K, M, G suffixes).")
    var maxPartSize: String = "256M"

    @Option(name: .long, help: ArgumentHelp(
        "gzip framing: single (one member per part, read whole by every reader) or per-chunk (one member per chunk; faster at levels 4-9).",
        valueName: "single|per-chunk"))
    var gzipMembers: String = GzipMembers.single.rawValue

    func validate() throws {
        if let level { try Self.validate(level: level) }
        guard GzipMembers(rawValue: gzipMembers) != nil else { throw ValidationError("--gzip-members must be single or per-chunk") }
        try ByteSize.validate([("--max-part-size", maxPartSize)])
    }

    /// The one check of a compression level (`mask bench --level` too).
    static func validate(level: Int) throws {
        guard (1...9).contains(level) else { throw ValidationError("--level must be 1...9") }
    }

    /// After `options.codec` is set: a level not given is the codec's default.
    func apply(to options: inout JobOptions) {
        options.level = level ?? options.codec.defaultLevel
        options.gzipMembers = GzipMembers(rawValue: gzipMembers)!
        options.maxPartSize = ByteSize.parse(maxPartSize)!
    }
}

/// Sizes on the command line: `123`, `64K`, `2M`, `1G` (binary multiples).
enum ByteSize {
    /// Checks size options in `validate()`: each must parse and be positive.
    static func validate(_ options: [(name: String, value: String)]) throws {
        for (name, value) in options {
            guard let size = parse(value), size > 0 else { throw ValidationError("\(name): '\(value)' is not a size") }
        }
    }

    static func parse(_ text: String) -> Int? {
        let upper = text.uppercased()
        let multipliers: [Character: Int] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30]
        if let last = upper.last, let multiplier = multipliers[last] {
            return Int(upper.dropLast()).map { $0 * multiplier }
        }
        return Int(upper)
    }
}

/// Durations on the command line: `60s`, `2m`, `1h`, `1500ms`, or plain seconds.
enum DurationOption {
    static func seconds(_ text: String) -> Double? {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            guard let value = Double(text.dropLast(suffix.count)), value.isFinite, value >= 0 else { return nil }
            return value * scale
        }
        guard let value = Double(text), value.isFinite, value >= 0 else { return nil }
        return value
    }
}

/// Where `s3://` and `gs://` are reached and how objects go up: shared by `mask batch` and pipe
/// mode (credentials come from the environment, never from flags).
struct ObjectStoreFlags: ParsableArguments {
    @Option(name: .long, help: "S3 endpoint URL (default: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, else AWS for the region).")
    var endpoint: String?

    @Option(name: .long, help: "Google Cloud Storage endpoint URL (default: STORAGE_EMULATOR_HOST, else https://storage.googleapis.com).")
    var gcsEndpoint: String?

    @Option(name: .long, help: "S3 region for signing (default: AWS_REGION, AWS_DEFAULT_REGION, else us-east-1).")
    var region: String?

    @Flag(name: .long, help: "Virtual-hosted S3 addressing (bucket.host) instead of path-style (host/bucket).")
    var virtualHost = false

    @Option(name: .long, help: "Upload outputs at least this large in parts (S3 multipart upload) or chunks (GCS resumable upload).")
    var multipartThreshold: String = "64M"

    @Option(name: .long, help: "Part size of a multipart upload (S3 needs at least 5M), chunk size of a resumable one (GCS: a multiple of 256K).")
    var partSize: String = "16M"

    @Option(name: .long, help: "Attempts per object-store request on network errors, 5xx and throttling (exponential backoff with jitter).")
    var retries: Int = 5

    @Option(name: .long, help: "Local folder for temporary files when --input or --output is in object storage (default: $TMPDIR).")
    var workDir: String?

    func validate() throws {
        guard retries >= 1 else { throw ValidationError("--retries must be at least 1") }
        try ByteSize.validate([("--multipart-threshold", multipartThreshold), ("--part-size", partSize)])
    }

    /// These settings for the library, with `log` for retries and credential refreshes.
    func options(log: @escaping @Sendable (String) -> Void) -> ObjectStoreOptions {
        var options = ObjectStoreOptions()
        options.endpoint = endpoint
        options.gcsEndpoint = gcsEndpoint
        options.region = region
        options.addressing = virtualHost ? .virtual : .path
        options.multipartThreshold = ByteSize.parse(multipartThreshold)!
        options.partSize = ByteSize.parse(partSize)!
        options.maxAttempts = retries
        options.log = log
        return options
    }
}
