/* msfs: the multipart/form-data parser on the bodies real clients send — Android, iOS with a
 * leading text part, db_proxy's voice upload, curl (the PHP admin) — and on broken ones:
 * missing or odd boundaries, bodies cut at every byte, parts without filename or
 * Content-Disposition, bad file names, many parts, data that looks like a boundary. Every
 * body is also fed to the streaming parser in chunks of many sizes, which must agree. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msfs.h"
#include "tt_test.h"

/* The streaming parser's file data, gathered by the callbacks. */
typedef struct sink_s {
    uint8_t *data;
    size_t len, cap;
    int begun;
} sink_t;

static int sink_begin(void *udata, const msfs_part_t *part)
{
    sink_t *k = udata;
    assert_true(part->has_filename);
    assert_int_equal(k->begun, 0);
    k->begun = 1;
    return 0;
}

static int sink_data(void *udata, const uint8_t *p, size_t n)
{
    sink_t *k = udata;
    assert_int_equal(k->begun, 1);
    assert_true(n > 0);
    if (k->len + n > k->cap) {
        k->cap = (k->len + n) * 2;
        k->data = realloc(k->data, k->cap);
        assert_non_null(k->data);
    }
    memcpy(k->data + k->len, p, n);
    k->len += n;
    return 0;
}

/* Feeds body to the streaming parser in chunks of `chunk` bytes (each in an exact-size copy)
 * and checks that it finds what msfs_mp_find_file found (rc and, on success, *want). */
static void check_stream(const char *body, size_t len, const char *boundary, size_t chunk,
                         int want_rc, const msfs_part_t *want)
{
    static msfs_mpf_t f;
    sink_t k = {0};
    msfs_mpf_init(&f, boundary, sink_begin, sink_data, &k);
    int rc = 0;
    for (size_t off = 0; off < len && rc == 0; off += chunk) {
        size_t n = len - off < chunk ? len - off : chunk;
        uint8_t *copy = malloc(n);
        assert_non_null(copy);
        memcpy(copy, body + off, n);
        rc = msfs_mpf_feed(&f, copy, n);
        free(copy);
        assert_true(f.len <= sizeof(f.win));
    }
    rc = msfs_mpf_finish(&f);
    if (rc != want_rc)
        fail_msg("streamed in chunks of %zu: %d, in memory: %d", chunk, rc, want_rc);
    if (rc == 0) {
        assert_string_equal(f.part.filename, want->filename);
        assert_int_equal(f.part.filename_len, want->filename_len);
        assert_int_equal(f.part.filename_bad, want->filename_bad);
        assert_int_equal(f.part.len, want->len);
        assert_int_equal(k.len, want->len);
        if (want->len)
            assert_memory_equal(k.data, want->data, want->len);
    }
    free(k.data);
}

/* Parses body (copied into an exact-size allocation, so ASan sees any over-read), in memory
 * and streamed in chunks of several sizes: both must agree. */
static int find(const char *body, size_t len, const char *boundary, msfs_part_t *part)
{
    uint8_t *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, body, len);
    int rc = msfs_mp_find_file(copy, len, boundary, part);
    if (rc == 0) {
        /* the part points into the copy: move the data to a stable place for the caller */
        static uint8_t data[1 << 16];
        assert_true(part->len <= sizeof(data));
        memcpy(data, part->data, part->len);
        part->data = data;
    }
    free(copy);
    static const size_t chunks[] = {1, 2, 3, 5, 7, 64, 1000, 4096, 1 << 20};
    for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++)
        check_stream(body, len, boundary, chunks[i], rc, part);
    return rc;
}

static void assert_file(const char *body, size_t len, const char *boundary, const char *name,
                        const void *data, size_t data_len)
{
    msfs_part_t part;
    assert_int_equal(find(body, len, boundary, &part), 0);
    assert_string_equal(part.filename, name);
    assert_int_equal(part.filename_len, strlen(name));
    assert_int_equal(part.len, data_len);
    assert_memory_equal(part.data, data, data_len);
}

#define BODY(s) s, sizeof(s) - 1

static void test_boundary(void **state)
{
    (void)state;
    char b[MSFS_BOUNDARY_MAX + 1];
    assert_int_equal(msfs_mp_boundary("multipart/form-data; boundary=abc", b, sizeof(b)), 0);
    assert_string_equal(b, "abc");
    assert_int_equal(msfs_mp_boundary("multipart/form-data;boundary=abc", b, sizeof(b)), 0);
    assert_string_equal(b, "abc");
    assert_int_equal(msfs_mp_boundary("Multipart/Form-Data; BOUNDARY=x-y_z", b, sizeof(b)), 0);
    assert_string_equal(b, "x-y_z");
    assert_int_equal(
        msfs_mp_boundary("multipart/form-data; boundary=\"a b;c=d\"; charset=utf-8", b, sizeof(b)),
        0);
    assert_string_equal(b, "a b;c=d");
    assert_int_equal(msfs_mp_boundary("multipart/form-data; charset=utf-8; boundary=q1", b,
                                      sizeof(b)), 0);
    assert_string_equal(b, "q1");
    assert_int_equal(msfs_mp_boundary("multipart/form-data; boundary=q1; charset=utf-8", b,
                                      sizeof(b)), 0);
    assert_string_equal(b, "q1");
    assert_int_equal(msfs_mp_boundary("multipart/form-data; boundary = spaced ", b, sizeof(b)),
                     0);
    assert_string_equal(b, "spaced");
    /* AFNetworking */
    assert_int_equal(msfs_mp_boundary("multipart/form-data; boundary=Boundary+0xAbCdEfGbOuNdArY",
                                      b, sizeof(b)), 0);
    assert_string_equal(b, "Boundary+0xAbCdEfGbOuNdArY");

    assert_int_equal(msfs_mp_boundary(NULL, b, sizeof(b)), MSFS_E_NO_BOUNDARY);
    assert_int_equal(msfs_mp_boundary("", b, sizeof(b)), MSFS_E_NO_BOUNDARY);
    assert_int_equal(msfs_mp_boundary("multipart/form-data", b, sizeof(b)), MSFS_E_NO_BOUNDARY);
    assert_int_equal(msfs_mp_boundary("multipart/form-data; boundary=", b, sizeof(b)),
                     MSFS_E_NO_BOUNDARY);
    assert_int_equal(msfs_mp_boundary("multipart/form-data; boundary=\"\"", b, sizeof(b)),
                     MSFS_E_NO_BOUNDARY);
    assert_int_equal(msfs_mp_boundary("multipart/form-data; boundary=\"open", b, sizeof(b)),
                     MSFS_E_NO_BOUNDARY);
    assert_int_equal(msfs_mp_boundary("application/x-www-form-urlencoded", b, sizeof(b)),
                     MSFS_E_NO_BOUNDARY);
    assert_int_equal(msfs_mp_boundary("text/plain; boundary=abc", b, sizeof(b)),
                     MSFS_E_NO_BOUNDARY);
    assert_int_equal(msfs_mp_boundary("multipart/form-data; xboundary=abc", b, sizeof(b)),
                     MSFS_E_NO_BOUNDARY);
    char longb[400];
    snprintf(longb, sizeof(longb), "multipart/form-data; boundary=%0250d", 7);
    assert_int_equal(msfs_mp_boundary(longb, b, sizeof(b)), MSFS_E_NO_BOUNDARY);
}

static const char android[] =
    "--0xKhTmLbOuNdArY\r\n"
    "Content-Disposition: form-data;name=\"file0\";filename=\"IMG_0001.jpg\"\r\n"
    "Content-Type:application/octet-stream\r\n"
    "\r\n"
    "\xff\xd8\xff\xe0\x00\x10JFIF\x00\r\n\r\n--0xKhTmL"
    "\r\n--0xKhTmLbOuNdArY--\r\n";

static const char android_data[] = "\xff\xd8\xff\xe0\x00\x10JFIF\x00\r\n\r\n--0xKhTmL";

static void test_android(void **state)
{
    (void)state;
    assert_file(BODY(android), "0xKhTmLbOuNdArY", "IMG_0001.jpg", BODY(android_data));
}

static const char ios[] =
    "--Boundary+0xAbCdEfGbOuNdArY\r\n"
    "Content-Disposition: form-data; name=\"type\"\r\n"
    "\r\n"
    "im_image\r\n"
    "--Boundary+0xAbCdEfGbOuNdArY\r\n"
    "Content-Disposition: form-data; name=\"image\"; filename=\"image.png_640x480.png\"\r\n"
    "Content-Type: image/jpeg\r\n"
    "\r\n"
    "\x89PNG\r\n\x1a\n"
    "\r\n--Boundary+0xAbCdEfGbOuNdArY--\r\n";

static void test_ios_leading_text_part(void **state)
{
    (void)state;
    assert_file(BODY(ios), "Boundary+0xAbCdEfGbOuNdArY", "image.png_640x480.png",
                "\x89PNG\r\n\x1a\n", 8);
    msfs_part_t part;
    assert_int_equal(find(BODY(ios), "Boundary+0xAbCdEfGbOuNdArY", &part), 0);
    msfs_name_t n;
    assert_int_equal(msfs_name_check(part.filename, part.filename_len, part.filename_bad, &n), 0);
    assert_string_equal(n.type, "png");
    assert_true(n.has_size);
    assert_int_equal(n.width, 640);
    assert_int_equal(n.height, 480);

    /* the iterator sees both parts, the text one without filename */
    msfs_mp_iter_t it;
    msfs_mp_init(&it, (const uint8_t *)ios, sizeof(ios) - 1, "Boundary+0xAbCdEfGbOuNdArY");
    assert_int_equal(msfs_mp_next(&it, &part), 1);
    assert_true(part.has_disposition);
    assert_false(part.has_filename);
    assert_int_equal(part.len, 8);
    assert_memory_equal(part.data, "im_image", 8);
    assert_int_equal(msfs_mp_next(&it, &part), 1);
    assert_true(part.has_filename);
    assert_int_equal(msfs_mp_next(&it, &part), 0);
    assert_int_equal(msfs_mp_next(&it, &part), 0);
}

static const char voice[] =
    "--teamtalk-voice\r\n"
    "Content-Disposition: form-data; name=\"file\"; filename=\"1.audio\"\r\n"
    "Content-Type:image/jpg\r\n"
    "\r\n"
    "#!AMR\n\x00\x01\x02"
    "\r\n--teamtalk-voice--\r\n";

static void test_db_proxy_voice(void **state)
{
    (void)state;
    assert_file(BODY(voice), "teamtalk-voice", "1.audio", "#!AMR\n\x00\x01\x02", 9);
}

static const char curl_body[] =
    "--------------------------d74496d66958873e\r\n"
    "Content-Disposition: form-data; name=\"filename\"; filename=\"avatar.png\"\r\n"
    "Content-Type: image/png\r\n"
    "\r\n"
    "PNGDATA"
    "\r\n--------------------------d74496d66958873e--\r\n";

static void test_curl(void **state)
{
    (void)state;
    assert_file(BODY(curl_body), "------------------------d74496d66958873e", "avatar.png",
                "PNGDATA", 7);
}

static void test_variants(void **state)
{
    (void)state;
    /* preamble, lower-case header, transport padding, unquoted filename, no Content-Type,
     * no closing CRLF, epilogue */
    static const char b1[] = "this is a preamble\r\n--xyz  \t\r\n"
                             "content-disposition: form-data; name=f; filename=a.gif\r\n"
                             "\r\n"
                             "GIF89a\r\n--xyz--";
    assert_file(BODY(b1), "xyz", "a.gif", "GIF89a", 6);
    static const char b2[] = "--xyz\r\n"
                             "Content-Disposition: form-data; name=\"f\"; filename=\"e.png\"\r\n"
                             "\r\n"
                             "\r\n--xyz--\r\nepilogue";
    assert_file(BODY(b2), "xyz", "e.png", "", 0);
    /* a part without headers before the file part */
    static const char b3[] = "--xyz\r\n\r\nnothing\r\n--xyz\r\n"
                             "Content-Disposition: form-data; filename=\"n.jpg\"; name=\"x\"\r\n"
                             "\r\n"
                             "J\r\n--xyz--\r\n";
    assert_file(BODY(b3), "xyz", "n.jpg", "J", 1);
    /* boundary look-alikes inside the data are data (a CRLF + "--xyz" + CRLF would not be) */
    static const char b4[] = "--xyz\r\n"
                             "Content-Disposition: form-data; filename=\"d.bin\"\r\n"
                             "\r\n"
                             "x--xyz\r\n--xyzz\r\n--xy\r\n--xyz-"
                             "\r\n--xyz--\r\n";
    assert_file(BODY(b4), "xyz", "d.bin", "x--xyz\r\n--xyzz\r\n--xy\r\n--xyz-", 28);
    /* the first filename wins; filename* is ignored; an empty filename is no filename */
    static const char b5[] = "--xyz\r\n"
                             "Content-Disposition: form-data; name=\"a\"; filename=\"\"\r\n"
                             "\r\n"
                             "\r\n--xyz\r\n"
                             "Content-Disposition: form-data; filename*=UTF-8''x.png; "
                             "filename=\"one.png\"; filename=\"two.png\"\r\n"
                             "\r\n"
                             "1\r\n--xyz--\r\n";
    assert_file(BODY(b5), "xyz", "one.png", "1", 1);
    /* a part header that merely contains "filename=" in another parameter's value */
    static const char b6[] = "--xyz\r\n"
                             "Content-Disposition: form-data; name=\"filename=x.png\"\r\n"
                             "\r\n"
                             "v\r\n--xyz--\r\n";
    msfs_part_t part;
    assert_int_equal(find(BODY(b6), "xyz", &part), MSFS_E_NO_FILENAME);
    /* Windows paths and quotes as browsers send them: the name is kept, the check refuses it */
    static const char b7[] = "--xyz\r\n"
                             "Content-Disposition: form-data; name=\"f\"; "
                             "filename=\"C:\\a\\b.png\"\r\n"
                             "\r\n"
                             "v\r\n--xyz--\r\n";
    assert_int_equal(find(BODY(b7), "xyz", &part), 0);
    assert_string_equal(part.filename, "C:\\a\\b.png");
    msfs_name_t n;
    assert_int_equal(msfs_name_check(part.filename, part.filename_len, part.filename_bad, &n),
                     MSFS_E_NO_FILENAME);
}

static void test_errors(void **state)
{
    (void)state;
    msfs_part_t part;
    /* no delimiter at all, or the boundary of another body */
    assert_int_equal(find(BODY("just some bytes"), "xyz", &part), MSFS_E_NO_DELIMITER);
    assert_int_equal(find(BODY(android), "other", &part), MSFS_E_NO_DELIMITER);
    assert_int_equal(find("", 0, "xyz", &part), MSFS_E_NO_DELIMITER);
    /* boundary only as a prefix of a longer line */
    assert_int_equal(find(BODY("--xyzabc\r\n\r\ndata\r\n--xyzabc--"), "xyz", &part),
                     MSFS_E_NO_DELIMITER);
    /* only a closing delimiter: no parts */
    assert_int_equal(find(BODY("--xyz--\r\n"), "xyz", &part), MSFS_E_NO_DISPOSITION);
    /* parts without Content-Disposition */
    assert_int_equal(find(BODY("--xyz\r\nContent-Type: text/plain\r\n\r\nv\r\n--xyz--"), "xyz",
                          &part), MSFS_E_NO_DISPOSITION);
    /* parts without filename */
    assert_int_equal(find(BODY("--xyz\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n"
                               "--xyz\r\nContent-Disposition: form-data; name=\"b\"\r\n\r\nw\r\n"
                               "--xyz--\r\n"), "xyz", &part), MSFS_E_NO_FILENAME);
    /* a header line without ':' */
    assert_int_equal(find(BODY("--xyz\r\nContent-Disposition form-data; filename=\"a.png\"\r\n"
                               "\r\nv\r\n--xyz--"), "xyz", &part), MSFS_E_PART_HEADER);
    /* an unterminated quote */
    assert_int_equal(find(BODY("--xyz\r\nContent-Disposition: form-data; filename=\"a.png\r\n"
                               "\r\nv\r\n--xyz--"), "xyz", &part), MSFS_E_PART_HEADER);
    /* headers never end */
    assert_int_equal(find(BODY("--xyz\r\nContent-Disposition: form-data; filename=\"a.png\"\r\n"
                               "Content-Type: image/png\r\n"), "xyz", &part),
                     MSFS_E_PART_HEADERS_END);
    /* a header block over the bound */
    size_t big_len = MSFS_PART_HEADER_MAX + 200;
    char *big = malloc(big_len + 64);
    assert_non_null(big);
    int n = snprintf(big, 64, "--xyz\r\nX-Pad: ");
    memset(big + n, 'a', big_len);
    memcpy(big + n + big_len, "\r\n\r\nv\r\n--xyz--", 14);
    assert_int_equal(find(big, (size_t)n + big_len + 14, "xyz", &part), MSFS_E_PART_HEADER);
    free(big);
    /* the file part is never closed */
    assert_int_equal(find(BODY("--xyz\r\nContent-Disposition: form-data; filename=\"a.png\"\r\n"
                               "\r\nvvvv"), "xyz", &part), MSFS_E_TRUNCATED);
    assert_int_equal(find(BODY("--xyz\r\nContent-Disposition: form-data; filename=\"a.png\"\r\n"
                               "\r\nvvvv\r\n--xyz"), "xyz", &part), MSFS_E_TRUNCATED);
    /* a bad part before the file part stops the parse */
    assert_int_equal(find(BODY("--xyz\r\nbroken\r\n\r\nv\r\n--xyz\r\n"
                               "Content-Disposition: form-data; filename=\"a.png\"\r\n\r\n"
                               "v\r\n--xyz--"), "xyz", &part), MSFS_E_PART_HEADER);
}

/* Every prefix of each client body: never an over-read, and a success only once the file's
 * data and the delimiter after it are complete (then with exactly the right bytes). */
static void check_prefixes(const char *body, size_t len, const char *boundary, const char *name,
                           const void *data, size_t data_len)
{
    const char *d = memmem(body, len, data, data_len);
    assert_non_null(d);
    char delim[256];
    snprintf(delim, sizeof(delim), "\r\n--%s", boundary);
    size_t need = (size_t)(d - body) + data_len + strlen(delim) + 2; /* "\r\n" or "--" */
    for (size_t cut = 0; cut <= len; cut++) {
        msfs_part_t part;
        int rc = find(body, cut, boundary, &part);
        if (cut >= need) {
            assert_int_equal(rc, 0);
            assert_string_equal(part.filename, name);
            assert_int_equal(part.len, data_len);
            assert_memory_equal(part.data, data, data_len);
        } else {
            assert_true(rc > 1);
        }
    }
}

static void test_truncated_everywhere(void **state)
{
    (void)state;
    check_prefixes(BODY(android), "0xKhTmLbOuNdArY", "IMG_0001.jpg", BODY(android_data));
    check_prefixes(BODY(ios), "Boundary+0xAbCdEfGbOuNdArY", "image.png_640x480.png",
                   "\x89PNG\r\n\x1a\n", 8);
    check_prefixes(BODY(voice), "teamtalk-voice", "1.audio", "#!AMR\n\x00\x01\x02", 9);
    check_prefixes(BODY(curl_body), "------------------------d74496d66958873e", "avatar.png",
                   "PNGDATA", 7);
}

static void test_many_parts(void **state)
{
    (void)state;
    size_t cap = 1 << 16, len = 0;
    char *body = malloc(cap);
    assert_non_null(body);
    for (int i = 0; i < 500; i++)
        len += (size_t)snprintf(body + len, cap - len,
                                "--m\r\nContent-Disposition: form-data; name=\"f%d\"\r\n\r\n%d\r\n",
                                i, i);
    len += (size_t)snprintf(body + len, cap - len,
                            "--m\r\nContent-Disposition: form-data; name=\"x\"; "
                            "filename=\"last.jpg\"\r\nContent-Type: image/jpeg\r\n\r\nLAST\r\n"
                            "--m\r\nContent-Disposition: form-data; name=\"y\"; "
                            "filename=\"second.jpg\"\r\n\r\nNOT\r\n--m--\r\n");
    assert_true(len < cap);
    assert_file(body, len, "m", "last.jpg", "LAST", 4);
    /* the iterator counts them all */
    msfs_mp_iter_t it;
    msfs_part_t part;
    msfs_mp_init(&it, (const uint8_t *)body, len, "m");
    int parts = 0, rc;
    while ((rc = msfs_mp_next(&it, &part)) == 1)
        parts++;
    assert_int_equal(rc, 0);
    assert_int_equal(parts, 502);
    free(body);
}

static void test_file_names(void **state)
{
    (void)state;
    msfs_part_t part;
    msfs_name_t n;
    struct {
        const char *name;
        int code;
    } cases[] = {
        {"a.png", 0},
        {"photo.JPG", 0},
        {"1.audio", 0},
        {"archive.tar.gz", 0},
        {"a.b_c-d", 0},
        {"noext", MSFS_E_NO_DOT},
        {"trailing.", MSFS_E_TYPE},
        {"a.0123456789abcdef", MSFS_E_TYPE},   /* 16 bytes */
        {"a.0123456789abcde", 0},              /* 15 bytes */
        {"a.p g", MSFS_E_TYPE},
        {"a.p%2f", MSFS_E_TYPE},
        {"a.\xe5\x9b\xbe", MSFS_E_TYPE},
        {"\xe5\x9b\xbe\xe7\x89\x87.png", 0},  /* UTF-8 names are fine, only the type is kept */
        {"../../etc/passwd.png", MSFS_E_NO_FILENAME},
        {"dir/a.png", MSFS_E_NO_FILENAME},
        {"dir\\a.png", MSFS_E_NO_FILENAME},
        {"a.png/", MSFS_E_NO_FILENAME},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = msfs_name_check(cases[i].name, strlen(cases[i].name), 0, &n);
        if (rc != cases[i].code)
            fail_msg("%s: %d, want %d", cases[i].name, rc, cases[i].code);
    }
    /* NUL and control bytes, as the parser reports them */
    static const char nul[] = "--b\r\nContent-Disposition: form-data; filename=\"a\0.png\"\r\n\r\n"
                              "v\r\n--b--";
    assert_int_equal(find(BODY(nul), "b", &part), 0);
    assert_true(part.filename_bad);
    assert_int_equal(msfs_name_check(part.filename, part.filename_len, part.filename_bad, &n),
                     MSFS_E_NO_FILENAME);
    static const char ctl[] = "--b\r\nContent-Disposition: form-data; filename=\"a\x01.png\"\r\n"
                              "\r\nv\r\n--b--";
    assert_int_equal(find(BODY(ctl), "b", &part), 0);
    assert_int_equal(msfs_name_check(part.filename, part.filename_len, part.filename_bad, &n),
                     MSFS_E_NO_FILENAME);
    /* 255 bytes are fine, 256 are not (the parser keeps the full length) */
    char body[1024], name[300];
    memset(name, 'n', sizeof(name));
    memcpy(name + 251, ".png", 5); /* 255 bytes */
    snprintf(body, sizeof(body), "--b\r\nContent-Disposition: form-data; filename=\"%s\"\r\n"
                                 "\r\nv\r\n--b--", name);
    assert_int_equal(find(body, strlen(body), "b", &part), 0);
    assert_int_equal(part.filename_len, 255);
    assert_int_equal(msfs_name_check(part.filename, part.filename_len, 0, &n), 0);
    memset(name, 'n', sizeof(name));
    memcpy(name + 252, ".png", 5); /* 256 bytes */
    snprintf(body, sizeof(body), "--b\r\nContent-Disposition: form-data; filename=\"%s\"\r\n"
                                 "\r\nv\r\n--b--", name);
    assert_int_equal(find(body, strlen(body), "b", &part), 0);
    assert_int_equal(part.filename_len, 256);
    assert_int_equal(strlen(part.filename), MSFS_NAME_MAX);
    assert_int_equal(msfs_name_check(part.filename, part.filename_len, 0, &n), MSFS_E_NAME_LONG);
}

static void test_size_hint(void **state)
{
    (void)state;
    struct {
        const char *name;
        int has;
        unsigned w, h;
        const char *type;
    } cases[] = {
        {"image.png_640x480.png", 1, 640, 480, "png"},
        {"a_1x2.jpg", 1, 1, 2, "jpg"},
        {"a_9999x9999.gif", 1, 9999, 9999, "gif"},
        {"a_10000x1.png", 0, 0, 0, "png"},
        {"a_1x10000.png", 0, 0, 0, "png"},
        {"a_x1.png", 0, 0, 0, "png"},
        {"a_1x.png", 0, 0, 0, "png"},
        {"a_1y2.png", 0, 0, 0, "png"},
        {"a_1x2y.png", 0, 0, 0, "png"},
        {"a_1x2_b.png", 0, 0, 0, "png"},
        {"a_1x2.b_c", 0, 0, 0, "b_c"},
        {"plain.png", 0, 0, 0, "png"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        msfs_name_t n;
        assert_int_equal(msfs_name_check(cases[i].name, strlen(cases[i].name), 0, &n), 0);
        if (n.has_size != cases[i].has || n.width != cases[i].w || n.height != cases[i].h ||
            strcmp(n.type, cases[i].type) != 0)
            fail_msg("%s: has %d %ux%u type %s", cases[i].name, n.has_size, n.width, n.height,
                     n.type);
    }
}

/* A file far larger than the parser's window, full of near-delimiters, with an iOS-style
 * text part before it: streamed in chunks of every small size and some odd larger ones, the
 * data comes out byte for byte while the window never grows. */
static void test_stream_large(void **state)
{
    (void)state;
    static const char *const near[] = {"\r\n--bnd-x", "\r\n--bn", "\r\n--bnd  x",
                                       "\r\n--bnd\r-", "--bnd x", "\r\n-", "\r\n--bnd \t-"};
    size_t data_len = 3 * MSFS_MPF_WINDOW + 12345;
    uint8_t *data = malloc(data_len);
    assert_non_null(data);
    uint32_t x = 12345;
    for (size_t i = 0; i < data_len;) {
        x = x * 1103515245u + 12345u;
        if ((x >> 16) % 7 == 0) {
            const char *n = near[(x >> 8) % 7];
            size_t l = strlen(n);
            if (i + l > data_len)
                l = data_len - i;
            memcpy(data + i, n, l);
            i += l;
        } else {
            data[i++] = (uint8_t)(x >> 24);
        }
    }
    const char *head = "--bnd\r\nContent-Disposition: form-data; name=\"type\"\r\n\r\nim_image"
                       "\r\n--bnd\r\nContent-Disposition: form-data; name=\"image\"; "
                       "filename=\"big.png\"\r\nContent-Type: image/png\r\n\r\n";
    const char *tail = "\r\n--bnd--\r\n";
    size_t len = strlen(head) + data_len + strlen(tail);
    char *body = malloc(len);
    assert_non_null(body);
    memcpy(body, head, strlen(head));
    memcpy(body + strlen(head), data, data_len);
    memcpy(body + strlen(head) + data_len, tail, strlen(tail));
    msfs_part_t want;
    assert_int_equal(msfs_mp_find_file((const uint8_t *)body, len, "bnd", &want), 0);
    assert_int_equal(want.len, data_len);
    assert_memory_equal(want.data, data, data_len);
    for (size_t chunk = 1; chunk <= 17; chunk++)
        check_stream(body, len, "bnd", chunk, 0, &want);
    check_stream(body, len, "bnd", MSFS_MPF_WINDOW - 1, 0, &want);
    check_stream(body, len, "bnd", MSFS_MPF_WINDOW + 1, 0, &want);
    check_stream(body, len, "bnd", 65536, 0, &want);
    /* cut anywhere in the last part of the file: truncated, as in memory */
    check_stream(body, len - strlen(tail) - 100, "bnd", 999, MSFS_E_TRUNCATED, &want);
    free(body);
    free(data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_boundary),
        cmocka_unit_test(test_android),
        cmocka_unit_test(test_ios_leading_text_part),
        cmocka_unit_test(test_db_proxy_voice),
        cmocka_unit_test(test_curl),
        cmocka_unit_test(test_variants),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_truncated_everywhere),
        cmocka_unit_test(test_many_parts),
        cmocka_unit_test(test_file_names),
        cmocka_unit_test(test_size_hint),
        cmocka_unit_test(test_stream_large),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
