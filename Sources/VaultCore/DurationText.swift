/// The one grammar for durations, wherever an operator writes one (policies, the daemon's
/// config, command-line options): one or more groups of a number and a unit, s m h d w y, as in
/// "90s", "30m", "6h", "7d", "2w", "1y", "1h30m", "1.5h". A year is 365 days; a month is not a
/// unit (its length varies: write "30d").
public enum DurationText {
    static let units: [UInt8: Double] = [
        UInt8(ascii: "s"): 1, UInt8(ascii: "m"): 60, UInt8(ascii: "h"): 3600,
        UInt8(ascii: "d"): 86_400, UInt8(ascii: "w"): 604_800, UInt8(ascii: "y"): 31_536_000
    ]

    public static let examples = "90s, 30m, 6h, 7d, 2w, 1y, 1h30m"

    /// Seconds, or nil when `text` is not a duration. `allowZero` admits "0s" (e.g. a jitter).
    public static func seconds(_ text: String, allowZero: Bool = false) -> Double? {
        var total = 0.0
        var number: [UInt8] = []
        var groups = 0
        for c in text.utf8 {
            if (c >= 48 && c <= 57) || c == 46 {
                number.append(c)
                continue
            }
            guard let scale = units[c], !number.isEmpty, let n = Double(String(decoding: number, as: UTF8.self)),
                n.isFinite
            else { return nil }
            total += n * scale
            number = []
            groups += 1
        }
        guard number.isEmpty, groups > 0, total.isFinite, total > 0 || (allowZero && total == 0) else { return nil }
        return total
    }

    /// The largest unit that divides `seconds` evenly: 21600 → "6h", 90 → "90s".
    public static func format(_ seconds: Double) -> String {
        let s = Int(seconds)
        for (unit, size) in [("w", 604_800), ("d", 86_400), ("h", 3600), ("m", 60)] where s >= size && s % size == 0 {
            return "\(s / size)\(unit)"
        }
        return "\(s)s"
    }
}
