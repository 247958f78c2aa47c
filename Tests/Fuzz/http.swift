// libFuzzer target: the daemon's HTTP/1.1 request parser (bytes straight off a socket).
import VaultDaemon

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafeRawPointer, _ size: Int) -> CInt {
    let bytes = Array(UnsafeRawBufferPointer(start: data, count: size))
    _ = HTTPParser.parse(bytes)
    return 0
}
