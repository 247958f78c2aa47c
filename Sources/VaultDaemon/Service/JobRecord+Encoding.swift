import Foundation

/// How a job record reads in `/v1/jobs/{id}` and `/v1/status`: the jobs keep their details as text
/// (`detail`), but a figure (bytes, files, seconds) goes out as a JSON number, so a client reads
/// `"bytesRead": 1048576`, not `"bytesRead": "1048576"` it would have to convert. Identifiers
/// (snapshot ids, paths, names) stay strings even when they happen to be all digits.
extension JobRecord {
    /// Detail keys whose values are names or ids, never figures.
    static let textDetails: Set<String> = [
        "snapshot", "previous", "target", "copiedTo", "requestedBy", "retention",
        "protectedKept", "error"
    ]

    struct Key: CodingKey {
        let stringValue: String
        init(_ s: String) { stringValue = s }
        init?(stringValue: String) { self.stringValue = stringValue }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(id, forKey: Key("id"))
        try c.encode(kind, forKey: Key("kind"))
        try c.encodeIfPresent(policy, forKey: Key("policy"))
        try c.encode(state, forKey: Key("state"))
        try c.encode(queued, forKey: Key("queued"))
        try c.encodeIfPresent(started, forKey: Key("started"))
        try c.encodeIfPresent(finished, forKey: Key("finished"))
        try c.encodeIfPresent(error, forKey: Key("error"))
        try c.encodeIfPresent(snapshot, forKey: Key("snapshot"))
        var d = c.nestedContainer(keyedBy: Key.self, forKey: Key("detail"))
        for (key, value) in detail {
            switch Self.textDetails.contains(key) ? nil : JobFigure(value) {
            case .whole(let n)?: try d.encode(n, forKey: Key(key))
            case .fraction(let x)?: try d.encode(x, forKey: Key(key))
            case nil: try d.encode(value, forKey: Key(key))
            }
        }
        try c.encodeIfPresent(progress, forKey: Key("progress"))
        try c.encodeIfPresent(phases, forKey: Key("phases"))
        try c.encodeIfPresent(downtimeSeconds, forKey: Key("downtimeSeconds"))
    }
}

/// A detail value that is a figure: only plain decimal text as the jobs write it (`12`, `-3`,
/// `0.125`), never "1e5", "0x10", "nan" or a leading zero that might be part of a name.
enum JobFigure: Equatable {
    case whole(Int64)
    case fraction(Double)

    init?(_ text: String) {
        let bytes = Array(text.utf8)
        var i = bytes.first == UInt8(ascii: "-") ? 1 : 0
        let digitsStart = i
        while i < bytes.count, (48...57).contains(bytes[i]) { i += 1 }
        let whole = i - digitsStart
        guard whole > 0, whole == 1 || bytes[digitsStart] != 48 else { return nil }
        if i == bytes.count {
            guard let n = Int64(text) else { return nil }
            self = .whole(n)
            return
        }
        guard bytes[i] == UInt8(ascii: "."), i + 1 < bytes.count else { return nil }
        i += 1
        while i < bytes.count, (48...57).contains(bytes[i]) { i += 1 }
        guard i == bytes.count, let x = Double(text), x.isFinite else { return nil }
        self = .fraction(x)
    }
}
