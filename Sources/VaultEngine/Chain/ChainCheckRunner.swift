import Foundation
import VaultChain
import VaultCore

/// Runs a chain profile over a data source with its incremental state: loads the state file (a
/// missing or unreadable one means a full check), runs the profile, and saves the new state
/// atomically (write-then-rename, fsync of file and directory), so a crash mid-save keeps the old one.
public enum ChainCheckRunner {
    /// Which profile `--chain` (or a policy) names: nil = detect, "none" = no chain check.
    public static func profile(named name: String?, for source: ChainDataSource) throws -> ChainProfile? {
        ChainProfiles.registerBuiltins()
        guard let name else { return ChainProfiles.detect(source) }
        if name == "none" { return nil }
        guard let p = ChainProfiles.named(name) else {
            let known = ChainProfiles.all.map(\.name).joined(separator: ", ")
            throw VaultError(.usage, "unknown chain profile '\(name)'", hint: "use one of: \(known), or none")
        }
        return p
    }

    /// `statePath` nil: no state (a full check, nothing saved). `tree` binds the state to snapshots
    /// (backups): a loaded state is used only when it was saved for `tree.parent` (whose chunk ids
    /// the source compares), and the saved one records `tree.current`.
    public static func run(
        _ profile: ChainProfile, source: ChainDataSource, statePath: String?,
        tree: (parent: String?, current: String)? = nil
    ) throws -> ChainReport {
        var state = ChainVerifyState(profile: profile.name)
        var incremental = false
        if let statePath, let bytes = try? Posix.readFile(statePath),
            let loaded = try? JSONDecoder().decode(ChainVerifyState.self, from: Data(bytes)),
            loaded.profile == profile.name,
            tree == nil || (tree?.parent != nil && loaded.tree == tree?.parent)
        {
            state = loaded
            incremental = true
        }
        var report = try profile.verify(source, state: &state)
        // A backup's incremental check that found a problem checks the whole chain again: blocks
        // re-parsed below the old tip have no height in an incremental walk, and the operator
        // (audit log, job error) needs the failing block's height and every other problem.
        if incremental, tree != nil, !report.valid {
            state = ChainVerifyState(profile: profile.name)
            report = try profile.verify(source, state: &state)
        }
        if let statePath {
            state.tree = tree?.current
            try Posix.mkdirs(Path.parent(statePath), mode: 0o750)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let data = try encoder.encode(state)
            try data.withUnsafeBytes { try Posix.writeFileAtomically(statePath, $0, mode: 0o640) }
        }
        return report
    }

    /// The default state file of a data directory: keyed by its real path, so two spellings of one
    /// directory share their state and two directories never do.
    public static func defaultStatePath(for directory: String, stateDirectory: String) -> String {
        stateDirectory + "/chain/" + directoryKey(directory) + ".json"
    }

    /// 32 hex digits of SHA-256 of the directory's real path (the absolute path when it cannot be
    /// resolved): a file name for state kept per data directory.
    public static func directoryKey(_ directory: String) -> String {
        var resolved = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let real =
            realpath(directory, &resolved) != nil
            ? resolved.withUnsafeBufferPointer { String(cString: $0.baseAddress!) } : Path.absolute(directory)
        return String(SHA256.hash(real).hex.prefix(32))
    }

    /// $CHAINVAULT_STATE_DIRECTORY, systemd's $STATE_DIRECTORY, then /var/lib/chainvault for root and
    /// $XDG_STATE_HOME/chainvault (or ~/.local/state/chainvault) for other users.
    public static func stateDirectory(environment: [String: String]) -> String {
        if let d = environment["CHAINVAULT_STATE_DIRECTORY"], !d.isEmpty { return d }
        if let d = environment["STATE_DIRECTORY"]?.split(separator: ":").first { return String(d) }
        if getuid() == 0 { return "/var/lib/chainvault" }
        if let x = environment["XDG_STATE_HOME"], !x.isEmpty { return x + "/chainvault" }
        return (environment["HOME"] ?? "/tmp") + "/.local/state/chainvault"
    }
}
