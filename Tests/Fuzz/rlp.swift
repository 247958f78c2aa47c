// libFuzzer target: RLP (whole-tree validation, header fields, freezer meta).
import VaultChain

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafeRawPointer, _ size: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    try? RLP.validate(input)
    _ = try? EthHeaderFields(rlp: input)
    _ = try? FreezerMeta(rlp: input)
    return 0
}
