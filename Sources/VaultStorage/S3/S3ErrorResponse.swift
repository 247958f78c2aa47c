import VaultCore

/// What an S3 server said when it refused a request (its XML `Code` and `Message`), kept as the
/// cause of the `VaultError` operators see, so callers test the code instead of matching text.
public struct S3ErrorResponse: Error, Sendable, Equatable, CustomStringConvertible {
    /// The server's `Code` (`AccessDenied`), or `HTTP <status>` when the body named none.
    public let code: String
    public let message: String?

    public init(code: String, message: String?) { self.code = code; self.message = message }

    /// "Code: Message", as operators saw the cause before it was typed.
    public var description: String { message.map { "\(code): \($0)" } ?? code }
}
