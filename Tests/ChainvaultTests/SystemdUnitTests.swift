import Foundation
import Testing

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

func tool(_ name: String) -> String? {
    ["/usr/bin/", "/bin/", "/usr/local/bin/"].map { $0 + name }.first {
        FileManager.default.isExecutableFile(atPath: $0)
    }
}

func runTool(_ path: String, _ args: [String], stdin: String? = nil) throws -> (Int32, String, String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = args
    let out = Pipe(), err = Pipe(), input = Pipe()
    p.standardOutput = out; p.standardError = err; p.standardInput = input
    try p.run()
    if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
    input.fileHandleForWriting.closeFile()
    let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}

/// The units in systemd/ pass systemd-analyze (which only warns on unknown keys and bad values,
/// so stderr must be empty too) and the daemon's exposure stays at 2.0 or lower.
@Suite(.enabled(if: tool("systemd-analyze") != nil, "systemd-analyze is not installed"))
struct SystemdUnitTests {
    /// A copy of the unit with ExecStart pointing at the built binary (verify requires it to exist).
    func prepared(_ unit: String, as name: String? = nil) throws -> String {
        let dir = NSTemporaryDirectory() + "cv-units-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let text = try String(contentsOfFile: repositoryRoot + "/systemd/" + unit, encoding: .utf8)
            .replacingOccurrences(of: "/usr/bin/chainvault", with: Workspace.binary)
        let path = dir + "/" + (name ?? unit)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test(
        arguments: [
            ("chainvault.service", nil), ("chainvault-restore@.service", "chainvault-restore@bitcoind.service"),
            ("chainvault-hook@.service", "chainvault-hook@1.service")
        ] as [(String, String?)])
    func unitsVerifyWithoutWarnings(_ unit: String, _ instance: String?) throws {
        let (code, _, stderr) = try runTool(
            tool("systemd-analyze")!, ["verify", "--man=no", try prepared(unit, as: instance)])
        #expect(code == 0)
        #expect(stderr.isEmpty, "systemd-analyze warned: \(stderr)")
    }

    @Test(arguments: [
        ("chainvault.service", "chainvault.service"),
        ("chainvault-restore@.service", "chainvault-restore@bitcoind.service"),
        ("chainvault-hook@.service", "chainvault-hook@1.service")
    ])
    func exposureIsAtMostTwo(_ unit: String, _ instance: String) throws {
        let (_, stdout, _) = try runTool(
            tool("systemd-analyze")!, ["security", "--offline=yes", try prepared(unit, as: instance)])
        let line = stdout.split(separator: "\n").first { $0.contains("Overall exposure level") } ?? ""
        let level = Double(line.split(separator: ":").last?.split(separator: " ").first ?? "") ?? 99
        #expect(level <= 2.0, "\(line)")
    }

    @Test func sysusersIsValid() throws {
        guard let sysusers = tool("systemd-sysusers") else { return }
        let (code, _, stderr) = try runTool(
            sysusers, ["--dry-run", repositoryRoot + "/systemd/chainvault.sysusers.conf"])
        #expect(code == 0, "\(stderr)")
    }
}
