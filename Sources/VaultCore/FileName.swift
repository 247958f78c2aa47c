import Glibc

/// File names and link targets are bytes: the kernel hands out anything but NUL (and `/` in a
/// name), not necessarily UTF-8. They are stored and passed to system calls as those bytes and
/// decoded to `String` only to be printed.
public enum FileName {
    /// For people: valid UTF-8 as it is, every byte that is not part of valid UTF-8 as `\xHH`.
    /// Never used to name anything on disk (two names can print alike only if one holds a
    /// literal `\x`).
    public static func display(_ bytes: [UInt8]) -> String {
        if let text = String(validating: bytes, as: UTF8.self) { return text }
        var out = ""
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = bytes.makeIterator()
        var position = 0
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let encoded):
                out.unicodeScalars.append(Unicode.UTF8.decode(encoded))
                position += encoded.count
            case .error(let length):
                for b in bytes[position..<position + length] { out += "\\x" + hexByte(b) }
                position += length
            case .emptyInput:
                return out
            }
        }
    }

    /// The inverse of `display` for text an operator typed: `\xHH` becomes the byte HH, anything
    /// else stays as its UTF-8.
    public static func unescape(_ text: String) -> [UInt8] {
        let utf8 = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count)
        var i = 0
        while i < utf8.count {
            if utf8[i] == UInt8(ascii: "\\"), i + 3 < utf8.count, utf8[i + 1] == UInt8(ascii: "x"),
                let hi = hexValue(utf8[i + 2]), let lo = hexValue(utf8[i + 3])
            {
                out.append(hi << 4 | lo)
                i += 4
            } else {
                out.append(utf8[i])
                i += 1
            }
        }
        return out
    }

    /// The bytes an operator passed for `argument` on the command line. Swift decodes argv with
    /// UTF-8 repair, so a name with invalid bytes arrives with U+FFFD in it; the raw argv entry
    /// still has the original bytes.
    public static func commandLineBytes(_ argument: String) -> [UInt8] {
        guard argument.unicodeScalars.contains("\u{FFFD}") else { return Array(argument.utf8) }
        for i in 0..<Int(CommandLine.argc) {
            guard let raw = CommandLine.unsafeArgv[i] else { continue }
            let bytes = Array(UnsafeBufferPointer(start: raw, count: strlen(raw))).map { UInt8(bitPattern: $0) }
            if String(decoding: bytes, as: UTF8.self) == argument { return bytes }
            // `--path=VALUE` style: the value is the tail of the entry.
            if let eq = bytes.firstIndex(of: UInt8(ascii: "=")),
                String(decoding: bytes[(eq + 1)...], as: UTF8.self) == argument
            {
                return Array(bytes[(eq + 1)...])
            }
        }
        return Array(argument.utf8)
    }

    /// Calls `body` with `bytes` as a NUL-terminated C string (never via `String`).
    public static func withCString<R>(_ bytes: [UInt8], _ body: (UnsafePointer<CChar>) throws -> R) rethrows -> R {
        var terminated = bytes
        terminated.append(0)
        return try terminated.withUnsafeBufferPointer { buffer in
            try buffer.withMemoryRebound(to: CChar.self) { try body($0.baseAddress!) }
        }
    }

    private static func hexByte(_ b: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return String(digits[Int(b >> 4)]) + String(digits[Int(b & 15)])
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
