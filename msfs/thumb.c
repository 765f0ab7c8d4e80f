/* Thumbnails with libvips, on the thumbnail workers: "<stored name>_<W>x<H>.<fmt>" is the
 * stored image scaled down to fit W x H (aspect kept, never enlarged), encoded as fmt and
 * cached next to the original (written to BaseDir/.tmp, then renamed in place), so that the
 * next request is a plain read; at most cache_max sizes of one original are cached (every
 * W x H asked would fill the disk), others are made and served but not kept. Only image
 * types are decoded, untrusted loaders are blocked, and an image of more than max_pixels is
 * refused before it is decoded. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vips/vips.h>

#include "msfs.h"

int msfs_thumb_init(const char *argv0, char *err, size_t errlen)
{
    if (VIPS_INIT(argv0 ? argv0 : "msfs") != 0) {
        snprintf(err, errlen, "libvips: %s", vips_error_buffer());
        vips_error_clear();
        return -1;
    }
    vips_concurrency_set(1); /* the workers are the parallelism */
    vips_cache_set_max(0);   /* no operation cache: every thumbnail is made once anyway */
    vips_block_untrusted_set(TRUE);
    return 0;
}

void msfs_thumb_shutdown(void) { vips_shutdown(); }

/* Source types that are decoded (the others are not images: 415 without decoding). */
static int source_is_image(const char *rel)
{
    const char *dot = strrchr(rel, '.');
    static const char *const types[] = {"jpg", "jpeg", "png", "gif", "webp"};
    for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
        if (strcasecmp(dot + 1, types[i]) == 0)
            return 1;
    return 0;
}

static int write_cache(msfs_store_t *st, const msfs_thumb_t *t, const void *buf, size_t len,
                       char *err, size_t errlen)
{
    char tmp[4096], path[4096];
    int fd = msfs_store_tmp_create(st, tmp, sizeof(tmp), err, errlen);
    if (fd < 0)
        return -1;
    snprintf(path, sizeof(path), "%s/%s", st->base_dir, t->cache_rel);
    int wrc = msfs_write_all(fd, buf, len);
    int e = errno;
    if (close(fd) < 0 && wrc == 0) {
        wrc = -1;
        e = errno;
    }
    if (wrc < 0) {
        snprintf(err, errlen, "cannot write %.300s: %s", tmp, strerror(e));
        unlink(tmp);
        return -1;
    }
    if (rename(tmp, path) < 0) {
        snprintf(err, errlen, "cannot store %.300s: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* Number of cached thumbnails of the original t->rel (names "<original>_<W>x<H>.<fmt>"). */
static unsigned cached_count(const msfs_store_t *st, const msfs_thumb_t *t)
{
    char dir[4096];
    const char *slash = strrchr(t->rel, '/');
    if (!slash)
        return 0;
    const char *orig = slash + 1;
    size_t olen = strlen(orig);
    snprintf(dir, sizeof(dir), "%s/%.*s", st->base_dir, (int)(slash - t->rel), t->rel);
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    unsigned n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strncmp(e->d_name, orig, olen) == 0 && e->d_name[olen] == '_' &&
            msfs_is_thumb_name(e->d_name))
            n++;
    closedir(d);
    return n;
}

int msfs_thumb_get(msfs_store_t *st, const msfs_thumb_t *t, const msfs_thumb_limits_t *lim,
                   uint8_t **data, size_t *len, int *cached, char *err, size_t errlen)
{
    uint64_t max_pixels = lim->max_pixels;
    char path[4096];
    struct stat sb, cb;
    *data = NULL;
    *len = 0;
    *cached = 0;
    snprintf(path, sizeof(path), "%s/%s", st->base_dir, t->rel);
    if (lstat(path, &sb) < 0 || !S_ISREG(sb.st_mode))
        return MSFS_THUMB_MISSING;
    char cache[4096];
    snprintf(cache, sizeof(cache), "%s/%s", st->base_dir, t->cache_rel);
    if (lstat(cache, &cb) == 0 && S_ISREG(cb.st_mode) && cb.st_mtime >= sb.st_mtime) {
        int rc = msfs_store_get(st, t->cache_rel, MSFS_MAX_SERVE, data, len, err, errlen);
        if (rc == 0) {
            *cached = 1;
            return 0;
        }
    }
    if (!source_is_image(t->rel))
        return MSFS_THUMB_NOT_IMAGE;
    VipsImage *in = vips_image_new_from_file(path, "access", VIPS_ACCESS_SEQUENTIAL, NULL);
    if (!in) {
        snprintf(err, errlen, "%s is not a readable image: %s", t->rel, vips_error_buffer());
        vips_error_clear();
        return MSFS_THUMB_NOT_IMAGE;
    }
    uint64_t pixels = (uint64_t)vips_image_get_width(in) * (uint64_t)vips_image_get_height(in);
    g_object_unref(in);
    if (pixels > max_pixels) {
        snprintf(err, errlen, "%s has %llu pixels, more than ThumbMaxPixels %llu", t->rel,
                 (unsigned long long)pixels, (unsigned long long)max_pixels);
        return MSFS_THUMB_NOT_IMAGE;
    }
    VipsImage *out = NULL;
    if (vips_thumbnail(path, &out, (int)t->width, "height", (int)t->height, "size",
                       VIPS_SIZE_DOWN, NULL) != 0) {
        snprintf(err, errlen, "cannot scale %s: %s", t->rel, vips_error_buffer());
        vips_error_clear();
        return MSFS_THUMB_NOT_IMAGE;
    }
    void *buf = NULL;
    size_t n = 0;
    const char *suffix = strcmp(t->fmt, "png") == 0    ? ".png"
                         : strcmp(t->fmt, "webp") == 0 ? ".webp[Q=80]"
                                                       : ".jpg[Q=85,strip]";
    int rc = vips_image_write_to_buffer(out, suffix, &buf, &n, NULL);
    g_object_unref(out);
    if (rc != 0 || n == 0 || n > MSFS_MAX_SERVE) {
        snprintf(err, errlen, "cannot encode a thumbnail of %s: %s", t->rel,
                 vips_error_buffer());
        vips_error_clear();
        g_free(buf);
        return MSFS_THUMB_ERROR;
    }
    *data = malloc(n);
    if (!*data) {
        g_free(buf);
        snprintf(err, errlen, "out of memory");
        return MSFS_THUMB_ERROR;
    }
    memcpy(*data, buf, n);
    *len = n;
    g_free(buf);
    char werr[512];
    if (cached_count(st, t) >= lim->cache_max)
        snprintf(err, errlen, "thumbnail served but not cached: %s already has ThumbCacheMax "
                 "%u cached sizes", t->rel, lim->cache_max); /* rc stays 0 */
    else if (write_cache(st, t, *data, n, werr, sizeof(werr)) < 0)
        snprintf(err, errlen, "thumbnail served but not cached: %s", werr);
    return 0;
}
