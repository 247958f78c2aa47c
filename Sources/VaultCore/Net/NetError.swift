/// A failure below HTTP, as the socket or TLS layer saw it. `kind` lets callers tell what is
/// worth a retry (a reset, a timeout) from what is not (a certificate the trust store rejects).
public struct NetError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable {
        case resolve  // the host name did not resolve
        case connect  // refused, unreachable, or no answer within the timeout
        case timeout  // no progress for the timeout while reading or writing
        case reset  // the peer reset or closed the connection mid-exchange
        case tls  // the TLS handshake or record layer failed
        case certificate  // the server's certificate was not trusted or not for this host
        case configuration  // a CA file that cannot be loaded, a context that cannot be made
    }

    public let kind: Kind
    public let description: String

    public init(_ kind: Kind, _ description: String) {
        self.kind = kind; self.description = description
    }

    /// Trying again cannot help: the same certificate or the same CA file fails the same way.
    public var isPermanent: Bool { kind == .certificate || kind == .configuration }
}
