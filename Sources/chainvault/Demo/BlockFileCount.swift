import VaultCore

/// How many block records a demo `blocks/` directory holds (genesis included), read from the
/// records' headers (magic, size) de-obfuscated with the directory's key: `demo --advance` appends
/// to the chain that is there, whatever days ran before.
enum BlockFileCount {
    static func blocks(in directory: String, key: [UInt8]) throws -> Int {
        var count = 0
        for name in try DirectoryListing.names(directory).sorted() where name.hasPrefix("blk") && name.hasSuffix(".dat")
        {
            let bytes = try Posix.readFile(directory + "/" + name)
            var offset = 0
            while offset + 8 <= bytes.count {
                var header = [UInt8](repeating: 0, count: 8)
                for i in 0..<8 { header[i] = bytes[offset + i] ^ key[(offset + i) % 8] }
                let size = Int(header[4]) | Int(header[5]) << 8 | Int(header[6]) << 16 | Int(header[7]) << 24
                guard header[0] == 0xfa, header[1] == 0xbf, size > 0, offset + 8 + size <= bytes.count else { break }
                count += 1
                offset += 8 + size
            }
        }
        return count
    }
}
