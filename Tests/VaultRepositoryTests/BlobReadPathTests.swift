import Foundation
import Testing
import VaultTestSupport
import VaultCore
import VaultRepository
@_spi(Repository) import VaultStorage

/// The restore read path (issue 17): a pack's subkey derived once for all its blobs, plaintext
/// opened into buffers a worker reuses, and what the compression chooser stores.
@Suite struct BlobReadPathTests {
    @Test func aPacksSubkeyIsDerivedOnceForAllItsBlobs() throws {
        let (repo, _) = try newRepository()
        let first = (0..<6).map { i in [UInt8](repeating: UInt8(i), count: 70_000 + i) }
        let second = (0..<3).map { i in [UInt8](repeating: UInt8(100 + i), count: 1_000 + i) }
        try writePack(repo, first)
        try writePack(repo, second)
        let codec = repo.makeCodec()
        for b in first + first { #expect(try repo.readBlob(SHA256.hash(b), codec: codec) == b) }
        #expect(codec.subkeyDerivations == 1, "twelve reads of one pack's blobs derive its key once")
        for b in second { #expect(try repo.readBlob(SHA256.hash(b), codec: codec) == b) }
        #expect(codec.subkeyDerivations == 2)
        // Another repository (another master key) never gets the first one's cached key.
        let (other, _) = try newRepository()
        try writePack(other, first)
        #expect(try other.readBlob(SHA256.hash(first[0]), codec: codec) == first[0])
        #expect(codec.subkeyDerivations == 3)
    }

    @Test func aReusedBufferGivesEachBlobExactlyItsBytesAndNeverADamagedOne() throws {
        let (repo, backend) = try newRepository()
        var rng = SplitMix64(seed: 17)
        var random = [UInt8](); rng.fill(&random, count: 300_000)
        let blobs: [[UInt8]] = [[UInt8](repeating: 65, count: 400_000), random, Array(random[0..<5_000]), [], [9, 8, 7]]
        let pack = try writePack(repo, blobs)
        #expect(pack.entries.map(\.compression) == [.zstd, .none, .none, .none, .none])
        let codec = repo.makeCodec()
        var buffer: [UInt8] = []
        for (b, location) in zip(blobs, blobs.map { repo.index.lookup(SHA256.hash($0))! }) {
            let count = try repo.readPackRange(location.pack, Self.range(location)) { sealed in
                try sealed.withUnsafeBytes { try repo.openBlob($0, at: location, codec: codec, into: &buffer) }
            }
            #expect(count == b.count)
            #expect(Array(buffer[0..<count]) == b, "the buffer's first bytes are this blob's, whatever it held before")
        }
        #expect(buffer.count == 400_000, "the buffer grew once, to the largest blob, and was reused after")
        backend.tamper(ObjectHandle(.pack, pack.id.hex)) { $0[Int(pack.entries[1].offset) + 100] ^= 4 }
        let location = repo.index.lookup(SHA256.hash(random))!
        let error = #expect(throws: VaultError.self) {
            try repo.readPackRange(location.pack, Self.range(location)) { sealed in
                try sealed.withUnsafeBytes { try repo.openBlob($0, at: location, codec: codec, into: &buffer) }
            }
        }
        #expect(error?.code == .corrupt)
        #expect(error?.message.contains("failed authentication") == true)
    }

    static func range(_ location: BlobLocation) -> Range<Int> {
        Int(location.entry.offset)..<Int(location.entry.offset) + Int(location.entry.storedLength)
    }

    /// A 1 MiB chunk whose middle is random but whose other three quarters are text: the old
    /// chooser judged the whole chunk by a 16 KiB sample from its middle and stored it raw.
    @Test func aChunkWhoseMiddleLooksRandomIsStillCompressed() throws {
        let (repo, _) = try newRepository()
        var rng = SplitMix64(seed: 3)
        var noise = [UInt8](); rng.fill(&noise, count: 256 << 10)
        var text: [UInt8] = []
        var line = 0
        while text.count < 384 << 10 {
            text += Array(
                "height=\(800_000 + line) peers=\(line % 9) status=synced tip=\(line * 7919 % 100_003)\n".utf8)
            line += 1
        }
        let chunk = Array(text[0..<(384 << 10)]) + noise + Array(text[0..<(384 << 10)])
        let pack = try writePack(repo, [chunk])
        #expect(pack.entries[0].compression == .zstd)
        #expect(Int(pack.entries[0].storedLength) < chunk.count * 4 / 10, "three quarters of it are text")
        #expect(try repo.readBlob(SHA256.hash(chunk), codec: repo.makeCodec()) == chunk)
    }
}
