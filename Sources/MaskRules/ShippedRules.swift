import Foundation

/// The rules files that ship with `mask` (`rules/` in the repository, `share/mask/rules/` beside
/// an installed binary), found by name when a command has a sensible default (`mask verify`
/// uses `pii-strict.yaml`).
public enum ShippedRules {
    /// The folders searched, in order: `$MASK_RULES_DIR`, `./rules`, and `../share/mask/rules`
    /// next to the running executable (the layout of the release archive and the package).
    public static func searchPath(environment: [String: String] = ProcessInfo.processInfo.environment) -> [String] {
        var folders: [String] = []
        if let configured = environment["MASK_RULES_DIR"], !configured.isEmpty { folders.append(configured) }
        folders.append("rules")
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        folders.append(executable.deletingLastPathComponent().appendingPathComponent("../share/mask/rules").standardized.path)
        return folders
    }

    /// The path of the shipped rules file `name`, or `nil` when no folder of the search path has it.
    public static func locate(_ name: String, environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        searchPath(environment: environment).map { "\($0)/\(name)" }.first { FileManager.default.isReadableFile(atPath: $0) }
    }
}
