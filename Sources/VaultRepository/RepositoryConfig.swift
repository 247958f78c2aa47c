import Foundation
import VaultCore

/// The repository's parameters, sealed in the `config` object. Fixed at init, except the
/// compression level, which only affects new blobs.
public struct RepositoryConfig: Codable, Sendable {
    public static let currentVersion = 1

    public var version: Int
    public var id: String
    public var created: String
    public var chunker: ChunkerParameters
    public var compressionLevel: Int32
    public var packSize: Int

    /// 16 MiB packs: few enough objects for S3 listing and per-request overhead, small enough that
    /// a partly used pack is cheap to repack.
    public static let defaultPackSize = 16 << 20

    public static func new(chunker: ChunkerParameters = .standard, compressionLevel: Int32 = 3) -> RepositoryConfig {
        RepositoryConfig(
            version: currentVersion, id: Hex.encode(SecureRandom.bytes(16)), created: Timestamp.now(),
            chunker: chunker, compressionLevel: compressionLevel, packSize: defaultPackSize)
    }

    func validate() throws {
        guard version == Self.currentVersion else {
            throw VaultError(
                .notARepository,
                "repository format version \(version) is not supported by this chainvault (it reads version \(Self.currentVersion))",
                hint: "use a chainvault release that supports format \(version)")
        }
        try chunker.validate()
        guard (1 << 20)...(256 << 20) ~= packSize, (-7)...22 ~= compressionLevel else {
            throw VaultError(
                .corrupt, "repository config has invalid pack size \(packSize) or compression level \(compressionLevel)"
            )
        }
    }
}

/// RFC 3339 UTC timestamps with nanoseconds, as every JSON document in the format uses.
public enum Timestamp {
    public static func now() -> String { format(Date()) }

    public static func format(_ date: Date) -> String {
        let seconds = date.timeIntervalSince1970
        var whole = floor(seconds)
        var nanos = Int((seconds - whole) * 1e9 + 0.5)
        if nanos >= 1_000_000_000 { whole += 1; nanos -= 1_000_000_000 }
        var t = time_t(whole)
        var parts = tm()
        gmtime_r(&t, &parts)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%09dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
            Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), nanos)
    }

    public static func parse(_ text: String) -> Date? {
        let utf8 = Array(text.utf8)
        guard utf8.count >= 20, utf8.last == UInt8(ascii: "Z") else { return nil }
        func number(_ range: Range<Int>) -> Int? { Int(String(decoding: utf8[range], as: UTF8.self)) }
        guard let y = number(0..<4), let mo = number(5..<7), let d = number(8..<10), let h = number(11..<13),
            let mi = number(14..<16), let s = number(17..<19)
        else { return nil }
        var nanos = 0.0
        if utf8.count > 21, utf8[19] == UInt8(ascii: "."), let frac = number(20..<(utf8.count - 1)) {
            nanos = Double(frac) / pow(10, Double(utf8.count - 21))
        }
        var parts = tm()
        parts.tm_year = Int32(y - 1900); parts.tm_mon = Int32(mo - 1); parts.tm_mday = Int32(d)
        parts.tm_hour = Int32(h); parts.tm_min = Int32(mi); parts.tm_sec = Int32(s)
        let epoch = timegm(&parts)
        return Date(timeIntervalSince1970: Double(epoch) + nanos)
    }
}
