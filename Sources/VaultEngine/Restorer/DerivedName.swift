import VaultCore

/// Names a restore makes beside a user's entry from its name (the staging directory, the previous
/// content kept as `<name>.pre-restore-<time>`, an in-place restore's rollback kept so) must fit
/// NAME_MAX (255 bytes) whatever the user's name is: a 250-byte directory name is legal, its
/// name plus a 43-byte suffix is not (FORMAT.md, "Names derived from a user's name").
enum DerivedName {
    static let nameMax = 255
    /// The longest suffix any caller appends to a stem (`.chainvault-staging-<16>-<6>` = 43 bytes)
    /// plus the `-2`…`-1000` a kept name may get when its first choice is taken.
    static let suffixRoom = 48

    /// `name` itself when it leaves `suffixRoom` bytes free; otherwise its longest prefix of whole
    /// characters that fits, `~`, and 16 hex digits of SHA-256 of the whole name: the same name
    /// always gives the same stem (a later run finds what an earlier one left), two names give two
    /// stems, and the prefix still tells a person whose it is.
    static func stem(_ name: String) -> String {
        let bytes = Array(name.utf8)
        let limit = nameMax - suffixRoom
        if bytes.count <= limit { return name }
        let tag = "~" + String(SHA256.hash(bytes).hex.prefix(16))
        var prefix = ""
        var used = 0
        for scalar in name.unicodeScalars {
            let n = String(scalar).utf8.count
            if used + n > limit - tag.utf8.count { break }
            prefix.unicodeScalars.append(scalar)
            used += n
        }
        return prefix + tag
    }

    /// `path`'s directory joined with the stem of its last component: where `<stem><suffix>` goes.
    static func sibling(of path: String) -> String {
        let parent = Path.parent(path)
        let stem = stem(Path.base(path))
        return parent == "/" ? "/" + stem : parent + "/" + stem
    }
}
