/// One client connection, plain TCP or TLS, for the HTTP client above. Reads and writes block
/// the calling thread for at most `timeout` seconds without progress; the descriptor (and the
/// TLS session) are freed when the connection is released.
public final class NetConnection {
    private let socket: TCPSocket
    private let tls: TLSSession?

    /// Connects to `host:port`; with `tls`, verifies the server's certificate against the system
    /// trust store plus `caFile` (PEM) and checks that it names `host`.
    public init(host: String, port: Int, tls: Bool, caFile: String? = nil, timeout: Double) throws {
        socket = try TCPSocket.connect(host: host, port: port, timeout: timeout)
        self.tls = tls ? try TLSSession(socket: socket, host: host, context: TLSContext.shared(caFile: caFile)) : nil
    }

    /// Reads what is available, waiting for at least one byte; 0 at the end of the stream.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if let tls { return try tls.read(into: buffer) }
        return try socket.read(into: buffer)
    }

    /// Writes all of `buffer`.
    public func write(_ buffer: UnsafeRawBufferPointer) throws {
        if let tls { return try tls.write(buffer) }
        try socket.write(buffer)
    }

    /// True while an idle connection can carry another request: nothing unread, not closed.
    public var isIdleAndOpen: Bool { tls?.isIdleAndOpen ?? socket.isIdleAndOpen }

    /// Loads `caFile` now, so that a bad file is reported when a backend is opened rather than
    /// at its first request.
    public static func checkCAFile(_ caFile: String) throws {
        _ = try TLSContext.shared(caFile: caFile)
    }
}
