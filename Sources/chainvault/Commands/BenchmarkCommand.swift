import Foundation
import Glibc
import VaultCore
import VaultEngine
import VaultRepository
import VaultStorage

enum BenchmarkCommand: Command {
    static let name = "benchmark"
    static let summary = "measure each stage's throughput on this machine"
    static let help = """
        Usage: chainvault benchmark [--size 512M] [--compression N] [--workdir DIR]

        Like 'cryptsetup benchmark': the throughput of each stage on one core (FastCDC chunking,
        SHA-256, zstd compress and decompress at the given level on node-like data, AES-256-GCM
        seal and open), then the whole backup and restore pipeline on all cores on generated node
        data of --size. Each figure is the median of 5 runs.
        """
    static let spec = ArgumentSpec(valued: ["--size", "--compression", "--workdir"], positionalsAllowed: 0...0)

    struct Row: Encodable { let stage: String; let bytesPerSecond: Double; let note: String }

    static func median(_ runs: Int = 5, _ body: () throws -> Void) rethrows -> Double {
        var times: [Double] = []
        for _ in 0..<runs {
            let t0 = DispatchTime.now().uptimeNanoseconds
            try body()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }
        return times.sorted()[runs / 2]
    }

    static func run(_ c: Context) throws -> Int32 {
        let size = try parseSize(c.args.value("--size") ?? "512M")
        let level = Int32(try c.args.int("--compression", default: 3))
        var rows: [Row] = []
        func report(_ stage: String, _ bytes: Int, _ seconds: Double, _ note: String = "") {
            let row = Row(stage: stage, bytesPerSecond: Double(bytes) / seconds, note: note)
            rows.append(row)
            c.out.line(
                "\(stage.padding(toLength: 30, withPad: " ", startingAt: 0)) \(Format.bytes(UInt64(row.bytesPerSecond)).leftPad(11))/s  \(note)"
            )
        }
        c.out.line("per core:")
        // Node-like sample: one block file and one table from the demo generator.
        let sampleDir = NSTemporaryDirectory() + "chainvault-bench-" + Hex.encode(SecureRandom.bytes(4))
        defer { try? Posix.removeTree(sampleDir) }
        try ChainDataGenerator(root: sampleDir, size: 96 << 20, seed: 7).generate()
        let blocks = try Posix.readFile(sampleDir + "/blocks/blk00000.dat")
        var random = [UInt8]()
        var rng = DataRandom(dataSeed: 9)
        rng.fill(&random, count: 64 << 20)

        let chunker = FastCDC(.standard)
        var chunks = 0
        report(
            "FastCDC chunking", random.count, median { chunks = chunker.chunkLengths(random).count },
            "\(chunks) chunks, avg \(Format.bytes(random.count / max(chunks, 1)))")
        report(
            "SHA-256", random.count,
            median {
                random.withUnsafeBytes { p in
                    for i in stride(from: 0, to: p.count, by: 1 << 20) {
                        _ = SHA256.hash(UnsafeRawBufferPointer(rebasing: p[i..<i + (1 << 20)]))
                    }
                }
            }, "1 MiB blocks")
        let zc = ZstdCompressor(level: level), zd = ZstdDecompressor()
        var compressed: [UInt8] = [], total = 0
        var pieces: [(Int, [UInt8])] = []
        report(
            "zstd -\(level) compress", blocks.count,
            median {
                total = 0; pieces = []
                blocks.withUnsafeBytes { p in
                    for i in stride(from: 0, to: p.count, by: 1 << 20) {
                        let piece = UnsafeRawBufferPointer(rebasing: p[i..<min(i + (1 << 20), p.count)])
                        let n = zc.compress(piece, into: &compressed)
                        total += n
                        pieces.append((piece.count, Array(compressed[0..<n])))
                    }
                }
            }, String(format: "block files, ratio %.2f", Double(blocks.count) / Double(max(total, 1))))
        var out: [UInt8] = []
        report(
            "zstd decompress", blocks.count,
            median {
                for (n, piece) in pieces {
                    out.removeAll(keepingCapacity: true);
                    _ = piece.withUnsafeBytes { zd.decompress($0, expectedSize: n, appendingTo: &out) }
                }
            })
        let gcm = AESGCM(), key = SecureRandom.bytes(32)
        var sealed: [UInt8] = []
        report(
            "AES-256-GCM seal", random.count,
            median {
                key.withUnsafeBytes { k in
                    random.withUnsafeBytes { p in
                        for i in stride(from: 0, to: p.count, by: 1 << 20) {
                            sealed.removeAll(keepingCapacity: true)
                            gcm.seal(
                                key: k, nonce: AESGCM.nonce(counter: UInt64(i)),
                                aad: UnsafeRawBufferPointer(start: nil, count: 0),
                                plaintext: UnsafeRawBufferPointer(rebasing: p[i..<i + (1 << 20)]), appendingTo: &sealed)
                        }
                    }
                }
            }, "1 MiB blobs")

        c.out.line("pipeline (\(Parallel.cores) cores, \(Format.bytes(size)) of node data):")
        let work =
            (c.args.value("--workdir").map(Path.absolute) ?? NSTemporaryDirectory()) + "/chainvault-bench-pipeline-"
            + Hex.encode(SecureRandom.bytes(4))
        defer { try? Posix.removeTree(work) }
        try ChainDataGenerator(root: work + "/data", size: size, seed: 1).generate()
        var k = SecureRandom.bytes(32)
        let credential = Credential.keyFile(SecretBytes(consuming: &k))
        let backend = LocalBackend(path: work + "/repo")
        _ = try Repository.initialize(backend, credential: credential, config: .new(compressionLevel: level))
        let t0 = Date()
        let first = try Archiver(
            repository: try Repository.open(backend, credential: credential),
            options: BackupOptions(source: work + "/data")
        ).run()
        report(
            "backup (first)", Int(first.snapshot.stats.bytesTotal), Date().timeIntervalSince(t0),
            String(
                format: "stored %@ (%.2fx)", Format.bytes(first.snapshot.stats.bytesStored),
                Double(first.snapshot.stats.bytesTotal) / Double(max(first.snapshot.stats.bytesStored, 1))))
        var o = VerifyOptions(); o.readData = .all
        let t1 = Date()
        let v = try Checker(repository: try Repository.open(backend, credential: credential), options: o).run()
        report("verify --read-data", Int(v.bytesRead), Date().timeIntervalSince(t1), v.clean ? "clean" : "PROBLEMS")
        let t2 = Date()
        let r = try Restorer(
            repository: try Repository.open(backend, credential: credential),
            options: RestoreOptions(snapshot: "latest", target: work + "/restored")
        ).run()
        report("restore (with sync)", Int(r.bytesFetched), Date().timeIntervalSince(t2))
        if c.out.json { c.out.emit(rows) }
        return 0
    }
}
