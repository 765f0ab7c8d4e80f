#include "ttc_crypto.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

int ttc_md5_hex_buf(const void *p, size_t n, char out[33])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_Digest(p, n, md, &len, EVP_md5(), NULL) != 1 || len != 16)
        return -1;
    for (unsigned i = 0; i < 16; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[32] = '\0';
    return 0;
}

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t ttc_b64_encode(const uint8_t *in, size_t n, char *out)
{
    size_t o = 0, i = 0;
    for (; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = b64_alphabet[v >> 18];
        out[o++] = b64_alphabet[(v >> 12) & 63];
        out[o++] = b64_alphabet[(v >> 6) & 63];
        out[o++] = b64_alphabet[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)in[i + 1] << 8;
        out[o++] = b64_alphabet[v >> 18];
        out[o++] = b64_alphabet[(v >> 12) & 63];
        out[o++] = i + 1 < n ? b64_alphabet[(v >> 6) & 63] : '=';
        out[o++] = '=';
    }
    out[o] = '\0';
    return o;
}

static int b64_value(unsigned char ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    if (ch == '+')
        return 62;
    if (ch == '/')
        return 63;
    return -1;
}

int ttc_b64_decode(const char *in, size_t n, uint8_t *out, size_t cap, size_t *outlen)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)in[i];
        if (ch == '=')
            break;
        if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n')
            continue;
        int v = b64_value(ch);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o >= cap)
                return -1;
            out[o++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    *outlen = o;
    return 0;
}

int ttc_cipher_init(ttc_cipher_t *c, const char *key)
{
    memset(c, 0, sizeof(*c));
    if (strlen(key) != 32)
        return -1;
    EVP_CIPHER_CTX *enc = EVP_CIPHER_CTX_new(), *dec = EVP_CIPHER_CTX_new();
    c->enc = enc;
    c->dec = dec;
    if (!enc || !dec ||
        EVP_EncryptInit_ex(enc, EVP_aes_256_ecb(), NULL, (const unsigned char *)key, NULL) != 1 ||
        EVP_DecryptInit_ex(dec, EVP_aes_256_ecb(), NULL, (const unsigned char *)key, NULL) != 1) {
        ttc_cipher_free(c);
        return -1;
    }
    EVP_CIPHER_CTX_set_padding(enc, 0);
    EVP_CIPHER_CTX_set_padding(dec, 0);
    return 0;
}

void ttc_cipher_free(ttc_cipher_t *c)
{
    EVP_CIPHER_CTX_free(c->enc);
    EVP_CIPHER_CTX_free(c->dec);
    free(c->buf);
    memset(c, 0, sizeof(*c));
}

static int scratch(ttc_cipher_t *c, size_t n)
{
    if (n <= c->cap)
        return 0;
    size_t cap = c->cap ? c->cap : 256;
    while (cap < n)
        cap *= 2;
    uint8_t *p = realloc(c->buf, cap);
    if (!p)
        return -1;
    c->buf = p;
    c->cap = cap;
    return 0;
}

size_t ttc_tt_padded_len(size_t L)
{
    size_t r = L % 16, n = (L + 15) / 16;
    if (r == 0 || r > 12)
        n++;
    return n * 16;
}

/* ECB holds no state between blocks, so one context serves any number of messages as long as
 * every update is whole blocks (padding is off, nothing is ever buffered). */
static int ecb(void *ctx, int encrypt, uint8_t *buf, size_t len)
{
    int outl = 0;
    if (len > (size_t)0x7fffffff)
        return -1;
    int ok = encrypt ? EVP_EncryptUpdate(ctx, buf, &outl, buf, (int)len)
                     : EVP_DecryptUpdate(ctx, buf, &outl, buf, (int)len);
    return ok == 1 && (size_t)outl == len ? 0 : -1;
}

long ttc_tt_encrypt(ttc_cipher_t *c, const void *plain, size_t L, char *out, size_t cap)
{
    if (L == 0 || L > 0xffffffffu)
        return -1;
    size_t padded = ttc_tt_padded_len(L);
    if (ttc_b64_len(padded) + 1 > cap || scratch(c, padded) < 0)
        return -1;
    memcpy(c->buf, plain, L);
    memset(c->buf + L, 0, padded - L);
    c->buf[padded - 4] = (uint8_t)(L >> 24);
    c->buf[padded - 3] = (uint8_t)(L >> 16);
    c->buf[padded - 2] = (uint8_t)(L >> 8);
    c->buf[padded - 1] = (uint8_t)L;
    if (ecb(c->enc, 1, c->buf, padded) < 0)
        return -1;
    return (long)ttc_b64_encode(c->buf, padded, out);
}

long ttc_tt_decrypt(ttc_cipher_t *c, const char *text, size_t n, uint8_t *out, size_t cap)
{
    size_t N = 0;
    if (scratch(c, n / 4 * 3 + 3) < 0 || ttc_b64_decode(text, n, c->buf, c->cap, &N) < 0)
        return -1;
    if (N == 0 || N % 16 != 0 || ecb(c->dec, 0, c->buf, N) < 0)
        return -1;
    uint32_t L = (uint32_t)c->buf[N - 4] << 24 | (uint32_t)c->buf[N - 3] << 16 |
                 (uint32_t)c->buf[N - 2] << 8 | c->buf[N - 1];
    if (L > N || L > cap)
        return -1;
    memcpy(out, c->buf, L);
    return (long)L;
}
