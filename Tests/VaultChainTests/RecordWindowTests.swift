import Testing
@testable import VaultChain
import VaultCore

/// `RecordWindow` refills keep the bytes they already hold (moved to the front, not read and XORed
/// again) and read in steps XORed as they arrive: whatever the order of requests, the sizes of the
/// source's reads and the key's rotation, every request sees exactly the file XORed with its key.
struct RecordWindowTests {
    /// An in-memory file that hands out at most `chunk` bytes per read, as a source may.
    struct ShortReads: ChainDataSource {
        let bytes: [UInt8]
        let chunk: Int
        var smallReadsAreCheap: Bool { true }
        func files(in directory: String) throws -> [ChainFile] { [ChainFile(path: "f", size: UInt64(bytes.count))] }
        func read(_ path: String, offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
            let n = max(0, min(buffer.count, chunk, bytes.count - Int(offset)))
            bytes.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress! + Int(offset), byteCount: n) }
            return n
        }
    }

    @Test(arguments: [1 << 20, 777, 61])
    func everyRequestSeesTheFileXoredWithItsKeyAcrossRefills(chunk: Int) throws {
        var random = SplitMix64(seed: UInt64(chunk))
        let disk = (0..<2 * RecordWindow.step + 4321).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        let key: [UInt8] = [0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88]
        let plain = disk.indices.map { disk[$0] ^ key[$0 % 8] }
        let window = RecordWindow(
            source: ShortReads(bytes: disk, chunk: chunk), path: "f", size: UInt64(disk.count),
            key: key, readSize: 5000)
        // Forward walks that run past the buffer's end (a kept tail), requests larger than the
        // buffer (it grows, the tail kept), jumps back (nothing kept) and odd offsets.
        var requests: [(Int, Int)] = [(0, 100), (4990, 20), (5003, 9000), (13_000, 1), (7, 3)]
        requests += [(1_048_570, RecordWindow.step + 17), (1_048_577, 4000), (disk.count - 9, 9), (3, 5000)]
        for (offset, count) in requests {
            let got = try #require(try window.bytes(at: UInt64(offset), count: count), "\(offset)+\(count)")
            #expect(Array(got) == Array(plain[offset..<(offset + count)]), "\(offset)+\(count), reads of \(chunk)")
        }
        #expect(try window.bytes(at: UInt64(disk.count - 8), count: 9) == nil, "past the end")
    }
}
