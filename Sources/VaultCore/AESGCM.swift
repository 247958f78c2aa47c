internal import COpenSSL

/// AES-256-GCM with a reusable cipher context: one instance per worker thread (not thread-safe).
/// Sealed form is ciphertext followed by the 16-byte tag.
public final class AESGCM {
    public static let keySize = 32
    public static let nonceSize = 12
    public static let tagSize = 16

    // nonisolated(unsafe): an OpaquePointer is not Sendable, but a fetched OpenSSL algorithm is
    // immutable and may be used from any thread (OpenSSL 3 threading rules); set once, never written.
    nonisolated(unsafe) static let cipher: OpaquePointer = {
        guard let c = EVP_CIPHER_fetch(nil, "AES-256-GCM", nil) else { fatalError("OpenSSL has no AES-256-GCM") }
        return c
    }()

    private let ctx: OpaquePointer

    public init() {
        guard let ctx = EVP_CIPHER_CTX_new() else { fatalError("EVP_CIPHER_CTX_new failed") }
        self.ctx = ctx
    }

    deinit { EVP_CIPHER_CTX_free(ctx) }

    /// The 96-bit nonce for a counter: 4 zero bytes then the counter little-endian. Keys are unique per
    /// pack or file (HKDF with a random salt), so a counter never repeats under one key.
    public static func nonce(counter: UInt64) -> [UInt8] {
        var n = [UInt8](repeating: 0, count: 4)
        withUnsafeBytes(of: counter.littleEndian) { n.append(contentsOf: $0) }
        return n
    }

    /// Appends ciphertext || tag to `out`.
    public func seal(
        key: UnsafeRawBufferPointer, nonce: [UInt8], aad: UnsafeRawBufferPointer,
        plaintext: UnsafeRawBufferPointer, appendingTo out: inout [UInt8]
    ) {
        precondition(key.count == Self.keySize && nonce.count == Self.nonceSize)
        let start = out.count
        out.appendZeros(plaintext.count + Self.tagSize)
        out.withUnsafeMutableBytes { o in
            let dst = o.baseAddress!.advanced(by: start).assumingMemoryBound(to: UInt8.self)
            var len: Int32 = 0
            nonce.withUnsafeBytes { n in
                precondition(
                    EVP_EncryptInit_ex2(
                        ctx, Self.cipher, key.baseAddress!.assumingMemoryBound(to: UInt8.self),
                        n.baseAddress!.assumingMemoryBound(to: UInt8.self), nil) == 1)
            }
            if aad.count > 0 {
                precondition(
                    EVP_EncryptUpdate(
                        ctx, nil, &len, aad.baseAddress!.assumingMemoryBound(to: UInt8.self),
                        Int32(aad.count)) == 1)
            }
            var written = 0
            if plaintext.count > 0 {
                precondition(
                    EVP_EncryptUpdate(
                        ctx, dst, &len, plaintext.baseAddress!.assumingMemoryBound(to: UInt8.self),
                        Int32(plaintext.count)) == 1)
                written = Int(len)
            }
            precondition(EVP_EncryptFinal_ex(ctx, dst + written, &len) == 1)
            written += Int(len)
            precondition(written == plaintext.count)
            precondition(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, Int32(Self.tagSize), dst + written) == 1)
        }
    }

    /// Encrypts `buffer` in place (GCM is a stream mode, so ciphertext and plaintext have the same
    /// length) and returns the 16-byte tag. Saves a buffer-sized copy per blob on the hot path.
    public func sealInPlace(
        key: UnsafeRawBufferPointer, nonce: [UInt8], aad: UnsafeRawBufferPointer,
        buffer: UnsafeMutableRawBufferPointer
    ) -> [UInt8] {
        precondition(key.count == Self.keySize && nonce.count == Self.nonceSize)
        var len: Int32 = 0
        nonce.withUnsafeBytes { n in
            precondition(
                EVP_EncryptInit_ex2(
                    ctx, Self.cipher, key.baseAddress!.assumingMemoryBound(to: UInt8.self),
                    n.baseAddress!.assumingMemoryBound(to: UInt8.self), nil) == 1)
        }
        if aad.count > 0 {
            precondition(
                EVP_EncryptUpdate(
                    ctx, nil, &len, aad.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(aad.count)) == 1)
        }
        var written = 0
        if buffer.count > 0 {
            let p = buffer.baseAddress!.assumingMemoryBound(to: UInt8.self)
            precondition(EVP_EncryptUpdate(ctx, p, &len, p, Int32(buffer.count)) == 1)
            written = Int(len)
        }
        var tail = [UInt8](repeating: 0, count: 32)
        precondition(EVP_EncryptFinal_ex(ctx, &tail, &len) == 1 && written + Int(len) == buffer.count)
        var tag = [UInt8](repeating: 0, count: Self.tagSize)
        precondition(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, Int32(Self.tagSize), &tag) == 1)
        return tag
    }

    /// Appends the plaintext to `out`; returns false (and leaves `out` as it was) when authentication fails.
    public func open(
        key: UnsafeRawBufferPointer, nonce: [UInt8], aad: UnsafeRawBufferPointer,
        sealed: UnsafeRawBufferPointer, appendingTo out: inout [UInt8]
    ) -> Bool {
        guard sealed.count >= Self.tagSize else { return false }
        let start = out.count
        out.appendZeros(sealed.count - Self.tagSize)
        let ok = out.withUnsafeMutableBytes { o in
            open(
                key: key, nonce: nonce, aad: aad, sealed: sealed,
                into: UnsafeMutableRawBufferPointer(rebasing: o[start...]))
        }
        if !ok { out.removeSubrange(start...) }
        return ok
    }

    /// Decrypts into `destination` (exactly `sealed.count - tagSize` bytes, which a caller reuses
    /// from blob to blob: the restore path allocates nothing per blob). False when authentication
    /// fails; `destination` then holds unauthenticated bytes the caller must not use.
    public func open(
        key: UnsafeRawBufferPointer, nonce: [UInt8], aad: UnsafeRawBufferPointer,
        sealed: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer
    ) -> Bool {
        precondition(key.count == Self.keySize && nonce.count == Self.nonceSize)
        guard sealed.count >= Self.tagSize, destination.count == sealed.count - Self.tagSize else { return false }
        let bodyCount = destination.count
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: Self.tagSize) { tag in
            // EVP_CTRL_GCM_SET_TAG takes a non-const pointer, so the tag needs a mutable copy.
            _ = tag.initialize(from: UnsafeRawBufferPointer(rebasing: sealed[bodyCount...]))
            var len: Int32 = 0
            let initOK = nonce.withUnsafeBytes { n in
                EVP_DecryptInit_ex2(
                    ctx, Self.cipher, key.baseAddress!.assumingMemoryBound(to: UInt8.self),
                    n.baseAddress!.assumingMemoryBound(to: UInt8.self), nil)
            }
            guard initOK == 1 else { return false }
            if aad.count > 0 {
                guard
                    EVP_DecryptUpdate(
                        ctx, nil, &len, aad.baseAddress!.assumingMemoryBound(to: UInt8.self),
                        Int32(aad.count)) == 1
                else { return false }
            }
            var written = 0
            let dst = destination.baseAddress?.assumingMemoryBound(to: UInt8.self)
            if bodyCount > 0 {
                guard
                    EVP_DecryptUpdate(
                        ctx, dst, &len, sealed.baseAddress!.assumingMemoryBound(to: UInt8.self),
                        Int32(bodyCount)) == 1
                else { return false }
                written = Int(len)
            }
            guard EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, Int32(Self.tagSize), tag.baseAddress) == 1 else {
                return false
            }
            // GCM reports a bad tag only here. A zero-length body has no destination pointer; GCM
            // writes nothing at the end anyway, so a scratch byte serves.
            var spare: UInt8 = 0
            let finalOK = withUnsafeMutablePointer(to: &spare) { p in
                EVP_DecryptFinal_ex(ctx, dst.map { $0 + written } ?? p, &len)
            }
            return finalOK == 1
        }
    }
}
