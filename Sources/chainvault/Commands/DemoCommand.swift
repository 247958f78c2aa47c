import Foundation
import Glibc
import VaultCore
import VaultEngine
import VaultRepository
import VaultStorage

enum DemoCommand: Command {
    static let name = "demo"
    static let summary = "run the whole job on a synthetic chain data directory"
    static let help = """
        Usage: chainvault demo [--size 512M] [--workdir DIR] [--keep]
               chainvault demo --generate DIR [--size 512M] [--seed N]
               chainvault demo --advance DIR [--size 512M] [--seed N] [--day N]

        Creates a node-like data directory (bitcoind blocks with real block-file records, undo
        files, a LevelDB chainstate, a geth freezer, key and state files), then: init, backup, a
        simulated day of node activity, backup again, verify --read-data, restore into a new
        directory, byte-for-byte comparison, one bit flipped in a block of the restored copy (its
        backup passes verify --read-data, its chain check fails), and a summary. Everything lives in a temporary
        directory that is removed at the end (unless --keep).
        --generate and --advance only write (or age by one day) a data directory, for scripts.
        """
    static let spec = ArgumentSpec(
        valued: ["--size", "--workdir", "--generate", "--advance", "--seed", "--day"], flags: ["--keep"],
        positionalsAllowed: 0...0)

    struct Step: Encodable { let name: String; let seconds: Double; let detail: String }
    struct Summary: Encodable {
        let dataBytes: UInt64; let files: Int; let repositoryBytes: UInt64; let dedupRatio: Double
        let steps: [Step]; let identical: Bool; let workdir: String?
    }

    static func run(_ c: Context) throws -> Int32 {
        let size = try parseSize(c.args.value("--size") ?? "512M")
        let seed = UInt64(try c.args.int("--seed", default: 1))
        if let dir = c.args.value("--generate") {
            try ChainDataGenerator(root: Path.absolute(dir), size: size, seed: seed).generate()
            return 0
        }
        if let dir = c.args.value("--advance") {
            try ChainDataGenerator(root: Path.absolute(dir), size: size, seed: seed).advanceOneDay(
                day: UInt64(try c.args.int("--day", default: 1)))
            return 0
        }

        let base = c.args.value("--workdir") ?? (ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp")
        var template = Array((Path.absolute(base) + "/chainvault-demo-XXXXXX").utf8CString)
        guard mkdtemp(&template) != nil else { throw Posix.error("create a temporary directory in", base) }
        let work = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        defer { if !c.args.has("--keep") { try? Posix.removeTree(work) } }
        let data = work + "/node-data", repoPath = work + "/repository", restored = work + "/restored"
        var steps: [Step] = []
        func step<T>(_ name: String, _ body: () throws -> (T, String)) throws -> T {
            let t0 = Date()
            let (value, detail) = try body()
            let s = Step(name: name, seconds: Date().timeIntervalSince(t0), detail: detail)
            steps.append(s)
            c.out.line(
                "\(name.padding(toLength: 22, withPad: " ", startingAt: 0)) \(Format.duration(s.seconds).leftPad(9))  \(detail)"
            )
            return value
        }
        c.out.line("chainvault demo in \(work) (\(Format.bytes(size)) of synthetic node data)")
        let generator = ChainDataGenerator(root: data, size: size, seed: seed)
        let usage = try step("generate node data") { () -> ((bytes: UInt64, files: Int), String) in
            try generator.generate()
            let u = try TreeComparison.usage(data)
            return (u, "\(u.files) files, \(Format.bytes(u.bytes))")
        }
        var key = SecureRandom.bytes(32)
        let credential = Credential.keyFile(SecretBytes(consuming: &key))
        let backend = LocalBackend(path: repoPath)
        _ = try step("init repository") { () -> (Void, String) in
            let r = try Repository.initialize(backend, credential: credential)
            return ((), "repository \(r.config.id.prefix(8)), AES-256-GCM, zstd level \(r.config.compressionLevel)")
        }
        func backup(_ name: String) throws -> BackupResult {
            try step(name) {
                let repo = try Repository.open(backend, credential: credential)
                let r = try Archiver(
                    repository: repo, options: BackupOptions(source: data), cancellation: c.cancellation
                ).run()
                let s = r.snapshot.stats
                return (
                    r,
                    "snapshot \(r.snapshotID.shortHex): read \(Format.bytes(s.bytesRead)), new \(Format.bytes(s.bytesNew)), stored \(Format.bytes(s.bytesStored)), \(Format.rate(s.bytesTotal, s.durationSeconds))"
                )
            }
        }
        let first = try backup("first backup")
        _ = try step("a day of node activity") { () -> (Void, String) in
            try generator.advanceOneDay()
            return ((), "blocks appended, chainstate compacted, freezer appended")
        }
        let second = try backup("second backup")
        let report = try step("verify --read-data") { () -> (VerifyReport, String) in
            let repo = try Repository.open(backend, credential: credential)
            var o = VerifyOptions(); o.readData = .all
            let r = try Checker(repository: repo, options: o).run()
            return (
                r,
                "\(r.snapshots) snapshots, \(r.packsRead) packs, \(Format.bytes(r.bytesRead)), \(r.clean ? "clean" : "\(r.problems.count) PROBLEMS")"
            )
        }
        let restore = try step("restore latest") { () -> (RestoreResult, String) in
            let repo = try Repository.open(backend, credential: credential)
            let r = try Restorer(
                repository: repo, options: RestoreOptions(snapshot: "latest", target: restored),
                cancellation: c.cancellation
            ).run()
            return (
                r,
                "\(r.files) files, \(Format.bytes(r.bytesFetched)), \(Format.rate(r.bytesFetched, r.durationSeconds))"
            )
        }
        _ = restore
        let differences = try step("compare byte for byte") { () -> ([String], String) in
            let d = try TreeComparison.differences(data, restored)
            return (d, d.isEmpty ? "identical (content, modes, mtimes, symlinks)" : "\(d.count) DIFFERENCES")
        }
        for d in differences { c.out.warning(d) }
        let repoBytes = try TreeComparison.usage(repoPath).bytes
        let flipped = try step("a flipped bit") { () -> (DemoFlippedBit.Outcome, String) in
            let repo = try Repository.open(backend, credential: credential)
            let o = try DemoFlippedBit.run(restored, repository: repo, cancellation: c.cancellation)
            let chain = o.chain.valid ? "VALID (missed it)" : o.chain.problems.first?.line ?? ""
            return (
                o,
                "snapshot \(o.snapshot) of the restored copy with one bit flipped in a block: verify --read-data "
                    + "\(o.byteLevelClean ? "clean" : "PROBLEMS"); chain check: \(chain)"
            )
        }
        let logical = first.snapshot.stats.bytesTotal + second.snapshot.stats.bytesTotal
        let ratio = Double(logical) / Double(max(repoBytes, 1))
        c.out.line("")
        c.out.line(
            "two snapshots of \(Format.bytes(second.snapshot.stats.bytesTotal)) each take \(Format.bytes(repoBytes)) in the repository: \(String(format: "%.2f", ratio))x less than two plain copies"
        )
        c.out.line(
            "second backup read \(Format.bytes(second.snapshot.stats.bytesRead)) and stored \(Format.bytes(second.snapshot.stats.bytesStored)): unchanged files were not read again"
        )
        let ok = differences.isEmpty && report.clean && flipped.byteLevelClean && !flipped.chain.valid
        c.out.line(ok ? "demo OK" : "demo FAILED")
        if c.out.json {
            c.out.emit(
                Summary(
                    dataBytes: usage.bytes, files: usage.files, repositoryBytes: repoBytes, dedupRatio: ratio,
                    steps: steps,
                    identical: differences.isEmpty, workdir: c.args.has("--keep") ? work : nil))
        }
        return ok ? 0 : ErrorCode.corrupt.rawValue
    }
}
