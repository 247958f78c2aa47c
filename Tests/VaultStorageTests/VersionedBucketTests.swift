import Foundation
import Synchronization
import Testing
import VaultCore
import VaultStorage
import S3TestSupport

/// Ceph RGW 16 ignores `If-None-Match: *` on a bucket with versioning (every Object Lock bucket
/// has it): a second PUT of a name becomes a new version. Content-addressed objects are safe
/// either way; the config's name does not fix its content, so it must still be created once.
struct VersionedBucketTests {
    func versionedBackend() throws -> (S3Backend, String, [String: String]) {
        let rgw = try #require(try s3Server(.rgw) as? RGWS3)
        let repo = try rgw.newRepository("versioned", versioned: true)
        return (try S3Backend.open(repo, environment: rgw.environment), repo, rgw.environment)
    }

    @Test func theConfigIsCreatedOnceOnAVersionedBucket() throws {
        let (b, _, _) = try versionedBackend()
        try b.create()
        try b.write(.config, [1, 2, 3])
        let again = #expect(throws: VaultError.self) { try b.write(.config, [9, 9]) }
        #expect(again?.code == .alreadyExists)
        #expect(try b.read(.config) == [1, 2, 3], "the first config stays the one readers get")
        let refused = #expect(throws: VaultError.self) { try b.create() }
        #expect(refused?.code == .alreadyExists)
    }

    /// Eight writers at once, each with its own connection and different bytes: exactly one
    /// succeeds, and what every reader then gets is that one's config.
    @Test func concurrentConfigWritesOnAVersionedBucketHaveOneWinner() throws {
        let (_, repo, env) = try versionedBackend()
        let outcomes = Mutex<[Int: Result<Void, VaultError>]>([:])
        DispatchQueue.concurrentPerform(iterations: 8) { i in
            let result: Result<Void, VaultError>
            do {
                let b = try S3Backend.open(repo, environment: env)
                try b.write(.config, Array(repeating: UInt8(i + 1), count: 100))
                result = .success(())
            } catch let e as VaultError { result = .failure(e) } catch {
                result = .failure(VaultError(.failure, "\(error)"))
            }
            outcomes.withLock { $0[i] = result }
        }
        let all = outcomes.withLock { $0 }
        let winners = all.filter { if case .success = $0.value { true } else { false } }.map(\.key)
        #expect(winners.count == 1, "\(all)")
        for case (_, .failure(let e)) in all { #expect(e.code == .alreadyExists, "\(e)") }
        let winner = try #require(winners.first)
        #expect(
            try S3Backend.open(repo, environment: env).read(.config) == Array(repeating: UInt8(winner + 1), count: 100))
    }
}
