// libFuzzer target: an era1 file (e2store entries, block index, snappy-framed blocks, RLP headers).
import VaultChain

struct MemorySource: ChainDataSource {
    let bytes: [UInt8]
    func files(in directory: String) throws -> [ChainFile] { [ChainFile(path: "f.era1", size: UInt64(bytes.count))] }
    func read(_ path: String, offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard offset < UInt64(bytes.count) else { return 0 }
        let n = min(buffer.count, bytes.count - Int(offset))
        bytes.withUnsafeBytes {
            buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[Int(offset)..<Int(offset) + n]))
        }
        return n
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafeRawPointer, _ size: Int) -> CInt {
    let source = MemorySource(bytes: Array(UnsafeRawBufferPointer(start: data, count: size)))
    var check = Era1ChainCheck()
    try? check.run(source, files: [ChainFile(path: "f.era1", size: UInt64(size))])
    return 0
}
