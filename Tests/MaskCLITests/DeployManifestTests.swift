import Foundation
import MaskTestSupport
import Testing
import Yams

/// Keeps the example deployment files in `deploy/` valid: every YAML file parses, the Kubernetes Job
/// and the Argo Workflow have the shape `deploy/README.md` describes, secrets only come from Secrets,
/// and every flag of every `mask` command line in them is accepted by the real binary.
@Suite struct DeployManifestTests {
    let directory = TemporaryDirectory()

    static let deployRoot = "\(MaskBinary.repositoryRoot)/deploy"

    /// Environment variables that carry secrets: never a literal `value`, always a `secretKeyRef`.
    static let secretVariables: Set<String> = ["MASK_HMAC_KEY", "PGPASSWORD", "AWS_SECRET_ACCESS_KEY"]

    // MARK: - Loading

    /// One YAML file of deploy/ and its documents (mappings; empty documents are left out).
    struct Manifest {
        var path: String
        var documents: [[String: Any]]

        func documents(kind: String) -> [[String: Any]] {
            documents.filter { $0["kind"] as? String == kind }
        }
    }

    /// Paths (relative to deploy/) of every file under deploy/.
    static func deployFiles() throws -> [String] {
        try FileManager.default.subpathsOfDirectory(atPath: deployRoot).filter { relative in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: "\(deployRoot)/\(relative)", isDirectory: &isDirectory) && !isDirectory.boolValue
        }.sorted()
    }

    /// Every deploy/**/*.yaml (and .yml) file, parsed with Yams.
    ///
    /// `Yams.load_all(yaml:)` returns a `YamlSequence<Any>`: each element is one document (a mapping
    /// comes out as `[AnyHashable: Any]`, cast here to `[String: Any]`; a sequence as `[Any]`; an empty
    /// document as `NSNull`). A parse error in a later document ends the iteration and is left in the
    /// sequence's `error`, so it is checked after the loop.
    static func manifests() throws -> [Manifest] {
        var manifests: [Manifest] = []
        for relative in try deployFiles() where relative.hasSuffix(".yaml") || relative.hasSuffix(".yml") {
            let text = try String(contentsOfFile: "\(deployRoot)/\(relative)", encoding: .utf8)
            var sequence = try Yams.load_all(yaml: text)
            var documents: [[String: Any]] = []
            while let document = sequence.next() {
                if document is NSNull { continue }
                guard let mapping = document as? [String: Any] else {
                    throw ManifestError(path: relative, message: "a document is not a mapping: \(type(of: document))")
                }
                documents.append(mapping)
            }
            if let error = sequence.error {
                throw ManifestError(path: relative, message: "YAML error: \(error)")
            }
            manifests.append(Manifest(path: relative, documents: documents))
        }
        return manifests
    }

    struct ManifestError: Error, CustomStringConvertible {
        var path: String
        var message: String
        var description: String { "deploy/\(path): \(message)" }
    }

    // MARK: - Walking the documents

    static func mapping(_ value: Any?) -> [String: Any]? { value as? [String: Any] }

    static func list(_ value: Any?) -> [Any] { value as? [Any] ?? [] }

    /// A YAML sequence of scalars as strings (`2` and `"2"` alike).
    static func strings(_ value: Any?) -> [String] { list(value).map { "\($0)" } }

    /// `value` at a path of mapping keys, e.g. `["spec", "template", "spec"]`.
    static func at(_ value: Any?, _ path: [String]) -> Any? {
        var current = value
        for key in path { current = mapping(current)?[key] }
        return current
    }

    static func string(_ value: Any?) -> String? { value as? String }

    static func int(_ value: Any?) -> Int? {
        if let number = value as? Int { return number }
        if let text = value as? String { return Int(text) }
        return nil
    }

    /// Every container spec in a document: items of `containers` / `initContainers` lists (Pods, Jobs,
    /// Argo container sets) and `container` / `script` mappings (Argo templates), at any depth.
    static func containers(in value: Any, key: String? = nil) -> [[String: Any]] {
        var found: [[String: Any]] = []
        if let dictionary = value as? [String: Any] {
            if key == "container" || key == "script" { found.append(dictionary) }
            for (childKey, child) in dictionary { found += containers(in: child, key: childKey) }
        } else if let array = value as? [Any] {
            for item in array {
                if key == "containers" || key == "initContainers", let container = item as? [String: Any] {
                    found.append(container)
                    // A container has no nested containers; still walk it for completeness.
                    for (childKey, child) in container { found += containers(in: child, key: childKey) }
                } else {
                    found += containers(in: item, key: nil)
                }
            }
        }
        return found
    }

    /// The `mask` command line a container runs (without the leading `mask`), or nil for another program.
    /// Without `command` the image's entrypoint runs, which is `mask` for the image of deploy/Dockerfile.
    static func maskCommandLine(_ container: [String: Any]) -> [String]? {
        let command = strings(container["command"])
        let args = strings(container["args"])
        if command.isEmpty {
            let image = container["image"] as? String ?? ""
            guard image.contains("mask"), !args.isEmpty else { return nil }
            return args
        }
        guard command[0].split(separator: "/").last == "mask" else { return nil }
        return Array(command.dropFirst()) + args
    }

    /// The subcommand path of a command line: the words before its first option (`["batch"]`,
    /// `["ledger", "init"]`; `[]` for pipe mode).
    static func subcommand(_ line: [String]) -> [String] {
        Array(line.prefix { !$0.hasPrefix("-") })
    }

    /// The options a command line uses (`--lease`, `-q`; `--flag=value` counts as `--flag`).
    static func options(_ line: [String]) -> [String] {
        line.filter { $0.hasPrefix("-") && $0.count > 1 && !$0.dropFirst().allSatisfy(\.isNumber) }
            .map { String($0.split(separator: "=", maxSplits: 1)[0]) }
    }

    static func envEntry(_ container: [String: Any], _ name: String) -> [String: Any]? {
        list(container["env"]).compactMap { $0 as? [String: Any] }.first { $0["name"] as? String == name }
    }

    /// Whether `help` mentions `option` as a whole word (`--lease` but not `--lease-time`; `-q` but not
    /// the `-q` inside `--quiet`).
    static func help(_ help: String, mentions option: String) -> Bool {
        func isOptionCharacter(_ character: Character) -> Bool {
            character.isLetter || character.isNumber || character == "-" || character == "_"
        }
        var searchRange = help.startIndex..<help.endIndex
        while let range = help.range(of: option, range: searchRange) {
            let before: Character = range.lowerBound == help.startIndex ? " " : help[help.index(before: range.lowerBound)]
            let after: Character = range.upperBound == help.endIndex ? " " : help[range.upperBound]
            if !isOptionCharacter(before) && !isOptionCharacter(after) { return true }
            searchRange = range.upperBound..<help.endIndex
        }
        return false
    }

    // MARK: - Tests

    @Test func everyYAMLFileParsesIntoKubernetesObjects() throws {
        let manifests = try Self.manifests()
        let paths = manifests.map(\.path)
        #expect(paths.contains("kubernetes/mask-batch-job.yaml"), "\(paths)")
        #expect(paths.contains("argo/mask-batch-workflow.yaml"), "\(paths)")
        for manifest in manifests {
            #expect(!manifest.documents.isEmpty, "deploy/\(manifest.path) has no document")
            for document in manifest.documents {
                let kind = Self.string(document["kind"])
                let hasAPIVersion = Self.string(document["apiVersion"]) != nil
                let hasKind = kind != nil
                let hasName = Self.string(Self.at(document, ["metadata", "name"])) != nil
                    || Self.string(Self.at(document, ["metadata", "generateName"])) != nil
                #expect(hasAPIVersion, "deploy/\(manifest.path): a document without apiVersion")
                #expect(hasKind, "deploy/\(manifest.path): a document without kind")
                #expect(hasName, "deploy/\(manifest.path): a \(kind ?? "?") without metadata.name or generateName")
            }
        }
    }

    @Test func jobRunsIndexedWorkersInParallel() throws {
        let manifests = try Self.manifests().filter { $0.path == "kubernetes/mask-batch-job.yaml" }
        let jobs = manifests.flatMap { $0.documents(kind: "Job") }
        let job = try #require(jobs.first, "no Job in deploy/kubernetes/mask-batch-job.yaml")
        #expect(Self.string(job["apiVersion"]) == "batch/v1")
        let spec = try #require(Self.mapping(job["spec"]))
        #expect(Self.string(spec["completionMode"]) == "Indexed")
        let completions = try #require(Self.int(spec["completions"]), "completions missing")
        let parallelism = try #require(Self.int(spec["parallelism"]), "parallelism missing")
        #expect(completions == parallelism, "completions \(completions) != parallelism \(parallelism)")
        #expect(completions > 1)
        let hasBackoffLimit = Self.int(spec["backoffLimit"]) != nil
        #expect(hasBackoffLimit, "backoffLimit missing")

        let podSpec = try #require(Self.mapping(Self.at(spec, ["template", "spec"])))
        let initLines = Self.list(podSpec["initContainers"]).compactMap { item in Self.mapping(item).flatMap { Self.maskCommandLine($0) } }
        let initsTheLedger = initLines.contains { Self.subcommand($0) == ["ledger", "init"] }
        #expect(initsTheLedger, "no initContainer runs `mask ledger init`: \(initLines)")

        let workers = Self.list(podSpec["containers"]).compactMap { Self.mapping($0) }
            .filter { container in Self.maskCommandLine(container).map { Self.subcommand($0) } == ["batch"] }
        let worker = try #require(workers.first, "no container runs `mask batch`")
        let line = try #require(Self.maskCommandLine(worker))
        for option in ["--rules", "--input", "--output", "--ledger", "--run-id", "--lease", "--worker"] {
            #expect(line.contains(option), "the worker's command line lacks \(option): \(line)")
        }
        // --worker comes from the downward API: $(POD_NAME) with POD_NAME = metadata.name.
        if let index = line.firstIndex(of: "--worker"), index + 1 < line.count {
            #expect(line[index + 1] == "$(POD_NAME)")
        }
        let podName = Self.envEntry(worker, "POD_NAME")
        #expect(Self.string(Self.at(podName, ["valueFrom", "fieldRef", "fieldPath"])) == "metadata.name", "POD_NAME is not from the downward API")
        let mountsRules = Self.list(worker["volumeMounts"]).contains { Self.string(Self.mapping($0)?["mountPath"]) == "/rules" }
        #expect(mountsRules, "the rules ConfigMap is not mounted at /rules")
        let hasResources = Self.at(worker, ["resources", "limits", "memory"]) != nil && Self.at(worker, ["resources", "requests", "cpu"]) != nil
        #expect(hasResources, "the worker has no resource requests/limits")
    }

    /// The sharded batch: an Indexed Job whose pods pass their own index as --shard K/N with N
    /// equal to the Job's completions, one Job per run, and a finalize Job over the same input,
    /// output and rules.
    @Test func shardJobGivesEachIndexItsShardAndFinalizeFollows() throws {
        let manifests = try Self.manifests()
        let shardJob = try #require(manifests.first { $0.path == "kubernetes/mask-shard-job.yaml" }?.documents(kind: "Job").first)
        let finalizeJob = try #require(manifests.first { $0.path == "kubernetes/mask-finalize-job.yaml" }?.documents(kind: "Job").first)
        let spec = try #require(Self.mapping(shardJob["spec"]))
        #expect(Self.string(spec["completionMode"]) == "Indexed")
        let completions = try #require(Self.int(spec["completions"]))
        #expect(Self.int(spec["parallelism"]) == completions && completions > 1)
        #expect(Self.int(spec["backoffLimitPerIndex"]) != nil, "each shard should be retried on its own")
        func line(_ job: [String: Any]) throws -> [String] {
            let containers = Self.list(Self.at(job, ["spec", "template", "spec", "containers"])).compactMap { Self.mapping($0) }
            return try #require(containers.compactMap { Self.maskCommandLine($0) }.first { Self.subcommand($0) == ["batch"] })
        }
        let shard = try line(shardJob)
        let finalize = try line(finalizeJob)
        let shardIndex = try #require(shard.firstIndex(of: "--shard"))
        #expect(shard[shardIndex + 1] == "$(JOB_COMPLETION_INDEX)/\(completions)", "\(shard)")
        #expect(finalize.contains("--finalize") && !finalize.contains("--shard"))
        for option in ["--input", "--output", "--rules"] {
            let value = { (line: [String]) in line.firstIndex(of: option).map { line[$0 + 1] } }
            #expect(value(shard) != nil && value(shard) == value(finalize), "\(option) differs between the shard and finalize Jobs")
        }
        // One Job per run: no ConfigMap (a run id shared by every run) in the sharded batch's files.
        #expect(manifests.filter { $0.path.contains("shard") || $0.path.contains("finalize") }.allSatisfy { $0.documents(kind: "ConfigMap").isEmpty })
        // Both run the real CLI's accepted arguments (checked by everyFlagInTheManifestsIsAcceptedByTheCLI) and the
        // shard argument is one the CLI accepts for index 0.
        _ = directory.write("none/a.csv", Array("id\n1\n".utf8))
        let parsed = Runner.mask(["batch", "--plan", "\(completions)", "--input", directory.file("none"), "--output", directory.file("o"),
                                  "--rules", MaskBinary.rules("pii.yaml")], in: directory)
        #expect(parsed.status == 0, "\(parsed.stderr)")
    }

    /// The Argo sharded batch: plan, then one step per element of the plan's JSON (withParam) with
    /// its shard, then finalize; every step over the same input, output and rules.
    @Test func argoShardWorkflowPlansFansOutAndFinalizes() throws {
        let manifests = try Self.manifests()
        let workflow = try #require(manifests.first { $0.path == "argo/mask-shard-workflow.yaml" }?.documents(kind: "Workflow").first)
        let templates = Self.list(Self.at(workflow, ["spec", "templates"])).compactMap { Self.mapping($0) }
        func template(_ name: String?) -> [String: Any]? { templates.first { Self.string($0["name"]) == name } }
        func line(_ name: String?) -> [String]? {
            template(name).flatMap { Self.mapping($0["container"]) }.flatMap { Self.maskCommandLine($0) }
        }
        let entry = try #require(template(Self.string(Self.at(workflow, ["spec", "entrypoint"]))))
        let groups = Self.list(entry["steps"]).map { Self.list($0).compactMap { Self.mapping($0) } }
        #expect(groups.count == 3, "plan, shards, finalize")
        guard groups.count == 3 else { return }
        let plan = try #require(line(Self.string(groups[0].first?["template"])))
        #expect(plan.contains("--plan"))
        let fanOut = try #require(groups[1].first)
        #expect(Self.string(fanOut["withParam"]) == "{{steps.\(Self.string(groups[0].first?["name"]) ?? "?").outputs.result}}")
        let passed = Self.list(Self.at(fanOut, ["arguments", "parameters"])).compactMap { Self.mapping($0) }
        #expect(passed.contains { Self.string($0["value"]) == "{{item.shard}}" })
        let shard = try #require(line(Self.string(fanOut["template"])))
        let shardIndex = try #require(shard.firstIndex(of: "--shard"))
        #expect(shard[shardIndex + 1] == "{{inputs.parameters.shard}}")
        let finalize = try #require(line(Self.string(groups[2].first?["template"])))
        #expect(finalize.contains("--finalize"))
        for option in ["--input", "--output", "--rules"] {
            let values = [plan, shard, finalize].map { line in line.firstIndex(of: option).map { line[$0 + 1] } }
            #expect(values[0] != nil && Set(values.map { $0 ?? "" }).count == 1, "\(option): \(values)")
        }
    }

    /// Both Argo Workflows load through Argo's own models (hera) with every field known to them, and
    /// the check refuses a misspelt field (so it can fail).
    @Test func argoWorkflowsPassArgosOwnModels() throws {
        let files = ["argo/mask-batch-workflow.yaml", "argo/mask-shard-workflow.yaml"].map { "\(Self.deployRoot)/\($0)" }
        let script = "\(MaskBinary.repositoryRoot)/scripts/validate-argo.py"
        let environment = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]
        let valid = Runner.run("/usr/bin/env", ["python3", script] + files, environment: environment, in: directory)
        #expect(valid.status == 0, "\(valid.stdoutText)\(valid.stderr)")
        let text = try String(contentsOfFile: files[1], encoding: .utf8)
        let misspelt = directory.write("misspelt.yaml", Array(text.replacingOccurrences(of: "withParam:", with: "withParams:").utf8))
        let refused = Runner.run("/usr/bin/env", ["python3", script, misspelt], environment: environment, in: directory)
        #expect(refused.status == 1 && refused.stdoutText.contains("withParams: not a field of WorkflowStep"), "\(refused.stdoutText)\(refused.stderr)")
    }

    @Test func secretsComeFromSecretKeyRefs() throws {
        let manifests = try Self.manifests()
        var checked = 0
        for manifest in manifests {
            for document in manifest.documents {
                for container in Self.containers(in: document) {
                    let name = container["name"] as? String ?? "?"
                    for case let entry as [String: Any] in Self.list(container["env"]) {
                        guard let variable = entry["name"] as? String, Self.secretVariables.contains(variable) else { continue }
                        checked += 1
                        let hasLiteralValue = entry.keys.contains("value")
                        #expect(!hasLiteralValue, "deploy/\(manifest.path), container \(name): \(variable) has a literal value")
                        let reference = Self.mapping(Self.at(entry, ["valueFrom", "secretKeyRef"]))
                        let fromSecret = Self.string(reference?["name"]) != nil && Self.string(reference?["key"]) != nil
                        #expect(fromSecret, "deploy/\(manifest.path), container \(name): \(variable) is not from a secretKeyRef")
                    }
                    // A worker needs the key (a plan only lists) and the store's credentials; anything
                    // talking to the ledger needs its password.
                    guard let line = Self.maskCommandLine(container) else { continue }
                    if Self.subcommand(line) == ["batch"] {
                        let needed = ["AWS_SECRET_ACCESS_KEY"] + (line.contains("--plan") ? [] : ["MASK_HMAC_KEY"])
                        for variable in needed {
                            let isSet = Self.envEntry(container, variable) != nil
                            #expect(isSet, "deploy/\(manifest.path), container \(name): \(variable) is not set")
                        }
                    }
                    if line.contains("--ledger") {
                        let hasPassword = Self.envEntry(container, "PGPASSWORD") != nil
                        #expect(hasPassword, "deploy/\(manifest.path), container \(name): --ledger without PGPASSWORD")
                    }
                    let passwordArgument = line.contains { $0.lowercased().contains("password=") }
                    #expect(!passwordArgument, "deploy/\(manifest.path), container \(name): a password on the command line")
                }
            }
        }
        #expect(checked >= 6, "only \(checked) secret variables found in deploy/")
    }

    @Test func noURLCarriesAPassword() throws {
        // postgresql://user:password@host or postgres://user:pw@host: the password belongs in PGPASSWORD.
        let withPassword = try Regex(#"(?i)postgres(?:ql)?://[^\s/@:'"]+:[^\s/@'"]*@"#)
        let files = try Self.deployFiles()
        #expect(!files.isEmpty)
        for relative in files {
            guard let text = try? String(contentsOfFile: "\(Self.deployRoot)/\(relative)", encoding: .utf8) else { continue }
            let match = text.firstMatch(of: withPassword).map { String(text[$0.range]) }
            let clean = match == nil
            #expect(clean, "deploy/\(relative): a URL with a password: \(match ?? "")")
        }
    }

    @Test func argoWorkflowInitsFansOutAndReports() throws {
        let manifests = try Self.manifests()
        let workflow = try #require(manifests.filter { $0.path == "argo/mask-batch-workflow.yaml" }.flatMap { $0.documents(kind: "Workflow") }.first,
                                    "no Argo Workflow in deploy/argo/mask-batch-workflow.yaml")
        #expect(Self.string(workflow["apiVersion"]) == "argoproj.io/v1alpha1")
        let spec = try #require(Self.mapping(workflow["spec"]))
        let parameters = Self.list(Self.at(spec, ["arguments", "parameters"])).compactMap { Self.string(Self.mapping($0)?["name"]) }
        for parameter in ["input", "output", "run-id", "workers"] {
            #expect(parameters.contains(parameter), "workflow parameter \(parameter) missing: \(parameters)")
        }
        let templates = Self.list(spec["templates"]).compactMap { Self.mapping($0) }
        func template(_ name: String?) -> [String: Any]? {
            templates.first { candidate in Self.string(candidate["name"]) == name }
        }
        func subcommand(ofTemplate name: String?) -> [String]? {
            guard let container = Self.mapping(template(name)?["container"]), let line = Self.maskCommandLine(container) else { return nil }
            return Self.subcommand(line)
        }
        let entrypoint = try #require(template(Self.string(spec["entrypoint"])), "entrypoint template missing")
        // steps: a list of groups run one after the other; the steps of a group run in parallel.
        let groups: [[[String: Any]]] = Self.list(entrypoint["steps"]).map { group in Self.list(group).compactMap { Self.mapping($0) } }
        func group(running wanted: [String]) -> Int? {
            groups.firstIndex { steps in steps.contains { step in subcommand(ofTemplate: Self.string(step["template"])) == wanted } }
        }
        let initGroup = try #require(group(running: ["ledger", "init"]), "no step runs `mask ledger init`")
        let workerGroup = try #require(group(running: ["batch"]), "no step runs `mask batch`")
        let statusGroup = try #require(group(running: ["ledger", "status"]), "no step runs `mask ledger status`")
        let inOrder = initGroup < workerGroup && workerGroup < statusGroup
        #expect(inOrder, "order: init \(initGroup), workers \(workerGroup), status \(statusGroup)")

        let workerStep = try #require(groups[workerGroup].first { step in subcommand(ofTemplate: Self.string(step["template"])) == ["batch"] })
        #expect(Self.string(Self.at(workerStep, ["withSequence", "count"])) == "{{workflow.parameters.workers}}",
                "the worker step does not fan out over workflow.parameters.workers")
        let workerTemplate = try #require(template(Self.string(workerStep["template"])))
        let retries = Self.mapping(workerTemplate["retryStrategy"]) != nil
        #expect(retries, "the worker template has no retryStrategy")
        let workerContainer = try #require(Self.mapping(workerTemplate["container"]))
        let line = try #require(Self.maskCommandLine(workerContainer))
        for option in ["--ledger", "--run-id", "--lease", "--worker"] {
            #expect(line.contains(option), "the worker's command line lacks \(option): \(line)")
        }
        if let index = line.firstIndex(of: "--run-id"), index + 1 < line.count {
            #expect(line[index + 1] == "{{workflow.parameters.run-id}}", "every worker must get the workflow's run id")
        }
    }

    /// Every `--flag` of every `mask` command line in deploy/ appears in `mask <subcommand> --help`.
    @Test func everyFlagInTheManifestsIsAcceptedByTheCLI() throws {
        var optionsBySubcommand: [[String]: [String: Set<String>]] = [:]   // subcommand -> option -> files
        for manifest in try Self.manifests() {
            for document in manifest.documents {
                for container in Self.containers(in: document) {
                    guard let line = Self.maskCommandLine(container) else { continue }
                    for option in Self.options(line) {
                        optionsBySubcommand[Self.subcommand(line), default: [:]][option, default: []].insert(manifest.path)
                    }
                }
            }
        }
        let hasBatch = optionsBySubcommand[["batch"]] != nil
        let hasLedgerInit = optionsBySubcommand[["ledger", "init"]] != nil
        #expect(hasBatch, "no `mask batch` command line found in deploy/")
        #expect(hasLedgerInit, "no `mask ledger init` command line found in deploy/")
        for (subcommand, options) in optionsBySubcommand.sorted(by: { $0.key.joined(separator: " ") < $1.key.joined(separator: " ") }) {
            let result = Runner.mask(subcommand + ["--help"], in: directory)
            let words = (["mask"] + subcommand).joined(separator: " ")
            #expect(result.status == 0, "`\(words) --help` exited \(result.status): \(result.stderr)")
            let help = result.stdoutText + result.stderr
            for (option, files) in options.sorted(by: { $0.key < $1.key }) {
                #expect(Self.help(help, mentions: option),
                        "`\(words)` does not accept \(option) (used in \(files.sorted().map { "deploy/\($0)" }.joined(separator: ", ")))")
            }
        }
    }

    /// Every minor version from 1.29 (the oldest still in cloud providers' extended support) to
    /// the newest whose schemas `kubernetes-validate` carries.
    static let kubernetesVersions = (29...37).map { "1.\($0).0" }

    @Test(arguments: kubernetesVersions) func manifestsPassStrictValidation(version: String) throws {
        let directory = TemporaryDirectory()
        let files = ["kubernetes/mask-batch-job.yaml", "kubernetes/mask-shard-job.yaml", "kubernetes/mask-finalize-job.yaml"]
            .map { "\(Self.deployRoot)/\($0)" }
        let result = Runner.run(
            "/usr/bin/env", ["python3", "-m", "kubernetes_validate", "--strict", "--kubernetes-version", version] + files,
            environment: ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"], in: directory)
        #expect(result.status == 0, "Kubernetes \(version): \(result.stdoutText)\(result.stderr)")
    }

    @Test func dockerfileInstallsTheReleasePackageOnBookworm() throws {
        let text = try String(contentsOfFile: "\(Self.deployRoot)/Dockerfile", encoding: .utf8)
        let lines = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.hasPrefix("#") }
        let instructions = lines.joined(separator: "\n")
        // One base image, apt only: the package from `make dist` brings the binary and declares the
        // system libraries; no toolchain image, no source build, nothing fetched but Debian packages.
        #expect(lines.filter { $0.uppercased().hasPrefix("FROM ") }.count == 1, "more than one base image")
        #expect(instructions.contains("bookworm"))
        #expect(instructions.contains("COPY dist/mask_*.deb"), "the image is not built from the release package")
        #expect(instructions.contains("apt-get install") && instructions.contains("/tmp/mask_*.deb"))
        #expect(!instructions.contains("swift build") && !instructions.contains("swift package"), "the image still builds from source")
        let ignore = try String(contentsOfFile: "\(MaskBinary.repositoryRoot)/.dockerignore", encoding: .utf8)
        #expect(ignore.contains("!dist/mask_*.deb"), ".dockerignore leaves the package out of the build context")
        #expect(lines.contains { $0.hasPrefix("ENTRYPOINT") && $0.contains("\"mask\"") }, "ENTRYPOINT is not mask")
        let user = lines.last { $0.uppercased().hasPrefix("USER ") }.map { String($0.dropFirst(5)).trimmingCharacters(in: .whitespaces) }
        let nonRoot = user.map { !["root", "0", "0:0", "root:root"].contains($0) } ?? false
        #expect(nonRoot, "the image runs as root (USER \(user ?? "not set"))")
        let hasReadme = FileManager.default.fileExists(atPath: "\(Self.deployRoot)/README.md")
        #expect(hasReadme, "deploy/README.md is missing")
    }
}
