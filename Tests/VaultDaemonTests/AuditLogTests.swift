import Foundation
import Testing
import VaultDaemon

func auditWithFive() throws -> (AuditLog, String) {
    let path = NSTemporaryDirectory() + "cv-audit-" + UUID().uuidString + ".log"
    let log = AuditLog(path: path)
    for i in 1...5 {
        try log.append(
            actor: "daemon", action: "backup", subject: "policy demo", result: "succeeded",
            details: ["snapshot": "s\(i)"])
    }
    return (log, path)
}

func lines(_ path: String) -> [String] {
    String(decoding: FileManager.default.contents(atPath: path)!, as: UTF8.self).split(separator: "\n").map(String.init)
}
func write(_ path: String, _ lines: [String], trailingNewline: Bool = true) {
    _ = FileManager.default.createFile(
        atPath: path, contents: Data((lines.joined(separator: "\n") + (trailingNewline ? "\n" : "")).utf8))
}

@Test func anIntactLogVerifies() throws {
    let (_, path) = try auditWithFive()
    let report = try AuditLog.verify(path)
    #expect(report.intact && report.entries == 5, "\(report.problems)")
    #expect(try AuditLog.read(path).map(\.seq) == [1, 2, 3, 4, 5])
}

@Test func anAlteredEntryIsFound() throws {
    let (_, path) = try auditWithFive()
    var l = lines(path)
    l[2] = l[2].replacingOccurrences(of: "succeeded", with: "failed")
    write(path, l)
    let report = try AuditLog.verify(path)
    #expect(report.problems.contains { $0.hasPrefix("line 3: entry 3 was altered") }, "\(report.problems)")
}

@Test func aRemovedOrReorderedEntryBreaksTheChain() throws {
    let (_, path) = try auditWithFive()
    var l = lines(path)
    l.remove(at: 1)
    write(path, l)
    #expect(try AuditLog.verify(path).problems.contains { $0.contains("line 2: entry 3 does not follow") })
    let (_, path2) = try auditWithFive()
    var m = lines(path2)
    m.swapAt(3, 4)
    write(path2, m)
    #expect(!(try AuditLog.verify(path2).intact))
}

@Test func aTornLastLineIsReportedAndAppendingGoesOn() throws {
    let (log, path) = try auditWithFive()
    var l = lines(path)
    l[4] = String(l[4].prefix(40))
    write(path, l, trailingNewline: false)
    #expect(try AuditLog.verify(path).problems == ["line 5: incomplete (the process stopped while writing it)"])
    let next = try log.append(actor: "daemon", action: "verify", subject: "policy demo", result: "succeeded")
    #expect(next.seq == 5, "the torn entry never completed, so its number is reused")
    let report = try AuditLog.verify(path)
    #expect(report.entries == 5)
    #expect(report.problems.count == 1 && report.problems[0].contains("line 5"), "\(report.problems)")
}
