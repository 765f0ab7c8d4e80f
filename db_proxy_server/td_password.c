#include "td_password.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int td_b64_encode(const uint8_t *in, size_t n, char *out, size_t outlen)
{
    size_t need = (n + 2) / 3 * 4;
    if (outlen < need + 1)
        return -1;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        out[o++] = b64_alphabet[(v >> 18) & 63];
        out[o++] = b64_alphabet[(v >> 12) & 63];
        out[o++] = i + 1 < n ? b64_alphabet[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? b64_alphabet[v & 63] : '=';
    }
    out[o] = '\0';
    return (int)o;
}

static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

int td_b64_decode(const char *in, size_t n, uint8_t *out, size_t outlen)
{
    if (n == 0 || n % 4 != 0)
        return -1;
    size_t pad = 0;
    if (in[n - 1] == '=')
        pad = in[n - 2] == '=' ? 2 : 1;
    size_t len = n / 4 * 3 - pad;
    if (len > outlen)
        return -1;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 4) {
        int last = i + 4 == n;
        int v[4];
        for (int k = 0; k < 4; k++) {
            char c = in[i + (size_t)k];
            if (c == '=' && last && (size_t)k >= 4 - pad)
                v[k] = 0;
            else if ((v[k] = b64_value(c)) < 0)
                return -1;
        }
        uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 |
                     (uint32_t)v[3];
        out[o++] = (uint8_t)(w >> 16);
        if (!last || pad < 2)
            out[o++] = (uint8_t)(w >> 8);
        if (!last || pad < 1)
            out[o++] = (uint8_t)w;
        /* Canonical form only: the bits dropped by the padding must be zero. */
        if (last && ((pad == 2 && (w & 0xffff)) || (pad == 1 && (w & 0xff))))
            return -1;
    }
    return (int)o;
}

int td_pw_md5hex(const void *p, size_t n, char out[33])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (!EVP_Digest(p, n, md, &mdlen, EVP_md5(), NULL) || mdlen != 16)
        return -1;
    for (unsigned i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    return 0;
}

static int kdf(const char *client, size_t len, const uint8_t *salt, size_t salt_len,
               uint32_t iterations, uint8_t hash[TD_PW_HASH_LEN])
{
    return PKCS5_PBKDF2_HMAC(client, (int)len, salt, (int)salt_len, (int)iterations,
                             EVP_sha256(), TD_PW_HASH_LEN, hash) == 1
               ? 0
               : -1;
}

int td_pw_hash_salt(const char *client, size_t len, uint32_t iterations,
                    const uint8_t salt[TD_PW_SALT_LEN], char *out, size_t outlen)
{
    if (len > TD_PW_CLIENT_MAX || iterations < 1 || iterations > TD_PW_MAX_ITER)
        return -1;
    uint8_t hash[TD_PW_HASH_LEN];
    if (kdf(client, len, salt, TD_PW_SALT_LEN, iterations, hash) < 0)
        return -1;
    char s64[32], h64[48];
    if (td_b64_encode(salt, TD_PW_SALT_LEN, s64, sizeof(s64)) < 0 ||
        td_b64_encode(hash, sizeof(hash), h64, sizeof(h64)) < 0)
        return -1;
    int n = snprintf(out, outlen, TD_PW_PREFIX "%u$%s$%s", (unsigned)iterations, s64, h64);
    OPENSSL_cleanse(hash, sizeof(hash));
    return n > 0 && (size_t)n < outlen ? 0 : -1;
}

int td_pw_hash(const char *client, size_t len, uint32_t iterations, char *out, size_t outlen)
{
    uint8_t salt[TD_PW_SALT_LEN];
    if (RAND_bytes(salt, sizeof(salt)) != 1)
        return -1;
    return td_pw_hash_salt(client, len, iterations, salt, out, outlen);
}

void td_pw_dummy(uint32_t iterations)
{
    static const uint8_t salt[TD_PW_SALT_LEN] = {0};
    uint8_t hash[TD_PW_HASH_LEN];
    if (iterations < 1 || iterations > TD_PW_MAX_ITER)
        iterations = TD_PW_DEFAULT_ITER;
    (void)kdf("0123456789abcdef0123456789abcdef", 32, salt, sizeof(salt), iterations, hash);
}

static int is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* pbkdf2_sha256$<iter>$<salt>$<hash> */
static td_pw_result_t verify_kdf(const char *stored, const char *client, size_t len,
                                 uint32_t want_iterations, td_pw_check_t *info)
{
    const char *p = stored + strlen(TD_PW_PREFIX);
    uint64_t iter = 0;
    const char *digits = p;
    while (*p >= '0' && *p <= '9' && p - digits < 9)
        iter = iter * 10 + (uint64_t)(*p++ - '0');
    if (p == digits || *p != '$' || *digits == '0' || iter > TD_PW_MAX_ITER)
        return TD_PW_MALFORMED;
    const char *salt64 = ++p;
    const char *dollar = strchr(salt64, '$');
    if (!dollar)
        return TD_PW_MALFORMED;
    const char *hash64 = dollar + 1;
    if (strchr(hash64, '$'))
        return TD_PW_MALFORMED;
    uint8_t salt[64], want[TD_PW_HASH_LEN + 3], got[TD_PW_HASH_LEN];
    int salt_len = td_b64_decode(salt64, (size_t)(dollar - salt64), salt, sizeof(salt));
    int hash_len = td_b64_decode(hash64, strlen(hash64), want, sizeof(want));
    if (salt_len < 8 || hash_len != TD_PW_HASH_LEN)
        return TD_PW_MALFORMED;
    if (len > TD_PW_CLIENT_MAX)
        return TD_PW_MISMATCH;
    if (kdf(client, len, salt, (size_t)salt_len, (uint32_t)iter, got) < 0)
        return TD_PW_MISMATCH;
    info->kdf_done = 1;
    int same = CRYPTO_memcmp(got, want, TD_PW_HASH_LEN) == 0;
    OPENSSL_cleanse(got, sizeof(got));
    if (!same)
        return TD_PW_MISMATCH;
    info->needs_upgrade = iter < want_iterations;
    return TD_PW_MATCH;
}

/* 32 hex characters = md5hex(client . salt) */
static td_pw_result_t verify_legacy(const char *stored, const char *salt, const char *client,
                                    size_t len, td_pw_check_t *info)
{
    info->legacy = 1;
    if (len > TD_PW_CLIENT_MAX)
        return TD_PW_MISMATCH;
    size_t salt_len = salt ? strlen(salt) : 0;
    if (salt_len > 64)
        return TD_PW_MALFORMED;
    char buf[TD_PW_CLIENT_MAX + 64];
    memcpy(buf, client, len);
    if (salt_len)
        memcpy(buf + len, salt, salt_len);
    char got[33], want[33];
    if (td_pw_md5hex(buf, len + salt_len, got) < 0)
        return TD_PW_MISMATCH;
    for (int i = 0; i < 32; i++) {
        char c = stored[i];
        want[i] = (char)(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c);
    }
    int same = CRYPTO_memcmp(got, want, 32) == 0;
    OPENSSL_cleanse(buf, sizeof(buf));
    if (!same)
        return TD_PW_MISMATCH;
    info->needs_upgrade = 1;
    return TD_PW_MATCH;
}

td_pw_result_t td_pw_verify(const char *stored, const char *legacy_salt, const char *client,
                            size_t len, uint32_t want_iterations, td_pw_check_t *info)
{
    td_pw_check_t dummy;
    if (!info)
        info = &dummy;
    memset(info, 0, sizeof(*info));
    if (!stored || !client)
        return TD_PW_MALFORMED;
    if (strncmp(stored, TD_PW_PREFIX, strlen(TD_PW_PREFIX)) == 0)
        return verify_kdf(stored, client, len, want_iterations, info);
    size_t n = strlen(stored);
    if (n != 32)
        return TD_PW_MALFORMED;
    for (size_t i = 0; i < n; i++)
        if (!is_hex(stored[i]))
            return TD_PW_MALFORMED;
    return verify_legacy(stored, legacy_salt, client, len, info);
}
