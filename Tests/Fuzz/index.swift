// libFuzzer target: an index file's plaintext.
import VaultRepository

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafeRawPointer, _ size: Int) -> CInt {
    _ = try? IndexFile.decode(Array(UnsafeRawBufferPointer(start: data, count: size)), what: "fuzz")
    return 0
}
