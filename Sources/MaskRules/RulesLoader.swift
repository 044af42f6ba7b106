#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Crypto
import Foundation
import MaskCore
import MaskRegex
import Yams

/// One problem in a rules file, located by line.
public struct RuleProblem: Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var message: String

    public var description: String { "\(file):\(line): \(message)" }
}

/// Every problem found in a rules file (exit code 2). Collected, not fail-fast, so one run of
/// `mask rules check` shows all of them.
public struct RulesError: CategorizedFailure, Sendable {
    public var category: FailureCategory { .usage }
    public var message: String { "invalid rules:\n\(description)" }

    public var problems: [RuleProblem]
    public var description: String { problems.map(\.description).joined(separator: "\n") }
}

/// Reads and validates rules files.
public enum RulesLoader {
    public static func load(path: String) throws -> CompiledRules {
        guard let data = FileManager.default.contents(atPath: path) else {
            // FileManager gives no reason; the system does (no such file, permission denied, a folder).
            var isFolder: ObjCBool = false
            let reason: String
            if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) && isFolder.boolValue {
                reason = "it is a folder"
            } else if access(path, R_OK) != 0 {
                reason = String(cString: strerror(errno))
            } else {
                reason = "unreadable"
            }
            throw RulesError(problems: [RuleProblem(file: path, line: 0, message: "cannot read the rules file: \(reason)")])
        }
        return try load(data: data, path: path)
    }

    public static func load(data: Data, path: String) throws -> CompiledRules {
        var context = Context(file: path)
        guard let text = String(data: data, encoding: .utf8) else {
            throw RulesError(problems: [RuleProblem(file: path, line: 0, message: "the rules file is not UTF-8")])
        }
        let root: Node
        do {
            guard let composed = try Yams.compose(yaml: text) else {
                throw RulesError(problems: [RuleProblem(file: path, line: 1, message: "the rules file is empty")])
            }
            root = composed
        } catch let error as YamlError {
            throw RulesError(problems: [RuleProblem(file: path, line: Self.line(of: error), message: "YAML syntax: \(Self.problem(of: error))")])
        }
        let digest = Hex.string(SHA256.hash(data: data))
        let rules = context.compile(root: root, fingerprint: String(digest.prefix(16)))
        if !context.problems.isEmpty { throw RulesError(problems: context.problems) }
        return rules!
    }

    static func line(of error: YamlError) -> Int {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _): return mark.line
        case .duplicatedKeysInMapping(_, let context): return context.mark.line
        default: return 1
        }
    }

    static func problem(of error: YamlError) -> String {
        switch error {
        case .scanner(_, let problem, _, _), .parser(_, let problem, _, _), .composer(_, let problem, _, _): return problem
        case .duplicatedKeysInMapping(let duplicates, _): return "duplicated keys \(duplicates.joined(separator: ", "))"
        default: return "\(error)"
        }
    }
}

/// The state of one compilation: the file name and the problems found so far.
struct Context {
    let file: String
    var problems: [RuleProblem] = []

    mutating func fail(_ node: Node?, _ message: String) {
        problems.append(RuleProblem(file: file, line: node?.mark?.line ?? 0, message: message))
    }

    /// The pairs of a mapping, reporting keys outside `allowed`.
    mutating func mapping(_ node: Node, _ what: String, allowed: Set<String>? = nil) -> [(key: String, keyNode: Node, value: Node)]? {
        guard case .mapping(let mapping) = node else {
            fail(node, "\(what) must be a mapping")
            return nil
        }
        var pairs: [(key: String, keyNode: Node, value: Node)] = []
        for (key, value) in mapping {
            guard let name = key.string else {
                fail(key, "\(what): keys must be strings")
                continue
            }
            if let allowed, !allowed.contains(name) {
                fail(key, "\(what): unknown key '\(name)' (expected one of: \(allowed.sorted().joined(separator: ", ")))")
                continue
            }
            pairs.append((name, key, value))
        }
        return pairs
    }

    mutating func string(_ node: Node, _ what: String) -> String? {
        guard case .scalar(let scalar) = node else {
            fail(node, "\(what) must be a string")
            return nil
        }
        return scalar.string
    }

    mutating func boolean(_ node: Node, _ what: String) -> Bool? {
        guard case .scalar(let scalar) = node, let value = Bool(scalar.string.lowercased()) else {
            fail(node, "\(what) must be true or false")
            return nil
        }
        return value
    }

    mutating func integer(_ node: Node, _ what: String, range: ClosedRange<Int>) -> Int? {
        guard case .scalar(let scalar) = node, let value = Int(scalar.string), range.contains(value) else {
            fail(node, "\(what) must be an integer in \(range.lowerBound)...\(range.upperBound)")
            return nil
        }
        return value
    }

    mutating func strings(_ node: Node, _ what: String) -> [String] {
        switch node {
        case .scalar(let scalar): return [scalar.string]
        case .sequence(let sequence):
            return sequence.compactMap { string($0, what) }
        default:
            fail(node, "\(what) must be a string or a list of strings")
            return []
        }
    }

    mutating func compile(root: Node, fingerprint: String) -> CompiledRules? {
        guard let top = mapping(root, "rules file", allowed: ["version", "detectors", "fields", "default", "hash"]) else { return nil }
        var detectorNode: Node?
        var fieldsNode: Node?
        var defaultNode: Node?
        var hashNode: Node?
        var sawVersion = false
        for (key, _, value) in top {
            switch key {
            case "version":
                sawVersion = true
                if value.int != 1 { fail(value, "version: only version 1 is supported") }
            case "detectors": detectorNode = value
            case "fields": fieldsNode = value
            case "default": defaultNode = value
            case "hash": hashNode = value
            default: break
            }
        }
        if !sawVersion { fail(root, "missing 'version: 1'") }
        let detectors = detectorNode.map { compileDetectors($0) } ?? []
        let hash = hashNode.map { compileHash($0) } ?? HashSettings.defaults
        var fields: [FieldRule] = []
        if let fieldsNode, let pairs = mapping(fieldsNode, "fields") {
            for (name, keyNode, value) in pairs {
                if let problem = FieldPath.problem(in: name) { fail(keyNode, "fields.\(name): \(problem)") }
                guard let policy = compilePolicy(value, "fields.\(name)", detectors: detectors) else { continue }
                let selector = FieldSelector(name)
                fields.append(FieldRule(selector: selector, policy: policy, line: keyNode.mark?.line ?? 0))
            }
        }
        var defaultPolicy = FieldPolicy.scan(detectors: Array(detectors.indices), replacement: .token)
        if let defaultNode, let policy = compilePolicy(defaultNode, "default", detectors: detectors) {
            if policy == .drop { fail(defaultNode, "default: 'drop' is not allowed as the default policy") }
            defaultPolicy = policy
        }
        let rules = CompiledRules(
            path: file, detectors: detectors, fields: fields, defaultPolicy: defaultPolicy, hash: hash,
            fingerprint: fingerprint)
        if rules.usesHash && hash.key == nil {
            fail(hashNode ?? root, "a field uses 'hash' but 'hash.key' is not set (use key: env:VAR or key: file:PATH)")
        }
        for policy in fields.map(\.policy) + [defaultPolicy] {
            if case .hash(_, let options) = policy, let name = options.key, hash.keys[name] == nil {
                fail(hashNode ?? root, "a field hashes with key '\(name)', which hash.keys does not name")
            }
        }
        return rules
    }

    mutating func compileDetectors(_ node: Node) -> [CompiledDetector] {
        guard let pairs = mapping(node, "detectors") else { return [] }
        var detectors: [CompiledDetector] = []
        let allowed: Set<String> = [
            "pattern", "builtin", "regions", "prefilter", "validate", "token", "normalize", "default_region", "examples", "description",
        ]
        for (id, keyNode, value) in pairs {
            let what = "detectors.\(id)"
            guard let body = mapping(value, what, allowed: allowed) else { continue }
            var pattern: CompiledPattern?
            var builtin: String?
            var builtinNode: Node?
            var regionCodes: [String] = []
            var prefilter = Prefilter.none
            var validators: [Validator] = []
            var token = Array("[\(id.uppercased())]".utf8)
            var normalizeName = "trim"
            var normalizeNode: Node?
            var region = PhoneRegion.known["US"]!
            var examples = DetectorExamples(match: [], noMatch: [], finds: [])
            for (key, _, item) in body {
                switch key {
                case "pattern":
                    guard let source = string(item, "\(what).pattern") else { continue }
                    do {
                        let compiled = try CompiledPattern(source)
                        // A pattern that matches "" would find "something" everywhere: refuse it.
                        if compiled.matchesEmptyString {
                            fail(item, "\(what).pattern: the pattern matches the empty string")
                        }
                        pattern = compiled
                    } catch let error as PatternError {
                        fail(item, "\(what).pattern: \(error.message) at pattern offset \(error.offset)")
                    } catch {
                        fail(item, "\(what).pattern: \(error)")
                    }
                case "builtin":
                    if let text = string(item, "\(what).builtin") {
                        builtin = text
                        builtinNode = item
                        if text != "phone" { fail(item, "\(what).builtin: unknown built-in detector '\(text)' (known: phone)") }
                    }
                case "regions":
                    for code in strings(item, "\(what).regions") {
                        if PhoneRegion.known[code.uppercased()] == nil {
                            fail(item, "\(what).regions: unknown region '\(code)' (regions are ISO 3166 codes of libphonenumber's metadata: US, JP, DE, ...)")
                        } else {
                            regionCodes.append(code.uppercased())
                        }
                    }
                    if let first = regionCodes.first, let known = PhoneRegion.known[first] { region = known }
                case "prefilter":
                    prefilter = compilePrefilter(item, "\(what).prefilter")
                case "validate":
                    validators = compileValidators(item, "\(what).validate")
                case "token":
                    if let text = string(item, "\(what).token") { token = Array(text.utf8) }
                case "normalize":
                    if let text = string(item, "\(what).normalize") { normalizeName = text; normalizeNode = item }
                case "default_region":
                    if let text = string(item, "\(what).default_region") {
                        if let known = PhoneRegion.known[text.uppercased()] {
                            region = known
                        } else {
                            fail(item, "\(what).default_region: unknown region '\(text)' (known: \(PhoneRegion.known.keys.sorted().joined(separator: ", ")))")
                        }
                    }
                case "examples":
                    examples = compileExamples(item, "\(what).examples")
                default:
                    break
                }
            }
            if regionCodes.isEmpty { regionCodes = [region.isoCode] }
            let numbering = PhoneFinder(regions: regionCodes)
            let normalizer = makeNormalizer(normalizeName, region: region, numbering: numbering, node: normalizeNode, what: "\(what).normalize")
            let matcher: DetectorMatcher
            switch (pattern, builtin) {
            case (let pattern?, nil):
                matcher = .pattern(pattern)
            case (nil, "phone"?):
                matcher = .phoneNumbers(numbering)
            case (_?, _?):
                fail(builtinNode, "\(what): give either 'pattern' or 'builtin', not both")
                continue
            default:
                if !body.contains(where: { $0.key == "pattern" || $0.key == "builtin" }) {
                    fail(keyNode, "\(what): missing 'pattern' (or 'builtin: phone')")
                }
                continue
            }
            detectors.append(CompiledDetector(
                id: id, matcher: matcher, prefilter: prefilter, validators: validators, token: token,
                normalizer: normalizer ?? .trim, examples: examples, line: keyNode.mark?.line ?? 0))
        }
        return detectors
    }

    mutating func makeNormalizer(_ name: String, region: PhoneRegion, numbering: PhoneFinder? = nil, node: Node?, what: String) -> Normalizer? {
        switch name {
        case "none": return Normalizer.none
        case "trim": return .trim
        case "lowercase": return .lowercase
        case "email": return .email
        case "digits": return .digits
        case "e164": return .e164(region: region, numbering: numbering ?? PhoneFinder(regions: [region.isoCode]))
        default:
            fail(node, "\(what): unknown normalisation '\(name)' (expected none, trim, lowercase, email, digits or e164)")
            return nil
        }
    }

    mutating func compilePrefilter(_ node: Node, _ what: String) -> Prefilter {
        if case .scalar(let scalar) = node {
            return scalar.string.isEmpty ? .none : .anyLiteral([Array(scalar.string.utf8)])
        }
        if case .sequence = node {
            let literals = strings(node, what).filter { !$0.isEmpty }.map { Array($0.utf8) }
            return literals.isEmpty ? .none : .anyLiteral(literals)
        }
        guard let pairs = mapping(node, what, allowed: ["any", "min_digits"]) else { return .none }
        var result = Prefilter.none
        for (key, _, value) in pairs {
            switch key {
            case "any":
                let literals = strings(value, "\(what).any").filter { !$0.isEmpty }.map { Array($0.utf8) }
                if !literals.isEmpty { result = .anyLiteral(literals) }
            case "min_digits":
                if let count = integer(value, "\(what).min_digits", range: 1...64) { result = .minimumDigits(count) }
            default: break
            }
        }
        return result
    }

    mutating func compileValidators(_ node: Node, _ what: String) -> [Validator] {
        guard let pairs = mapping(node, what, allowed: ["digits", "luhn", "phone", "iban"]) else { return [] }
        var validators: [Validator] = []
        for (key, _, value) in pairs {
            switch key {
            case "digits":
                let bounds = value.array().compactMap(\.int)
                if bounds.count == 2 && bounds[0] >= 1 && bounds[0] <= bounds[1] {
                    validators.append(.digitCount(min: bounds[0], max: bounds[1]))
                } else {
                    fail(value, "\(what).digits must be [min, max] with 1 <= min <= max")
                }
            case "luhn":
                if value.bool == true { validators.append(.luhn) } else if value.bool == nil {
                    fail(value, "\(what).luhn must be true or false")
                }
            case "phone":
                if value.bool == true { validators.append(.phone) } else if value.bool == nil {
                    fail(value, "\(what).phone must be true or false")
                }
            case "iban":
                if value.bool == true { validators.append(.iban) } else if value.bool == nil {
                    fail(value, "\(what).iban must be true or false")
                }
            default: break
            }
        }
        return validators
    }

    mutating func compileExamples(_ node: Node, _ what: String) -> DetectorExamples {
        var examples = DetectorExamples(match: [], noMatch: [], finds: [])
        guard let pairs = mapping(node, what, allowed: ["match", "no_match", "finds"]) else { return examples }
        for (key, _, value) in pairs {
            switch key {
            case "match": examples.match = strings(value, "\(what).match")
            case "no_match": examples.noMatch = strings(value, "\(what).no_match")
            case "finds":
                guard case .sequence(let items) = value else {
                    fail(value, "\(what).finds must be a list of {text, expect}")
                    continue
                }
                for item in items {
                    guard let entry = mapping(item, "\(what).finds[]", allowed: ["text", "expect"]) else { continue }
                    var text: String?
                    var expected: [String] = []
                    for (entryKey, _, entryValue) in entry {
                        if entryKey == "text" { text = string(entryValue, "\(what).finds[].text") }
                        if entryKey == "expect" { expected = strings(entryValue, "\(what).finds[].expect") }
                    }
                    if let text { examples.finds.append((text, expected)) } else { fail(item, "\(what).finds[]: missing 'text'") }
                }
            default: break
            }
        }
        return examples
    }

    mutating func compileHash(_ node: Node) -> HashSettings {
        var settings = HashSettings.defaults
        guard let pairs = mapping(node, "hash", allowed: ["algorithm", "key", "keys", "encoding", "length", "prefix"]) else { return settings }
        for (key, _, value) in pairs {
            switch key {
            case "algorithm":
                if string(value, "hash.algorithm") != "hmac-sha256" { fail(value, "hash.algorithm: only hmac-sha256 is supported") }
            case "key":
                guard let text = string(value, "hash.key") else { continue }
                if text.hasPrefix("env:") && text.count > 4 {
                    settings.key = .environment(String(text.dropFirst(4)))
                } else if text.hasPrefix("file:") && text.count > 5 {
                    settings.key = .file(String(text.dropFirst(5)))
                } else {
                    // Never echo the value: it may be a key pasted in by mistake.
                    fail(value, "hash.key must be env:VARIABLE or file:PATH (keys never go in the rules file)")
                }
            case "keys":
                guard let named = mapping(value, "hash.keys", allowed: nil) else { continue }
                for (name, _, source) in named {
                    guard let text = string(source, "hash.keys.\(name)") else { continue }
                    if text.hasPrefix("env:") && text.count > 4 {
                        settings.keys[name] = .environment(String(text.dropFirst(4)))
                    } else if text.hasPrefix("file:") && text.count > 5 {
                        settings.keys[name] = .file(String(text.dropFirst(5)))
                    } else {
                        fail(source, "hash.keys.\(name) must be env:VARIABLE or file:PATH (keys never go in the rules file)")
                    }
                }
            case "encoding":
                guard let text = string(value, "hash.encoding") else { continue }
                if let encoding = HashEncoding(rawValue: text) { settings.encoding = encoding } else {
                    fail(value, "hash.encoding must be hex or base64url")
                }
            case "length":
                if let length = integer(value, "hash.length", range: 8...64) { settings.length = length }
            case "prefix":
                if let text = string(value, "hash.prefix") { settings.prefix = Array(text.utf8) }
            default: break
            }
        }
        let maximum = settings.encoding == .hex ? 64 : 43
        if settings.length > maximum {
            fail(node, "hash.length: \(settings.encoding.rawValue) digests have at most \(maximum) characters")
            settings.length = maximum
        }
        return settings
    }

    mutating func compilePolicy(_ node: Node, _ what: String, detectors: [CompiledDetector]) -> FieldPolicy? {
        let allDetectors = Array(detectors.indices)
        if case .scalar(let scalar) = node {
            switch scalar.string {
            case "keep": return .keep
            case "drop": return .drop
            case "null": return .null
            case "redact": return .redact(token: Array("[REDACTED]".utf8))
            case "hash": return .hash(.auto)
            case "scan": return .scan(detectors: allDetectors, replacement: .token)
            case "mask": return .mask(PartialMask(keepFirst: 0, keepLast: 4))
            case "error" where what == "default": return .error
            case "error":
                fail(node, "\(what): 'error' is only allowed as the default policy (default: error)")
                return nil
            default:
                fail(node, "\(what): unknown policy '\(scalar.string)' (expected keep, drop, null, redact, mask, hash or scan\(what == "default" ? ", or error" : ""))")
                return nil
            }
        }
        guard let pairs = mapping(node, what, allowed: ["redact", "mask", "hash", "scan"]), pairs.count == 1 else {
            if case .mapping = node { fail(node, "\(what): give exactly one policy") }
            return nil
        }
        let (name, _, options) = pairs[0]
        switch name {
        case "redact":
            guard let body = mapping(options, "\(what).redact", allowed: ["token"]) else { return nil }
            var token = Array("[REDACTED]".utf8)
            for (_, _, value) in body { if let text = string(value, "\(what).redact.token") { token = Array(text.utf8) } }
            return .redact(token: token)
        case "mask":
            guard let body = mapping(options, "\(what).mask", allowed: ["keep_first", "keep_last", "char"]) else { return nil }
            var mask = PartialMask(keepFirst: 0, keepLast: 0)
            for (key, _, value) in body {
                switch key {
                case "keep_first": mask.keepFirst = integer(value, "\(what).mask.keep_first", range: 0...1000) ?? 0
                case "keep_last": mask.keepLast = integer(value, "\(what).mask.keep_last", range: 0...1000) ?? 0
                case "char":
                    if let text = string(value, "\(what).mask.char"), text.utf8.count == 1 { mask.maskByte = text.utf8.first! } else {
                        fail(value, "\(what).mask.char must be one ASCII character")
                    }
                default: break
                }
            }
            return .mask(mask)
        case "hash":
            guard let body = mapping(options, "\(what).hash", allowed: ["normalize", "detector", "keep_domain", "key"]) else { return nil }
            var normalization = HashNormalization.auto
            var hashOptions = HashOptions()
            for (key, _, value) in body {
                if key == "keep_domain" {
                    guard let flag = boolean(value, "\(what).hash.keep_domain") else { continue }
                    hashOptions.keepDomain = flag
                    continue
                }
                guard let text = string(value, "\(what).hash.\(key)") else { continue }
                if key == "key" {
                    hashOptions.key = text
                    continue
                }
                if key == "detector" {
                    if let index = detectors.firstIndex(where: { $0.id == text }) {
                        normalization = .detector(index: index, normalizer: detectors[index].normalizer)
                    } else {
                        fail(value, "\(what).hash.detector: unknown detector '\(text)'")
                    }
                } else if text == "auto" {
                    normalization = .auto
                } else if let normalizer = makeNormalizer(text, region: PhoneRegion.known["US"]!, node: value, what: "\(what).hash.normalize") {
                    normalization = .fixed(normalizer)
                }
            }
            return .hash(normalization, hashOptions)
        case "scan":
            guard let body = mapping(options, "\(what).scan", allowed: ["detectors", "replace"]) else { return nil }
            var chosen = allDetectors
            var replacement = ScanReplacement.token
            for (key, _, value) in body {
                if key == "detectors" {
                    chosen = []
                    for id in strings(value, "\(what).scan.detectors") {
                        if let index = detectors.firstIndex(where: { $0.id == id }) { chosen.append(index) } else {
                            fail(value, "\(what).scan.detectors: unknown detector '\(id)'")
                        }
                    }
                } else if key == "replace" {
                    switch string(value, "\(what).scan.replace") {
                    case "token": replacement = .token
                    case "hash": replacement = .hash
                    default: fail(value, "\(what).scan.replace must be token or hash")
                    }
                }
            }
            return .scan(detectors: chosen, replacement: replacement)
        default:
            return nil
        }
    }
}
