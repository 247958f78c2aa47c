import Foundation

/// CometBFT's `data/priv_validator_state.json` (privval/file.go `FilePVLastSignState`): the last
/// (height, round, step) the validator signed, which must never go down, or the validator may
/// sign twice at one height and be slashed. `height` is an int64 that CometBFT's JSON writes as a
/// string; `round` and `step` are numbers (strings are accepted too, as older Tendermint wrote).
public struct ValidatorSigningState: Comparable, Sendable, CustomStringConvertible {
    public var height: Int64
    public var round: Int32
    /// 0 none, 1 propose, 2 prevote, 3 precommit (privval/file.go).
    public var step: Int8

    /// The file is a few hundred bytes; anything far larger is not this file.
    public static let maxSize = 64 << 10

    public init(height: Int64, round: Int32, step: Int8) { self.height = height; self.round = round; self.step = step }

    public init(json bytes: [UInt8]) throws {
        guard bytes.count <= Self.maxSize else {
            throw ParseError("validator state of \(bytes.count) bytes is too large")
        }
        let fields: Fields
        do {
            fields = try JSONDecoder().decode(Fields.self, from: Data(bytes))
        } catch {
            throw ParseError("validator state is not a JSON object with height, round and step")
        }
        let height = try Self.integer(fields.height, "height", max: Int64.max)
        let round = try Self.integer(fields.round, "round", max: Int64(Int32.max))
        let step = try Self.integer(fields.step, "step", max: 3)
        self.init(height: height, round: Int32(round), step: Int8(step))
    }

    /// Lexicographic, as CometBFT's `CheckHRS` orders them.
    public static func < (a: Self, b: Self) -> Bool {
        (a.height, a.round, a.step) < (b.height, b.round, b.step)
    }

    public var description: String { "height \(height) round \(round) step \(step)" }

    public struct ParseError: Error, Equatable, CustomStringConvertible {
        public var what: String
        init(_ what: String) { self.what = what }
        public var description: String { what }
    }

    /// An integer field as CometBFT writes it: a decimal string (int64) or a JSON number.
    enum Number: Decodable {
        case value(Int64), invalid
        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let s = try? c.decode(String.self) {
                let digits = !s.isEmpty && s.utf8.allSatisfy { $0 >= 48 && $0 <= 57 }
                self = digits ? Int64(s).map(Number.value) ?? .invalid : .invalid
            } else if let n = try? c.decode(Int64.self) {
                self = .value(n)
            } else {
                self = .invalid
            }
        }
    }

    struct Fields: Decodable { var height: Number?, round: Number?, step: Number? }

    static func integer(_ value: Number?, _ name: String, max: Int64) throws -> Int64 {
        guard let value else { throw ParseError("validator state has no \(name)") }
        guard case .value(let v) = value, v >= 0, v <= max else {
            throw ParseError("validator state \(name) is not an integer in 0...\(max)")
        }
        return v
    }
}
