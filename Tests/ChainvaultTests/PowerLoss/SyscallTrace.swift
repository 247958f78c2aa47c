import Foundation

/// What a traced process did to files, decoded from `strace -f -y` output: the input of the
/// power-loss model. Only effects on paths under one watched root are kept.
enum FileEffect: Equatable {
    case create(String, truncate: Bool)
    case makeDirectory(String)
    /// `offset` nil: at the file position (sequential writes from the start of a new file).
    case write(String, offset: Int?, length: Int, bytes: [UInt8]?)
    case truncate(String, Int)
    /// fsync or fdatasync of a file or a directory.
    case sync(String)
    /// syncfs or sync: everything written so far is durable.
    case syncAll
    case rename(String, String, exchange: Bool)
    case remove(String)
    case link(String, String)
    case symlink(target: String, at: String)
}

struct SyscallTrace {
    /// The strace arguments that produce what `parse` reads (long strings kept for small writes,
    /// whose bytes lock files need: their content is gone by the end of the run).
    static let straceArguments = [
        "-f", "-y", "-qq", "-s", "4096", "-e",
        "trace=open,openat,creat,mkdir,mkdirat,write,pwrite64,writev,pwritev,ftruncate,truncate,"
            + "fsync,fdatasync,syncfs,sync,rename,renameat,renameat2,unlink,unlinkat,rmdir,link,linkat,symlink,symlinkat"
    ]

    let root: String
    private(set) var effects: [FileEffect] = []
    /// Effects the model cannot represent (the test fails on any).
    private(set) var unmodelled: [String] = []
    /// Calls split by a thread switch: the start, until its "resumed" line.
    private var pending: [String: String] = [:]
    private var workingDirectory = "/"

    init(root: String) { self.root = root }

    mutating func parse(_ text: String) {
        for line in text.split(separator: "\n") { parse(line: String(line)) }
    }

    private mutating func parse(line: String) {
        guard let space = line.firstIndex(of: " ") else { return }
        let pid = String(line[..<space])
        var call = String(line[line.index(after: space)...]).trimmingCharacters(in: .whitespaces)
        if call.hasPrefix("+++") || call.hasPrefix("---") { return }
        if call.hasSuffix("<unfinished ...>") {
            let start = String(call.dropLast("<unfinished ...>".count)).trimmingCharacters(in: .whitespaces)
            pending[pid] = start
            // A sync covers what was done when it started, not what other threads do meanwhile.
            if start.hasPrefix("fsync(") || start.hasPrefix("fdatasync(") || start.hasPrefix("syncfs(")
                || start.hasPrefix("sync(")
            {
                decode(start + ") = 0")
            }
            return
        }
        if call.hasPrefix("<... ") {
            guard let close = call.range(of: " resumed>"), let start = pending.removeValue(forKey: pid) else { return }
            let name = start.prefix { $0 != "(" }
            if ["fsync", "fdatasync", "syncfs", "sync"].contains(name) { return }
            call = start + call[close.upperBound...]
        }
        decode(call)
    }

    private mutating func decode(_ call: String) {
        // The result is after the last " = " (written data can contain one, never after it).
        guard let equals = call.range(of: " = ", options: .backwards) else { return }
        let beforeResult = call[..<equals.lowerBound].trimmingCharacters(in: .whitespaces)
        guard beforeResult.hasSuffix(")"), let open = beforeResult.firstIndex(of: "(") else { return }
        let name = String(beforeResult[..<open])
        let argsText = String(
            beforeResult[beforeResult.index(after: open)..<beforeResult.index(before: beforeResult.endIndex)])
        let tail = String(call[equals.upperBound...])
        let retText = tail.prefix { $0 == "-" || $0.isNumber }
        guard let ret = Int(retText), ret >= 0 else { return }
        let args = Self.split(argsText)
        for a in args where a.hasPrefix("AT_FDCWD<") { workingDirectory = Self.annotation(a) ?? workingDirectory }
        func at(_ dir: Int, _ path: Int) -> String? {
            guard path < args.count, let p = Self.string(args[path])?.text else { return nil }
            if p.hasPrefix("/") { return p }
            guard let base = dir >= 0 ? Self.annotation(args[dir]) : workingDirectory else { return nil }
            return base + "/" + p
        }
        let fd = args.first.flatMap(Self.annotation)
        var effect: FileEffect?
        switch name {
        case "open", "openat", "creat":
            let flags = name == "creat" ? "O_CREAT|O_TRUNC" : (name == "open" ? args[safe: 1] : args[safe: 2]) ?? ""
            if flags.contains("O_CREAT"), let path = Self.annotation(String(tail.dropFirst(retText.count))) {
                effect = .create(path, truncate: flags.contains("O_TRUNC"))
            }
        case "mkdir": effect = at(-1, 0).map { .makeDirectory($0) }
        case "mkdirat": effect = at(0, 1).map { .makeDirectory($0) }
        case "write", "writev", "pwrite64", "pwritev":
            guard let fd else { break }
            let s = name == "write" || name == "pwrite64" ? Self.string(args[safe: 1] ?? "") : nil
            let bytes = s.flatMap { !$0.truncated && $0.bytes.count == ret ? $0.bytes : nil }
            let offset = name.hasPrefix("p") ? args.last.flatMap { Int($0) } : nil
            effect = .write(fd, offset: offset, length: ret, bytes: bytes)
        case "ftruncate": if let fd, let n = args.last.flatMap({ Int($0) }) { effect = .truncate(fd, n) }
        case "truncate": if let p = at(-1, 0), let n = args.last.flatMap({ Int($0) }) { effect = .truncate(p, n) }
        case "fsync", "fdatasync": effect = fd.map { .sync($0) }
        case "syncfs", "sync": effect = .syncAll
        case "rename": if let a = at(-1, 0), let b = at(-1, 1) { effect = .rename(a, b, exchange: false) }
        case "renameat", "renameat2":
            if let a = at(0, 1), let b = at(2, 3) {
                effect = .rename(a, b, exchange: args[safe: 4]?.contains("RENAME_EXCHANGE") == true)
            }
        case "unlink", "rmdir": effect = at(-1, 0).map { .remove($0) }
        case "unlinkat": effect = at(0, 1).map { .remove($0) }
        case "link": if let a = at(-1, 0), let b = at(-1, 1) { effect = .link(a, b) }
        case "linkat": if let a = at(0, 1), let b = at(2, 3) { effect = .link(a, b) }
        case "symlink":
            if let t = Self.string(args[safe: 0] ?? "")?.text, let p = at(-1, 1) { effect = .symlink(target: t, at: p) }
        case "symlinkat":
            if let t = Self.string(args[safe: 0] ?? "")?.text, let p = at(1, 2) { effect = .symlink(target: t, at: p) }
        default: break
        }
        guard let effect, touchesRoot(effect) else { return }
        switch effect {
        case .rename(let a, let b, _), .link(let a, let b):
            if inside(a) != inside(b) { unmodelled.append("\(name) across the watched root: \(a) -> \(b)"); return }
        default: break
        }
        effects.append(effect)
    }

    private func inside(_ path: String) -> Bool { path == root || path.hasPrefix(root + "/") }

    private func touchesRoot(_ e: FileEffect) -> Bool {
        switch e {
        case .create(let p, _), .makeDirectory(let p), .write(let p, _, _, _), .truncate(let p, _), .sync(let p),
            .remove(let p), .symlink(_, let p):
            return inside(p)
        case .syncAll: return true
        case .rename(let a, let b, _), .link(let a, let b):
            return inside(a) || inside(b)
        }
    }

    /// Splits an argument list at top-level commas (not inside quotes, brackets or fd annotations).
    static func split(_ text: String) -> [String] {
        var out: [String] = [], current = "", depth = 0, quoted = false, escaped = false
        for ch in text {
            if quoted {
                current.append(ch)
                if escaped {
                    escaped = false
                } else if ch == "\\" {
                    escaped = true
                } else if ch == "\"" {
                    quoted = false
                }
                continue
            }
            switch ch {
            case "\"": quoted = true
            case "(", "[", "{", "<": depth += 1
            case ")", "]", "}", ">": depth -= 1
            case "," where depth == 0:
                out.append(current.trimmingCharacters(in: .whitespaces))
                current = ""
                continue
            default: break
            }
            current.append(ch)
        }
        if !current.trimmingCharacters(in: .whitespaces).isEmpty {
            out.append(current.trimmingCharacters(in: .whitespaces))
        }
        return out
    }

    /// The path in an fd annotation: `7</repo/locks>` or `AT_FDCWD</work>`.
    static func annotation(_ arg: String) -> String? {
        guard let lt = arg.firstIndex(of: "<"), arg.hasSuffix(">") else { return nil }
        var path = String(arg[arg.index(after: lt)..<arg.index(before: arg.endIndex)])
        if path.hasSuffix(" (deleted)") { path.removeLast(" (deleted)".count) }
        return path.hasPrefix("/") ? path : nil
    }

    /// A C string as strace prints it: escapes \n \t \" \\ and octal \NNN; `...` after the quote
    /// when it was cut at the -s limit.
    static func string(_ arg: String) -> (bytes: [UInt8], text: String, truncated: Bool)? {
        guard arg.hasPrefix("\"") else { return nil }
        let chars = Array(arg.utf8)
        var out: [UInt8] = [], i = 1
        while i < chars.count, chars[i] != UInt8(ascii: "\"") {
            if chars[i] == UInt8(ascii: "\\"), i + 1 < chars.count {
                let c = chars[i + 1]
                i += 2
                switch c {
                case UInt8(ascii: "n"): out.append(10)
                case UInt8(ascii: "t"): out.append(9)
                case UInt8(ascii: "r"): out.append(13)
                case UInt8(ascii: "v"): out.append(11)
                case UInt8(ascii: "f"): out.append(12)
                case UInt8(ascii: "0")...UInt8(ascii: "7"):
                    var value = Int(c - 48), digits = 1
                    while digits < 3, i < chars.count, (48...55).contains(chars[i]) {
                        value = value * 8 + Int(chars[i] - 48)
                        i += 1
                        digits += 1
                    }
                    out.append(UInt8(value & 0xff))
                default: out.append(c)
                }
            } else {
                out.append(chars[i])
                i += 1
            }
        }
        let truncated = arg.hasSuffix("...")
        return (out, String(decoding: out, as: UTF8.self), truncated)
    }
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
