/// Just enough XML for S3's answers (ListObjectsV2 and error documents): the text of named
/// elements, with the five predefined entities and numeric references decoded. S3 never nests
/// an element inside another of the same name, so a scan by tag is exact.
enum S3XML {
    /// The text of every `<name>...</name>`, in order.
    static func values(_ name: String, in xml: String) -> [String] { blocks(name, in: xml).map(unescape) }

    static func value(_ name: String, in xml: String) -> String? { values(name, in: xml).first }

    /// The contents of every `<name>...</name>` block, for repeated records (`<Contents>`).
    static func blocks(_ name: String, in xml: String) -> [String] {
        var out: [String] = []
        let open = "<\(name)>", close = "</\(name)>"
        var rest = xml[...]
        while let start = rest.range(of: open) {
            guard let end = rest[start.upperBound...].range(of: close) else { break }
            out.append(String(rest[start.upperBound..<end.lowerBound]))
            rest = rest[end.upperBound...]
        }
        return out
    }

    /// The blocks of any of `names`, in document order, with the name of each (the `<Version>` and
    /// `<DeleteMarker>` records of a version listing are interleaved).
    static func elements(_ names: [String], in xml: String) -> [(name: String, body: String)] {
        var out: [(name: String, body: String)] = []
        var rest = xml[...]
        func next() -> (String, Range<Substring.Index>)? {
            names.compactMap { n in rest.range(of: "<\(n)>").map { (n, $0) } }.min { $0.1.lowerBound < $1.1.lowerBound }
        }
        while let (name, start) = next() {
            guard let end = rest[start.upperBound...].range(of: "</\(name)>") else { break }
            out.append((name, String(rest[start.upperBound..<end.lowerBound])))
            rest = rest[end.upperBound...]
        }
        return out
    }

    static func unescape(_ text: String) -> String {
        guard text.contains("&") else { return text }
        var out = ""
        var rest = text[...]
        while let amp = rest.firstIndex(of: "&") {
            out += rest[..<amp]
            guard let semi = rest[amp...].firstIndex(of: ";"), rest.distance(from: amp, to: semi) <= 10 else {
                out += "&"; rest = rest[rest.index(after: amp)...]; continue
            }
            let entity = rest[rest.index(after: amp)..<semi]
            switch entity {
            case "amp": out += "&"
            case "lt": out += "<"
            case "gt": out += ">"
            case "quot": out += "\""
            case "apos": out += "'"
            default:
                var scalar: Unicode.Scalar?
                if entity.hasPrefix("#x") {
                    scalar = UInt32(entity.dropFirst(2), radix: 16).flatMap(Unicode.Scalar.init)
                } else if entity.hasPrefix("#") {
                    scalar = UInt32(entity.dropFirst(), radix: 10).flatMap(Unicode.Scalar.init)
                }
                if let scalar { out.unicodeScalars.append(scalar) } else { out += "&" + entity + ";" }
            }
            rest = rest[rest.index(after: semi)...]
        }
        return out + rest
    }
}
