import Foundation
import Testing
import VaultTestSupport
import VaultCore
@_spi(Testing) import VaultRepository
@_spi(Repository) import VaultStorage

@Test func wrongKeyFailsCleanlyAndARightOneOpens() throws {
    let (_, backend) = try newRepository()
    let error = #expect(throws: VaultError.self) { try Repository.open(backend, credential: keyCredential(8)) }
    #expect(error?.code == .wrongKey)
    #expect(try Repository.open(backend, credential: keyCredential()).config.version == 1)
}

@Test func passphraseKeysWorkAndSeveralKeysOpenOneRepository() throws {
    let (repo, backend) = try newRepository()
    var pass = Array("correct horse battery staple".utf8)
    let password = Credential.password(SecretBytes(consuming: &pass))
    let added = try KeyRing.add(backend, master: repo.master, credential: password, scrypt: .init(n: 1024, r: 8, p: 1))
    let viaPassword = try Repository.open(backend, credential: password)
    #expect(viaPassword.keyID == added)
    var wrong = Array("incorrect".utf8)
    #expect(
        (#expect(throws: VaultError.self) {
            try Repository.open(backend, credential: .password(SecretBytes(consuming: &wrong)))
        })?.code == .wrongKey)
    #expect(try KeyRing.list(backend).count == 2)
    // The key in use and the last key can never be removed.
    #expect(throws: VaultError.self) { try KeyRing.remove(backend, id: added.hex, current: added) }
    try KeyRing.remove(backend, id: String(added.hex.prefix(10)), current: repo.keyID)
    #expect(throws: VaultError.self) {
        try KeyRing.remove(backend, id: repo.keyID.hex, current: KeyID(SHA256.hash("other")))
    }
}

@Test func anAlteredKeyFileIsReportedAsDamaged() throws {
    let (_, backend) = try newRepository()
    let key = try backend.list(.key)[0].name
    backend.tamper(ObjectHandle(.key, key)) { $0[$0.count / 2] ^= 1 }
    let error = #expect(throws: VaultError.self) { try Repository.open(backend, credential: keyCredential()) }
    #expect(error?.code == .wrongKey)
    #expect(error?.message.contains("damaged") == true)
}

@Test func notARepositoryIsAClearError() throws {
    let error = #expect(throws: VaultError.self) { try Repository.open(MemoryBackend(), credential: keyCredential()) }
    #expect(error?.code == .notARepository)
}

@Test func exclusiveAndSharedLocksExcludeEachOther() throws {
    let backend = MemoryBackend()
    let shared1 = try RepositoryLock.acquire(backend, exclusive: false, command: "backup")
    let shared2 = try RepositoryLock.acquire(backend, exclusive: false, command: "verify")
    let error = #expect(throws: VaultError.self) {
        try RepositoryLock.acquire(backend, exclusive: true, command: "prune")
    }
    #expect(error?.code == .locked)
    #expect(
        error?.message.contains("backup") == true || error?.message.contains("verify") == true, "names who holds it")
    shared1.release(); shared2.release()
    let exclusive = try RepositoryLock.acquire(backend, exclusive: true, command: "prune")
    #expect(throws: VaultError.self) { try RepositoryLock.acquire(backend, exclusive: false, command: "backup") }
    exclusive.release()
    #expect(try backend.list(.lock).isEmpty)
}

@Test func locksOfDeadProcessesAreStaleAndGarbageLocksAreReported() throws {
    let backend = MemoryBackend()
    // A dead process is recognised only with the boot id and PID namespace that give its pid a
    // meaning (a pid alone, as older locks have, is judged by age: it may be another namespace's).
    let me = ProcessIdentity.current
    let doc = """
        {"exclusive":true,"hostname":"\(ProcessInfo.processInfo.hostName)","pid":2147483000,"username":"x","command":"prune","time":"\(Timestamp.now())","refreshed":"\(Timestamp.now())",\
        "bootID":"\(me.bootID!)","pidNamespace":\(me.pidNamespace!),"startTime":1}
        """
    try backend.write(ObjectHandle(.lock, "dead"), Array(doc.utf8))
    let lock = try RepositoryLock.acquire(backend, exclusive: true, command: "prune")
    #expect(lock.removedStale.count == 1)
    lock.release()
    try backend.write(ObjectHandle(.lock, "garbage"), [0xFF, 0x00])
    let error = #expect(throws: VaultError.self) {
        try RepositoryLock.acquire(backend, exclusive: false, command: "backup")
    }
    #expect(error?.message.contains("unreadable") == true)
    // Nothing proves "garbage" is a lock (issue 14: hostile storage plants files): unlock reports
    // it and leaves it; only --remove-all removes it.
    let unlocked = try RepositoryLock.unlock(backend, all: false)
    #expect(unlocked.removed.isEmpty && unlocked.notLocks == ["locks/garbage"])
    #expect(try RepositoryLock.unlock(backend, all: true).removed.count == 1)
    #expect(try backend.list(.lock).isEmpty)
}

@Test(arguments: [UInt8(10), 13, 32, 9, 0, 255])
func binaryKeyFilesAreUsedExactlyWhateverTheirLastByte(_ last: UInt8) throws {
    let dir = NSTemporaryDirectory() + "cv-keyfile-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    var bytes = [UInt8](repeating: 0xA7, count: 31) + [last]
    _ = FileManager.default.createFile(
        atPath: dir + "/k", contents: Data(bytes), attributes: [.posixPermissions: 0o600])
    guard case .keyFile(let secret) = try Credential.keyFile(dir + "/k") else { Issue.record("not a key file"); return }
    #expect(secret.copyBytes() == bytes, "a binary key is never trimmed")
    // A text key loses only its trailing white space.
    bytes = Array((String(repeating: "ab", count: 32) + " \r\n").utf8)
    _ = FileManager.default.createFile(
        atPath: dir + "/t", contents: Data(bytes), attributes: [.posixPermissions: 0o600])
    guard case .keyFile(let text) = try Credential.keyFile(dir + "/t") else { Issue.record("not a key file"); return }
    #expect(text.copyBytes() == Array(String(repeating: "ab", count: 32).utf8))
}
