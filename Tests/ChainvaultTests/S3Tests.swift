import Foundation
import Glibc
import Testing
import S3TestSupport

/// The built binary against real S3 servers on 127.0.0.1 (moto_server with signature checks, and
/// Ceph RGW), directly and (moto only) through a proxy that injects failures.
struct S3Tests {
    func workspace(_ kind: S3StoreKind = .moto, endpoint: String? = nil) throws -> (Workspace, any S3Server, String) {
        let store = try s3Server(kind)
        let w = try Workspace()
        for (k, v) in store.environment { w.environment[k] = v }
        let repo = try store.newRepository("e2e", endpoint: endpoint)
        w.environment["CHAINVAULT_REPOSITORY"] = repo
        return (w, store, repo)
    }

    /// A workspace whose repository is reached through a fault proxy, with a generated node and
    /// an initialised repository.
    func proxied(seed: Int, rate: Double, retries: Int) throws -> (Workspace, FaultProxy) {
        let proxy = try FaultProxy(upstreamPort: try MotoS3.shared().port, seed: seed, rate: rate)
        let (w, _, _) = try workspace(endpoint: proxy.endpoint)
        w.environment["CHAINVAULT_S3_RETRIES"] = String(retries)
        try w.ok(["demo", "--generate", w.path("node"), "--size", "24M"])
        try w.ok(["init"])
        return (w, proxy)
    }

    @Test(arguments: S3StoreKind.allCases)
    func everyCommandWorksOnS3(_ kind: S3StoreKind) throws {
        let (w, _, _) = try workspace(kind)
        let src = try w.makeSourceTree()
        try w.ok(["init"])
        let first = try w.ok(["backup", src, "--json"]).json
        #expect(first["snapshot"] as? String != nil)
        try w.write("src/blocks/blk00001.dat", Array(repeating: 9, count: 500_000))
        let second = try w.ok(["backup", src, "--json"]).json
        let stats = second["stats"] as? [String: Any] ?? [:]
        #expect((stats["bytesNew"] as? Int ?? .max) < 600_000, "only the new file is stored again: \(stats)")
        let verify = try w.ok(["verify", "--read-data"])
        #expect(verify.stdout.contains("no problems found"))
        try w.ok(["restore", "latest", "--target", w.path("out")])
        #expect(try treeDifferences(src, w.path("out")).isEmpty)
        let forget = try w.ok(["forget", "--keep-last", "1", "--prune"])
        #expect(forget.stdout.contains("remove"))
        try w.ok(["verify", "--read-data"])
        try w.ok(["restore", "latest", "--target", w.path("out2")])
        #expect(try treeDifferences(src, w.path("out2")).isEmpty)
    }

    @Test(arguments: S3StoreKind.allCases)
    func copyGoesLocalToS3AndBackOnlySendingWhatIsMissing(_ kind: S3StoreKind) throws {
        let (w, _, s3) = try workspace(kind)
        let src = try w.makeSourceTree()
        let local = w.path("local-repo"), back = w.path("back-repo")
        try w.ok(["init", "--repo", local])
        try w.ok(["backup", src, "--repo", local])
        try w.ok(["init", "--repo", s3])
        let first = try w.ok(["copy", "--from", local, "--to", s3, "--json"]).json
        #expect((first["copied"] as? [Any])?.count == 1)
        #expect((first["bytesCopied"] as? Int ?? 0) > 3_000_000)
        let again = try w.ok(["copy", "--from", local, "--to", s3, "--json"]).json
        #expect(
            (again["copied"] as? [Any])?.isEmpty == true && (again["alreadyPresent"] as? [Any])?.count == 1,
            "a snapshot is copied once")

        // A second snapshot sharing most data: only the difference travels.
        try w.write("src/blocks/blk00002.dat", Array(repeating: 3, count: 200_000))
        try w.ok(["backup", src, "--repo", local])
        let delta = try w.ok(["copy", "--from", local, "--to", s3, "--json"]).json
        #expect((delta["copied"] as? [Any])?.count == 1)
        #expect((delta["bytesCopied"] as? Int ?? .max) < 1_000_000, "only new chunks are sent: \(delta)")
        try w.ok(["verify", "--read-data", "--repo", s3])

        // Back from S3 into a repository with a different key.
        let otherKey = w.path("other.key")
        _ = FileManager.default.createFile(
            atPath: otherKey, contents: Data((0..<32).map { UInt8($0 * 7 & 255) }),
            attributes: [.posixPermissions: 0o600])
        try w.ok(["init", "--repo", back, "--key-file", otherKey])
        try w.ok(["copy", "--from", s3, "--from-key-file", w.key, "--to", back, "--key-file", otherKey])
        try w.ok(["verify", "--read-data", "--repo", back, "--key-file", otherKey])
        try w.ok(["restore", "latest", "--target", w.path("out"), "--repo", back, "--key-file", otherKey])
        #expect(try treeDifferences(src, w.path("out")).isEmpty)
    }

    @Test(arguments: S3StoreKind.allCases)
    func aWrongSecretIsReportedClearly(_ kind: S3StoreKind) throws {
        let (w, _, _) = try workspace(kind)
        w.environment["AWS_SECRET_ACCESS_KEY"] = "definitely-wrong"
        let r = try w.run(["init"])
        #expect(r.code == 16)
        #expect(r.stderr.contains("secret key is wrong") && r.stderr.contains("SignatureDoesNotMatch"), "\(r.stderr)")
        #expect(!r.stderr.contains("definitely-wrong"), "the secret never appears in output")
    }

    @Test func backupAndRestoreCompleteThroughFaultsAndVerify() throws {
        let (w, proxy) = try proxied(seed: 11, rate: 0.2, retries: 12)
        defer { proxy.stop() }
        try w.ok(["backup", w.path("node")])
        try w.ok(["verify", "--read-data"])
        try w.ok(["restore", "latest", "--target", w.path("out")])
        #expect(try treeDifferences(w.path("node"), w.path("out")).isEmpty, "restored byte for byte through the faults")
    }

    @Test func whenTheServerIsGoneTheBackupFailsClearlyAndTheNextRunResumes() throws {
        let (w, proxy) = try proxied(seed: 3, rate: 0, retries: 3)
        defer { proxy.stop() }
        proxy.setDown(true)
        let failed = try w.run(["backup", w.path("node")])
        #expect(failed.code == 16, "storage failure exit code: \(failed.stderr)")
        #expect(failed.stderr.contains("after 3 attempts") && failed.stderr.contains("HINT"), "\(failed.stderr)")
        proxy.setDown(false)
        try w.ok(["verify", "--read-data"])
        try w.ok(["unlock"])
        try w.ok(["backup", w.path("node")])
        try w.ok(["verify", "--read-data"])
        try w.ok(["restore", "latest", "--target", w.path("out")])
        #expect(try treeDifferences(w.path("node"), w.path("out")).isEmpty)
    }
}

extension S3Tests {
    /// A policy with `copyTo`: each scheduled backup lands locally and is then copied off-site.
    @Test func theDaemonCopiesEachBackupOffSite() throws {
        let (w, _, s3) = try workspace()
        try w.ok(["demo", "--generate", w.path("node"), "--size", "8M"])
        try w.ok(["init", "--repo", w.repo])
        try w.ok(["init", "--repo", s3])
        let port = TestPorts.take()
        try w.write(
            "policies/node.json",
            Array(
                """
                {"name":"node","source":"\(w.path("node"))","consistency":{"mode":"live"},
                 "schedule":{"every":"2s"},"retention":{"keepLast":2},"rpo":"1m","copyTo":"\(s3)"}
                """.utf8))
        try w.write(
            "config.json",
            Array(
                """
                {"repository":"\(w.repo)","keyFile":"\(w.key)","policies":"\(w.path("policies"))","listen":"127.0.0.1:\(port)",
                 "stateDirectory":"\(w.path("state"))"}
                """.utf8))
        let p = try w.start(["daemon", "--config", w.path("config.json")])
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL) } }
        let deadline = Date().addingTimeInterval(30)
        var offSite: [[String: Any]] = []
        while Date() < deadline {
            usleep(500_000)
            let r = try w.run(["snapshots", "--repo", s3, "--json"])
            offSite = (try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]]) ?? []
            if offSite.count >= 2 { break }
        }
        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        #expect(offSite.count == 2, "two scheduled backups copied off-site: \(offSite.count)")
        try w.ok(["verify", "--read-data", "--repo", s3])
        try w.ok(["restore", "latest", "--target", w.path("out"), "--repo", s3])
        #expect(try treeDifferences(w.path("node"), w.path("out")).isEmpty)
    }
}

extension S3Tests {
    /// SIGKILL during a copy to S3: the destination stays clean, and the next copy finishes
    /// without sending again what had arrived.
    @Test(arguments: [0.3, 0.8])
    func aKilledCopyResumes(_ delay: Double) throws {
        // Through the proxy (no faults): slower transfers, so the kill lands mid-copy.
        let moto = try MotoS3.shared()
        let proxy = try FaultProxy(upstreamPort: moto.port, seed: 1, rate: 0)
        defer { proxy.stop() }
        let (w, _, s3) = try workspace(endpoint: proxy.endpoint)
        try w.ok(["demo", "--generate", w.path("node"), "--size", "40M"])
        let local = w.path("local-repo")
        try w.ok(["init", "--repo", local])
        try w.ok(["backup", w.path("node"), "--repo", local])
        try w.ok(["init", "--repo", s3])
        let p = try w.start(["copy", "--from", local, "--to", s3])
        usleep(useconds_t(delay * 1_000_000))
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        #expect(p.terminationReason == .uncaughtSignal, "the copy was still running when killed at \(delay)s")
        try w.ok(["verify", "--read-data", "--repo", s3])
        try w.ok(["unlock", "--remove-all", "--repo", s3])
        try w.ok(["unlock", "--remove-all", "--repo", local])
        let again = try w.ok(["copy", "--from", local, "--to", s3, "--json"]).json
        let copiedNow = (again["copied"] as? [Any])?.count ?? 0
        let present = (again["alreadyPresent"] as? [Any])?.count ?? 0
        #expect(copiedNow + present == 1, "the snapshot is in the destination exactly once")
        try w.ok(["verify", "--read-data", "--repo", s3])
        try w.ok(["restore", "latest", "--target", w.path("out"), "--repo", s3])
        #expect(try treeDifferences(w.path("node"), w.path("out")).isEmpty)
    }
}

extension S3Tests {
    /// From S3 a restore reads runs of chunks with one range request; a delta restore still
    /// reuses each matching chunk of the live copy and fetches only the rest.
    @Test(arguments: S3StoreKind.allCases)
    func deltaRestoreFromS3ReusesTheLiveCopyAndFetchesTheRest(_ kind: S3StoreKind) throws {
        let (w, _, _) = try workspace(kind)
        try w.ok(["demo", "--generate", w.path("node"), "--size", "24M"])
        try w.ok(["init"])
        try w.ok(["backup", w.path("node")])
        try w.ok(["restore", "latest", "--target", w.path("live")])
        #expect(try treeDifferences(w.path("node"), w.path("live")).isEmpty)
        // Damage the live copy in the middle of its largest file.
        let files = try FileManager.default.subpathsOfDirectory(atPath: w.path("live"))
            .filter {
                (try? FileManager.default.attributesOfItem(atPath: w.path("live/" + $0))[.type] as? FileAttributeType)
                    == .typeRegular
            }
        let largest = files.max {
            (try? FileManager.default.attributesOfItem(atPath: w.path("live/" + $0))[.size] as? Int ?? 0) ?? 0
                < (try? FileManager.default.attributesOfItem(atPath: w.path("live/" + $1))[.size] as? Int ?? 0) ?? 0
        }!
        let fd = open(w.path("live/" + largest), O_WRONLY)
        _ = pwrite(fd, [UInt8](repeating: 0xEE, count: 4096), 4096, off_t(2_000_000))
        close(fd)
        let r = try w.ok(["restore", "latest", "--target", w.path("live"), "--delta", "--json"]).json
        // 4 KiB damaged touch at most two chunks (each at most 4 MiB): most of the file is reused.
        let size = try FileManager.default.attributesOfItem(atPath: w.path("live/" + largest))[.size] as? Int ?? 0
        #expect(size > 8_000_000 && (r["bytesReused"] as? Int ?? 0) > size / 2, "\(size) \(r)")
        #expect((r["bytesFetched"] as? Int ?? .max) < 8_000_000, "\(r)")
        #expect(try treeDifferences(w.path("node"), w.path("live")).isEmpty)
    }
}
