import Foundation
import Testing
import VaultCore
import VaultRepository

/// Prune keeps only the marked copy of a blob listed by several packs (issue 18: concurrent
/// backups of the same data). The mark is on the first copy, and moves to a copy whose pack the
/// store lists when the first one's is missing, so prune never deletes the copy that is there.
struct PackTableMarkTests {
    @Test func onlyTheFirstCopyIsMarkedAndTheMarkMovesOffAMissingPack() throws {
        var g = MasterIndexTests.Seeded(state: 18)
        let shared = MasterIndexTests.digest(&g), own = MasterIndexTests.digest(&g)
        let first = MasterIndexTests.pack(&g, ids: [shared]), second = MasterIndexTests.pack(&g, ids: [own, shared])
        func table() -> PackTable {
            let t = PackTable()
            t.add(first); t.add(second); t.seal()
            #expect(t.mark(shared) == .new && t.mark(own) == .new)
            return t
        }
        func markedPacks(_ t: PackTable) -> [Int] {
            t.positions(of: shared).filter { t.isMarked($0) }.map { t.packOrdinal(at: $0) }
        }
        let both = table()
        both.settleMarks(onPacksWhere: { _ in true })
        #expect(markedPacks(both) == [0], "one copy, the first, is kept when both packs are there")
        let firstMissing = table()
        firstMissing.settleMarks(onPacksWhere: { $0 != 0 })
        #expect(markedPacks(firstMissing) == [1], "the mark moves to the copy whose pack the store lists")
        let secondMissing = table()
        secondMissing.settleMarks(onPacksWhere: { $0 != 1 })
        #expect(markedPacks(secondMissing) == [0])
        let noneListed = table()
        noneListed.settleMarks(onPacksWhere: { _ in false })
        #expect(
            markedPacks(noneListed) == [0], "with no copy listed the mark stays: prune then stops on the missing pack")
    }
}
