/// Where a JSON text first breaks RFC 8259, with line and column (both from 1), for operators
/// who edit policies and configs by hand: Foundation's parser gives neither reliably. An
/// iterative scanner with an explicit stack: a hostile file's nesting never reaches our call
/// stack. It only validates; decoding stays Foundation's.
public enum JSONSyntax {
    public struct Problem: Equatable, Sendable, CustomStringConvertible {
        public let line: Int
        public let column: Int
        public let message: String
        public var description: String { "line \(line), column \(column): \(message)" }
    }

    public static let maxDepth = 512

    /// nil when `bytes` is one valid JSON value (surrounded by optional white space).
    public static func firstProblem(_ bytes: [UInt8]) -> Problem? {
        var i = 0
        var line = 1, lineStart = 0
        func problem(_ message: String, at p: Int? = nil) -> Problem {
            Problem(line: line, column: (p ?? i) - lineStart + 1, message: message)
        }
        func shown(_ c: UInt8) -> String {
            c >= 0x20 && c < 0x7f ? "'\(Character(Unicode.Scalar(c)))'" : "byte 0x\(String(c, radix: 16))"
        }
        func skipSpace() {
            while i < bytes.count {
                switch bytes[i] {
                case 0x20, 0x09, 0x0d: i += 1
                case 0x0a: i += 1; line += 1; lineStart = i
                default: return
                }
            }
        }
        // What the scanner expects next inside each open container.
        enum Want { case valueOrClose, value, commaOrClose, key, keyOrClose, colon }
        var stack: [(container: UInt8, want: Want)] = []
        var wantValue = true
        while true {
            skipSpace()
            guard i < bytes.count else {
                return stack.isEmpty && !wantValue
                    ? nil
                    : problem(
                        stack.isEmpty
                            ? "the text is empty: expected a JSON value"
                            : "unexpected end: a \(stack.last!.container == 0x7b ? "'}'" : "']'") is missing")
            }
            let c = bytes[i]
            if !stack.isEmpty && !wantValue {
                let top = stack.count - 1
                switch (stack[top].want, c) {
                case (.commaOrClose, 0x2c):
                    i += 1
                    stack[top].want = stack[top].container == 0x7b ? .key : .value
                    wantValue = stack[top].want == .value
                    continue
                case (.commaOrClose, 0x7d) where stack[top].container == 0x7b, (.keyOrClose, 0x7d),
                    (.commaOrClose, 0x5d) where stack[top].container == 0x5b:
                    i += 1; stack.removeLast(); continue
                case (.key, 0x7d), (.value, 0x5d):
                    return problem("a trailing comma before \(shown(c))")
                case (.key, 0x22), (.keyOrClose, 0x22):
                    if let p = scanString(bytes, &i) { return problem(p.0, at: p.1) }
                    stack[top].want = .colon; continue
                case (.key, _), (.keyOrClose, _):
                    return problem("expected a key in double quotes, found \(shown(c))")
                case (.colon, 0x3a):
                    i += 1; stack[top].want = .commaOrClose; wantValue = true; continue
                case (.colon, _):
                    return problem("expected ':' after the key, found \(shown(c))")
                default:
                    return problem("expected ',' or '\(stack[top].container == 0x7b ? "}" : "]")', found \(shown(c))")
                }
            }
            if !wantValue { return problem("unexpected \(shown(c)) after the end of the JSON value") }
            // A value.
            if c == 0x5d, let top = stack.last, top.want == .value { return problem("a trailing comma before ']'") }
            switch c {
            case 0x7b, 0x5b:
                guard stack.count < maxDepth else { return problem("nested deeper than \(maxDepth) levels") }
                i += 1
                if !stack.isEmpty { stack[stack.count - 1].want = .commaOrClose }
                stack.append((c, c == 0x7b ? .keyOrClose : .valueOrClose))
                if c == 0x7b { wantValue = false; continue }
                skipSpace()
                if i < bytes.count && bytes[i] == 0x5d { i += 1; stack.removeLast(); wantValue = false; continue }
                stack[stack.count - 1].want = .commaOrClose
                continue
            case 0x22:
                if let p = scanString(bytes, &i) { return problem(p.0, at: p.1) }
            case 0x2d, 0x30...0x39:
                if let p = scanNumber(bytes, &i) { return problem(p, at: i) }
            default:
                var matched = false
                for word in ["true", "false", "null"] where bytes[i...].starts(with: word.utf8) {
                    i += word.utf8.count; matched = true; break
                }
                if !matched {
                    return problem(
                        "unexpected \(shown(c)): expected a value (a string in double quotes, a number, an object, a list, true, false or null)"
                    )
                }
            }
            wantValue = false
            if !stack.isEmpty { stack[stack.count - 1].want = .commaOrClose }
        }
    }

    /// Scans a string starting at its opening quote; returns a problem and its position, or nil.
    static func scanString(_ b: [UInt8], _ i: inout Int) -> (String, Int)? {
        let start = i
        i += 1
        while i < b.count {
            let c = b[i]
            if c == 0x22 { i += 1; return nil }
            if c < 0x20 {
                return (
                    c == 0x0a
                        ? "a string is not closed on its line (missing '\"')" : "a control character inside a string", i
                )
            }
            if c == 0x5c {
                guard i + 1 < b.count else { break }
                let e = b[i + 1]
                if e == 0x75 {
                    guard i + 5 < b.count,
                        b[(i + 2)...(i + 5)].allSatisfy({
                            ($0 >= 48 && $0 <= 57) || ($0 | 0x20 >= 97 && $0 | 0x20 <= 102)
                        })
                    else {
                        return ("'\\u' needs four hex digits", i)
                    }
                    i += 6; continue
                }
                guard [0x22, 0x5c, 0x2f, 0x62, 0x66, 0x6e, 0x72, 0x74].contains(e) else {
                    return ("an invalid escape '\\\(Character(Unicode.Scalar(e)))' in a string", i)
                }
                i += 2; continue
            }
            i += 1
        }
        return ("a string is not closed (missing '\"')", start)
    }

    static func scanNumber(_ b: [UInt8], _ i: inout Int) -> String? {
        func digits() -> Int { var n = 0; while i < b.count, b[i] >= 48, b[i] <= 57 { i += 1; n += 1 }; return n }
        if b[i] == 0x2d { i += 1 }
        guard i < b.count, b[i] >= 48, b[i] <= 57 else { return "a number needs digits" }
        if b[i] == 48 {
            i += 1; if i < b.count, b[i] >= 48, b[i] <= 57 { return "a number must not start with 0" }
        } else {
            _ = digits()
        }
        if i < b.count, b[i] == 0x2e {
            i += 1; guard digits() > 0 else { return "a decimal point needs digits after it" }
        }
        if i < b.count, b[i] | 0x20 == 0x65 {
            i += 1
            if i < b.count, b[i] == 0x2b || b[i] == 0x2d { i += 1 }
            guard digits() > 0 else { return "an exponent needs digits" }
        }
        return nil
    }
}
