import VaultChain
import VaultCore
import VaultRepository

/// The block files of a backup's source that are stored de-obfuscated (FORMAT.md §7, "Content
/// transforms"): those of a Bitcoin Core blocks directory whose `xor.dat` holds a non-zero key,
/// when the backup's chain is bitcoind or not named (`--chain none` or another client: none).
/// So the same blocks on nodes with different keys are the same chunks.
struct BlockFileKeys {
    let directory: String
    let key: [UInt8]

    init?(source: String, chain: String?) {
        guard chain == nil || chain == "bitcoind", let found = BlockFileObfuscation.key(in: source) else { return nil }
        directory = found.directory; key = found.key
    }

    /// The key and file kind for a file at `relativePath` (as `DirectoryCursor.display` prints it).
    func obfuscation(of relativePath: String) -> ReadJob.Obfuscation? {
        let prefix = directory.isEmpty ? "" : directory + "/"
        guard relativePath.hasPrefix(prefix) else { return nil }
        let name = relativePath.dropFirst(prefix.count)
        guard !name.contains("/"), let kind = BlockFileObfuscation.kind(ofFileNamed: String(name)) else { return nil }
        return ReadJob.Obfuscation(key: key, kind: kind)
    }

    /// The transform of an open block file: the range Bitcoin Core XORed, or nil when it cannot be
    /// told (the file is then stored as is).
    static func transform(fd: Int32, size: UInt64, _ obfuscation: ReadJob.Obfuscation) -> ContentTransform? {
        guard
            let length = BlockFileObfuscation.obfuscatedLength(
                fd: fd, size: size, key: obfuscation.key,
                kind: obfuscation.kind)
        else { return nil }
        return ContentTransform(xor8: obfuscation.key, length: length)
    }

    /// The file's layout for a transform: zero ranges below its `length` are read as data (their
    /// disk zeros are XORed bytes, not zeros, once de-obfuscated), so no zero run overlaps the range.
    static func segments(_ segments: [SparseMap.Segment], below length: UInt64) -> [SparseMap.Segment] {
        var out: [SparseMap.Segment] = []
        func data(_ start: UInt64, _ end: UInt64) {
            if case .data(let s, let e)? = out.last, e == start {
                out[out.count - 1] = .data(s, end)
            } else {
                out.append(.data(start, end))
            }
        }
        for segment in segments {
            switch segment {
            case .data(let start, let end): data(start, end)
            case .zeros(let run) where run.offset < length:
                let cut = min(run.end, length)
                data(run.offset, cut)
                if run.end > cut {
                    out.append(.zeros(ZeroRun(offset: cut, length: run.end - cut, allocated: run.allocated)))
                }
            case .zeros: out.append(segment)
            }
        }
        return out
    }
}
