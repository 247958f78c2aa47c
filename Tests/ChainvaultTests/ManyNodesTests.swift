import Foundation
import Glibc
import S3TestSupport
import Testing
import VaultCore

/// Issue 18, "many nodes, one bucket": eight nodes (separate processes, own `--host`, sources that
/// share all but a small part of their chain data) back up at once into one repository while
/// another host runs `forget --prune` and a ninth restores. Locks make the prune and the backups
/// take turns (exit 12, run again as a scheduler would); nothing may fail otherwise, every node's
/// snapshot restores byte-identical, `verify --read-data` is clean and the shared data is stored
/// once. `Tests/Benchmarks/many-nodes.sh` is the same run at benchmark sizes.
struct ManyNodesTests {
    static let nodes = 8
    static let uniqueBytes = 256 << 10

    @Test(arguments: S3StoreKind.allCases)
    func eightNodesBackUpIntoOneBucketWhileAnotherHostPrunesAndANinthRestores(_ kind: S3StoreKind) throws {
        let store = try s3Server(kind)
        let w = try Workspace()
        for (k, v) in store.environment { w.environment[k] = v }
        let location = try store.newRepository("fleet", endpoint: nil)
        w.environment["CHAINVAULT_REPOSITORY"] = location

        // The chain data all nodes share (a valid demo chain), copied into each node with a part of its own.
        try w.ok(["demo", "--generate", w.path("base"), "--size", "3M", "--seed", "18"])
        let shared = try Self.fileBytes(w.path("base"))
        for i in 1...Self.nodes {
            try Self.copyTree(w.path("base"), w.path("node\(i)"))
            try w.write("node\(i)/own/unique-\(i).dat", SecureRandom.bytes(Self.uniqueBytes))
        }
        try w.ok(["init"])
        // A seed host's two snapshots: the prune host's `--keep-last 1` forgets the first; the
        // ninth host restores the second while the nodes back up.
        let seeded = try w.ok(["backup", w.path("base"), "--host", "seed", "--json"])
        let first = try #require(seeded.json["snapshot"] as? String)
        try w.write("base/seed-extra.dat", SecureRandom.bytes(64 << 10))
        try w.ok(["backup", w.path("base"), "--host", "seed"])

        // Each attempt waits at most 2 s for a lock (chainvault's own backoff), then exits 12 and runs again.
        let retry = ["--retry-lock", "2s"]
        let backups = (1...Self.nodes).map { i in
            ScheduledRun("backup\(i)", in: w) { _ in
                ["backup", w.path("node\(i)"), "--host", "node\(i)", "--json"] + retry
            }
        }
        let prune = ScheduledRun("prune", in: w) { _ in ["forget", "--keep-last", "1", "--prune"] + retry }
        let restore = ScheduledRun("restore", in: w) { n in
            ["restore", "latest", "--host", "seed", "--target", w.path("restored-seed-\(n)")] + retry
        }
        let all = backups + [prune, restore]
        for run in all { run.start() }
        for run in all {
            try #require(run.wait(seconds: 300), "\(run.name) still running after 300 s (attempt \(run.attempts))")
            #expect(run.code == 0, "\(run.name) exited \(run.code) after \(run.attempts) attempt(s): \(run.stderr)")
        }
        let report = all.map { "\($0.name) \($0.attempts)x \(String(format: "%.1f", $0.seconds)) s" }
        print("many nodes on \(kind): " + report.joined(separator: ", "))
        #expect(try treeDifferences(w.path("base"), w.path("restored-seed-\(restore.attempts)")) == [])

        // Every node's snapshot restores byte-identical; the seed's first snapshot is gone.
        let listed = try w.ok(["snapshots", "--json"]).stdout
        let snapshots = try JSONSerialization.jsonObject(with: Data(listed.utf8)) as? [[String: Any]] ?? []
        #expect(snapshots.count == Self.nodes + 1, "\(snapshots.count) snapshots")
        let ids = snapshots.compactMap { $0["id"] as? String }
        #expect(!ids.contains { $0.hasPrefix(first) || first.hasPrefix($0) }, "the seed's first snapshot is gone")
        for (i, backup) in zip(1..., backups) {
            let id = try #require(backup.stdoutJSON["snapshot"] as? String, "node\(i): \(backup.stdout)")
            try w.ok(["restore", id, "--target", w.path("out\(i)")])
            #expect(try treeDifferences(w.path("node\(i)"), w.path("out\(i)")) == [], "node\(i) restores identical")
        }
        let verify = try w.run(["verify", "--read-data"])
        #expect(verify.code == 0, "\(verify.stdout)\n\(verify.stderr)")

        // Stored once: the shared data, each node's own part and the seed's extra, with a tenth more
        // for pack and index overhead and 64 KiB per snapshot for its tree and snapshot objects. A
        // copy of the shared data per node would be `nodes - 1` times the shared data more.
        let (bucket, prefix) = try #require(Self.bucketAndPrefix(location, endpoint: store.endpoint))
        let stored = try #require(try s3Admin(store, ["size", bucket, prefix + "/"])["bytes"] as? Int)
        let sources = Self.nodes * (shared + Self.uniqueBytes)
        let data = shared + Self.nodes * Self.uniqueBytes + (64 << 10)
        let bound = data + data / 10 + (Self.nodes + 1) * (64 << 10)
        print("many nodes on \(kind): repository \(stored) bytes for \(sources) bytes of sources, bound \(bound)")
        #expect(bound < sources / 2, "the bound tells one copy from one per node")
        #expect(stored <= bound, "repository \(stored) bytes, more than one copy of the shared data allows (\(bound))")
    }

    static func copyTree(_ from: String, _ to: String) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/cp")
        p.arguments = ["-a", from, to]
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw VaultError(.usage, "cp -a \(from) \(to) failed") }
    }

    /// The bytes of the regular files under `root`.
    static func fileBytes(_ root: String) throws -> Int {
        var total = 0
        for case let rel as String in FileManager.default.enumerator(atPath: root)?.allObjects ?? [] {
            var st = stat()
            guard lstat(root + "/" + rel, &st) == 0 else { throw VaultError(.usage, "lstat \(rel) failed") }
            if st.st_mode & S_IFMT == S_IFREG { total += Int(st.st_size) }
        }
        return total
    }

    /// `s3:ENDPOINT/BUCKET/PREFIX` split into the bucket and the prefix.
    static func bucketAndPrefix(_ location: String, endpoint: String) -> (String, String)? {
        guard location.hasPrefix("s3:" + endpoint + "/") else { return nil }
        let path = location.dropFirst(("s3:" + endpoint + "/").count)
        guard let slash = path.firstIndex(of: "/") else { return nil }
        return (String(path[..<slash]), String(path[path.index(after: slash)...]))
    }
}

extension ScheduledRun {
    var stdoutJSON: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(stdout.utf8))) as? [String: Any] ?? [:]
    }
}
