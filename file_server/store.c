/* file_server: the offline files under OfflineDir. An upload is written to
 * <dir>/<2 chars>/<id>.part (header first, then each block at the offset it belongs at) and
 * renamed to <dir>/<2 chars>/<id> once every byte arrived, so a stored file is always whole.
 * Downloads open the final name and check its header as the original does (receiver, and
 * file length = 960 + size). The sweep deletes stored files older than OfflineFileTimeout and
 * partial uploads no task owns. Paths are only built from valid task ids (task.c). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fs.h"
#include "tt_log.h"

#define PART ".part"

static int mkdir_one(const char *path, char *err, size_t errlen)
{
    if (mkdir(path, 0750) == 0 || errno == EEXIST)
        return 0;
    snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
    return -1;
}

int fs_store_create(file_server_t *fs, fs_task_t *t, char *err, size_t errlen)
{
    char sub[4096], path[4096];
    if (fs_task_subdir(sub, sizeof(sub), fs->dir, t->id) < 0 ||
        fs_task_path(path, sizeof(path), fs->dir, t->id, PART) < 0) {
        snprintf(err, errlen, "bad task id");
        return -1;
    }
    if (mkdir_one(fs->dir, err, errlen) < 0 || mkdir_one(sub, err, errlen) < 0)
        return -1;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
        return -1;
    }
    fs_header_t h = {.from = t->from, .to = t->to, .size = t->size, .created = t->created};
    memcpy(h.id, t->id, sizeof(h.id));
    snprintf(h.name, sizeof(h.name), "%s", t->name);
    uint8_t hdr[FS_HEADER_LEN];
    fs_header_encode(hdr, &h);
    if (pwrite(fd, hdr, sizeof(hdr), 0) != (ssize_t)sizeof(hdr)) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        close(fd);
        unlink(path);
        return -1;
    }
    t->fd = fd;
    t->done = 0;
    return 0;
}

int fs_store_write(file_server_t *fs, fs_task_t *t, const uint8_t *p, size_t n, char *err,
                   size_t errlen)
{
    (void)fs;
    off_t at = (off_t)(FS_HEADER_LEN + t->done);
    while (n > 0) {
        ssize_t w = pwrite(t->fd, p, n, at);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            snprintf(err, errlen, "write failed: %s", w < 0 ? strerror(errno) : "no space");
            return -1;
        }
        p += w;
        n -= (size_t)w;
        at += w;
        t->done += (uint64_t)w;
    }
    return 0;
}

int fs_store_finish(file_server_t *fs, fs_task_t *t, char *err, size_t errlen)
{
    char part[4096], path[4096];
    if (fs_task_path(part, sizeof(part), fs->dir, t->id, PART) < 0 ||
        fs_task_path(path, sizeof(path), fs->dir, t->id, NULL) < 0) {
        snprintf(err, errlen, "bad task id");
        return -1;
    }
    if (close(t->fd) < 0) {
        t->fd = -1;
        snprintf(err, errlen, "close failed: %s", strerror(errno));
        return -1;
    }
    t->fd = -1;
    if (rename(part, path) < 0) {
        snprintf(err, errlen, "cannot rename %s: %s", part, strerror(errno));
        return -1;
    }
    t->complete = 1;
    return 0;
}

void fs_store_discard(file_server_t *fs, fs_task_t *t)
{
    char part[4096];
    if (t->fd >= 0) {
        close(t->fd);
        t->fd = -1;
    }
    if (!t->complete && fs_task_path(part, sizeof(part), fs->dir, t->id, PART) == 0)
        unlink(part);
}

int fs_store_open(file_server_t *fs, const char *id, uint32_t to, fs_header_t *h, int *fdp,
                  char *err, size_t errlen)
{
    char path[4096];
    if (fs_task_path(path, sizeof(path), fs->dir, id, NULL) < 0) {
        snprintf(err, errlen, "not a task id");
        return -1;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        snprintf(err, errlen, "no such file (%s)", strerror(errno));
        return -1;
    }
    uint8_t hdr[FS_HEADER_LEN];
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
        pread(fd, hdr, sizeof(hdr), 0) != (ssize_t)sizeof(hdr) || fs_header_decode(hdr, h) < 0) {
        snprintf(err, errlen, "file header unreadable");
        close(fd);
        return -1;
    }
    if (strcmp(h->id, id) != 0 || h->to != to) {
        snprintf(err, errlen, "file is for user %u, not %u", (unsigned)h->to, (unsigned)to);
        close(fd);
        return -1;
    }
    if ((uint64_t)st.st_size != FS_HEADER_LEN + (uint64_t)h->size) {
        snprintf(err, errlen, "file holds %lld bytes, its header says %u",
                 (long long)st.st_size - FS_HEADER_LEN, (unsigned)h->size);
        close(fd);
        return -1;
    }
    *fdp = fd;
    return 0;
}

void fs_store_unlink(file_server_t *fs, const char *id)
{
    char path[4096];
    if (fs_task_path(path, sizeof(path), fs->dir, id, NULL) == 0 && unlink(path) < 0 &&
        errno != ENOENT)
        log_warn("cannot delete %s: %s", path, strerror(errno));
}

/* One entry of a sub-directory: a stored file or a partial upload to delete when old. */
static size_t sweep_entry(file_server_t *fs, const char *sub, const char *name, uint64_t now_s)
{
    char id[FS_ID_LEN + 1], path[4096];
    size_t len = strlen(name);
    int part = len == FS_ID_LEN + strlen(PART) && strcmp(name + FS_ID_LEN, PART) == 0;
    if (len != FS_ID_LEN && !part)
        return 0;
    memcpy(id, name, FS_ID_LEN);
    id[FS_ID_LEN] = '\0';
    if (!fs_task_id_valid(id) || fs_table_get(&fs->tasks, id))
        return 0; /* not ours, or in use */
    int n = snprintf(path, sizeof(path), "%s/%s", sub, name);
    struct stat st;
    if (n < 0 || (size_t)n >= sizeof(path) || lstat(path, &st) < 0 || !S_ISREG(st.st_mode))
        return 0;
    uint64_t age = now_s > (uint64_t)st.st_mtime ? now_s - (uint64_t)st.st_mtime : 0;
    uint64_t limit = part ? fs->task_timeout_ms / 1000 : fs->offline_timeout_s;
    if (age <= limit)
        return 0;
    if (unlink(path) < 0) {
        log_warn_rl("cannot delete expired %s: %s", path, strerror(errno));
        return 0;
    }
    log_info("%s %s deleted (%llu s old)", part ? "partial upload" : "offline file", id,
             (unsigned long long)age);
    return 1;
}

size_t fs_store_sweep(file_server_t *fs, uint64_t now_s)
{
    DIR *top = opendir(fs->dir);
    if (!top)
        return 0; /* nothing stored yet */
    size_t gone = 0;
    struct dirent *e;
    while ((e = readdir(top))) {
        /* sub-directories are the first two characters of a task id */
        if (strlen(e->d_name) != 2 || !(e->d_name[0] != '.' && e->d_name[1] != '.'))
            continue;
        char sub[4096];
        int n = snprintf(sub, sizeof(sub), "%s/%s", fs->dir, e->d_name);
        if (n < 0 || (size_t)n >= sizeof(sub))
            continue;
        DIR *d = opendir(sub);
        if (!d)
            continue;
        struct dirent *f;
        while ((f = readdir(d)))
            gone += sweep_entry(fs, sub, f->d_name, now_s);
        closedir(d);
    }
    closedir(top);
    return gone;
}
