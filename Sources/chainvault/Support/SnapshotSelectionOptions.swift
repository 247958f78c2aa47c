import Foundation
import Glibc
import VaultCore
import VaultRepository

/// `--host`, `--source`, `--policy`, `--tag`: which snapshots `snapshots` lists and `restore`
/// chooses `latest` from (FORMAT.md §8, "Selection").
enum SnapshotSelectionOptions {
    static let valued: Set<String> = ["--host", "--source", "--policy", "--tag"]

    static let help = """
      --host NAME     only snapshots taken on this host
      --source PATH   only snapshots of this source directory
      --policy NAME   only snapshots made by this policy
      --tag TAG       only snapshots with this tag (repeatable: all of them)
    """

    /// `policyName` replaces `--policy` when that named a policy file (restore).
    static func filter(_ args: Arguments, policyName: String? = nil) -> SnapshotFilter {
        SnapshotFilter(host: args.value("--host"), source: args.value("--source").map(Path.absolute),
                       policy: policyName ?? args.value("--policy"), tags: args.all("--tag"))
    }

    /// What `restore latest --target DIR` means: a snapshot of DIR (as given, or where a symlink
    /// leads), from this host when it has one; refused as ambiguous otherwise.
    static func forRestore(_ args: Arguments, target: String, policyName: String? = nil) -> SnapshotSelection {
        let absolute = Path.absolute(target)
        var sources = [absolute]
        if let resolved = realpath(absolute, nil) {
            sources.append(String(cString: resolved))
            free(resolved)
        }
        return SnapshotSelection(filter: filter(args, policyName: policyName), preferredSources: sources,
                                 preferredHost: ProcessInfo.processInfo.hostName)
    }
}
