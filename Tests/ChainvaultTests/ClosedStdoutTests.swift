import Foundation
import Glibc
import Testing

/// `chainvault ... | head`: a reader that goes away is a normal end, not a death by SIGPIPE.
struct ClosedStdoutTests {
    /// stdout's reader gone before the first line (as `| head` ends early, made deterministic):
    /// exit 0, and no lock left behind.
    @Test(arguments: [["snapshots"], ["ls", "latest"], ["verify"]])
    func aClosedStdoutIsANormalEnd(_ args: [String]) throws {
        let w = try Workspace()
        _ = try w.makeSourceTree()
        try w.ok(["init"])
        for _ in 0..<3 { try w.ok(["backup", w.path("src")]) }
        let pipe = Pipe()
        try pipe.fileHandleForReading.close()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Workspace.binary)
        p.arguments = args
        p.environment = w.environment
        p.standardOutput = pipe
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        #expect(
            p.terminationReason == .exit && p.terminationStatus == 0,
            "\(args): \(p.terminationReason == .uncaughtSignal ? "killed by signal" : "exit") \(p.terminationStatus)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: w.repo + "/locks").isEmpty, "no lock left")
    }
}
