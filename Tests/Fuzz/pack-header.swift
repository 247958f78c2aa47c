// libFuzzer target: a pack header after decryption (what a hostile repository could hand us
// with a stolen key).
import VaultRepository

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafeRawPointer, _ size: Int) -> CInt {
    _ = try? PackFormat.decodeHeader(Array(UnsafeRawBufferPointer(start: data, count: size)), what: "fuzz")
    return 0
}
