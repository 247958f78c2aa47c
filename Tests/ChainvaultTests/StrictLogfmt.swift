import Foundation

/// A strict logfmt reader for the daemon's stderr, written for the tests (no library does it the
/// same way twice, so the grammar is spelled out here):
///
///     line   = [ "<" DIGIT ">" ] pair *( " " pair )      ; the sd-daemon priority prefix is optional
///     pair   = key "=" value
///     key    = 1*( %x21-7E except "=" and DQUOTE )
///     value  = bare / quoted
///     bare   = *( %x21-7E except "=" and DQUOTE / UTF-8 above U+007F )
///     quoted = DQUOTE *( char / "\" ( DQUOTE / "\" / "n" / "r" / "t" / "x" 2HEXDIG ) ) DQUOTE
///
/// No control byte and no invalid UTF-8 anywhere, no empty key, no repeated key, single spaces
/// only, nothing after the last pair. The first key must be `event`.
enum StrictLogfmt {
    struct Failure: Error, CustomStringConvertible {
        let line: String
        let reason: String
        var description: String { "\(reason) in: \(line)" }
    }

    struct Record {
        var priority: Int?
        var pairs: [(String, [UInt8])]
        func value(_ key: String) -> String? {
            pairs.first { $0.0 == key }.map { String(decoding: $0.1, as: UTF8.self) }
        }
        func bytes(_ key: String) -> [UInt8]? { pairs.first { $0.0 == key }?.1 }
    }

    /// Every line of `text` (which must end with a newline); throws at the first bad one.
    static func parseAll(_ text: [UInt8]) throws -> [Record] {
        guard text.isEmpty || text.last == 0x0A else {
            throw Failure(line: String(decoding: text.suffix(200), as: UTF8.self), reason: "no final newline")
        }
        return try text.split(separator: 0x0A, omittingEmptySubsequences: false).dropLast().map { try parse(Array($0)) }
    }

    static func parse(_ line: [UInt8]) throws -> Record {
        let shown = String(decoding: line, as: UTF8.self)
        func fail(_ reason: String) -> Failure { Failure(line: shown, reason: reason) }
        guard String(validating: line, as: UTF8.self) != nil else { throw fail("invalid UTF-8") }
        var i = 0
        var priority: Int?
        if line.count >= 3, line[0] == UInt8(ascii: "<"), (0x30...0x37).contains(line[1]), line[2] == UInt8(ascii: ">")
        {
            priority = Int(line[1] - 0x30)
            i = 3
        }
        var pairs: [(String, [UInt8])] = []
        while i < line.count {
            if !pairs.isEmpty {
                guard line[i] == 0x20 else { throw fail("pairs not separated by one space at byte \(i)") }
                i += 1
            }
            let keyStart = i
            while i < line.count, line[i] > 0x20, line[i] < 0x7F, line[i] != UInt8(ascii: "="), line[i] != 0x22 {
                i += 1
            }
            guard i > keyStart else { throw fail("empty or bad key at byte \(i)") }
            guard i < line.count, line[i] == UInt8(ascii: "=") else { throw fail("key without '=' at byte \(i)") }
            let key = String(decoding: line[keyStart..<i], as: UTF8.self)
            guard !pairs.contains(where: { $0.0 == key }) else { throw fail("repeated key \(key)") }
            i += 1
            var value: [UInt8] = []
            if i < line.count, line[i] == 0x22 {
                i += 1
                var closed = false
                while i < line.count {
                    let b = line[i]
                    if b == 0x22 { closed = true; i += 1; break }
                    if b < 0x20 || b == 0x7F { throw fail("control byte in a quoted value at byte \(i)") }
                    if b == UInt8(ascii: "\\") {
                        guard i + 1 < line.count else { throw fail("dangling backslash") }
                        switch line[i + 1] {
                        case 0x22: value.append(0x22)
                        case UInt8(ascii: "\\"): value.append(UInt8(ascii: "\\"))
                        case UInt8(ascii: "n"): value.append(0x0A)
                        case UInt8(ascii: "r"): value.append(0x0D)
                        case UInt8(ascii: "t"): value.append(0x09)
                        case UInt8(ascii: "x"):
                            guard i + 3 < line.count,
                                let v = UInt8(String(decoding: line[(i + 2)...(i + 3)], as: UTF8.self), radix: 16)
                            else { throw fail("bad \\x escape at byte \(i)") }
                            value.append(v)
                            i += 2
                        default: throw fail("unknown escape at byte \(i)")
                        }
                        i += 2
                        continue
                    }
                    value.append(b)
                    i += 1
                }
                guard closed else { throw fail("unterminated quoted value") }
            } else {
                while i < line.count, line[i] != 0x20 {
                    let b = line[i]
                    guard b > 0x20, b != 0x7F, b != UInt8(ascii: "="), b != 0x22 else {
                        throw fail("bad byte in a bare value at byte \(i)")
                    }
                    value.append(b)
                    i += 1
                }
            }
            pairs.append((key, value))
        }
        guard pairs.first?.0 == "event" else { throw fail("the first key is not event") }
        return Record(priority: priority, pairs: pairs)
    }
}
