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
