import VaultCore

/// The largest object of each kind chainvault reads whole (FORMAT.md, "Size limits"). A backend
/// checks the size the store reports (stat, Content-Length) against it before it allocates or
/// reads anything: a planted 2 GiB sparse file in `index/` must cost an error, not 2 GiB of memory.
public enum ObjectLimits {
    /// Each limit is far above what chainvault writes: a config or key is under 2 KiB, a lock under
    /// 1 KiB, a snapshot under 1 MiB even with thousands of paths, an index file ~60 bytes per blob
    /// (1 GiB: ~17 million blobs, one prune's rewrite of a 17 TiB repository at 1 MiB chunks), a
    /// pack at most 256 MiB plus one chunk.
    public static func maximum(_ kind: ObjectKind) -> Int {
        switch kind {
        case .config: return 1 << 20
        case .key: return 64 << 10
        case .lock: return 64 << 10
        case .snapshot: return 64 << 20
        case .index: return 1 << 30
        case .audit: return 64 << 20
        case .pack: return 1 << 30
        }
    }

    /// Throws `.corrupt` when `size` bytes of `handle` would be more than its kind may hold.
    public static func check(_ handle: ObjectHandle, size: Int, location: String) throws {
        let limit = maximum(handle.kind)
        guard size > limit else { return }
        throw VaultError(
            .corrupt,
            "\(handle) in the repository at \(location) is too large: \(size) bytes, "
                + "more than the \(limit) a \(handle.kind.rawValue) object may have",
            hint: "chainvault did not write it; move it out of the repository after checking who put "
                + "it there, then run 'chainvault verify'")
    }
}
