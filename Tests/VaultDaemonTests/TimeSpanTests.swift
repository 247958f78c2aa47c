import Foundation
import Testing
import VaultDaemon

/// Durations in policies and the daemon's config are parsed once, when the file is decoded, into
/// one type (`TimeSpan`), and written back as the operator wrote them.
@Test func aDurationIsParsedWhenItsFileIsDecodedAndWrittenBackAsWritten() throws {
    let text = """
        {"name":"node","source":"/srv/node","consistency":{"mode":"live"},"schedule":{"every":"1h30m","jitter":"10m"},
         "retention":{"keepLast":3,"keepWithin":"2w"},"verify":{"every":"1.5h","readAllWithinDays":7},"rpo":"8h",
         "restoreDrill":{"every":"7d"}}
        """
    let policy = try JSONDecoder().decode(Policy.self, from: Data(text.utf8))
    #expect(policy.schedule.every?.seconds == 5400 && policy.schedule.jitter?.seconds == 600)
    #expect(policy.rpo.seconds == 28_800 && policy.rpo.text == "8h" && "\(policy.rpo)" == "8h")
    #expect(policy.verify?.every.seconds == 5400 && policy.restoreDrill?.every.seconds == 604_800)
    #expect(policy.retentionPolicy.keepWithinSeconds == 1_209_600)
    #expect(policy.consistency.mode == .live)
    let again = try JSONDecoder().decode(Policy.self, from: JSONEncoder().encode(policy))
    #expect(again == policy && again.schedule.every?.text == "1h30m", "the text goes back out as it came in")
    // Text that is no duration decodes (the validator names it with the file's other problems).
    for bad in ["six hours", "", "0s", "5", "h"] { #expect(TimeSpan(bad).seconds == nil, "\(bad)") }
    #expect(throws: PolicyProblem.self) { try TimeSpan("six hours").parsed() }
}
