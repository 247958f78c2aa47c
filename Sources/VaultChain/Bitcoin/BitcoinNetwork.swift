/// Chain parameters chainvault needs to check a Bitcoin Core data directory: the message start
/// ("magic") that begins every record of `blk*.dat`/`rev*.dat`, the genesis block hash, and the
/// proof-of-work limit (the easiest target any header may claim). Values are Bitcoin Core's
/// `src/kernel/chainparams.cpp` (signet: the default global signet challenge).
struct BitcoinNetwork: Sendable {
    var name: String
    var magic: UInt32  // the four bytes as read little-endian from the file
    var genesis: Hash32
    var powLimitBits: UInt32  // powLimit in compact form

    static let all: [BitcoinNetwork] = [
        BitcoinNetwork(
            name: "mainnet", magic: magic(0xf9, 0xbe, 0xb4, 0xd9),
            genesis: Hash32(displayHex: "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f")!,
            powLimitBits: 0x1d00ffff),
        BitcoinNetwork(
            name: "testnet3", magic: magic(0x0b, 0x11, 0x09, 0x07),
            genesis: Hash32(displayHex: "000000000933ea01ad0ee984209779baaec3ced90fa3f408719526f8d77f4943")!,
            powLimitBits: 0x1d00ffff),
        BitcoinNetwork(
            name: "testnet4", magic: magic(0x1c, 0x16, 0x3f, 0x28),
            genesis: Hash32(displayHex: "00000000da84f2bafbbc53dee25a72ae507ff4914b867c565be350b0da8bf043")!,
            powLimitBits: 0x1d00ffff),
        BitcoinNetwork(
            name: "signet", magic: magic(0x0a, 0x03, 0xcf, 0x40),
            genesis: Hash32(displayHex: "00000008819873e925422c1ff0f99f7cc9bbb232af63a077a480a3633bee1ef6")!,
            powLimitBits: 0x1e0377ae),
        BitcoinNetwork(
            name: "regtest", magic: magic(0xfa, 0xbf, 0xb5, 0xda),
            genesis: Hash32(displayHex: "0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206")!,
            powLimitBits: 0x207fffff)
    ]

    static func magic(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) -> UInt32 {
        UInt32(a) | UInt32(b) << 8 | UInt32(c) << 16 | UInt32(d) << 24
    }

    static func byMagic(_ magic: UInt32) -> BitcoinNetwork? { all.first { $0.magic == magic } }
}
