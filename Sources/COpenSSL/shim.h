#ifndef COPENSSL_SHIM_H
#define COPENSSL_SHIM_H
// Hide every API deprecated in OpenSSL 3 so nothing legacy slips in.
#define OPENSSL_API_COMPAT 30000
#define OPENSSL_NO_DEPRECATED
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/hmac.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

// HKDF goes through EVP_KDF, which takes an OSSL_PARAM array; the OSSL_PARAM_construct_* helpers
// return structs by value with unions inside, awkward from Swift, so the whole call lives here.
// The caller fetches `kdf` once (EVP_KDF_fetch is a provider lookup under a lock: fetched per call
// it cost more than the derivation itself on the restore path, which derives a key per pack).
static inline int COpenSSL_hkdf_sha256(EVP_KDF *kdf, const unsigned char *ikm, size_t ikm_len,
                                       const unsigned char *salt, size_t salt_len,
                                       const unsigned char *info, size_t info_len,
                                       unsigned char *out, size_t out_len) {
    if (kdf == NULL) return 0;
    EVP_KDF_CTX *ctx = EVP_KDF_CTX_new(kdf);
    if (ctx == NULL) return 0;
    OSSL_PARAM params[5];
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikm_len);
    params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len);
    params[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, info_len);
    params[4] = OSSL_PARAM_construct_end();
    int ok = EVP_KDF_derive(ctx, out, out_len, params);
    EVP_KDF_CTX_free(ctx);
    return ok;
}

// HMAC-SHA256 through EVP_MAC. The caller makes `tmpl` once (COpenSSL_hmac_sha256_template:
// the MAC fetched and its digest set, each a provider lookup) and every call duplicates it
// (EVP_MAC_CTX_dup takes a const source: safe from any thread) and keys the copy.
static inline EVP_MAC_CTX *COpenSSL_hmac_sha256_template(void) {
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (mac == NULL) return NULL;
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);
    EVP_MAC_free(mac);   // the context holds its own reference
    if (ctx == NULL) return NULL;
    OSSL_PARAM params[2];
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();
    if (EVP_MAC_CTX_set_params(ctx, params) != 1) { EVP_MAC_CTX_free(ctx); return NULL; }
    return ctx;
}

static inline int COpenSSL_hmac_sha256(const EVP_MAC_CTX *tmpl, const unsigned char *key, size_t key_len,
                                       const unsigned char *data, size_t data_len, unsigned char out[32]) {
    if (tmpl == NULL) return 0;
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_dup(tmpl);
    if (ctx == NULL) return 0;
    size_t length = 0;
    // A zero-length key still needs a non-NULL pointer for EVP_MAC_init to take it as a key.
    static const unsigned char empty = 0;
    int ok = EVP_MAC_init(ctx, key_len ? key : &empty, key_len, NULL) == 1
        && EVP_MAC_update(ctx, data_len ? data : &empty, data_len) == 1
        && EVP_MAC_final(ctx, out, &length, 32) == 1 && length == 32;
    EVP_MAC_CTX_free(ctx);
    return ok;
}

// OPENSSL_free is a macro (it passes __FILE__/__LINE__), so Swift cannot call it directly.
static inline void COpenSSL_free(void *p) { OPENSSL_free(p); }

// The TLS calls below are macros over SSL_CTX_ctrl/SSL_ctrl (or use the function-like SSL_OP_BIT),
// none of which import into Swift.

// TLS 1.0 and 1.1 are broken; every S3-compatible server speaks 1.2.
static inline int COpenSSL_SSL_CTX_set_min_tls12(SSL_CTX *ctx) {
    return (int)SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
}

// A peer that closes without close_notify is reported as EOF, not as an error: HTTP framing
// (Content-Length, chunked) decides whether the body was complete.
static inline void COpenSSL_SSL_CTX_ignore_unexpected_eof(SSL_CTX *ctx) {
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
}

// SNI: virtual-hosted S3 endpoints choose the certificate by the name the client asks for.
static inline int COpenSSL_SSL_set_sni(SSL *ssl, const char *name) {
    return (int)SSL_set_tlsext_host_name(ssl, name);
}

#endif
