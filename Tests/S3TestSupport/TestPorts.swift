import Foundation
import Glibc
import Synchronization

/// Ports for servers under test (daemons, moto_server): below the kernel's ephemeral range (32768 and up here), so no
/// client socket of another test running at the same time can be holding one; distinct within
/// this process; and free when handed out.
public enum TestPorts {
    private static let next = Mutex(20_000 + Int(getpid() % 1000) * 12)

    public static func take() -> UInt16 {
        next.withLock { next in
            while true {
                let port = UInt16(next)
                next = next + 1 >= 32_768 ? 20_000 : next + 1
                if canListen(port) { return port }
            }
        }
    }

    private static func canListen(_ port: UInt16) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = port.bigEndian
        inet_pton(AF_INET, "127.0.0.1", &a.sin_addr)
        return withUnsafePointer(to: &a) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        } == 0
    }
}
