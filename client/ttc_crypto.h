/* ttc_crypto: what a TeamTalk client does to its bytes — the password as md5 hex (§6.4) and the
 * message cipher (§6.2): AES-256-ECB with the TeamTalk length-trailer padding, then standard
 * Base64. One ttc_cipher_t per thread (it holds OpenSSL contexts and a scratch buffer). */
#ifndef TTC_CRYPTO_H
#define TTC_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

/* The key compiled into every shipped client. */
#define TTC_TT_KEY "12345678901234567890123456789012"

/* out receives 32 lowercase hex characters and a NUL. 0 ok, -1 error. */
int ttc_md5_hex_buf(const void *p, size_t n, char out[33]);

/* Base64 length for n input bytes (without the NUL). */
static inline size_t ttc_b64_len(size_t n) { return 4 * ((n + 2) / 3); }
/* Standard alphabet with '=' padding, no line breaks; writes a NUL. Returns the length. */
size_t ttc_b64_encode(const uint8_t *in, size_t n, char *out);
/* Skips whitespace, stops at '='. 0 ok, -1 on a character outside the alphabet or when the
 * output would exceed cap. */
int ttc_b64_decode(const char *in, size_t n, uint8_t *out, size_t cap, size_t *outlen);

typedef struct ttc_cipher_s {
    void *enc;       /* EVP_CIPHER_CTX for encryption (ECB, no padding) */
    void *dec;       /* EVP_CIPHER_CTX for decryption */
    uint8_t *buf;    /* scratch: padded plaintext / decoded ciphertext */
    size_t cap;      /* size of buf */
} ttc_cipher_t;

/* key: 32 bytes (the ASCII characters themselves). 0 ok, -1 error. */
int ttc_cipher_init(ttc_cipher_t *c, const char *key);
void ttc_cipher_free(ttc_cipher_t *c);

/* Padded length of an L-byte plaintext (§6.2 step 1), in bytes. */
size_t ttc_tt_padded_len(size_t L);
/* Size of the Base64 text for an L-byte plaintext (without the NUL). */
static inline size_t ttc_tt_cipher_text_len(size_t L) { return ttc_b64_len(ttc_tt_padded_len(L)); }
/* Encrypts L >= 1 bytes into Base64 text at out (cap includes the NUL). Returns the text
 * length, or -1. */
long ttc_tt_encrypt(ttc_cipher_t *c, const void *plain, size_t L, char *out, size_t cap);
/* Decrypts Base64 text. Returns the plaintext length (written to out, up to cap), or -1 when
 * the text is not a valid TeamTalk ciphertext. */
long ttc_tt_decrypt(ttc_cipher_t *c, const char *text, size_t n, uint8_t *out, size_t cap);

#endif
