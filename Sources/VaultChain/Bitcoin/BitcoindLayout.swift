/// Where a Bitcoin Core data directory keeps its block files: `blocks/` for mainnet, a network
/// subdirectory's `blocks/` for the others (`regtest/`, `testnet3/`, `testnet4/`, `signet/`), or the
/// given directory itself when it is a `blocks/` directory.
struct BitcoindLayout {
    var directory: String
    var blk: [Int: ChainFile] = [:]
    var rev: [Int: ChainFile] = [:]
    var xor: ChainFile?

    static let candidates = ["blocks", "regtest/blocks", "testnet3/blocks", "testnet4/blocks", "signet/blocks", ""]

    static func find(_ source: ChainDataSource) -> BitcoindLayout? {
        for dir in candidates {
            guard let files = try? source.files(in: dir) else { continue }
            var layout = BitcoindLayout(directory: dir)
            for f in files {
                let name = f.path.split(separator: "/").last.map(String.init) ?? f.path
                if name == "xor.dat" { layout.xor = f }
                if let n = number(name, "blk") { layout.blk[n] = f }
                if let n = number(name, "rev") { layout.rev[n] = f }
            }
            if !layout.blk.isEmpty { return layout }
        }
        return nil
    }

    /// `blk01234.dat` → 1234 (Bitcoin Core names them with at least five digits).
    static func number(_ name: String, _ prefix: String) -> Int? {
        guard name.hasPrefix(prefix), name.hasSuffix(".dat") else { return nil }
        let digits = name.dropFirst(prefix.count).dropLast(4)
        guard digits.count >= 5, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int(digits)
    }
}
