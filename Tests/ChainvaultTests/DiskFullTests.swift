import Foundation
import Glibc
import Testing

/// A real full file system under the repository (a small tmpfs; needs root, as in CI here):
/// the backup fails with exit 15 and says so, the repository stays consistent, and once there is
/// room again the next backup succeeds and reuses what was stored.
struct RealDiskFullTests {
    static let canMount: Bool = {
        guard getuid() == 0 else { return false }
        let probe = NSTemporaryDirectory() + "cv-mount-probe-" + UUID().uuidString.prefix(8)
        mkdir(probe, 0o700)
        defer { rmdir(probe) }
        guard mount("tmpfs", probe, "tmpfs", 0, "size=1m") == 0 else { return false }
        umount(probe)
        return true
    }()

    @Test(.enabled(if: canMount, "mounting a tmpfs needs root"))
    func aFullRepositoryDiskFailsCleanlyAndTheNextBackupResumes() throws {
        let w = try Workspace()
        let mountPoint = w.path("small-disk")
        mkdir(mountPoint, 0o700)
        #expect(mount("tmpfs", mountPoint, "tmpfs", 0, "size=12m") == 0)
        defer { umount2(mountPoint, Int32(MNT_DETACH)) }
        let repo = mountPoint + "/repo"
        try w.write("src/random.dat", SecureRandomBytes(30_000_000))
        try w.ok(["init", "--repo", repo])
        let full = try w.run(["backup", w.path("src"), "--repo", repo])
        #expect(full.code == 15, "storage-full exit code: \(full.stderr)")
        #expect(full.stderr.contains("No space left") || full.stderr.contains("full"), "\(full.stderr)")
        #expect(full.stderr.contains("HINT"))
        try w.ok(["verify", "--read-data", "--repo", repo])
        // Room again: the same repository, now on a larger file system.
        #expect(mount("tmpfs", mountPoint, "tmpfs", UInt(MS_REMOUNT), "size=80m") == 0)
        let again = try w.ok(["backup", w.path("src"), "--repo", repo, "--json"]).json
        #expect(again["snapshot"] as? String != nil)
        try w.ok(["verify", "--read-data", "--repo", repo])
        try w.ok(["restore", "latest", "--target", w.path("out"), "--repo", repo])
        #expect(try treeDifferences(w.path("src"), w.path("out")).isEmpty)
    }
}

private func SecureRandomBytes(_ n: Int) -> [UInt8] {
    var rng = SystemRandomNumberGenerator()
    return (0..<n / 8).flatMap { _ in withUnsafeBytes(of: rng.next()) { Array($0) } }
}
