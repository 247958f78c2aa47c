/// One log record as one logfmt line: `event=NAME key=value …`. Values are quoted when they hold
/// a space, `=`, a quote or nothing; inside quotes `"` and `\` are escaped, newlines and tabs as
/// `\n` `\r` `\t`, every other control byte and every byte that is not part of valid UTF-8 as
/// `\xNN`, so a record is always one valid UTF-8 line whatever a hook printed, and a reader gets
/// the exact bytes back.
public enum Logfmt {
    /// A value given as bytes (a hook's output): kept exact, escaped where needed.
    public static func record(event: String, _ fields: [(String, [UInt8])]) -> [UInt8] {
        var out: [UInt8] = Array("event=".utf8)
        appendValue(Array(event.utf8), to: &out)
        for (key, value) in fields {
            out.append(0x20)
            appendKey(key, to: &out)
            out.append(UInt8(ascii: "="))
            appendValue(value, to: &out)
        }
        return out
    }

    public static func record(event: String, _ fields: [(String, String)]) -> [UInt8] {
        record(event: event, fields.map { ($0.0, Array($0.1.utf8)) })
    }

    /// Keys are code-given; anything outside the visible ASCII set becomes `_` rather than break
    /// the line.
    static func appendKey(_ key: String, to out: inout [UInt8]) {
        let bytes = Array(key.utf8)
        if bytes.isEmpty { out.append(UInt8(ascii: "_")); return }
        for b in bytes {
            out.append(b > 0x20 && b < 0x7F && b != UInt8(ascii: "=") && b != 0x22 ? b : UInt8(ascii: "_"))
        }
    }

    static func appendValue(_ value: [UInt8], to out: inout [UInt8]) {
        let bare =
            !value.isEmpty && value.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "=") && $0 != 0x22 }
        if bare { out += value; return }
        out.append(0x22)
        var i = 0
        while i < value.count {
            let b = value[i]
            switch b {
            case 0x22: out += [0x5C, 0x22]
            case 0x5C: out += [0x5C, 0x5C]
            case 0x0A: out += [0x5C, UInt8(ascii: "n")]
            case 0x0D: out += [0x5C, UInt8(ascii: "r")]
            case 0x09: out += [0x5C, UInt8(ascii: "t")]
            case 0x20..<0x7F: out.append(b)
            case 0x80...:
                let n = validSequenceLength(value, at: i)
                if n > 0 { out += value[i..<(i + n)]; i += n; continue }
                appendHex(b, to: &out)
            default: appendHex(b, to: &out)
            }
            i += 1
        }
        out.append(0x22)
    }

    static func appendHex(_ b: UInt8, to out: inout [UInt8]) {
        let digits = Array("0123456789abcdef".utf8)
        out += [0x5C, UInt8(ascii: "x"), digits[Int(b >> 4)], digits[Int(b & 15)]]
    }

    /// Length of the well-formed UTF-8 sequence starting at `i` (RFC 3629: no overlongs, no
    /// surrogates, nothing above U+10FFFF), or 0.
    static func validSequenceLength(_ v: [UInt8], at i: Int) -> Int {
        let b = v[i]
        let (n, low, high): (Int, UInt8, UInt8)
        switch b {
        case 0xC2...0xDF: (n, low, high) = (2, 0x80, 0xBF)
        case 0xE0: (n, low, high) = (3, 0xA0, 0xBF)
        case 0xE1...0xEC, 0xEE...0xEF: (n, low, high) = (3, 0x80, 0xBF)
        case 0xED: (n, low, high) = (3, 0x80, 0x9F)
        case 0xF0: (n, low, high) = (4, 0x90, 0xBF)
        case 0xF1...0xF3: (n, low, high) = (4, 0x80, 0xBF)
        case 0xF4: (n, low, high) = (4, 0x80, 0x8F)
        default: return 0
        }
        guard i + n <= v.count, (low...high).contains(v[i + 1]) else { return 0 }
        for k in 2..<max(2, n) where !(0x80...0xBF).contains(v[i + k]) { return 0 }
        return n
    }
}
