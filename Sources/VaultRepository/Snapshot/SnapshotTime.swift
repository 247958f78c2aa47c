import Foundation

/// A `Date` stored as FORMAT.md's RFC 3339 UTC text with nanoseconds (`Timestamp.format`), so a
/// snapshot's `time` is a date in code and the same string on disk as before it was typed.
/// A time chainvault wrote reads back to the same text: `Date` keeps ~240 ns at today's dates, and
/// `Timestamp.format` rounds to the nanosecond it was made from.
@propertyWrapper
public struct RFC3339Time: Codable, Sendable, Hashable {
    public var wrappedValue: Date

    public init(wrappedValue: Date) { self.wrappedValue = wrappedValue }

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let date = Timestamp.parse(text) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "not an RFC 3339 UTC time: \(text.prefix(40))")
        }
        wrappedValue = date
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(Timestamp.format(wrappedValue))
    }
}
