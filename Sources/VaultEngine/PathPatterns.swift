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

    /// The same match on names as stored (bytes, possibly not UTF-8): fnmatch compares bytes.
    public func matches(relativePath: [UInt8], name: [UInt8]) -> Bool {
        for p in patterns {
            var pattern = Array(p.utf8)
            if pattern.first == 47 { pattern.removeFirst() }
            if pattern.last == 47 { pattern.removeLast() }
            let byPath = pattern.contains(47)
            let subject = byPath ? relativePath : name
            let matched = (pattern + [0]).withUnsafeBufferPointer { pp in
                (subject + [0]).withUnsafeBufferPointer { sp in
                    pp.withMemoryRebound(to: CChar.self) { p in
                        sp.withMemoryRebound(to: CChar.self) { s in
                            fnmatch(p.baseAddress!, s.baseAddress!, byPath ? FNM_PATHNAME : 0)
                        }
                    }
                }
            }
            if matched == 0 { return true }
        }
        return false
    }
}
