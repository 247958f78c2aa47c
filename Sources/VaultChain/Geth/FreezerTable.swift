import VaultCore

/// A freezer table as found on disk: its index (structure-checked), meta and data file sizes.
struct FreezerTable {
    var index: FreezerIndex
    var meta: FreezerMeta?
    var indexSize: UInt64
    /// SHA-256 of the index bytes, by prefix length, for the incremental mark.
    var indexBytes: [UInt8]

    /// Loads table `name` from the listing of `dir`; nil when it has no index file.
    static func load(
        _ name: String, dir: String, listing: [ChainFile], source: ChainDataSource,
        problems: inout [ChainProblem]
    ) throws -> FreezerTable? {
        let prefix = dir + "/" + name + "."
        guard let idx = listing.first(where: { $0.path == prefix + "cidx" || $0.path == prefix + "ridx" }) else {
            return nil
        }
        let compressed = idx.path.hasSuffix(".cidx")
        var sizes: [UInt16: UInt64] = [:]
        for f in listing where f.path.hasPrefix(prefix) && f.path.hasSuffix(compressed ? ".cdat" : ".rdat") {
            let number = f.path.dropFirst(prefix.count).dropLast(5)
            if number.count == 4, let n = UInt16(number) { sizes[n] = f.size }
        }
        var meta: FreezerMeta?
        if let m = listing.first(where: { $0.path == prefix + "meta" }), m.size <= 4096 {
            let bytes = try readAll(source, m.path, size: m.size)
            do { meta = try bytes.withUnsafeBytes { try FreezerMeta(rlp: $0) } } catch let e as GethFormatError {
                problems.append(ChainProblem(.corrupt, file: m.path, offset: UInt64(e.offset), "meta: \(e.what)"))
            }
        }
        let bytes = try readAll(source, idx.path, size: idx.size)
        let (index, errors) = bytes.withUnsafeBytes {
            FreezerIndex.parse(name: name, path: idx.path, compressed: compressed, bytes: $0, dataSizes: sizes)
        }
        let table = FreezerTable(index: index, meta: meta, indexSize: idx.size, indexBytes: bytes)
        for e in errors {
            let tolerated = table.tolerated(indexOffset: e.offset)
            let what = tolerated ? e.what + " (past the meta's flush offset: geth repairs it)" : e.what
            problems.append(
                ChainProblem(
                    tolerated ? .info : .corrupt, file: idx.path, offset: UInt64(e.offset),
                    height: table.itemNumber(entry: e.offset / 6),
                    what))
        }
        return table
    }

    /// Index bytes past the meta's flush offset may legitimately be garbage after a crash.
    func tolerated(indexOffset: Int) -> Bool { meta?.flushOffset.map { UInt64(indexOffset) >= $0 } ?? false }

    func itemNumber(entry: Int) -> UInt64? { entry >= 1 ? index.tail + UInt64(entry - 1) : nil }

    func checkpoint(through: Int) -> String { SHA256.hash(indexBytes[0..<through]).hex }

    static func readAll(_ source: ChainDataSource, _ path: String, size: UInt64) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: Int(size))
        var done = 0
        while done < bytes.count {
            let n = try bytes.withUnsafeMutableBytes {
                try source.read(path, offset: UInt64(done), into: UnsafeMutableRawBufferPointer(rebasing: $0[done...]))
            }
            if n <= 0 { break }
            done += n
        }
        bytes.removeLast(bytes.count - done)
        return bytes
    }
}
