import Glibc

/// An `errno` value kept as a type (swift-system's `Errno`), so an error's cause can be tested
/// (`(error.cause as? Errno) == .noSuchFile`) instead of matched as text. Its description is
/// `strerror`'s text, which operators saw as the cause before it was typed.
public struct Errno: Error, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: Int32

    public init(_ rawValue: Int32) { self.rawValue = rawValue }

    /// The calling thread's `errno` now.
    public static var current: Errno { Errno(errno) }

    public var description: String { String(cString: strerror(rawValue)) }

    public static let noSuchFile = Errno(ENOENT)
    public static let permissionDenied = Errno(EACCES)
    public static let notPermitted = Errno(EPERM)
    public static let noSpace = Errno(ENOSPC)
    public static let fileNameTooLong = Errno(ENAMETOOLONG)
    public static let directoryNotEmpty = Errno(ENOTEMPTY)
    public static let exists = Errno(EEXIST)
}
