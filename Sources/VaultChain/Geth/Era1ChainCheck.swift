/// Checks a directory's era1 files together: each file's accumulator (the SSZ root over its block
/// hashes and total difficulties) against the stored entry and the root prefix in its name, and
/// the links between consecutive files. Block hashes come from the next header's parent hash, so
/// no keccak is needed except for a directory's last block, whose hash only its successor (or
/// keccak) knows: that one file's accumulator is reported as not checkable, never as valid.
public struct Era1ChainCheck {
    public var summaries: [Era1FileSummary] = []
    public var problems: [ChainProblem] = []
    /// Files whose accumulator matched (everything in them is then bound to the stored root).
    public var rootVerified: Set<String> = []

    /// Block hashes known from elsewhere (by number): an operator's checkpoint, or what an earlier
    /// run learnt from a file that is no longer beside this one. Used for a file's last block.
    public var anchors: [UInt64: EthHash]

    public init(anchors: [UInt64: EthHash] = [:]) { self.anchors = anchors }

    /// `files` sorted by name, which era1 names (`<network>-<era:05>-<root:8hex>.era1`) put in block order.
    public mutating func run(_ source: ChainDataSource, files: [ChainFile]) throws {
        var previous: (number: UInt64, totalDifficulty: UInt256)?
        for file in files {
            var check = Era1FileCheck(source: source, file: file)
            let summary = try check.run(previous: previous)
            previous = nil
            if summary.complete, let td = summary.difficulties.last {
                previous = (summary.start + UInt64(summary.parents.count) - 1, td)
            }
            summaries.append(summary)
            problems += summary.problems
        }
        for (i, s) in summaries.enumerated() {
            let next = i + 1 < summaries.count ? summaries[i + 1] : nil
            checkLink(s, next)
            checkAccumulator(s, next)
        }
    }

    mutating func checkLink(_ s: Era1FileSummary, _ next: Era1FileSummary?) {
        guard let next, s.indexed, next.indexed else { return }
        guard next.start == s.start + UInt64(s.parents.count) else {
            problems.append(
                ChainProblem(
                    .gap, file: next.path, offset: 0, height: next.start,
                    "era1 file starts at block \(next.start), "
                        + "the previous one ends at \(s.start + UInt64(s.parents.count) - 1)"))
            return
        }
        if s.complete, next.complete, let last = s.lastHash, let parent = next.parents.first, last != parent {
            problems.append(
                ChainProblem(
                    .corrupt, file: next.path, offset: 8, height: next.start, blockHash: nil,
                    "first header's parent \(parent.hex) is not the previous file's "
                        + "last block \(last.hex)"))
        }
    }

    mutating func checkAccumulator(_ s: Era1FileSummary, _ next: Era1FileSummary?) {
        guard s.complete, let stored = s.storedRoot else { return }
        let adjacent = next.map { $0.complete && $0.start == s.start + UInt64(s.parents.count) } ?? false
        let lastNumber = s.start + UInt64(s.parents.count) - 1
        guard let last = s.lastHash ?? (adjacent ? next?.parents.first : nil) ?? anchors[lastNumber] else {
            problems.append(
                ChainProblem(
                    .info, file: s.path, height: lastNumber,
                    "accumulator not recomputed: the last block's hash needs the next era1 file "
                        + "or keccak-256"))
            return
        }
        let hashes = Array(s.parents.dropFirst()) + [last]
        let root = EpochAccumulator.root(hashes: hashes, difficulties: s.difficulties)
        if root != stored {
            // A parent hash or a total difficulty changed (or the stored root): without keccak the
            // block cannot be named, only the file.
            problems.append(
                ChainProblem(
                    .corrupt, file: s.path, offset: s.accumulatorOffset, height: s.start,
                    "accumulator \(stored.hex) does not match the blocks' \(root.hex)"))
        } else {
            rootVerified.insert(s.path)
        }
        if let prefix = Self.namePrefix(s.path), !stored.hex.hasPrefix(prefix) {
            problems.append(
                ChainProblem(
                    .corrupt, file: s.path, height: s.start,
                    "file name says accumulator \(prefix)…, the file stores \(stored.hex)"))
        }
    }

    /// The 8 hex digits before `.era1` in `name-era-hhhhhhhh.era1`, or nil for another name.
    public static func namePrefix(_ path: String) -> String? {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        guard name.hasSuffix(".era1") else { return nil }
        let stem = name.dropLast(5)
        guard let dash = stem.lastIndex(of: "-") else { return nil }
        let hex = stem[stem.index(after: dash)...]
        guard hex.count == 8, hex.allSatisfy({ $0.isHexDigit }) else { return nil }
        return hex.lowercased()
    }
}
