// libFuzzer target: a tree blob's plaintext (names, kinds, chunk lists of a snapshot).
import VaultRepository

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafeRawPointer, _ size: Int) -> CInt {
    _ = try? Tree.decode(Array(UnsafeRawBufferPointer(start: data, count: size)), what: "fuzz")
    return 0
}
