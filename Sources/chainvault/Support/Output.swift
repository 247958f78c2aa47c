// @preconcurrency: `flushStdout` reads glibc's `stdout`, a C global var (seen through Foundation) that
// nothing in this process assigns; the FILE it points to locks itself.
@preconcurrency import Foundation
import Glibc
import VaultCore
import VaultEngine

/// Terminal output: results on stdout, progress and diagnostics on stderr, JSON when asked.
final class Output {
    let json: Bool
    let quiet: Bool

    init(json: Bool, quiet: Bool, noProgress: Bool) {
        self.json = json; self.quiet = quiet
    }

    /// Set once stdout's reader has gone (EPIPE): the rest of the output is dropped, the command
    /// runs to its end and releases what it holds.
    private(set) var stdoutClosed = false

    func line(_ text: String = "") {
        guard !stdoutClosed else { return }
        if !json && !quiet { print(text) }
        flushStdout()
    }

    private func flushStdout() {
        if fflush(stdout) != 0 || ferror(stdout) != 0 { stdoutClosed = true }
    }

    func warning(_ text: String) {
        clearProgress()
        FileHandle.standardError.write(Data("warning: \(text)\n".utf8))
    }

    func emit<T: Encodable>(_ value: T) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        guard !stdoutClosed else { return }
        if let data = try? encoder.encode(value) { print(String(decoding: data, as: UTF8.self)); flushStdout() }
    }

    /// The running command's progress reporter: a warning first clears its terminal line.
    var reporter: ProgressReporter?

    private func clearProgress() { reporter?.clear() }
}

enum Format {
    static func bytes(_ n: UInt64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var v = Double(n), u = 0
        while v >= 1024 && u < units.count - 1 { v /= 1024; u += 1 }
        return u == 0 ? "\(n) B" : String(format: "%.1f %@", v, units[u])
    }

    static func bytes(_ n: Int) -> String { bytes(UInt64(max(n, 0))) }

    static func duration(_ s: Double) -> String {
        if s < 1 { return String(format: "%.0f ms", s * 1000) }
        if s < 60 { return String(format: "%.2f s", s) }
        if s < 3600 { return String(format: "%dm%02ds", Int(s) / 60, Int(s) % 60) }
        return String(format: "%dh%02dm", Int(s) / 3600, (Int(s) % 3600) / 60)
    }

    static func rate(_ bytes: UInt64, _ seconds: Double) -> String {
        seconds > 0 ? Format.bytes(UInt64(Double(bytes) / seconds)) + "/s" : "-"
    }
}
