import Foundation
import Synchronization
import Testing
import S3TestSupport
import VaultCore
import VaultRepository
import VaultStorage

/// Two exclusive lock attempts that both wrote their lock before either listed (the race the
/// post-write check exists for): exactly one wins. Before, both saw each other and both backed
/// off, so neither ran. On RGW the bucket is versioned, where `If-None-Match: *` is ignored.
struct S3LockTests {
    @Test(arguments: S3StoreKind.allCases)
    func twoConcurrentExclusiveLocksHaveExactlyOneWinner(_ kind: S3StoreKind) throws {
        let store = try s3Server(kind)
        let repo =
            try (store as? RGWS3)?.newRepository("locks", versioned: true)
            ?? store.newRepository("locks", endpoint: nil)
        let rendezvous = Rendezvous(parties: 2)
        let outcomes = Mutex<[Result<RepositoryLock, VaultError>]>([])
        // Two threads of their own: concurrentPerform may run both iterations one after the other
        // on a busy machine, and then the first waits for a second party that has not started.
        let done = DispatchGroup()
        for _ in 0..<2 {
            done.enter()
            Thread {
                let result: Result<RepositoryLock, VaultError>
                do {
                    let backend = RendezvousBackend(
                        try S3Backend.open(repo, environment: store.environment), rendezvous)
                    result = .success(try RepositoryLock.acquire(backend, exclusive: true, command: "prune"))
                } catch let e as VaultError { result = .failure(e) } catch {
                    result = .failure(VaultError(.failure, "\(error)"))
                }
                outcomes.withLock { $0.append(result) }
                done.leave()
            }.start()
        }
        done.wait()
        let all = outcomes.withLock { $0 }
        #expect(rendezvous.met, "both locks were written before either was checked")
        let winners = all.compactMap { try? $0.get() }
        #expect(winners.count == 1, "\(all)")
        for case .failure(let e) in all { #expect(e.code == .locked, "\(e)") }
        let backend = try S3Backend.open(repo, environment: store.environment)
        #expect(try backend.list(.lock).count == 1, "the loser removed its lock")
        winners.forEach { $0.release() }
        #expect(try backend.list(.lock).isEmpty)
    }
}

/// Holds every listing of locks made after this client wrote its lock until all parties have
/// written theirs (bounded: a party that never writes fails the test by `met`, not a hang).
final class Rendezvous: Sendable {
    let parties: Int
    private let written = Mutex(0)
    init(parties: Int) { self.parties = parties }
    func arrive() { written.withLock { $0 += 1 } }
    var met: Bool { written.withLock { $0 } >= parties }
    func wait() {
        let deadline = Date().addingTimeInterval(60)
        while !met && Date() < deadline { usleep(10_000) }
    }
}

/// @unchecked: only `let`s (`wroteLock` a Mutex, `rendezvous` Sendable); `inner` is a store used
/// through its own thread-safe interface.
final class RendezvousBackend: Backend, StoreClock, @unchecked Sendable {
    let inner: Backend
    let rendezvous: Rendezvous
    private let wroteLock = Mutex(false)
    init(_ inner: Backend, _ rendezvous: Rendezvous) { self.inner = inner; self.rendezvous = rendezvous }

    var location: String { inner.location }
    var stagingDirectory: String { inner.stagingDirectory }
    var preferredConcurrency: Int { inner.preferredConcurrency }
    func create() throws { try inner.create() }
    func storeNow() throws -> Date { try (inner as! StoreClock).storeNow() }
    func list(_ kind: ObjectKind) throws -> [ObjectInfo] {
        if kind == .lock, wroteLock.withLock({ $0 }) { rendezvous.wait() }
        return try inner.list(kind)
    }
    func read(_ handle: ObjectHandle, range: Range<Int>?) throws -> [UInt8] { try inner.read(handle, range: range) }
    func write(_ handle: ObjectHandle, _ bytes: [UInt8]) throws {
        try inner.write(handle, bytes)
        if handle.kind == .lock,
            !wroteLock.withLock({
                let was = $0; $0 = true; return was
            })
        {
            rendezvous.arrive()
        }
    }
    func delete(_ handle: ObjectHandle) throws { try inner.delete(handle) }
    func stat(_ handle: ObjectHandle) throws -> Int? { try inner.stat(handle) }
    func writeFile(_ handle: ObjectHandle, path: String) throws { try inner.writeFile(handle, path: path) }
}
