import Glibc
internal import COpenSSL

/// TLS on a `TCPSocket`, with OpenSSL working between two memory BIOs and this class moving the
/// bytes: the socket I/O stays ours (poll timeouts, MSG_NOSIGNAL) instead of OpenSSL's socket
/// BIO, whose `write` would raise SIGPIPE in a process when a server resets mid-upload.
final class TLSSession {
    private let socket: TCPSocket
    private let ssl: OpaquePointer
    private let input: OpaquePointer  // network -> OpenSSL
    private let output: OpaquePointer  // OpenSSL -> network
    private var scratch = [UInt8](repeating: 0, count: 64 << 10)
    private let host: String

    init(socket: TCPSocket, host: String, context: TLSContext) throws {
        guard let ssl = SSL_new(context.ctx) else {
            throw NetError(.tls, "cannot start TLS with \(host): \(TLSContext.queuedErrors())")
        }
        self.ssl = ssl; self.socket = socket; self.host = host
        input = BIO_new(BIO_s_mem())
        output = BIO_new(BIO_s_mem())
        SSL_set_bio(ssl, input, output)  // the SSL now owns both BIOs
        var address = in6_addr()
        let isAddress = inet_pton(AF_INET, host, &address) == 1 || inet_pton(AF_INET6, host, &address) == 1
        // An IP literal is checked against the certificate's IP SANs; a name against its DNS
        // names (and sent as SNI, which must not carry an address: RFC 6066 section 3).
        let checked =
            isAddress
            ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host)
            : (COpenSSL_SSL_set_sni(ssl, host) == 1 ? SSL_set1_host(ssl, host) : 0)
        guard checked == 1 else { throw NetError(.tls, "cannot set up TLS for \(host): \(TLSContext.queuedErrors())") }
        SSL_set_connect_state(ssl)
        do {
            _ = try run("handshake with") { SSL_do_handshake(ssl) }
        } catch let error as NetError where error.kind == .tls || error.kind == .reset {
            let verdict = SSL_get_verify_result(ssl)
            guard verdict == X509_V_OK else {
                let reason = String(cString: X509_verify_cert_error_string(verdict))
                throw NetError(.certificate, "the TLS certificate of \(host) is not accepted: \(reason)")
            }
            throw error
        }
    }

    deinit { SSL_free(ssl) }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var got = 0
        let r = try run("reading from") { SSL_read_ex(ssl, buffer.baseAddress, buffer.count, &got) }
        return r > 0 ? got : 0
    }

    func write(_ buffer: UnsafeRawBufferPointer) throws {
        guard buffer.count > 0 else { return }
        var written = 0
        _ = try run("writing to") { SSL_write_ex(ssl, buffer.baseAddress, buffer.count, &written) }
    }

    var isIdleAndOpen: Bool { SSL_pending(ssl) == 0 && socket.isIdleAndOpen }

    /// Runs one OpenSSL call to completion: sends what it produced, feeds it what it waits for.
    /// Returns the call's result, or 0 at the end of the stream.
    private func run(_ what: String, _ call: () -> Int32) throws -> Int32 {
        while true {
            ERR_clear_error()
            let r = call()
            try flush()
            if r > 0 { return r }
            let reason = SSL_get_error(ssl, r)
            switch reason {
            case SSL_ERROR_WANT_READ:
                let n = try scratch.withUnsafeMutableBytes { try socket.read(into: $0) }
                if n == 0 {
                    if what == "reading from" { return 0 }  // framing above decides if that was early
                    throw NetError(.reset, "connection closed by \(socket.peer) during TLS \(what)")
                }
                _ = scratch.withUnsafeBytes { BIO_write(input, $0.baseAddress, Int32(n)) }
            case SSL_ERROR_WANT_WRITE:
                continue  // memory BIOs never refuse a write; flush() above made room anyway
            case SSL_ERROR_ZERO_RETURN:
                return 0
            default:
                throw NetError(.tls, "TLS error while \(what) \(socket.peer): \(TLSContext.queuedErrors())")
            }
        }
    }

    /// Moves every byte OpenSSL has produced to the socket.
    private func flush() throws {
        while BIO_ctrl_pending(output) > 0 {
            let n = scratch.withUnsafeMutableBytes { BIO_read(output, $0.baseAddress, Int32($0.count)) }
            if n <= 0 { break }
            try scratch.withUnsafeBytes { try socket.write(UnsafeRawBufferPointer(rebasing: $0[0..<Int(n)])) }
        }
    }
}
