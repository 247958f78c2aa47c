import VaultTestSupport
import Foundation
import Testing
import VaultCore
@_spi(Testing) import VaultRepository

/// What the blob codec stores as its 16 KiB sample directs it (issue 17): the level, and whether literals are coded.
@Suite struct CompressionChoiceTests {
    static let era1: String = {
        var dir = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { dir.deleteLastPathComponent() }
        return dir.appendingPathComponent("Tests/ChainFixtures/sepolia-00000-643a00f7.era1").path
    }()

    static func zstdSize(_ chunk: ArraySlice<UInt8>, level: Int32) -> Int {
        var out: [UInt8] = []
        return chunk.withUnsafeBytes { ZstdCompressor(level: level).compress($0, into: &out) }
    }

    /// The Sepolia era1 fixture's three chunks: the sample judged them "level 1 as good" or "level
    /// 3 better" and was wrong on two of them, so the repository was larger than restic's on the
    /// fixtures (1.0036×). Each chunk now stores no more than the better of levels 1 and 3.
    @Test func eachEra1ChunkStoresNoMoreThanTheBetterOfLevelsOneAndThree() throws {
        let data = try Posix.readFile(Self.era1)
        let (repo, _) = try newRepository()
        var chunks: [ArraySlice<UInt8>] = []
        var offset = 0
        for n in FastCDC(.standard).chunkLengths(data) { chunks.append(data[offset..<offset + n]); offset += n }
        #expect(chunks.count >= 2)
        let pack = try writePack(repo, chunks.map { Array($0) })
        var best = 0, stored = 0
        for (chunk, entry) in zip(chunks, pack.entries) {
            let better = min(Self.zstdSize(chunk, level: 1), Self.zstdSize(chunk, level: 3))
            #expect(entry.compression == .zstd)
            #expect(Int(entry.storedLength) - AESGCM.tagSize <= better, "chunk of \(chunk.count) bytes")
            best += better; stored += Int(entry.storedLength) - AESGCM.tagSize
        }
        #expect(stored <= best, "stored \(stored), the better level per chunk gives \(best)")
        let codec = repo.makeCodec()
        for chunk in chunks { #expect(try repo.readBlob(SHA256.hash(Array(chunk)), codec: codec) == Array(chunk)) }
    }

    /// Text (a node's log) still gets the configured level's result or better, and random data
    /// still goes raw: the second pass only adds a candidate.
    @Test func textKeepsLevelThreeAndRandomDataStaysRaw() throws {
        var text: [UInt8] = []
        var line = 0
        while text.count < 1 << 20 {
            let when = "2024-01-01T00:00:\(line % 60)Z"
            text += Array("\(when) INFO imported height=\(800_000 + line) txs=\(line * 7 % 3000)\n".utf8)
            line += 1
        }
        var rng = SplitMix64(seed: 5)
        var noise = [UInt8](); rng.fill(&noise, count: 1 << 20)
        let (repo, _) = try newRepository()
        let pack = try writePack(repo, [text, noise])
        #expect(Int(pack.entries[0].storedLength) - AESGCM.tagSize <= Self.zstdSize(text[...], level: 3))
        #expect(pack.entries[1].compression == .none)
    }

    /// Literals (the bytes no match covers) are Huffman-coded only where the sample shows that
    /// pays: a block file's transactions are random hashes and signatures between addresses reused
    /// from a pool, whose matches level 3 finds but whose literals do not shrink; a log's do. On
    /// the first kind zstd tried the coding and stored the literals raw: 20 % of level 3's time.
    @Test func literalsAreCodedOnlyWhereTheSampleShowsThatPays() throws {
        var rng = SplitMix64(seed: 23)
        var pool = [UInt8](), block = [UInt8]()
        rng.fill(&pool, count: 20 * 4096)
        while block.count < 1 << 20 {
            var random = [UInt8]()
            rng.fill(&random, count: 40 + Int(rng.next() % 60))
            let at = Int(rng.next() % 4096) * 20
            block += random + pool[at..<at + 20]
        }
        var text: [UInt8] = []
        var line = 0
        while text.count < 1 << 20 {
            text += Array("2024-01-01T00:00:\(line % 60)Z INFO imported height=\(800_000 + line)\n".utf8)
            line += 1
        }
        let codec = BlobCodec(level: 3)
        let blockChoice = block.withUnsafeBytes { codec.chooseLevel($0) }
        #expect(blockChoice.level == 3 && !blockChoice.literals)
        #expect(text.withUnsafeBytes { codec.chooseLevel($0) }.literals)
        // The block's stored size: what level 3 with coded literals would store, within 1/1024.
        let (repo, _) = try newRepository()
        let pack = try writePack(repo, [block, text])
        let stored = Int(pack.entries[0].storedLength) - AESGCM.tagSize
        #expect(stored <= Self.zstdSize(block[...], level: 3) + block.count / 1024)
        #expect(Int(pack.entries[1].storedLength) - AESGCM.tagSize <= Self.zstdSize(text[...], level: 3))
        #expect(try repo.readBlob(SHA256.hash(block), codec: repo.makeCodec()) == block)
    }
}
