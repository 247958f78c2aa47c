import Glibc
import VaultCore

/// Compares two trees: the same names, types, bytes, modes, symlink targets and file mtimes (ns).
/// Returns the differences (empty when identical).
enum TreeComparison {
    static func differences(_ a: String, _ b: String, limit: Int = 20) throws -> [String] {
        var out: [String] = []
        try compare(a, b, "", &out, limit)
        return out
    }

    private static func compare(_ a: String, _ b: String, _ rel: String, _ out: inout [String], _ limit: Int) throws {
        let na = Set(try DirectoryListing.names(a)), nb = Set(try DirectoryListing.names(b))
        for n in na.symmetricDifference(nb).sorted() where out.count < limit {
            out.append("\(rel)/\(n): present on one side only")
        }
        var bufA = [UInt8](repeating: 0, count: 1 << 20), bufB = bufA
        for n in na.intersection(nb).sorted() {
            if out.count >= limit { return }
            let pa = a + "/" + n, pb = b + "/" + n, r = rel + "/" + n
            guard let sa = try Posix.lstat(pa), let sb = try Posix.lstat(pb) else { continue }
            if sa.st_mode != sb.st_mode {
                out.append("\(r): mode \(String(sa.st_mode, radix: 8)) vs \(String(sb.st_mode, radix: 8))"); continue
            }
            switch sa.st_mode & S_IFMT {
            case S_IFDIR:
                try compare(pa, pb, r, &out, limit)
            case S_IFLNK:
                var ta = [CChar](repeating: 0, count: 4097), tb = ta
                if readlink(pa, &ta, 4096) != readlink(pb, &tb, 4096) || ta != tb {
                    out.append("\(r): symlink targets differ")
                }
            default:
                if sa.st_size != sb.st_size { out.append("\(r): size \(sa.st_size) vs \(sb.st_size)"); continue }
                if sa.st_mtim.tv_sec != sb.st_mtim.tv_sec || sa.st_mtim.tv_nsec != sb.st_mtim.tv_nsec {
                    out.append("\(r): mtime differs")
                }
                let fa = try Posix.open(pa, O_RDONLY)
                defer { Posix.close(fa) }
                let fb = try Posix.open(pb, O_RDONLY)
                defer { Posix.close(fb) }
                var offset = 0
                while true {
                    let ra = try bufA.withUnsafeMutableBytes { try Posix.pread(fa, $0, offset: offset, path: pa) }
                    let rb = try bufB.withUnsafeMutableBytes { try Posix.pread(fb, $0, offset: offset, path: pb) }
                    if ra != rb
                        || !bufA.withUnsafeBytes({ x in
                            bufB.withUnsafeBytes { y in memcmp(x.baseAddress!, y.baseAddress!, ra) == 0 }
                        })
                    {
                        out.append("\(r): content differs near byte \(offset)")
                        break
                    }
                    if ra == 0 { break }
                    offset += ra
                }
            }
        }
    }

    /// Total bytes and files under a directory.
    static func usage(_ path: String) throws -> (bytes: UInt64, files: Int) {
        var bytes: UInt64 = 0, files = 0
        for n in try DirectoryListing.names(path) {
            let p = path + "/" + n
            guard let st = try Posix.lstat(p) else { continue }
            if (st.st_mode & S_IFMT) == S_IFDIR {
                let u = try usage(p); bytes += u.bytes; files += u.files
            } else {
                bytes += UInt64(st.st_size); files += 1
            }
        }
        return (bytes, files)
    }
}
