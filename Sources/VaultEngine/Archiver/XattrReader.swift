import Glibc
import VaultCore
import VaultRepository

/// Reads the extended attributes of a directory entry (POSIX ACLs are `system.posix_acl_*`
/// attributes) without opening it: a fifo must never be opened, and a symlink's own attributes
/// are wanted, not its target's.
enum XattrReader {
    /// The entry `name` of the open directory `dirFD`, as a path the l*xattr calls accept. The
    /// /proc/self/fd link resolves to the directory itself (not to a path string), and `name` is one
    /// component, so nothing planted in a path can redirect it.
    static func path(dirFD: Int32, name: [UInt8]) -> [CChar] {
        (Array("/proc/self/fd/\(dirFD)/".utf8) + name + [0]).map { CChar(bitPattern: $0) }
    }

    /// Sorted by name. Throws a message when the attributes cannot be read; an entry on a file system
    /// without xattrs has none. Names and values are bytes, bounded by the Linux limits.
    static func read(dirFD: Int32, name: [UInt8]) throws(XattrError) -> [ExtendedAttribute] {
        let p = path(dirFD: dirFD, name: name)
        var list = [CChar](repeating: 0, count: ExtendedAttribute.maxList)
        let n = Posix.llistxattr(p, &list, list.count)
        if n < 0 {
            if errno == ENOTSUP || errno == ENODATA { return [] }
            throw XattrError(message: "cannot list extended attributes (\(String(cString: strerror(errno))))")
        }
        var out: [ExtendedAttribute] = []
        var value = [UInt8](repeating: 0, count: ExtendedAttribute.maxValue)
        for raw in list[0..<n].split(separator: 0) where raw.count <= ExtendedAttribute.maxName {
            let attributeName = raw.map { UInt8(bitPattern: $0) }
            let m = getValue(p, attributeName, &value)
            // Removed between the list and the read: it is simply not there any more.
            if m < 0 {
                if errno == ENODATA { continue }
                let text = String(decoding: attributeName, as: UTF8.self)
                let reason = String(cString: strerror(errno))
                throw XattrError(message: "cannot read extended attribute \(text) (\(reason))")
            }
            out.append(ExtendedAttribute(name: attributeName, value: Array(value[0..<m])))
        }
        return out.sorted { $0.name.lexicographicallyPrecedes($1.name) }
    }

    private static func getValue(_ path: [CChar], _ name: [UInt8], _ value: inout [UInt8]) -> Int {
        let cName = name.map { CChar(bitPattern: $0) } + [0]
        return Posix.lgetxattr(path, cName, &value, value.count)
    }
}

struct XattrError: Error {
    let message: String
}
