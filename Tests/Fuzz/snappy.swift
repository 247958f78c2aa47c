// libFuzzer target: snappy's framing format and block format (era1 entries, freezer items).
import VaultChain

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafeRawPointer, _ size: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    var frame = SnappyFrameDecoder()
    try? frame.decode(input, limit: 1 << 24)
    var out: [UInt8] = []
    try? SnappyBlock.decode(input, into: &out, limit: 1 << 24)
    return 0
}
