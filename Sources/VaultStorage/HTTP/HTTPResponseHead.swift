import Foundation

/// A response that does not follow HTTP/1.1 (RFC 9112), or one larger than the caller accepts.
/// Never a crash: the exchange fails and the connection is dropped.
public struct HTTPProtocolError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A parsed status line and header section (RFC 9112 sections 4 and 5), strictly: a status line
/// that is not `HTTP/1.x NNN reason`, a header line without a colon, a space before the colon,
/// an obsolete folded line, a control character in a value or conflicting Content-Length values
/// are errors, never guesses.
public struct HTTPResponseHead: Equatable {
    public var version: String
    public var status: Int
    /// Header names in lower case; repeated fields joined with ", " (RFC 9110 section 5.3).
    public var headers: [String: String]

    /// At most this many header lines: a server sending more is broken or hostile.
    public static let maxHeaderCount = 128

    /// `bytes`: the header section without its final empty line (CRLF CRLF excluded).
    public static func parse(_ bytes: ArraySlice<UInt8>) throws -> HTTPResponseHead {
        var lines = split(bytes)
        guard !lines.isEmpty else { throw HTTPProtocolError("empty response head") }
        let (version, status) = try statusLine(lines.removeFirst())
        guard lines.count <= maxHeaderCount else {
            throw HTTPProtocolError("more than \(maxHeaderCount) header lines in the response")
        }
        var headers: [String: String] = [:]
        for line in lines {
            let (name, value) = try field(line)
            if let old = headers[name] {
                if name == "content-length" {
                    guard old == value else { throw HTTPProtocolError("conflicting content-length values") }
                    continue
                }
                headers[name] = old + ", " + value
            } else {
                headers[name] = value
            }
        }
        return HTTPResponseHead(version: version, status: status, headers: headers)
    }

    /// Lines separated by CRLF; a bare CR or LF is an error (request smuggling starts there).
    static func split(_ bytes: ArraySlice<UInt8>) -> [ArraySlice<UInt8>] {
        var lines: [ArraySlice<UInt8>] = []
        var start = bytes.startIndex, i = bytes.startIndex
        while i < bytes.endIndex {
            if bytes[i] == 13, i + 1 < bytes.endIndex, bytes[i + 1] == 10 {
                lines.append(bytes[start..<i]); i += 2; start = i
            } else {
                i += 1
            }
        }
        lines.append(bytes[start..<bytes.endIndex])
        return lines
    }

    static func statusLine(_ line: ArraySlice<UInt8>) throws -> (String, Int) {
        let text = Array(line)
        func bad() -> HTTPProtocolError {
            HTTPProtocolError("bad status line \"\(printable(line))\"")
        }
        // "HTTP/1.1 200" is 12 bytes; the reason phrase after a space may be empty.
        guard text.count >= 12, text.starts(with: Array("HTTP/1.".utf8)), text[7] == 0x30 || text[7] == 0x31,
            text[8] == 0x20, text[9...11].allSatisfy({ (0x30...0x39).contains($0) }),
            text.count == 12 || text[12] == 0x20,
            text.dropFirst(12).allSatisfy({ $0 == 0x09 || (0x20...0x7e).contains($0) || $0 >= 0x80 })
        else {
            throw bad()
        }
        let status = Int(text[9] - 0x30) * 100 + Int(text[10] - 0x30) * 10 + Int(text[11] - 0x30)
        guard (100...599).contains(status) else { throw bad() }
        return (text[7] == 0x31 ? "HTTP/1.1" : "HTTP/1.0", status)
    }

    static func field(_ line: ArraySlice<UInt8>) throws -> (String, String) {
        guard let colon = line.firstIndex(of: 0x3a), colon > line.startIndex,
            line[line.startIndex..<colon].allSatisfy(isTokenByte)
        else {
            throw HTTPProtocolError("bad header line \"\(printable(line))\"")
        }
        var value = line[(colon + 1)...]
        while let f = value.first, f == 0x20 || f == 0x09 { value = value.dropFirst() }
        while let l = value.last, l == 0x20 || l == 0x09 { value = value.dropLast() }
        guard value.allSatisfy({ $0 == 0x09 || (0x20...0x7e).contains($0) || $0 >= 0x80 }) else {
            throw HTTPProtocolError("control character in header \(printable(line[line.startIndex..<colon]))")
        }
        return (
            String(decoding: line[line.startIndex..<colon], as: UTF8.self).lowercased(),
            String(decoding: value, as: UTF8.self)
        )
    }

    /// RFC 9110 section 5.6.2 `tchar`.
    static func isTokenByte(_ b: UInt8) -> Bool {
        switch b {
        case 0x30...0x39, 0x41...0x5a, 0x61...0x7a: return true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
            UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
            UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            return true
        default: return false
        }
    }

    /// At most 80 bytes of a line for an error message, control bytes shown as '?'.
    static func printable(_ bytes: ArraySlice<UInt8>) -> String {
        String(decoding: bytes.prefix(80).map { (0x20...0x7e).contains($0) ? $0 : UInt8(ascii: "?") }, as: UTF8.self)
    }

    /// False when the server will close the connection after this response (RFC 9112 section 9.3).
    public var keepsAlive: Bool {
        let tokens = (headers["connection"] ?? "").lowercased().split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces) }
        return version == "HTTP/1.1" && !tokens.contains("close")
    }
}
