/// CometBFT (and Tendermint) home directories: `config/genesis.json` beside `data/`. The check
/// reads the validator's signing state; the block store and state are LevelDB/PebbleDB, which
/// only the node itself can check. `state.extra` keeps the highest signing state seen, so a run
/// that finds a lower one reports a rollback (the state must never go down across snapshots).
public struct CometBFTProfile: ChainProfile {
    public static let statePath = "data/priv_validator_state.json"
    static let highestKey = "cometbft.signingState"

    public let name = "cometbft"
    public init() {}

    public func detect(_ source: ChainDataSource) -> Bool {
        guard let config = try? source.files(in: "config"),
            config.contains(where: { $0.path == "config/genesis.json" })
        else {
            return false
        }
        return (try? source.files(in: "data")) != nil
    }

    public func verify(_ source: ChainDataSource, state: inout ChainVerifyState) throws -> ChainReport {
        var report = ChainReport(profile: name)
        guard let file = try source.files(in: "data").first(where: { $0.path == Self.statePath }) else {
            let what = "no validator signing state (not a validator)"
            report.problems.append(ChainProblem(.info, file: Self.statePath, what))
            return report
        }
        guard file.size <= UInt64(ValidatorSigningState.maxSize) else {
            let what = "validator state of \(file.size) bytes is too large"
            report.problems.append(ChainProblem(.corrupt, file: file.path, offset: 0, what))
            return report
        }
        var bytes = [UInt8](repeating: 0, count: Int(file.size))
        let n = try bytes.withUnsafeMutableBytes { try source.read(file.path, offset: 0, into: $0) }
        bytes.removeLast(bytes.count - n)
        report.bytesChecked = UInt64(n)
        let current: ValidatorSigningState
        do { current = try ValidatorSigningState(json: bytes) } catch {
            report.problems.append(ChainProblem(.corrupt, file: file.path, offset: 0, "\(error)"))
            return report
        }
        report.height = UInt64(current.height)
        if let seen = state.extra[Self.highestKey].flatMap(Self.parse), current < seen {
            report.problems.append(
                ChainProblem(
                    .rollback, file: file.path, height: UInt64(current.height),
                    "validator state went down from \(seen) to \(current)"))
        } else {
            state.extra[Self.highestKey] = "\(current.height)/\(current.round)/\(current.step)"
        }
        return report
    }

    static func parse(_ text: String) -> ValidatorSigningState? {
        let parts = text.split(separator: "/")
        guard parts.count == 3, let h = Int64(parts[0]), let r = Int32(parts[1]), let s = Int8(parts[2]) else {
            return nil
        }
        return ValidatorSigningState(height: h, round: r, step: s)
    }
}
