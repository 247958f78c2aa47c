import VaultCore

/// go-ethereum data directories: the chain freezer under `geth/chaindata/ancient/chain` and era1
/// archives (in the data directory itself or in `era1/`, `era/`, `geth/era/`). The live head is in
/// geth's key-value store (Pebble/LevelDB), which only geth reads: height and tip are those of the
/// freezer (blocks older than ~90 000 from the head) or of the newest era1 file, whichever is higher.
public struct GethProfile: ChainProfile {
    public static let freezerDirectories = ["geth/chaindata/ancient/chain", "chaindata/ancient/chain"]
    public static let era1Directories = ["", "era1", "era", "geth/era"]

    public let name = "geth"
    public init() {}

    public func detect(_ source: ChainDataSource) -> Bool {
        if let freezer = freezerDirectory(source), !freezer.isEmpty { return true }
        if ((try? source.files(in: "geth/chaindata")) ?? []).contains(where: { $0.path.hasSuffix("CURRENT") }) {
            return true
        }
        return Self.era1Directories.contains { !era1Files(source, in: $0).isEmpty }
    }

    public func verify(_ source: ChainDataSource, state: inout ChainVerifyState) throws -> ChainReport {
        var report = ChainReport(profile: name)
        if let dir = freezerDirectory(source) {
            var freezer = FreezerCheck(dir: dir)
            try freezer.run(source, state: &state)
            report.problems += freezer.problems
            report.bytesChecked += freezer.bytesRead
            report.height = freezer.height
            report.tipHash = freezer.tipHash?.hex
        }
        for dir in Self.era1Directories {
            let files = era1Files(source, in: dir)
            guard !files.isEmpty else { continue }
            let (checked, bytes) = try checkEra1(source, files, state: &state, report: &report)
            report.bytesChecked += bytes
            if let last = checked, last.number >= report.height ?? 0 {
                report.height = last.number
                report.tipHash = last.hash?.hex
            }
        }
        return report
    }

    /// Era1 files are immutable once written: a file whose accumulator was verified is marked with
    /// its size and SHA-256, and later runs only re-hash it (a changed byte is then corruption).
    func checkEra1(
        _ source: ChainDataSource, _ files: [ChainFile], state: inout ChainVerifyState,
        report: inout ChainReport
    ) throws -> (last: (number: UInt64, hash: EthHash?)?, bytes: UInt64) {
        var fresh: [ChainFile] = []
        var bytes: UInt64 = 0
        var last: (number: UInt64, hash: EthHash?)?
        for f in files {
            guard let mark = state.files[f.path] else { fresh.append(f); continue }
            let digest = try Self.sha256(source, f)
            bytes += f.size
            if mark.verifiedThrough == f.size, mark.checkpoint == digest {
                if let n = state.extra["geth.era1.last." + f.path].flatMap(UInt64.init) { last = (n, nil) }
                continue
            }
            report.problems.append(
                ChainProblem(
                    .corrupt, file: f.path, offset: 0,
                    "era1 file changed after it was verified (size or sha256 differ)"))
            state.files[f.path] = nil
            fresh.append(f)
        }
        var check = Era1ChainCheck()
        try check.run(source, files: fresh)
        report.problems += check.problems
        for s in check.summaries {
            bytes += s.bytesRead
            guard s.indexed, !s.parents.isEmpty else { continue }
            let lastNumber = s.start + UInt64(s.parents.count) - 1
            if lastNumber >= last?.number ?? 0 { last = (lastNumber, s.lastHash) }
            if check.rootVerified.contains(s.path), let f = fresh.first(where: { $0.path == s.path }) {
                let digest = try Self.sha256(source, f)
                state.files[s.path] = ChainVerifyState.FileMark(verifiedThrough: f.size, checkpoint: digest)
                state.extra["geth.era1.last." + s.path] = String(lastNumber)
            }
        }
        return (last, bytes)
    }

    func freezerDirectory(_ source: ChainDataSource) -> String? {
        Self.freezerDirectories.first { dir in
            ((try? source.files(in: dir)) ?? []).contains {
                $0.path.hasSuffix("/headers.cidx") || $0.path.hasSuffix("/hashes.ridx")
            }
        }
    }

    func era1Files(_ source: ChainDataSource, in dir: String) -> [ChainFile] {
        ((try? source.files(in: dir)) ?? []).filter { $0.path.hasSuffix(".era1") }
    }

    static func sha256(_ source: ChainDataSource, _ file: ChainFile) throws -> String {
        let hasher = SHA256Hasher()
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var offset: UInt64 = 0
        while offset < file.size {
            let n = try buffer.withUnsafeMutableBytes { try source.read(file.path, offset: offset, into: $0) }
            if n <= 0 { break }
            buffer.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            offset += UInt64(n)
        }
        return hasher.finalize().hex
    }
}
