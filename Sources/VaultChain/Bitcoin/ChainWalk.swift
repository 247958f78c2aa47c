/// The block tree: every valid block indexed by its hash with its parent and work, walked from a
/// root (the network's genesis, or the tip an earlier run verified) along children. The best chain
/// is the one with the most cumulative work (Bitcoin Core's rule; the first found wins a tie).
struct ChainWalk {
    struct Node { var prev: Hash32; var work: UInt128; var bits: UInt32 }

    struct Result {
        var tip: Hash32
        var height: UInt64
        var chainWork: UInt128
        /// Height of every block reached from the root.
        var heights: [Hash32: UInt64]
        var best: Set<Hash32>
        /// Blocks not reached from the root, grouped by the missing parent their run hangs from.
        var unconnected: [Hash32: [Hash32]]
    }

    /// Bitcoin Core never requests a block more than BLOCK_DOWNLOAD_WINDOW (1024) ahead of its tip,
    /// so a longer run of blocks hanging from a missing parent is a hole, not a download in flight.
    static let downloadWindow = 1024

    var nodes: [Hash32: Node] = [:]
    private var order: [Hash32] = []

    mutating func add(_ hash: Hash32, prev: Hash32, bits: UInt32) {
        guard nodes[hash] == nil, let target = CompactTarget(bits: bits) else { return }
        nodes[hash] = Node(prev: prev, work: target.work, bits: bits)
        order.append(hash)
    }

    func walk(root: Hash32, height rootHeight: UInt64, work rootWork: UInt128) -> Result {
        var children: [Hash32: [Hash32]] = [:]
        for h in order { children[nodes[h]!.prev, default: []].append(h) }
        var heights: [Hash32: UInt64] = [root: rootHeight]
        var works: [Hash32: UInt128] = [root: rootWork]
        var tip = root
        var queue = [root]
        var head = 0
        while head < queue.count {
            let h = queue[head]; head += 1
            for child in children[h] ?? [] where heights[child] == nil && child != root {
                heights[child] = heights[h]! + 1
                let (w, overflow) = works[h]!.addingReportingOverflow(nodes[child]!.work)
                works[child] = overflow ? .max : w
                if works[child]! > works[tip]! { tip = child }
                queue.append(child)
            }
        }
        var best: Set<Hash32> = [root]
        var at = tip
        while at != root, let node = nodes[at] { best.insert(at); at = node.prev }
        var unconnected: [Hash32: [Hash32]] = [:]
        var rootOf: [Hash32: Hash32] = [:]
        for h in order where heights[h] == nil {
            // Follow parents to the first one that is not indexed; memoised, iterative.
            var path: [Hash32] = []
            var at = h
            var top: Hash32?
            while top == nil {
                if let known = rootOf[at] { top = known; break }
                guard let node = nodes[at], heights[at] == nil, path.count <= order.count else { top = at; break }
                path.append(at); at = node.prev
            }
            for p in path { rootOf[p] = top! }
            unconnected[top!, default: []].append(h)
        }
        return Result(
            tip: tip, height: heights[tip]!, chainWork: works[tip]!, heights: heights, best: best,
            unconnected: unconnected)
    }
}
