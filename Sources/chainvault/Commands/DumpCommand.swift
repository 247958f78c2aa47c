import Glibc
import VaultCore
import VaultRepository

/// `dump SNAPSHOT PATH`: one file of a snapshot to stdout, without a restore (a keystore, a
/// config, a validator key pulled back at 3 a.m.). Every chunk is authenticated and hash-checked
/// on the way; the byte count is checked against the tree at the end.
enum DumpCommand: Command {
    static let name = "dump"
    static let summary = "write one file of a snapshot to stdout"
    static let help = """
        Usage: chainvault dump SNAPSHOT PATH [--host NAME] [--source PATH] [--policy NAME] [--tag TAG] [> FILE]

        Writes the content of the file PATH of SNAPSHOT to stdout, checked chunk by chunk.
        SNAPSHOT is an id, a unique id prefix, or 'latest'; PATH is as 'ls' prints it.
        Directories are not dumped: use 'restore --path PATH --target DIR'. 'latest' is the newest
        snapshot of one source (this host's first); when several sources remain it is refused with
        the candidates listed: choose with

        \(SnapshotSelectionOptions.help)
        """
    static let spec = ArgumentSpec(valued: SnapshotSelectionOptions.valued, positionalsAllowed: 2...2)

    static func run(_ c: Context) throws -> Int32 {
        let repo = try c.openRepository()
        try repo.loadIndex()
        let record = try repo.resolveSnapshot(
            c.args.positionals[0], selecting: SnapshotSelectionOptions.forReading(c.args))
        let codec = repo.makeCodec()
        let rootID = record.snapshot.tree
        let argument = c.args.positionals[1]
        guard
            let (node, display) = try SnapshotPath.lookup(
                argument, in: try repo.loadTree(rootID, codec: codec),
                walker: { try repo.loadTree($0, codec: codec) }, snapshot: record.shortID)
        else {
            throw VaultError(
                .unknownSnapshot, "path \(argument) is not in snapshot \(record.shortID)",
                hint: "'chainvault ls \(record.shortID)' lists its files")
        }
        guard node.kind == .file else {
            throw VaultError(
                .usage,
                "\(display) in snapshot \(record.shortID) is a \(node.kind == .directory ? "directory" : node.kind == .symlink ? "symlink" : "fifo"), not a file",
                hint: node.kind == .directory
                    ? "restore it with 'chainvault restore \(record.shortID) --path \(display) --target DIR'"
                    : "'chainvault ls' shows what it is")
        }
        if (record.snapshot.incomplete ?? []).contains(where: { "/" + $0 == display }) {
            c.out.warning(
                "\(display) is marked incomplete in snapshot \(record.shortID): it could not be read completely at backup time"
            )
        }
        var written: UInt64 = 0
        let zeros = [UInt8](repeating: 0, count: 1 << 16)
        // Returns false once stdout's reader has gone (| head): that is a normal end, not a failure.
        func emit(_ bytes: UnsafeRawBufferPointer) throws -> Bool {
            var done = 0
            while done < bytes.count {
                let n = write(1, bytes.baseAddress! + done, bytes.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    if errno == EPIPE { return false }
                    throw Posix.error("write", "stdout")
                }
                done += n
            }
            written += UInt64(bytes.count)
            return true
        }
        func zeroFill(to offset: UInt64) throws -> Bool {
            while written < offset {
                let n = Int(min(UInt64(zeros.count), offset - written))
                guard try zeros.withUnsafeBytes({ try emit(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }) else {
                    return false
                }
            }
            return true
        }
        for placement in try repo.chunkLayout(of: node, path: display) {
            guard try zeroFill(to: placement.offset) else { return 0 }
            var bytes = try repo.readBlob(at: placement.location, codec: codec)
            // The file's bytes, not the stored ones (a de-obfuscated block file gets its key back).
            node.transformChunk(&bytes, count: bytes.count, at: placement.offset)
            guard try bytes.withUnsafeBytes({ try emit($0) }) else { return 0 }
        }
        guard try zeroFill(to: node.size) else { return 0 }
        return 0
    }
}
