import Testing
import VaultDaemon

/// Job keys are typed (issue 16); their text is the one the state file and the API have always
/// used, and only that text reads back.
@Test func jobKindsReadBackFromTheTextTheyWrite() {
    let kinds: [(JobKind, String)] = [
        (.backup(policy: "bitcoind"), "backup:bitcoind"), (.verify(policy: "geth"), "verify:geth"),
        (.drill(policy: "n"), "drill:n"), (.forget(policy: "a:b"), "forget:a:b"),
        (.restore(request: "3f2a9c"), "restore:3f2a9c"), (.prune, "prune")
    ]
    for (kind, text) in kinds {
        #expect(kind.description == text)
        #expect(JobKind(text) == kind, "\(text)")
    }
    #expect(kinds.map(\.0.action) == ["backup", "verify", "drill", "forget", "restore", "prune"])
    #expect(kinds.map(\.0.policy) == ["bitcoind", "geth", "n", "a:b", nil, nil])
    for text in ["", "backup", "backup:", "prune:x", "copy:x", "Backup:x", ":x"] {
        #expect(JobKind(text) == nil, "\(text)")
    }
}

@Test func jobStatesAreTheTextTheAPIHasAlwaysShown() {
    #expect(
        [JobState.queued, .running, .succeeded, .failed, .interrupted].map(\.rawValue)
            == ["queued", "running", "succeeded", "failed", "interrupted"])
    #expect(
        [JobState.queued, .running, .succeeded, .failed, .interrupted].map(\.isActive) == [
            true, true, false, false, false
        ])
}
