import Glibc
import VaultCore

/// Where an API restore may write (README, "Security"). A bearer token must not turn into "replace
/// any directory as root": the target is the policy's source or a directory under one of the
/// configured `restoreRoots`, and never the repository, the state directory or a system directory,
/// each compared after resolving symlinks (a link under a restore root to /etc is /etc).
public struct RestoreTarget {
    /// Directories no restore may replace or contain, and (`systemTrees`) ones it may not enter.
    static let system = ["/", "/root", "/tmp", "/var", "/var/lib", "/var/log", "/home", "/opt", "/srv", "/mnt"]
    static let systemTrees = [
        "/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/proc",
        "/run", "/sbin", "/sys", "/usr"
    ]

    public var source: String
    public var restoreRoots: [String]
    /// The repository path (nil for an object store, which a restore cannot overwrite).
    public var repository: String?
    public var stateDirectory: String

    public init(source: String, restoreRoots: [String], repository: String?, stateDirectory: String) {
        self.source = source; self.restoreRoots = restoreRoots
        self.repository = repository; self.stateDirectory = stateDirectory
    }

    /// nil when `target` is allowed, else why not (for a 403 body).
    public func refusal(_ target: String) -> String? {
        guard target.hasPrefix("/"), !target.split(separator: "/").contains("..") else {
            return "target must be an absolute path without '..'"
        }
        let resolved = Self.resolve(target)
        for own in [repository, stateDirectory].compactMap({ $0 }).map(Self.resolve)
        where Self.overlaps(resolved, own) {
            return "target \(target) is or holds chainvault's own repository or state directory (\(own))"
        }
        if Self.system.contains(resolved)
            || Self.systemTrees.contains(where: { resolved == $0 || Self.isBeneath(resolved, $0) })
        {
            return "target \(target) is a system directory"
        }
        if resolved == Self.resolve(source) { return nil }
        if restoreRoots.map(Self.resolve).contains(where: { Self.isBeneath(resolved, $0) }) { return nil }
        return "target \(target) is neither the policy's source nor under a configured restoreRoots directory"
            + (restoreRoots.isEmpty ? " (none are configured)" : " (\(restoreRoots.joined(separator: ", ")))")
    }

    /// Either path is the other or lies inside it.
    static func overlaps(_ a: String, _ b: String) -> Bool { a == b || isBeneath(a, b) || isBeneath(b, a) }

    /// `path` lies strictly inside `directory`.
    static func isBeneath(_ path: String, _ directory: String) -> Bool {
        directory == "/" ? path != "/" : path.hasPrefix(directory + "/")
    }

    /// realpath of the longest existing prefix, with the components that do not exist yet appended
    /// (a new restore target usually does not exist).
    static func resolve(_ path: String) -> String {
        var existing = Path.absolute(path)
        var rest: [String] = []
        while true {
            if let real = realpath(existing, nil) {
                defer { free(real) }
                let base = String(cString: real)
                return rest.isEmpty ? base : Path.join(base, rest.reversed().joined(separator: "/"))
            }
            if existing == "/" { return path }
            rest.append(Path.base(existing))
            existing = Path.parent(existing)
        }
    }
}

extension Daemon {
    /// The rule for API restores of `policy` under the current config.
    func restoreTarget(_ policy: Policy) -> RestoreTarget {
        let config = self.config
        let repository = config.repository.hasPrefix("s3:") ? nil : config.repository
        return RestoreTarget(
            source: policy.source, restoreRoots: config.restoreRoots ?? [],
            repository: repository, stateDirectory: stateDirectory)
    }
}
