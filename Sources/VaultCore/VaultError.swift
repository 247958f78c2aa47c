/// Stable error codes; each is also the exit code of the `chainvault` process (see README).
public enum ErrorCode: Int32, Sendable, CaseIterable {
    case failure = 1
    case usage = 2
    case partial = 3  // the job finished but skipped something it names (unreadable files)
    case notARepository = 10
    case wrongKey = 11
    case locked = 12
    case sourceUnreadable = 13
    case corrupt = 14
    case storageFull = 15
    case storageFailure = 16
    case targetNotEmpty = 17
    case unknownSnapshot = 18
    case alreadyExists = 19
    case unsafeInput = 20  // a snapshot entry that would escape the restore target, a hostile name
    case insecureFile = 21  // a key or token file readable by others
    case missing = 22  // an object the repository references is not in storage
    case rollback = 23  // snapshots this client saw are gone or replayed (the repository went backwards)
    case interrupted = 130

    public var name: String {
        switch self {
        case .failure: return "failure"
        case .usage: return "usage"
        case .partial: return "partial"
        case .notARepository: return "not-a-repository"
        case .wrongKey: return "wrong-key"
        case .locked: return "locked"
        case .sourceUnreadable: return "source-unreadable"
        case .corrupt: return "corrupt"
        case .storageFull: return "storage-full"
        case .storageFailure: return "storage-failure"
        case .targetNotEmpty: return "target-not-empty"
        case .unknownSnapshot: return "unknown-snapshot"
        case .alreadyExists: return "already-exists"
        case .unsafeInput: return "unsafe-input"
        case .insecureFile: return "insecure-file"
        case .missing: return "missing"
        case .rollback: return "rollback"
        case .interrupted: return "interrupted"
        }
    }
}

/// The one error type operators see: what happened (lowercase, no final period, naming the object),
/// the underlying cause when there is one, and a hint that says what to do next.
/// As swift-nio's `FileSystemError`: the cause is kept as a value (an `Errno`, the `VaultError` it
/// wraps, a server's answer) with the place it was made, and `detailedDescription()` prints the
/// whole chain as a tree for debugging; `description` is the operator's text, unchanged.
public struct VaultError: Error, CustomStringConvertible, Sendable {
    public let code: ErrorCode
    public let message: String
    /// What went wrong underneath, as a value: test it with `as? Errno` and the like.
    public let cause: (any Error)?
    public let hint: String?
    /// Where this error was made (file and line), for `detailedDescription()`; never shown to operators.
    public let location: Location

    public init(
        _ code: ErrorCode, _ message: String, cause: (any Error)? = nil, hint: String? = nil,
        file: String = #fileID, line: Int = #line
    ) {
        self.code = code
        self.message = message
        self.cause = cause
        self.hint = hint
        self.location = Location(file: file, line: line)
    }

    /// The cause as the one line operators see after "cause:": a wrapped `VaultError` by its
    /// message, anything else by its description.
    public var causeDescription: String? {
        guard let cause else { return nil }
        if let inner = cause as? VaultError { return inner.message }
        return "\(cause)"
    }

    public var description: String {
        var text = "error: \(message)"
        if let causeDescription { text += "\n  cause: \(causeDescription)" }
        if let hint { text += "\nHINT: \(hint)" }
        return text
    }

    /// Wraps any error as a VaultError, keeping VaultErrors as they are.
    public static func wrap(
        _ error: Error, _ code: ErrorCode = .failure, _ message: String,
        file: String = #fileID, line: Int = #line
    ) -> VaultError {
        if let error = error as? VaultError { return error }
        return VaultError(code, message, cause: error, file: file, line: line)
    }
}

extension VaultError {
    /// A file and line in chainvault's sources (nested: Swift Testing has its own `SourceLocation`).
    public struct Location: Sendable, Equatable, CustomStringConvertible {
        public let file: String
        public let line: Int
        public var description: String { "\(file):\(line)" }
    }
}

/// A text that is all there is to say about a cause (a hook's output, a library's message).
public struct CauseText: Error, Sendable, Equatable, CustomStringConvertible {
    public let text: String
    public init(_ text: String) { self.text = text }
    public var description: String { text }
}
