import Foundation
import Glibc
import VaultCore
import VaultEngine

/// Terminal output: results on stdout, progress and diagnostics on stderr, JSON when asked.
final class Output {
    let json: Bool
    let quiet: Bool
    let showProgress: Bool
    private var timer: RepeatingTimer?
    private var progressShown = false

    init(json: Bool, quiet: Bool, noProgress: Bool) {
        self.json = json; self.quiet = quiet
        showProgress = !json && !quiet && !noProgress && isatty(2) == 1
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

    /// A progress line on stderr, redrawn twice a second, only on a terminal.
    func startProgress(_ progress: JobProgress, verb: String) {
        guard showProgress else { return }
        timer = RepeatingTimer(interval: 0.5, name: "progress") { [weak self] in
            let p = progress.snapshot
            let rate = p.elapsed > 0 ? Double(p.bytes) / p.elapsed : 0
            var text = "\(verb) \(p.files) files, \(Format.bytes(p.bytes))"
            if p.total > 0 {
                text += " of \(Format.bytes(p.total)) (\(Int(100 * Double(p.bytes) / Double(max(p.total, 1))))%)"
                if rate > 0, p.total > p.bytes { text += ", ETA \(Format.duration(Double(p.total - p.bytes) / rate))" }
            }
            text += ", \(Format.bytes(UInt64(rate)))/s, \(Format.duration(p.elapsed))"
            FileHandle.standardError.write(Data("\r\u{1B}[2K\(text)".utf8))
            self?.progressShown = true
        }
    }

    func stopProgress() {
        timer?.cancel()
        timer = nil
        clearProgress()
    }

    private func clearProgress() {
        if progressShown { FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8)); progressShown = false }
    }
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
