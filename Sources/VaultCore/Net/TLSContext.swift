import Glibc
import Synchronization
internal import COpenSSL

/// The process's OpenSSL client contexts: one per extra CA file (nil: the system trust store
/// only), made on first use and kept for the life of the process, as OpenSSL intends (a context
/// holds the parsed trust store; making one per connection would re-read it every time).
// @unchecked: the SSL_CTX is only read after init, and OpenSSL allows that from any thread.
final class TLSContext: @unchecked Sendable {
    let ctx: OpaquePointer

    private init(caFile: String?) throws {
        guard let method = TLS_client_method(), let ctx = SSL_CTX_new(method) else {
            throw NetError(.configuration, "cannot create a TLS context: \(TLSContext.queuedErrors())")
        }
        self.ctx = ctx
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nil)
        guard COpenSSL_SSL_CTX_set_min_tls12(ctx) == 1, SSL_CTX_set_default_verify_paths(ctx) == 1 else {
            throw NetError(.configuration, "cannot load the system trust store: \(TLSContext.queuedErrors())")
        }
        COpenSSL_SSL_CTX_ignore_unexpected_eof(ctx)
        if let caFile, SSL_CTX_load_verify_file(ctx, caFile) != 1 {
            throw NetError(.configuration, "cannot load the CA file \(caFile): \(TLSContext.queuedErrors())")
        }
    }

    deinit { SSL_CTX_free(ctx) }

    private static let contexts = Mutex<[String: TLSContext]>([:])

    static func shared(caFile: String?) throws -> TLSContext {
        try contexts.withLock { all in
            let key = caFile ?? ""
            if let existing = all[key] { return existing }
            let made = try TLSContext(caFile: caFile)
            all[key] = made
            return made
        }
    }

    /// Drains this thread's OpenSSL error queue into one line (it would otherwise leak into the
    /// next call's diagnosis).
    static func queuedErrors() -> String {
        var parts: [String] = []
        var buffer = [CChar](repeating: 0, count: 256)
        while case let code = ERR_get_error(), code != 0 {
            ERR_error_string_n(code, &buffer, buffer.count)
            parts.append(buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
        }
        return parts.isEmpty ? "no detail from OpenSSL" : parts.joined(separator: "; ")
    }
}
