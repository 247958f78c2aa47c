import Foundation
import Glibc
import Testing
import VaultDaemon

/// A real datagram socket standing in for systemd's notify socket.
final class NotifySocket {
    let fd: Int32
    let environmentValue: String
    private let path: String?

    init(abstract: Bool) throws {
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        let name = "chainvault-test-\(UUID().uuidString.prefix(8))"
        var bytes: [UInt8]
        if abstract {
            bytes = [0] + Array(name.utf8)
            environmentValue = "@" + name
            path = nil
        } else {
            let p = NSTemporaryDirectory() + name + ".sock"
            bytes = Array(p.utf8)
            environmentValue = p
            path = p
        }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let length = socklen_t(
            MemoryLayout<sockaddr_un>.offset(of: \sockaddr_un.sun_path)! + bytes.count + (abstract ? 0 : 1))
        let r = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard r == 0 else { throw POSIXError(.EADDRINUSE) }
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd); if let path { unlink(path) } }

    func receive() -> String? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = recv(fd, &buffer, buffer.count, 0)
        return n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self) : nil
    }
}

@Test(arguments: [false, true])
func notificationsReachAPathOrAbstractSocket(abstract: Bool) throws {
    let socket = try NotifySocket(abstract: abstract)
    let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": socket.environmentValue])
    #expect(notifier.isEnabled)
    notifier.ready(status: "2 policies loaded")
    #expect(socket.receive() == "READY=1\nSTATUS=2 policies loaded")
    notifier.watchdog()
    #expect(socket.receive() == "WATCHDOG=1")
    notifier.stopping(status: "stopping after the current job")
    #expect(socket.receive() == "STOPPING=1\nSTATUS=stopping after the current job")
    notifier.reloading()
    #expect(socket.receive()?.hasPrefix("RELOADING=1\nMONOTONIC_USEC=") == true)
}

@Test func withoutNotifySocketNothingIsSent() {
    let notifier = SystemdNotifier(environment: [:])
    #expect(!notifier.isEnabled)
    #expect(!notifier.send("READY=1"))
}

@Test func theWatchdogIntervalIsOnlyForThisProcess() {
    #expect(SystemdNotifier.watchdogInterval(environment: ["WATCHDOG_USEC": "30000000"]) == 30)
    #expect(
        SystemdNotifier.watchdogInterval(environment: ["WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "\(getpid())"])
            == 30)
    #expect(SystemdNotifier.watchdogInterval(environment: ["WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"]) == nil)
    #expect(SystemdNotifier.watchdogInterval(environment: [:]) == nil)
}
