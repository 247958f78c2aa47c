/// Turns what the chain walk could not connect into findings: stale forks and short runs of
/// unconnected blocks are information (a node keeps them; a download may be in flight), a run
/// longer than Bitcoin Core's download window hanging from a missing block is a gap.
enum ChainFindings {
    static func unconnected(
        _ result: ChainWalk.Result, walk: ChainWalk, directory: String,
        locate: (Hash32) -> (String, UInt64)?
    ) -> [ChainProblem] {
        var problems: [ChainProblem] = []
        let stale = result.heights.count - result.best.count
        if stale > 0 {
            problems.append(
                ChainProblem(
                    .info, file: directory,
                    "\(stale) stale block(s) on forks with less work than the best chain"))
        }
        for (missing, run) in result.unconnected.sorted(by: { $0.value.count > $1.value.count }) {
            let first = run.first { walk.nodes[$0]?.prev == missing } ?? run[0]
            let (file, offset) = locate(first) ?? (directory, nil)
            if run.count > ChainWalk.downloadWindow {
                problems.append(
                    ChainProblem(
                        .gap, file: file, offset: offset, blockHash: first.hex,
                        "\(run.count) blocks hang from block \(missing.hex), which is missing: "
                            + "the best chain stops at height \(result.height)"))
            } else {
                problems.append(
                    ChainProblem(
                        .info, file: file, offset: offset, blockHash: first.hex,
                        "\(run.count) block(s) not connected to the chain (their parent "
                            + "\(missing.hex) is not here or did not verify)"))
            }
        }
        return problems
    }
}
