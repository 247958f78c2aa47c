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

    /// A `--policy` that names a policy file (restore: a path with '/' or ending in .json) is not a
    /// filter: its source is the target, and snapshots of that source made without the policy
    /// (a CLI backup) are as much that node's.
    static func filter(_ args: Arguments, policyName: String? = nil) -> SnapshotFilter {
        let named = args.value("--policy").flatMap { $0.contains("/") || $0.hasSuffix(".json") ? nil : $0 }
        return SnapshotFilter(
            host: args.value("--host"), source: args.value("--source").map(Path.absolute),
            policy: named, tags: args.all("--tag"))
    }

    /// What `latest` means for a command that only reads (`ls`, `dump`, `diff`, `find --snapshot`,
    /// `verify --chain`): the newest snapshot of one source, this host's when it has one; several
    /// sources left after the filters are refused as ambiguous with the candidates listed, as for
    /// `restore` (issue 11: the newest of any source was another node's data).
    static func forReading(_ args: Arguments) -> SnapshotSelection {
        SnapshotSelection(filter: filter(args), preferredHost: ProcessInfo.processInfo.hostName)
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
        return SnapshotSelection(
            filter: filter(args, policyName: policyName), preferredSources: sources,
            preferredHost: ProcessInfo.processInfo.hostName)
    }
}
