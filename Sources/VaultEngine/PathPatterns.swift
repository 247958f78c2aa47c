import Glibc

/// Path globs (fnmatch), for backup excludes and restore's protected paths: a pattern without `/`
/// matches an entry's name at any depth (`*.log`, `LOCK`, `tower-*.bin`); a pattern with `/`
/// matches the path relative to the source root (`data/priv_validator_state.json`), where `*`
/// does not cross `/`.
public struct PathPatterns: Sendable {
    public let patterns: [String]

    public init(_ patterns: [String]) { self.patterns = patterns }

    public func matches(relativePath: String, name: String) -> Bool {
        for p in patterns {
            var pattern = p
            if pattern.hasPrefix("/") { pattern.removeFirst() }
            if pattern.hasSuffix("/") { pattern.removeLast() }
            if pattern.contains("/") {
                if fnmatch(pattern, relativePath, FNM_PATHNAME) == 0 { return true }
            } else if fnmatch(pattern, name, 0) == 0 {
                return true
            }
        }
        return false
    }
}
