import Foundation
import Glibc
import VaultCore
import VaultEngine

/// Progress of a long command on stderr (stdout stays the result). On a terminal: one line
/// redrawn twice a second. Elsewhere (a pipe, the journal): one plain line every interval
/// (`--progress-interval DURATION` or `CHAINVAULT_PROGRESS_INTERVAL`, default 60 s;
/// `--no-progress` turns them off), with `--json` one JSON record per line instead. With an
/// interval given, a line is also written when the phase changes, and a final one (`"done":
/// true`) when the command succeeds (also after any line at the default interval), so what the
/// lines say never depends on how fast the command ran.
///
/// @unchecked: the mutable fields are touched only on `queue` (the timer's ticks, `stop` and `clear`
/// go through `queue.sync`), so one thread at a time; the rest is immutable or Sendable.
final class ProgressReporter: @unchecked Sendable {
    /// Only touched on `queue` (the timer's) and by `stop` after the timer is cancelled.
    private let queue = DispatchQueue(label: "progress")
    private let progress: JobProgress
    private let verb: String
    private let terminal: Bool
    private let json: Bool
    private var timer: RepeatingTimer?
    private var lastPhase = ""
    private var shown = false
    /// Off a terminal: seconds between lines, and when the next one is due.
    private let every: Double
    private var nextLine: Date
    /// The interval was asked for (option or environment), not the default.
    private let explicit: Bool
    private var printed = false
    private var stopped = false

    static let defaultInterval = 60.0

    init?(_ progress: JobProgress, verb: String, out: Output, args: Arguments, environment: [String: String]) throws {
        guard !out.quiet, !args.has("--no-progress") else { return nil }
        let text = args.value("--progress-interval") ?? environment["CHAINVAULT_PROGRESS_INTERVAL"]
        let interval = try text.map(parseDuration)
        terminal = !out.json && isatty(2) == 1 && interval == nil
        explicit = interval != nil
        every = terminal ? 0.5 : (interval ?? Self.defaultInterval)
        nextLine = Date().addingTimeInterval(every)
        self.progress = progress; self.verb = verb; json = out.json
        // Off a terminal the timer ticks often, but a line is written only every `every` seconds
        // or when the phase changes. A plain thread, not a dispatch timer (see RepeatingTimer).
        let tick = terminal ? 0.5 : min(every, 0.05)
        let queue = self.queue
        timer = RepeatingTimer(interval: tick, name: "progress") { [weak self] in queue.sync { self?.tick() } }
    }

    private func tick() {
        // A tick already under way when `stop` cancelled the timer runs after it: nothing then.
        if stopped { return }
        let p = progress.snapshot
        if terminal { draw(p); return }
        if (explicit && p.phase != lastPhase) || Date() >= nextLine {
            lastPhase = p.phase
            nextLine = Date().addingTimeInterval(every)
            write(p, done: false)
        }
    }

    /// Ends the reporting; `succeeded` adds the final line off a terminal.
    func stop(succeeded: Bool) {
        timer?.cancel()
        queue.sync {
            stopped = true
            if terminal {
                if shown { FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8)) }
            } else if succeeded && (explicit || printed) {
                write(progress.snapshot, done: true)
            }
        }
    }

    /// Erases the terminal line before a warning is printed (the next tick redraws it).
    func clear() {
        queue.sync {
            if terminal && shown { FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8)); shown = false }
        }
    }

    typealias Snapshot = (files: UInt64, bytes: UInt64, total: UInt64, elapsed: Double, phase: String)

    private func draw(_ p: Snapshot) {
        FileHandle.standardError.write(Data("\r\u{1B}[2K\(Self.text(verb, p))".utf8))
        shown = true
    }

    private func write(_ p: Snapshot, done: Bool) {
        printed = true
        guard json else {
            FileHandle.standardError.write(Data("progress: \(Self.text(verb, p))\(done ? ", done" : "")\n".utf8))
            return
        }
        let rate = p.elapsed > 0 ? Double(p.bytes) / p.elapsed : 0
        let record = Record(
            command: verb, phase: p.phase, files: p.files, bytes: p.bytes,
            totalBytes: p.total > 0 ? p.total : nil, bytesPerSecond: rate.rounded(),
            etaSeconds: Self.eta(p, rate: rate), elapsedSeconds: p.elapsed, done: done)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        if let data = try? encoder.encode(record) {
            FileHandle.standardError.write(data + Data([10]))
        }
    }

    struct Record: Encodable {
        var type = "progress"
        let command: String; let phase: String; let files: UInt64; let bytes: UInt64; let totalBytes: UInt64?
        let bytesPerSecond: Double; let etaSeconds: Double?; let elapsedSeconds: Double; let done: Bool
    }

    static func eta(_ p: Snapshot, rate: Double) -> Double? {
        guard p.total > p.bytes, rate > 0 else { return nil }
        return (Double(p.total - p.bytes) / rate).rounded()
    }

    static func text(_ verb: String, _ p: Snapshot) -> String {
        let rate = p.elapsed > 0 ? Double(p.bytes) / p.elapsed : 0
        var text = verb + (p.phase.isEmpty ? "" : " (\(p.phase))") + ": \(p.files) files, \(Format.bytes(p.bytes))"
        if p.total > 0 {
            text += " of \(Format.bytes(p.total)) (\(Int(100 * Double(min(p.bytes, p.total)) / Double(p.total)))%)"
            if let eta = eta(p, rate: rate) { text += ", ETA \(Format.duration(eta))" }
        }
        return text + ", \(Format.bytes(UInt64(rate)))/s, \(Format.duration(p.elapsed))"
    }
}
