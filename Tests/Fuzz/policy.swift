// libFuzzer target: policy decoding and validation (a policy file an operator edited by hand).
import VaultDaemon

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafeRawPointer, _ size: Int) -> CInt {
    _ = PolicyLoader.check(Array(UnsafeRawBufferPointer(start: data, count: size)))
    return 0
}
