/* ps_jwt: JSON Web Tokens for the push providers, with OpenSSL EVP. ES256 (APNs provider
 * tokens, a P-256 .p8 key; the DER signature is turned into the raw r||s JOSE form) and RS256
 * (the FCM service account's assertion). */
#include <openssl/bio.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ps.h"

size_t ps_b64url(const uint8_t *in, size_t len, char *out)
{
    static const char A[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0, i = 0;
    for (; i + 2 < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = A[v >> 18 & 63], out[o++] = A[v >> 12 & 63];
        out[o++] = A[v >> 6 & 63], out[o++] = A[v & 63];
    }
    if (i < len) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0);
        out[o++] = A[v >> 18 & 63], out[o++] = A[v >> 12 & 63];
        if (i + 1 < len)
            out[o++] = A[v >> 6 & 63];
    }
    out[o] = '\0';
    return o;
}

void *ps_key_load_pem(const char *pem, size_t len, const char *password)
{
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    if (!b)
        return NULL;
    EVP_PKEY *k = PEM_read_bio_PrivateKey(b, NULL, NULL, (void *)(password ? password : ""));
    BIO_free(b);
    return k;
}

void *ps_key_load_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, (void *)"");
    fclose(f);
    return k;
}

void ps_key_free(void *key) { EVP_PKEY_free(key); }

int ps_key_is(void *key, int ec)
{
    return key && EVP_PKEY_is_a(key, ec ? "EC" : "RSA") && (!ec || EVP_PKEY_get_bits(key) == 256);
}

/* The raw signature (r||s for ES256) of msg into sig; its length, 0 on error. */
static size_t sign(EVP_PKEY *key, int es256, const char *msg, uint8_t *sig, size_t cap)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    uint8_t der[1024];
    size_t n = sizeof(der), out = 0;
    if (ctx && EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) == 1 &&
        EVP_DigestSign(ctx, der, &n, (const uint8_t *)msg, strlen(msg)) == 1) {
        if (!es256) {
            if (n <= cap) {
                memcpy(sig, der, n);
                out = n;
            }
        } else {
            const uint8_t *p = der;
            ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)n);
            if (es && cap >= 64 && BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, 32) == 32 &&
                BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + 32, 32) == 32)
                out = 64;
            ECDSA_SIG_free(es);
        }
    }
    EVP_MD_CTX_free(ctx);
    return out;
}

char *ps_jwt_sign(void *key, int es256, const char *header_json, const char *claims_json)
{
    size_t hl = strlen(header_json), cl = strlen(claims_json);
    char *out = malloc((hl + cl) * 4 / 3 + 1024);
    if (!out)
        return NULL;
    size_t o = ps_b64url((const uint8_t *)header_json, hl, out);
    out[o++] = '.';
    o += ps_b64url((const uint8_t *)claims_json, cl, out + o);
    uint8_t sig[600];
    size_t sl = sign(key, es256, out, sig, sizeof(sig));
    if (!sl) {
        free(out);
        return NULL;
    }
    out[o++] = '.';
    ps_b64url(sig, sl, out + o);
    return out;
}
