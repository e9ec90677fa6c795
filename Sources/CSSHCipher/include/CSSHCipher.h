#ifndef DV_CSSHCIPHER_H
#define DV_CSSHCIPHER_H
#include <stddef.h>
#include <stdint.h>
#include <openssl/evp.h>

/*
 * Batched AES-CTR for libssh2 1.10.
 *
 * libssh2 1.10 encrypts (and decrypts) a packet one 16-byte block per EVP_Cipher call; in
 * OpenSSL 3 each call costs about as much as encrypting a kilobyte, so a 2 GiB upload spends
 * ~2.4 CPU seconds in call overhead alone. In counter mode the keystream does not depend on
 * the data, so these functions draw it from the real context 8 KiB at a time and XOR each
 * block with it: the same bytes, at a fraction of the cost.
 *
 * dvbackup links libssh2 statically with `ld --wrap` on EVP_CipherInit, EVP_Cipher and
 * EVP_CIPHER_CTX_free, so only libssh2's own calls come here (never libcurl's or libpq's
 * TLS). Every cipher that is not AES-CTR passes straight through to OpenSSL.
 */

/* EVP_CipherInit, then, for a CTR cipher, a keystream buffer attached to the context. */
int dv_ctr_cipher_init(EVP_CIPHER_CTX *ctx, const EVP_CIPHER *cipher, const unsigned char *key,
                       const unsigned char *iv, int enc);
/* EVP_Cipher: XOR with the buffered keystream where the context has one. */
int dv_ctr_cipher(EVP_CIPHER_CTX *ctx, unsigned char *out, const unsigned char *in, unsigned int inl);
/* Frees the keystream buffer (wiped), then the context. */
void dv_ctr_cipher_ctx_free(EVP_CIPHER_CTX *ctx);

/* Keystream bytes drawn in batches since the process started (for tests and logs): at
 * least the bytes encrypted or decrypted through them. */
uint64_t dv_ctr_batched_bytes(void);
#endif
