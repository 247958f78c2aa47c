import Testing
@testable import VaultChain
import VaultCore

/// SHA256d through OpenSSL's low-level SHA-256 (`LowLevelSHA256`) against SHA-256 twice through
/// EVP, on every length around the block and padding boundaries, split into pieces anywhere, and
/// one merkle level in place.
struct DoubleSHA256Tests {
    func twice(_ bytes: [UInt8]) -> [UInt8] { SHA256.hash(SHA256.hash(bytes).bytes).bytes }

    func bytes(_ count: Int, seed: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ seed &* 7) }
    }

    @Test func theLowLevelFunctionsAreFoundAndEqualSHA256TwiceForEveryLengthAndSplit() {
        #expect(LowLevelSHA256.functions != nil, "libcrypto.so.3 exports SHA256_Init/Update/Final")
        let sha = DoubleSHA256()
        for length in 0...200 {
            let message = bytes(length, seed: length)
            for cut in Set([0, length / 3, length / 2, length]) {
                let middle = cut + (length - cut) / 2
                let h = message.withUnsafeBytes { m in
                    sha.hash(
                        UnsafeRawBufferPointer(rebasing: m[0..<cut]), UnsafeRawBufferPointer(rebasing: m[cut..<middle]),
                        UnsafeRawBufferPointer(rebasing: m[middle...]))
                }
                #expect(h.bytes == twice(message), "length \(length), cut \(cut)")
            }
        }
        // The 80-byte mainnet genesis header: its SHA256d is the genesis block hash.
        let header = Hex.decode(
            "0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b2"
                + "7ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c")!
        #expect(
            header.withUnsafeBytes { sha.hash($0) }.hex
                == "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f")
    }

    @Test func aMerkleLevelInPlaceEqualsEachPairHashedAlone() {
        let sha = DoubleSHA256()
        for pairs in [1, 2, 3, 7, 64] {
            var nodes = bytes(64 * pairs, seed: pairs)
            let expected = (0..<pairs).flatMap { twice(Array(nodes[(64 * $0)..<(64 * $0 + 64)])) }
            nodes.withUnsafeMutableBytes { sha.merkleLevel($0.baseAddress!, pairs: pairs) }
            #expect(Array(nodes[0..<(32 * pairs)]) == expected, "\(pairs) pairs")
        }
    }
}
