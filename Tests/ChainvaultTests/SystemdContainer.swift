import Foundation
import Glibc

/// A real systemd 252 booted in a container (FACTS.md): the host's /usr under a writable overlay,
/// empty /etc and /var (`--volatile=yes`), a copy of the host's dpkg database so `dpkg -i`
/// resolves dependencies against what /usr holds, and the host's network (moto on 127.0.0.1).
/// Commands run inside with `nsenter` into the container's init.
final class SystemdContainer {
    let root: String
    let nspawn: Process
    private(set) var initPID: pid_t = 0

    /// Why the container cannot run here, or nil.
    static var unavailable: String? {
        guard getuid() == 0 else { return "needs root (systemd-nspawn)" }
        guard tool("systemd-nspawn") != nil else {
            return "systemd-nspawn is missing (apt-get install systemd-container)"
        }
        guard tool("nsenter") != nil, FileManager.default.fileExists(atPath: "/usr/lib/systemd/systemd") else {
            return "nsenter or /usr/lib/systemd/systemd is missing"
        }
        guard let probe = try? runTool(tool("unshare")!, ["-m", "-p", "-f", "true"]), probe.0 == 0 else {
            return "namespaces are not permitted here (unshare -m -p failed)"
        }
        return nil
    }

    /// Boots the container with `readOnly` host directories bound at the given paths.
    init(readOnly binds: [String: String]) throws {
        root = NSTemporaryDirectory() + "cv-nspawn-" + UUID().uuidString.prefix(8)
        let fm = FileManager.default
        for d in ["upper", "dpkg"] { try fm.createDirectory(atPath: root + "/" + d, withIntermediateDirectories: true) }
        let copy = try runTool("/bin/cp", ["-a", "/var/lib/dpkg/.", root + "/dpkg/"])
        guard copy.0 == 0 else { throw SupportFailure("cp /var/lib/dpkg: \(copy.2)") }
        // Its groups do not exist in the empty /etc: dpkg would refuse every statoverride.
        try Data().write(to: URL(fileURLWithPath: root + "/dpkg/statoverride"))
        var args = [
            "-D", "/", "--volatile=yes", "--register=no", "--keep-unit", "--console=passive",
            "--overlay=/usr:\(root)/upper:/usr", "--bind=\(root)/dpkg:/var/lib/dpkg"
        ]
        for (host, inside) in binds.sorted(by: { $0.key < $1.key }) { args.append("--bind-ro=\(host):\(inside)") }
        args += ["--boot", "systemd.firstboot=off"]
        nspawn = Process()
        nspawn.executableURL = URL(fileURLWithPath: tool("systemd-nspawn")!)
        nspawn.arguments = args
        nspawn.standardInput = FileHandle.nullDevice
        _ = fm.createFile(atPath: root + "/console.log", contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: root + "/console.log"))
        nspawn.standardOutput = log
        nspawn.standardError = log
        try nspawn.run()
        // The container's init is the child of systemd-nspawn.
        let deadline = Date().addingTimeInterval(30)
        while initPID == 0 && Date() < deadline && nspawn.isRunning {
            let children =
                (try? String(
                    contentsOfFile: "/proc/\(nspawn.processIdentifier)/task/\(nspawn.processIdentifier)/children",
                    encoding: .utf8)) ?? ""
            if let first = children.split(separator: " ").first, let pid = pid_t(first) {
                initPID = pid
            } else {
                usleep(100_000)
            }
        }
        guard initPID != 0 else { throw SupportFailure("systemd-nspawn started no init: \(consoleLog)") }
        // Booted: the system manager says running, or degraded (a host unit that fails here).
        // Bounded generously: one boot took over 90 s on this 2-core machine under a load of 13.
        let booted = waitFor(300) {
            ["running", "degraded"].contains(self.sh("systemctl is-system-running").out.trimmed)
        }
        guard booted else {
            throw SupportFailure(
                "the container did not boot in 300 s: state '\(sh("systemctl is-system-running").out.trimmed)', jobs: \(sh("systemctl list-jobs --no-pager | head -20").out) \(consoleLog)"
            )
        }
    }

    var consoleLog: String {
        (try? String(contentsOfFile: root + "/console.log", encoding: .utf8))?.suffix(2000).description ?? ""
    }

    struct Result { let code: Int32; let out: String; let err: String }

    /// Runs a shell script inside the container as root.
    @discardableResult
    func sh(_ script: String) -> Result {
        let r =
            (try? runTool(tool("nsenter")!, ["-t", "\(initPID)", "-a", "/bin/sh", "-c", script])) ?? (
                -1, "", "nsenter failed"
            )
        return Result(code: r.0, out: r.1, err: r.2)
    }

    func waitFor(_ seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline { if condition() { return true }; usleep(200_000) }
        return condition()
    }

    /// Powers the container off (SIGTERM makes nspawn ask init to halt), SIGKILL if it takes long.
    func stop() {
        guard nspawn.isRunning else { return }
        kill(nspawn.processIdentifier, SIGTERM)
        if !waitFor(20, { !nspawn.isRunning }) { kill(nspawn.processIdentifier, SIGKILL) }
        nspawn.waitUntilExit()
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: root)
    }
}

struct SupportFailure: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

extension String {
    var trimmed: String { trimmingCharacters(in: .whitespacesAndNewlines) }
}
