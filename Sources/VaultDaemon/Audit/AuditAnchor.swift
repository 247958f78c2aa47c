import Foundation
import VaultCore

/// The audit log's head kept outside the log: how many entries it had and the last one's hash.
/// A hash chain proves nothing removed or altered *inside* the log, but a log cut after entry N is
/// still a valid chain; the anchor (written after every append, `<log>.head`) and the repository's
/// copy (whose name carries the count) are what a cut log no longer reaches.
public struct AuditAnchor: Codable, Sendable, Equatable {
    public var entries: Int
    public var lastHash: String

    public init(entries: Int, lastHash: String) { self.entries = entries; self.lastHash = lastHash }

    public static func path(for log: String) -> String { log + ".head" }

    /// Written atomically (temp file, fsync, rename, directory fsync) after the entry is durable:
    /// a crash in between leaves the anchor one entry behind, which verifies, never ahead.
    func save(for log: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let bytes = Array(try encoder.encode(self)) + [10]
        try bytes.withUnsafeBytes { try Posix.writeFileAtomically(Self.path(for: log), $0, mode: 0o640) }
    }

    /// nil when there is no anchor file; a damaged one throws.
    public static func load(for log: String) throws -> AuditAnchor? {
        let path = Self.path(for: log)
        guard try Posix.lstat(path) != nil else { return nil }
        guard let anchor = try? JSONDecoder().decode(AuditAnchor.self, from: Data(try Posix.readFile(path))) else {
            throw VaultError(
                .corrupt, "the audit log's anchor \(path) is damaged",
                hint: "compare the log with the repository's copy ('chainvault audit --from-repository')")
        }
        return anchor
    }

    /// What is wrong when a log whose complete entries are described by `report` should reach
    /// this anchor (`source` names where the anchor comes from); nil when it does.
    public func problem(with report: AuditLog.Report, source: String) -> String? {
        if report.entries < entries {
            return "the log ends at entry \(report.entries), but \(source) records \(entries) entries "
                + "(last hash \(lastHash.prefix(16))…): entries \(report.entries + 1) to \(entries) are missing"
        }
        guard entries > 0 else { return nil }
        if report.hashes[entries] != lastHash {
            return "entry \(entries) of the log is not the one \(source) records (hash \(lastHash.prefix(16))…): "
                + "the log was rewritten from there"
        }
        return nil
    }
}
