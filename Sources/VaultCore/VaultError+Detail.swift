/// `detailedDescription()`: the error and every cause under it as a tree, each with where it was
/// made, as swift-nio's `FileSystemError` prints itself. For debugging and logs, not for operators
/// (they get `description`: one message, one cause line, the hint).
extension VaultError {
    public func detailedDescription() -> String {
        var lines: [String] = []
        var indent = ""
        var next: VaultError? = self
        while let error = next {
            next = nil
            lines.append(indent + "VaultError: \(error.code.name) (\(error.code.rawValue))")
            var fields = [("message", error.message), ("location", error.location.description)]
            if let hint = error.hint { fields.append(("hint", hint)) }
            for (i, field) in fields.enumerated() {
                let last = i == fields.count - 1 && error.cause == nil
                lines.append(indent + (last ? "└─ " : "├─ ") + "\(field.0): \(field.1)")
            }
            guard let cause = error.cause else { break }
            lines.append(indent + "└─ cause:")
            indent += "   "
            if let inner = cause as? VaultError {
                next = inner
            } else {
                lines.append(indent + Self.name(of: cause) + ": \(cause)")
            }
        }
        return lines.joined(separator: "\n")
    }

    private static func name(of cause: any Error) -> String {
        if let errno = cause as? Errno { return "Errno \(errno.rawValue)" }
        return String(describing: type(of: cause))
    }
}
