/// What a bitcoind check carries from one run to the next in `ChainVerifyState.extra`: the network
/// and XOR key it ran with (a different one invalidates every mark), the best tip with its height
/// and cumulative work (so an incremental run reports the full height), blocks that did not connect
/// yet, and blocks whose undo record was not written yet. The lists are bounded; what falls off
/// is rechecked by a full run (`--full`).
struct CarriedState {
    var valid = true
    var tip: (hash: Hash32, height: UInt64, work: UInt128)?
    var orphans: [(Hash32, Hash32, UInt32)] = []
    var pendingUndo: [Int: [UndoMatcher.Candidate]] = [:]

    static let listLimit = 20_000

    init() {}

    init(_ state: ChainVerifyState, network: String, key: [UInt8]) {
        let extra = state.extra
        if state.files.isEmpty { return }
        guard extra["network"] == network, extra["xorKey"] == Self.hex(key),
            let tipHex = extra["tip"], let tip = Hash32(displayHex: tipHex),
            let height = extra["height"].flatMap({ UInt64($0) }),
            let work = extra["chainWork"].flatMap({ UInt128($0) })
        else { valid = false; return }
        self.tip = (tip, height, work)
        for entry in (extra["orphans"] ?? "").split(separator: ";") {
            let f = entry.split(separator: ":")
            guard f.count == 3, let h = Hash32(displayHex: String(f[0])), let p = Hash32(displayHex: String(f[1])),
                let bits = UInt32(f[2], radix: 16)
            else { valid = false; return }
            orphans.append((h, p, bits))
        }
        for entry in (extra["pendingUndo"] ?? "").split(separator: ";") {
            let f = entry.split(separator: ":")
            guard f.count == 4, let n = Int(f[0]), let p = Hash32(displayHex: String(f[1])),
                let h = Hash32(displayHex: String(f[2])), let count = Int(f[3])
            else { valid = false; return }
            pendingUndo[n, default: []].append(.init(prev: p, hash: h, txCount: count))
        }
    }

    static func store(
        into state: inout ChainVerifyState, network: String, key: [UInt8], tip: ChainWalk.Result,
        orphans: [(Hash32, Hash32, UInt32)], pendingUndo: [Int: [UndoMatcher.Candidate]]
    ) {
        state.extra["network"] = network
        state.extra["xorKey"] = hex(key)
        state.extra["tip"] = tip.tip.hex
        state.extra["height"] = String(tip.height)
        state.extra["chainWork"] = String(tip.chainWork)
        state.extra["orphans"] = orphans.suffix(listLimit)
            .map { "\($0.0.hex):\($0.1.hex):\(String($0.2, radix: 16))" }.joined(separator: ";")
        var pending: [String] = []
        for (n, list) in pendingUndo.sorted(by: { $0.key < $1.key }) {
            for c in list { pending.append("\(n):\(c.prev.hex):\(c.hash.hex):\(c.txCount)") }
        }
        state.extra["pendingUndo"] = pending.suffix(listLimit).joined(separator: ";")
    }

    static func hex(_ key: [UInt8]) -> String {
        key.map { String($0, radix: 16) }.map { $0.count == 1 ? "0" + $0 : $0 }.joined()
    }
}
