#include "CSSHCipher.h"
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

#define KEYSTREAM_BYTES 8192

/* Attached to a context through its app data (libssh2 1.10 leaves the app data unused). */
struct keystream {
    uint32_t magic;
    size_t pos;
    unsigned char bytes[KEYSTREAM_BYTES];
};
#define KEYSTREAM_MAGIC 0x64766b73u /* "dvks" */

static const unsigned char zeros[KEYSTREAM_BYTES];
static _Atomic uint64_t batched;

/* The real OpenSSL functions: under `ld --wrap=X`, `__real_X` is X itself (Package.swift
 * passes the flags; without them the link fails here rather than recursing). */
#ifdef __linux__
int __real_EVP_CipherInit(EVP_CIPHER_CTX *, const EVP_CIPHER *, const unsigned char *, const unsigned char *, int);
int __real_EVP_Cipher(EVP_CIPHER_CTX *, unsigned char *, const unsigned char *, unsigned int);
void __real_EVP_CIPHER_CTX_free(EVP_CIPHER_CTX *);
#define real_init __real_EVP_CipherInit
#define real_cipher __real_EVP_Cipher
#define real_free __real_EVP_CIPHER_CTX_free
#else
/* Elsewhere libssh2 is linked as a shared library, unwrapped: these are never reached from it. */
#define real_init EVP_CipherInit
#define real_cipher EVP_Cipher
#define real_free EVP_CIPHER_CTX_free
#endif

static struct keystream *keystream_of(EVP_CIPHER_CTX *ctx) {
    struct keystream *k = EVP_CIPHER_CTX_get_app_data(ctx);
    return k != NULL && k->magic == KEYSTREAM_MAGIC ? k : NULL;
}

static void drop_keystream(EVP_CIPHER_CTX *ctx) {
    struct keystream *k = keystream_of(ctx);
    if (k == NULL) return;
    EVP_CIPHER_CTX_set_app_data(ctx, NULL);
    OPENSSL_cleanse(k, sizeof *k);
    free(k);
}

int dv_ctr_cipher_init(EVP_CIPHER_CTX *ctx, const EVP_CIPHER *cipher, const unsigned char *key,
                       const unsigned char *iv, int enc) {
    if (ctx == NULL) return real_init(ctx, cipher, key, iv, enc);
    drop_keystream(ctx);
    int ok = real_init(ctx, cipher, key, iv, enc);
    /* Only a fully keyed CTR context gets a keystream; a partial init (cipher now, key
     * later) passes through. */
    if (ok == 1 && cipher != NULL && key != NULL && iv != NULL
        && EVP_CIPHER_get_mode(cipher) == EVP_CIPH_CTR_MODE && EVP_CIPHER_CTX_get_app_data(ctx) == NULL) {
        struct keystream *k = malloc(sizeof *k);
        if (k != NULL) {
            k->magic = KEYSTREAM_MAGIC;
            k->pos = KEYSTREAM_BYTES; /* empty: drawn on first use */
            EVP_CIPHER_CTX_set_app_data(ctx, k);
        }
    }
    return ok;
}

int dv_ctr_cipher(EVP_CIPHER_CTX *ctx, unsigned char *out, const unsigned char *in, unsigned int inl) {
    struct keystream *k = ctx != NULL && in != NULL && out != NULL ? keystream_of(ctx) : NULL;
    if (k == NULL) return real_cipher(ctx, out, in, inl);
    unsigned int done = 0;
    while (done < inl) {
        if (k->pos == KEYSTREAM_BYTES) {
            /* The counter advances by KEYSTREAM_BYTES / 16 blocks, exactly as it would have
             * over the next KEYSTREAM_BYTES of data. */
            if (real_cipher(ctx, k->bytes, zeros, KEYSTREAM_BYTES) < 0) return -1;
            k->pos = 0;
            /* Counted per batch, not per call: one shared counter touched every 16 bytes by
             * several connections' threads would bounce its cache line between the cores. */
            atomic_fetch_add_explicit(&batched, KEYSTREAM_BYTES, memory_order_relaxed);
        }
        size_t n = KEYSTREAM_BYTES - k->pos;
        if (n > inl - done) n = inl - done;
        const unsigned char *s = k->bytes + k->pos;
        size_t i = 0;
        for (; i + 8 <= n; i += 8) {
            uint64_t a, b;
            memcpy(&a, in + done + i, 8);
            memcpy(&b, s + i, 8);
            a ^= b;
            memcpy(out + done + i, &a, 8);
        }
        for (; i < n; i++) out[done + i] = in[done + i] ^ s[i];
        k->pos += n;
        done += (unsigned int)n;
    }
    /* OpenSSL 3 returns the byte count for a cipher with a custom ccipher; libssh2 only
     * checks for -1. */
    return (int)inl;
}

void dv_ctr_cipher_ctx_free(EVP_CIPHER_CTX *ctx) {
    if (ctx != NULL) drop_keystream(ctx);
    real_free(ctx);
}

uint64_t dv_ctr_batched_bytes(void) { return atomic_load(&batched); }

#ifdef __linux__
/* What libssh2's references resolve to under `ld --wrap`. */
int __wrap_EVP_CipherInit(EVP_CIPHER_CTX *ctx, const EVP_CIPHER *cipher, const unsigned char *key,
                          const unsigned char *iv, int enc) {
    return dv_ctr_cipher_init(ctx, cipher, key, iv, enc);
}
int __wrap_EVP_Cipher(EVP_CIPHER_CTX *ctx, unsigned char *out, const unsigned char *in, unsigned int inl) {
    return dv_ctr_cipher(ctx, out, in, inl);
}
void __wrap_EVP_CIPHER_CTX_free(EVP_CIPHER_CTX *ctx) { dv_ctr_cipher_ctx_free(ctx); }
#endif
