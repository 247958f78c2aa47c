import VaultTestSupport
import Foundation
import Testing
import VaultCore
@_spi(Testing) import VaultRepository
@_spi(Repository) import VaultStorage

/// `BlobSaver.chunkBuffer`: the workers hand their chunk buffers back to the readers (issue 17:
/// an allocation per chunk cost page faults), and a reused buffer's old bytes never reach a blob.
@Suite struct ChunkBufferTests {
    /// `bytes` copied into the front of `buffer`, which is returned.
    static func filled(_ buffer: [UInt8], with bytes: [UInt8]) -> [UInt8] {
        var buffer = buffer
        buffer.withUnsafeMutableBytes { dst in bytes.withUnsafeBytes { dst.copyMemory(from: $0) } }
        return buffer
    }

    @Test func aBufferComesBackAfterItsBlobAndItsOldBytesNeverReachTheNextBlob() throws {
        let (repo, backend) = try newRepository()
        let group = DispatchGroup()
        var blobs: [[UInt8]] = []
        _ = try repo.withBlobSaver(.adding(indexEvery: 32), workers: 2) { saver in
            // Shorter each time, half of them compressible: a reused buffer holds an earlier
            // blob's sealed bytes past the new length.
            for i in 0..<10 {
                let count = 900_000 - i * 70_000
                let bytes = i % 2 == 0 ? SecureRandom.bytes(count) : [UInt8](repeating: UInt8(i), count: count)
                let buffer = saver.chunkBuffer(count)
                #expect(buffer.count >= count)
                saver.budget.acquire(count)
                saver.submit(Self.filled(buffer, with: bytes), length: count, group: group)
                blobs.append(bytes)
                // The worker gives the buffer back before it leaves the group.
                group.wait()
            }
            #expect(saver.chunkBuffersAllocated == 1, "each later blob got the buffer of the one before")
        }
        let reopened = try Repository.open(backend, credential: keyCredential())
        try reopened.loadIndex()
        let codec = reopened.makeCodec()
        for bytes in blobs { #expect(try reopened.readBlob(SHA256.hash(bytes), codec: codec) == bytes) }
    }
}
