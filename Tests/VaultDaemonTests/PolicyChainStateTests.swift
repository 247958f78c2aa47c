import Foundation
import Testing
import VaultTestSupport
import VaultCore
@testable import VaultDaemon

/// Where a policy's chain state lives: one file per policy and source, and a policy whose source
/// changed starts fresh (its files for other sources are removed, other policies' are kept).
struct PolicyChainStateTests {
    @Test func onePerPolicyAndSourceAndAChangedSourceStartsFresh() throws {
        let dir = temporaryDirectory("cv-chainstate")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Posix.mkdirs(dir + "/a"); try Posix.mkdirs(dir + "/b")
        let state = dir + "/state"
        let first = PolicyChainState.prepare(policy: "btc", source: dir + "/a", stateDirectory: state)
        let other = PolicyChainState.prepare(policy: "btc-2", source: dir + "/a", stateDirectory: state)
        #expect(first != other && first.hasPrefix(state + "/chain/") && other.hasPrefix(state + "/chain/"))
        // Two spellings of one directory are one source.
        #expect(PolicyChainState.path(policy: "btc", source: dir + "/b/../a", stateDirectory: state) == first)
        for path in [first, other] {
            try Posix.mkdirs(Path.parent(path))
            try Array("{}".utf8).withUnsafeBytes { try Posix.writeFileAtomically(path, $0) }
        }
        #expect(PolicyChainState.prepare(policy: "btc", source: dir + "/a", stateDirectory: state) == first)
        #expect(FileManager.default.fileExists(atPath: first), "the same source keeps its state")
        let moved = PolicyChainState.prepare(policy: "btc", source: dir + "/b", stateDirectory: state)
        #expect(moved != first && !FileManager.default.fileExists(atPath: moved))
        #expect(!FileManager.default.fileExists(atPath: first), "the old source's state is gone")
        #expect(FileManager.default.fileExists(atPath: other), "another policy's state is kept")
    }
}
