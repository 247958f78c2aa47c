import Foundation
import VaultCore
import VaultEngine
import VaultRepository
import VaultStorage

enum UnlockCommand: Command {
    static let name = "unlock"
    static let summary = "remove stale locks"
    static let help = """
        Usage: chainvault unlock [--remove-all]

        Removes stale locks (only objects that parse as chainvault locks; anything else in locks/
        is reported and left): no process holds the lock file (local repository, same kernel), or its
        process is gone (same host, boot and PID namespace), or the store's clock says it was not
        refreshed for 45 minutes (30 plus a tolerance for clocks).
        --remove-all removes every object in locks/: only when you are sure no chainvault command is running.
        """
    static let spec = ArgumentSpec(flags: ["--remove-all"], positionalsAllowed: 0...0)

    static func run(_ c: Context) throws -> Int32 {
        let result = try RepositoryLock.unlock(try c.backend(), all: c.args.has("--remove-all"))
        for n in result.notLocks {
            c.out.warning(
                "\(n) is not a chainvault lock, left in place: check what it is and remove it by hand, "
                    + "or with 'chainvault unlock --remove-all' if no chainvault command is running")
        }
        if c.out.json { c.out.emit(["removed": result.removed, "notLocks": result.notLocks]); return 0 }
        for r in result.removed { c.out.line("removed lock \(r)") }
        if result.removed.isEmpty { c.out.line("no stale locks") }
        return 0
    }
}
