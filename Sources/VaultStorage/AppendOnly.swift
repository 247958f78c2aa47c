import VaultCore

/// An append-only client (a node whose credential, or whose operator, must never delete backups;
/// FORMAT.md, "Append-only clients") writes new objects only. Its backend refuses every delete
/// itself, before any request, so no code path can remove a backup or report a removal that did
/// not happen; retention and prune run on another host with a credential that may delete.
public enum AppendOnly {
    public static func refusal(_ handle: ObjectHandle, location: String) -> VaultError {
        VaultError(
            .usage, "append-only: refusing to delete \(handle) from \(location)",
            hint: "this client runs append-only (--append-only or \"appendOnly\": true); run forget, prune "
                + "and unlock on the pruning host, with a credential that may delete")
    }
}
