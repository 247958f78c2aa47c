import Foundation
import Glibc
import Synchronization
import VaultCore
import VaultRepository

/// An append-only, hash-chained record of everything that changed something (backup, verify,
/// prune, restore, key change, config reload). Each line is
///
///     <hex SHA-256 of the JSON> <JSON>\n
///
/// and the JSON carries a sequence number and the previous line's hash (64 zeros for the first),
/// so removing, reordering or altering any entry breaks the chain at that line. The hash covers
/// the exact bytes written, so verification never depends on re-encoding. Truncating the newest
/// entries is detectable only against a copy of the head kept elsewhere: `AuditAnchor` beside the
/// log (updated by every append) and the copy the daemon mirrors into the repository.
public final class AuditLog: Sendable {
    public struct Entry: Codable, Sendable, Equatable {
        public var seq: Int
        public var time: String
        public var actor: String
        public var action: String
        public var subject: String
        public var result: String
        public var details: [String: String]
        public var prev: String
    }

    public struct Report: Sendable {
        public var entries = 0
        public var lastHash = String(repeating: "0", count: 64)
        public var problems: [String] = []
        /// Each complete entry's hash by sequence number, to check anchors against.
        public var hashes: [Int: String] = [:]
        public var intact: Bool { problems.isEmpty }
    }

    public let path: String
    /// Serialises this process's appends (the flock serialises processes); it guards no memory.
    private let appending = Mutex(())

    public init(path: String) { self.path = path }

    static let genesis = String(repeating: "0", count: 64)

    /// Appends one entry durably (write, fsync) under an exclusive flock, so the daemon and a CLI
    /// command can share the file.
    @discardableResult
    public func append(actor: String, action: String, subject: String, result: String, details: [String: String] = [:])
        throws -> Entry
    {
        try appending.withLock { _ in
            let created = try Posix.lstat(path) == nil
            let fd = try Posix.open(path, O_RDWR | O_CREAT | O_APPEND, mode: 0o640)
            defer { Posix.close(fd) }
            guard flock(fd, LOCK_EX) == 0 else { throw Posix.error("lock", path) }
            defer { flock(fd, LOCK_UN) }
            let existing = try Posix.readFile(path)
            let (lastSeq, lastHash, torn) = Self.tail(existing)
            let entry = Entry(
                seq: lastSeq + 1, time: Timestamp.now(), actor: actor, action: action, subject: subject,
                result: result, details: details, prev: lastHash)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            let body = Array(try encoder.encode(entry))
            // A line torn by a crash is left as it is (verify reports it); the new entry starts on its own line.
            var line: [UInt8] = torn ? [10] : []
            line += Array(SHA256.hash(body).hex.utf8) + [32] + body + [10]
            try line.withUnsafeBytes { try Posix.writeAll(fd, $0, path: path) }
            try Posix.fsync(fd, path: path)
            if created { try Posix.fsyncDirectory(Path.parent(path)) }
            try AuditAnchor(entries: entry.seq, lastHash: SHA256.hash(body).hex).save(for: path)
            return entry
        }
    }

    /// The last complete entry's sequence number and hash, and whether the file ends mid-line.
    public static func tail(_ bytes: [UInt8]) -> (Int, String, Bool) {
        let torn = !(bytes.isEmpty || bytes.last == 10)
        var seq = 0, hash = genesis
        for line in bytes.split(separator: 10) {
            guard let parsed = try? parse(Array(line)) else { continue }
            seq = parsed.entry.seq
            hash = parsed.hash
        }
        return (seq, hash, torn)
    }

    static func parse(_ line: [UInt8]) throws -> (hash: String, entry: Entry, valid: Bool) {
        guard line.count > 66, line[64] == 32 else { throw VaultError(.corrupt, "not an audit entry") }
        let hash = String(decoding: line[0..<64], as: UTF8.self)
        let body = Array(line[65...])
        let entry = try JSONDecoder().decode(Entry.self, from: Data(body))
        return (hash, entry, SHA256.hash(body).hex == hash)
    }

    public static func read(_ path: String) throws -> [Entry] { entries(try Posix.readFile(path)) }

    public static func entries(_ bytes: [UInt8]) -> [Entry] {
        bytes.split(separator: 10).compactMap { try? parse(Array($0)).entry }
    }

    /// Checks every line: its hash, its link to the previous one, its sequence number.
    public static func verify(_ path: String) throws -> Report { verify(bytes: try Posix.readFile(path)) }

    public static func verify(bytes: [UInt8]) -> Report {
        var report = Report()
        var expectedSeq = 1
        let lines = bytes.split(separator: 10, omittingEmptySubsequences: false)
        for (i, line) in lines.enumerated() {
            let number = i + 1
            let isLast = i == lines.count - 1
            if line.isEmpty {
                if !isLast { report.problems.append("line \(number): empty") }
                continue
            }
            guard let (hash, entry, valid) = try? parse(Array(line)) else {
                report.problems.append(
                    isLast
                        ? "line \(number): incomplete (the process stopped while writing it)"
                        : "line \(number): not an audit entry")
                continue
            }
            if !valid {
                report.problems.append(
                    "line \(number): entry \(entry.seq) was altered (its hash does not match its content)")
            }
            if entry.prev != report.lastHash {
                report.problems.append(
                    "line \(number): entry \(entry.seq) does not follow the entry before it (an entry was removed, inserted or reordered)"
                )
            }
            if entry.seq != expectedSeq {
                report.problems.append("line \(number): sequence number \(entry.seq), expected \(expectedSeq)")
            }
            expectedSeq = entry.seq + 1
            report.lastHash = hash
            report.hashes[entry.seq] = hash
            report.entries += 1
        }
        return report
    }
}
