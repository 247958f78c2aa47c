import Foundation
import Testing
import VaultTestSupport
import VaultCore
import VaultRepository
import VaultStorage

/// A blob's raw length is not part of its authenticated data: an index entry forged by a key
/// holder (or written by a bug) could claim 4 GiB, and `open` allocated and zero-filled that much
/// before it decompressed a byte. The length is now bounded by the blob's type first.
@Suite struct BlobLengthBoundTests {
    /// A real compressed blob of `type`, then the same entry claiming `rawLength` bytes.
    func forged(type: BlobType, rawLength: UInt32) throws -> (Repository, BlobLocation, BlobLocation) {
        let (repo, _) = try newRepository()
        let blob = [UInt8](repeating: 65, count: 200_000)
        _ = try writePack(repo, [blob], type: type)
        let real = try #require(repo.index.lookup(SHA256.hash(blob)))
        #expect(real.entry.compression == .zstd)
        var entry = real.entry
        entry.rawLength = rawLength
        return (repo, real, BlobLocation(pack: real.pack, salt: real.salt, entry: entry))
    }

    func open(_ repo: Repository, _ location: BlobLocation, into buffer: inout [UInt8]) throws -> Int {
        let range = Int(location.entry.offset)..<Int(location.entry.offset) + Int(location.entry.storedLength)
        return try repo.readPackRange(location.pack, range) { sealed in
            try sealed.withUnsafeBytes { try repo.openBlob($0, at: location, codec: repo.makeCodec(), into: &buffer) }
        }
    }

    @Test(arguments: [
        (BlobType.data, UInt32(BlobCodec.maxDataBlob + 1)), (.data, UInt32.max),
        (.tree, UInt32(BlobCodec.maxTreeBlob + 1)), (.tree, UInt32.max)
    ])
    func aRawLengthAboveItsTypesBoundIsDamageAndAllocatesNothing(type: BlobType, rawLength: UInt32) throws {
        let (repo, real, location) = try forged(type: type, rawLength: rawLength)
        var buffer: [UInt8] = []
        let error = #expect(throws: VaultError.self) { try open(repo, location, into: &buffer) }
        #expect(error?.code == .corrupt)
        let pack = real.pack.hex.prefix(8), blob = real.entry.id.shortHex
        #expect(
            error?.message == "\(type.name) blob \(blob) in pack \(pack) claims \(rawLength) bytes, more than a "
                + "\(type.name) blob can hold (\(type == .data ? BlobCodec.maxDataBlob : BlobCodec.maxTreeBlob))",
            "\(error?.message ?? "")")
        #expect(buffer.isEmpty, "nothing was allocated for the claimed length (\(buffer.count) bytes)")
        // The real entry still opens (the bound is far above what the writers produce).
        #expect(try open(repo, real, into: &buffer) == 200_000)
    }
}
