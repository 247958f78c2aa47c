import VaultCore

/// A duration as an operator writes it in a policy or the daemon's config ("6h", "1h30m"; the
/// grammar is `DurationText`'s, the same as on the command line), parsed once, when the file is
/// decoded. `seconds` is nil when the text is no duration: the file's validator reports that with
/// the field and its line, next to the file's other problems (a decode that failed on it would
/// stop at the first). The text is kept for messages and to write the file back as it was.
/// Not named `Duration`, which is the standard library's.
public struct TimeSpan: Codable, Sendable, Hashable, ExpressibleByStringLiteral, CustomStringConvertible {
    public let text: String
    public let seconds: Double?

    public init(_ text: String) {
        self.text = text
        seconds = DurationText.seconds(text)
    }

    public init(stringLiteral text: String) { self.init(text) }

    public init(from decoder: Decoder) throws { self.init(try decoder.singleValueContainer().decode(String.self)) }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(text)
    }

    public var description: String { text }

    /// The seconds, or the problem a policy reports for a field that holds no duration.
    public func parsed() throws -> Double {
        guard let seconds else {
            throw PolicyProblem(
                field: "", message: "'\(text)' is not a duration; write numbers with units: \(DurationText.examples)")
        }
        return seconds
    }
}
