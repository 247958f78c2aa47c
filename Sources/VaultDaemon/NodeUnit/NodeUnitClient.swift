import Foundation
import Glibc
import VaultCore

/// The daemon's side of node hooks: sends one request to the root helper's socket and waits for
/// its one-line answer (the policy's hook timeout bounds the wait: the daemon kills the hook).
public enum NodeUnitClient {
    public static func send(_ request: NodeUnitRequest, socketPath: String) throws {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Posix.error("create a socket for", socketPath) }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let path = Array(socketPath.utf8)
        guard path.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw VaultError(.usage, "socket path \(socketPath) is too long")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: path) }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard connected == 0 else {
            let e = Posix.error("connect to", socketPath)
            throw VaultError(
                .failure, "cannot reach the node hook helper at \(socketPath)", cause: e.cause,
                hint: "systemctl enable --now chainvault-hook.socket (it runs node start/stop as root)")
        }
        let line = Array((request.line + "\n").utf8)
        guard line.withUnsafeBytes({ Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == line.count
        else {
            throw Posix.error("send to", socketPath)
        }
        let answer = try NodeUnitHelper.readLine(fd)
        guard answer == "ok" else {
            throw VaultError(
                .failure,
                answer.hasPrefix("error: ") ? String(answer.dropFirst(7)) : "node hook helper answered '\(answer)'",
                hint: "see journalctl -u 'chainvault-hook@*'")
        }
    }
}
