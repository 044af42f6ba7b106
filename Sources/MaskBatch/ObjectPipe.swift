#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import MaskCore
import MaskEngine
import MaskObjectStore
import MaskPipeline
import MaskRules

/// Pipe mode with one object as its input and/or an object prefix as its output
/// (`mask --input s3://b/day/users.csv.gz --output gs://b/masked/users/`).
///
/// The input object is streamed to a local work file first (one GET), then masked as a local
/// file would be.
/// An object output is committed as a local `--output` folder is, in the same order: the masked
/// parts are made in a local staging folder by the one atomic writer (`DirectorySink`), then an
/// earlier `_SUCCESS` is removed, the parts are uploaded, parts of an earlier run this one did
/// not write are removed, and `_manifest.json` then `_SUCCESS` go up last. A loader waiting for
/// `_SUCCESS` never sees a mix, and a killed run leaves no `_SUCCESS`.
public struct ObjectPipe {
    public let rules: CompiledRules
    public let hasher: KeyedHasher?
    public var options: JobOptions
    public let stores: ObjectStores
    /// Local folder for the downloaded input and the staged parts (default: `$TMPDIR`).
    public var workDirectory: String?

    public init(rules: CompiledRules, hasher: KeyedHasher?, options: JobOptions, stores: ObjectStoreOptions, workDirectory: String? = nil) {
        self.rules = rules
        self.hasher = hasher
        self.options = options
        self.stores = ObjectStores(options: stores)
        self.workDirectory = workDirectory
    }

    /// Whether pipe mode's `--input` or `--output` names an object store.
    public static func isObjectRun(input: String?, output: String?) -> Bool {
        [input, output].contains { $0.map(ObjectLocation.looksLikeObjectURL) ?? false }
    }

    public func run() throws -> JobResult {
        let inputLocation = try options.input.flatMap { text in try ObjectLocation.looksLikeObjectURL(text) ? Self.parse(text, what: "--input") : nil }
        let outputLocation = try options.outputDirectory.flatMap { text in try ObjectLocation.looksLikeObjectURL(text) ? Self.parse(text, what: "--output") : nil }
        if let input = inputLocation, input.prefix.isEmpty || input.prefix.hasSuffix("/") {
            throw JobFailure.usage("--input \(input): name one object (mask batch masks every object under a prefix)")
        }
        let work = try Self.makeWorkFolder(in: workDirectory)
        defer { try? FileManager.default.removeItem(atPath: work) }

        var job = options
        var source: (any ByteSource)?
        if let input = inputLocation {
            let client = try client(input.scheme)
            let local = "\(work)/input"
            do {
                // One GET, streamed to the work file: the object as it is now (no listing: the
                // key names exactly one object).
                try client.download(bucket: input.bucket, key: input.prefix, to: local, expected: nil)
            } catch let error as ObjectStoreError where error.isNotFound {
                throw JobFailure.io("\(input): no such object (\(error.description))")
            } catch let error as ObjectStoreError {
                throw JobFailure.io(error.description)
            }
            do { source = try InputSource(path: local, displayName: input.description) } catch let error as IOFailure { throw JobFailure.io(error.description) }
        }
        guard let output = outputLocation else {
            return try MaskJob(rules: rules, hasher: hasher, options: job).run(source: source)
        }

        // The output: staged locally, then committed to the prefix.
        let client = try client(output.scheme)
        let prefix = output.folderPrefix
        let existing: [StoredObject]
        do { existing = try client.listObjects(bucket: output.bucket, prefix: prefix, pageSize: nil) } catch let error as ObjectStoreError {
            throw JobFailure.io(error.description)
        }
        let names = Dictionary(existing.map { (String($0.key.dropFirst(prefix.count)), $0) }, uniquingKeysWith: { first, _ in first })
        let ours = names.keys.filter { $0 == "_SUCCESS" || $0 == "_manifest.json" || $0.hasPrefix("part-") }
        if !names.isEmpty && !options.overwrite {
            throw JobFailure.usage("--output \(output.scheme.rawValue)://\(output.bucket)/\(prefix) is not empty (\(names.count) objects); give --overwrite to replace a masked extract there")
        }
        if options.overwrite && names.keys.contains(where: { !ours.contains($0) }) {
            throw JobFailure.usage("--output \(output.scheme.rawValue)://\(output.bucket)/\(prefix) holds objects that are not a masked extract's; choose an empty prefix")
        }
        let report = job.reportPath
        if let report {
            do { try OutputFile.preflight(report, standardOutputDash: true, createdFolder: nil) } catch { throw JobFailure.io("--report: \(error)") }
        }
        job.reportPath = nil
        job.outputDirectory = "\(work)/out"
        job.overwrite = false
        let result = try MaskJob(rules: rules, hasher: hasher, options: job).run(source: source)

        let staged = "\(work)/out"
        let preconditions = client.supportsPreconditions
        func expected(_ name: String) -> WritePrecondition {
            guard preconditions else { return .none }
            return names[name]?.generation.map(WritePrecondition.generation) ?? .absent
        }
        do {
            if names["_SUCCESS"] != nil { try client.remove(bucket: output.bucket, key: prefix + "_SUCCESS", precondition: expected("_SUCCESS")) }
            let parts = result.manifest.parts.map(\.file)
            for part in result.manifest.parts {
                try client.upload(
                    bucket: output.bucket, key: prefix + part.file, file: "\(staged)/\(part.file)", sha256: part.sha256,
                    contentType: part.file.hasSuffix(".gz") ? "application/gzip" : "application/octet-stream", precondition: expected(part.file))
                FaultPoint.reach("pipe.part-uploaded")
            }
            for stale in ours where stale.hasPrefix("part-") && !parts.contains(stale) {
                try client.remove(bucket: output.bucket, key: prefix + stale, precondition: expected(stale))
            }
            let manifest = try Data(contentsOf: URL(fileURLWithPath: "\(staged)/_manifest.json"))
            try client.write(bucket: output.bucket, key: prefix + "_manifest.json", data: manifest, contentType: "application/json", precondition: expected("_manifest.json"))
            if options.writeSuccessMarker {
                try client.write(bucket: output.bucket, key: prefix + "_SUCCESS", data: Data(), contentType: "application/octet-stream", precondition: preconditions ? .absent : .none)
            }
        } catch let error as ObjectStoreError {
            throw JobFailure.io("\(error.description) (the output is not committed: no _SUCCESS)")
        }
        if let report {
            do { try OutputFile.write(try result.manifest.encoded(), to: report, standardOutputDash: true, sweepStale: true) } catch {
                options.log("warning: the output is committed, but the report could not be written: \(error)")
            }
        }
        return result
    }

    private func client(_ scheme: ObjectLocation.Scheme) throws -> any ObjectStoreClient {
        do { return try stores.client(for: scheme) } catch let error as ObjectStoreError { throw JobFailure.usage(error.description) }
    }

    /// Downloads the one object `url` names into a new work folder (a sample for `rules suggest`).
    /// - Returns: the local file, and the folder the caller removes when done.
    public static func download(_ url: String, stores options: ObjectStoreOptions, workDirectory: String?) throws -> (file: String, folder: String) {
        let location = try parse(url, what: "--input")
        if location.prefix.isEmpty || location.prefix.hasSuffix("/") {
            throw JobFailure.usage("--input \(location): name one object")
        }
        let client: any ObjectStoreClient
        do { client = try ObjectStores(options: options).client(for: location.scheme) } catch let error as ObjectStoreError {
            throw JobFailure.usage(error.description)
        }
        let folder = try makeWorkFolder(in: workDirectory)
        let file = "\(folder)/input"
        do {
            try client.download(bucket: location.bucket, key: location.prefix, to: file, expected: nil)
        } catch let error as ObjectStoreError {
            try? FileManager.default.removeItem(atPath: folder)
            throw JobFailure.io(error.isNotFound ? "\(location): no such object (\(error.description))" : error.description)
        }
        return (file, folder)
    }

    static func parse(_ text: String, what: String) throws -> ObjectLocation {
        guard let location = ObjectLocation.parse(text) else { throw JobFailure.usage("\(what) '\(text)' is not a \(text.prefix { $0 != ":" })://bucket/key URL") }
        return location
    }

    static func makeWorkFolder(in base: String?) throws -> String {
        let base = base ?? FileManager.default.temporaryDirectory.path
        do { try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true) } catch {
            throw JobFailure.io("cannot create work folder \(base): \(error.localizedDescription)")
        }
        var template = Array("\(base)/mask-pipe-XXXXXX".utf8CString)
        guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else {
            throw JobFailure.io("cannot create a work folder in \(base): \(LocalPaths.errorText())")
        }
        return String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
