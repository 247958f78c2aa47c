import Synchronization
import Foundation
import Testing
import VaultCore
@_spi(Repository) import VaultStorage
import S3TestSupport

/// One conformance suite, run against every backend: a local directory, memory, and S3 on two
/// stores on 127.0.0.1: moto_server (checks signatures) and Ceph RGW (`rgw`, a real object store).
enum BackendUnderTest: String, CaseIterable, CustomTestStringConvertible {
    case local, memory, s3, rgw
    var testDescription: String { rawValue }

    func make() throws -> Backend {
        switch self {
        case .memory: return MemoryBackend()
        case .local:
            let dir = NSTemporaryDirectory() + "cv-backend-" + UUID().uuidString
            return LocalBackend(path: dir)
        case .s3:
            let moto = try MotoS3.shared()
            return try S3Backend.open(moto.newRepository("conformance"), environment: moto.environment)
        case .rgw:
            let rgw = try s3Server(.rgw)
            return try S3Backend.open(rgw.newRepository("conformance", endpoint: nil), environment: rgw.environment)
        }
    }
}

@Test(arguments: BackendUnderTest.allCases)
func writeReadListDeleteRoundTrip(_ kind: BackendUnderTest) throws {
    let b = try kind.make()
    try b.create()
    let name = SHA256.hash("pack").hex
    let pack = ObjectHandle(.pack, name)
    let bytes = (0..<5000).map { UInt8(truncatingIfNeeded: $0 * 7) }
    try b.write(pack, bytes)
    #expect(try b.read(pack) == bytes)
    #expect(try b.read(pack, range: 100..<200) == Array(bytes[100..<200]))
    #expect(try b.stat(pack) == 5000)
    #expect(try b.list(.pack) == [ObjectInfo(name: name, size: 5000)])
    // Lock ages and prune's young-pack margin compare these two, both on the store's clock.
    let written = try #require(try b.list(.pack).first?.modified, "\(kind): the listing reports when it was written")
    let now = try #require(try (b as? StoreClock)?.storeNow(), "\(kind): the store tells its time")
    #expect(abs(now.timeIntervalSince(written)) < 120, "\(kind): written \(written), store now \(now)")
    #expect(try b.list(.index).isEmpty)
    try b.delete(pack)
    try b.delete(pack)  // idempotent
    #expect(try b.stat(pack) == nil)
    #expect(try b.list(.pack).isEmpty)
}

@Test(arguments: BackendUnderTest.allCases)
func objectsAreNeverOverwritten(_ kind: BackendUnderTest) throws {
    let b = try kind.make()
    try b.create()
    let h = ObjectHandle(.snapshot, "abc")
    try b.write(h, [1, 2, 3])
    let error = #expect(throws: VaultError.self) { try b.write(h, [9, 9]) }
    #expect(error?.code == .alreadyExists)
    #expect(try b.read(h) == [1, 2, 3])
    try b.writeIfAbsent(h, [1, 2, 3])
}

@Test(arguments: BackendUnderTest.allCases)
func missingObjectsAndBadRangesAreClearErrors(_ kind: BackendUnderTest) throws {
    let b = try kind.make()
    try b.create()
    let missing = #expect(throws: VaultError.self) { try b.read(ObjectHandle(.index, "nope")) }
    #expect(missing?.code == .missing)
    try b.write(ObjectHandle(.index, "x"), [1, 2, 3])
    let short = #expect(throws: VaultError.self) { try b.read(ObjectHandle(.index, "x"), range: 2..<10) }
    #expect(short?.code == .corrupt)
}

@Test(arguments: BackendUnderTest.allCases)
func createRefusesAnExistingRepository(_ kind: BackendUnderTest) throws {
    let b = try kind.make()
    try b.create()
    try b.write(.config, [1])
    let error = #expect(throws: VaultError.self) { try b.create() }
    #expect(error?.code == .alreadyExists)
}

@Test func localBackendNeverListsTemporariesAndCleansThem() throws {
    let dir = NSTemporaryDirectory() + "cv-backend-" + UUID().uuidString
    let b = LocalBackend(path: dir)
    try b.create()
    _ = FileManager.default.createFile(atPath: dir + "/index/.tmp-abc-123", contents: Data([1]))
    _ = FileManager.default.createFile(atPath: dir + "/data/.tmp-pack-old", contents: Data([1]))
    _ = FileManager.default.createFile(atPath: dir + "/locks/.tmp-being-written", contents: Data([1]))
    let twoDaysAgo = Date().addingTimeInterval(-2 * 86_400)
    for old in ["/index/.tmp-abc-123", "/data/.tmp-pack-old"] {
        try FileManager.default.setAttributes([.modificationDate: twoDaysAgo], ofItemAtPath: dir + old)
    }
    #expect(try b.list(.index).isEmpty)
    b.removeStaleTemporaries()
    #expect(!FileManager.default.fileExists(atPath: dir + "/index/.tmp-abc-123"))
    #expect(!FileManager.default.fileExists(atPath: dir + "/data/.tmp-pack-old"))
    #expect(
        FileManager.default.fileExists(atPath: dir + "/locks/.tmp-being-written"),
        "a fresh temp file may be another process's write in progress: kept")
}

@Test func localBackendOnAMissingDirectoryIsNotARepository() throws {
    let b = LocalBackend(path: "/nonexistent-\(UUID().uuidString)")
    let error = #expect(throws: VaultError.self) { try b.list(.snapshot) }
    #expect(error?.code == .notARepository)
}

/// Regression: a failed no-replace rename used to close its temp file's descriptor twice; the
/// second close could hit a descriptor another thread had just opened (seen as EBADF in a
/// concurrent listing). Here one thread keeps re-writing an existing object while another keeps
/// opening and reading files: every read must succeed.
@Test func rewritingAnExistingObjectNeverClosesAnotherThreadsFile() throws {
    let dir = NSTemporaryDirectory() + "cv-backend-" + UUID().uuidString
    let b = LocalBackend(path: dir)
    try b.create()
    let h = ObjectHandle(.index, "existing")
    try b.write(h, [1, 2, 3])
    try b.write(ObjectHandle(.snapshot, "other"), Array(repeating: 7, count: 4096))
    let readErrors = Mutex<[String]>([])
    DispatchQueue.concurrentPerform(iterations: 2) { worker in
        for _ in 0..<1000 {
            if worker == 0 {
                try? b.writeIfAbsent(h, [1, 2, 3])
            } else {
                do { _ = try b.list(.pack); _ = try b.read(ObjectHandle(.snapshot, "other")) } catch {
                    readErrors.withLock { $0.append("\(error)") }
                }
            }
        }
    }
    let errors = readErrors.withLock { $0 }
    #expect(errors.isEmpty, "\(errors.prefix(3))")
}

@Test(arguments: BackendUnderTest.allCases)
func listingPagesThroughMoreThanAThousandObjects(_ kind: BackendUnderTest) throws {
    let b = try kind.make()
    try b.create()
    let names = (0..<1234).map { String(format: "%05d", $0) }
    DispatchQueue.concurrentPerform(iterations: 8) { worker in
        for name in names.enumerated() where name.offset % 8 == worker {
            try! b.write(ObjectHandle(.lock, name.element), [UInt8(name.offset & 255)])
        }
    }
    #expect(try b.list(.lock).map(\.name).sorted() == names)
}

@Test(arguments: BackendUnderTest.allCases)
func packsAreHandedOverFromSpoolFiles(_ kind: BackendUnderTest) throws {
    let b = try kind.make()
    try b.create()
    let bytes = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
    let spool = b.stagingDirectory + "/.tmp-pack-test-" + UUID().uuidString
    _ = FileManager.default.createFile(atPath: spool, contents: Data(bytes))
    let pack = ObjectHandle(.pack, SHA256.hash(bytes).hex)
    try b.writeFile(pack, path: spool)
    #expect(!FileManager.default.fileExists(atPath: spool), "the spool file is consumed")
    #expect(try b.read(pack, range: 1000..<1010) == Array(bytes[1000..<1010]))
    #expect(try b.list(.pack) == [ObjectInfo(name: pack.name, size: bytes.count)])
}
