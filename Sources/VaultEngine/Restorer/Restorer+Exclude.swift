import VaultCore

extension Restorer {
    /// `--exclude`: whether the entry at `relative` (below the restored unit, as bytes) is left
    /// alone. Patterns are relative to the snapshot root, as backup's, so a `--path` restore
    /// matches the unit's path in front.
    func isExcluded(_ relative: [UInt8], name: [UInt8]) -> Bool {
        guard !options.excludes.isEmpty else { return false }
        let full = unitPath.isEmpty ? relative : Array(unitPath.utf8) + [47] + relative
        return PathPatterns(options.excludes).matches(relativePath: full, name: name)
    }
}

extension Restorer {
    /// The in-place restore's working directory is this restore's own, at the root of what it
    /// restores (FORMAT.md, "chainvault's own names at a source root"): one that a snapshot holds
    /// (backed up by an older chainvault) is never written into the target, with a warning.
    func isOwnWorkingName(_ name: [UInt8], atRoot: Bool) -> Bool {
        guard atRoot, name == WorkingNames.restoreWork else { return false }
        metadata.warn(
            once: "own-working-name",
            "skipped \(FileName.display(name)) of the snapshot: it is the working "
                + "directory of an interrupted restore that an older chainvault backed up, not the node's data")
        return true
    }
}
