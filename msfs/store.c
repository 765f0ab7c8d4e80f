/* The files under BaseDir. Runs on the worker threads (and at start-up): the running file
 * number, persisted in BaseDir/msfs.state before it is used, so a crash never hands out a
 * number twice; uploads written to BaseDir/.tmp, synced, then linked under their final name
 * without ever replacing a file; downloads read whole, regular files only. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "msfs.h"
#include "tt_cfg.h"

static char *join(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *s = malloc(la + lb + 2);
    if (!s)
        return NULL;
    memcpy(s, a, la);
    s[la] = '/';
    memcpy(s + la + 1, b, lb + 1);
    return s;
}

static int write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int msfs_write_all(int fd, const void *data, size_t len) { return write_all(fd, data, len); }

/* Writes the state file (caller holds the lock, or no worker runs yet). */
static int persist(msfs_store_t *st, uint64_t cnt, char *err, size_t errlen)
{
    char tmp[4096], text[160];
    snprintf(tmp, sizeof(tmp), "%s.new", st->state_path);
    int n = snprintf(text, sizeof(text),
                     "# written by msfs after every upload: the number the next file gets\n"
                     "FileCnt=%llu\n", (unsigned long long)cnt);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || write_all(fd, text, (size_t)n) < 0) {
        snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if (close(fd) < 0 || rename(tmp, st->state_path) < 0) {
        snprintf(err, errlen, "cannot replace %s: %s", st->state_path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

static int read_state(msfs_store_t *st, uint64_t *cnt, char *err, size_t errlen)
{
    *cnt = 0;
    if (access(st->state_path, F_OK) < 0 && errno == ENOENT)
        return 0;
    char e[512];
    tt_cfg_t *cfg = tt_cfg_load(st->state_path, e, sizeof(e));
    long long v;
    if (!cfg || tt_cfg_int(cfg, "FileCnt", -1, 0, (long long)1 << 50, &v, e, sizeof(e)) < 0) {
        snprintf(err, errlen, "bad state file (fix or remove it): %s", e);
        tt_cfg_free(cfg);
        return -1;
    }
    tt_cfg_free(cfg);
    *cnt = (uint64_t)v;
    return 0;
}

static int empty_tmp_dir(msfs_store_t *st, char *err, size_t errlen)
{
    int fd = dup(st->dir_fd);
    DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
    if (!dir) {
        snprintf(err, errlen, "cannot read %s: %s", st->tmp_dir, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    rewinddir(dir);
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        unlinkat(st->dir_fd, e->d_name, 0);
    }
    closedir(dir);
    return 0;
}

int msfs_store_open(msfs_store_t *st, const char *base_dir, uint64_t files_per_dir,
                    uint64_t conf_cnt, char *err, size_t errlen)
{
    memset(st, 0, sizeof(*st));
    st->dir_fd = -1;
    st->files_per_dir = files_per_dir ? files_per_dir : 1;
    st->base_dir = strdup(base_dir);
    st->tmp_dir = st->base_dir ? join(base_dir, ".tmp") : NULL;
    st->state_path = st->base_dir ? join(base_dir, MSFS_STATE_FILE) : NULL;
    if (!st->tmp_dir || !st->state_path) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    struct stat sb;
    if ((mkdir(base_dir, 0755) < 0 && errno != EEXIST) || stat(base_dir, &sb) < 0) {
        snprintf(err, errlen, "cannot create BaseDir %s: %s", base_dir, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(sb.st_mode)) {
        snprintf(err, errlen, "BaseDir %s is not a directory", base_dir);
        return -1;
    }
    if ((mkdir(st->tmp_dir, 0700) < 0 && errno != EEXIST) ||
        (st->dir_fd = open(st->tmp_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
        snprintf(err, errlen, "cannot create %s: %s", st->tmp_dir, strerror(errno));
        return -1;
    }
    if (flock(st->dir_fd, LOCK_EX | LOCK_NB) < 0) {
        snprintf(err, errlen, "BaseDir %s is in use by another msfs (%s)", base_dir,
                 strerror(errno));
        return -1;
    }
    uint64_t state_cnt;
    if (empty_tmp_dir(st, err, errlen) < 0 || read_state(st, &state_cnt, err, errlen) < 0)
        return -1;
    st->file_cnt = state_cnt > conf_cnt ? state_cnt : conf_cnt;
    if (persist(st, st->file_cnt, err, errlen) < 0)
        return -1;
    if (pthread_mutex_init(&st->lock, NULL) != 0) {
        snprintf(err, errlen, "cannot create a mutex");
        return -1;
    }
    st->lock_ok = 1;
    return 0;
}

void msfs_store_close(msfs_store_t *st)
{
    if (st->lock_ok)
        pthread_mutex_destroy(&st->lock);
    if (st->dir_fd >= 0)
        close(st->dir_fd);
    free(st->base_dir);
    free(st->tmp_dir);
    free(st->state_path);
    memset(st, 0, sizeof(*st));
    st->dir_fd = -1;
}

uint64_t msfs_store_count(msfs_store_t *st)
{
    if (!st->lock_ok)
        return st->file_cnt;
    pthread_mutex_lock(&st->lock);
    uint64_t n = st->file_cnt;
    pthread_mutex_unlock(&st->lock);
    return n;
}

/* Creates BaseDir/<D1> and BaseDir/<D1>/<D2> of rel ("D1/D2/name") when missing. */
static int make_dirs(const msfs_store_t *st, const char *rel, char *err, size_t errlen)
{
    char path[4096];
    const char *slash = strchr(rel, '/');
    const char *slash2 = slash ? strchr(slash + 1, '/') : NULL;
    if (!slash2)
        return -1;
    const char *ends[2] = {slash, slash2};
    for (int i = 0; i < 2; i++) {
        int n = snprintf(path, sizeof(path), "%s/%.*s", st->base_dir, (int)(ends[i] - rel), rel);
        if (n < 0 || (size_t)n >= sizeof(path) || (mkdir(path, 0755) < 0 && errno != EEXIST)) {
            snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
            return -1;
        }
    }
    return 0;
}

static int place_numbered(msfs_store_t *st, const char *tmp, uint64_t cnt,
                          const msfs_name_t *name, char *rel, size_t rellen, char *err,
                          size_t errlen);

/* Moves tmp to path unless path exists: 0, -1 (errno EEXIST when it exists). */
static int place(const char *tmp, const char *path)
{
    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS)
        return -1;
    /* File systems without RENAME_NOREPLACE: link() never replaces either. */
    if (link(tmp, path) < 0)
        return -1;
    unlink(tmp);
    return 0;
}

/* Takes the next file number (FileCnt is persisted first: a crash never reuses it). */
static int next_number(msfs_store_t *st, uint64_t *cnt, char *err, size_t errlen)
{
    pthread_mutex_lock(&st->lock);
    *cnt = st->file_cnt;
    int rc = persist(st, *cnt + 1, err, errlen);
    if (rc == 0)
        st->file_cnt = *cnt + 1;
    pthread_mutex_unlock(&st->lock);
    return rc;
}

/* Syncs and closes the temp file fd; on failure it is gone (unlinked) and err says why. */
static int sync_close(int fd, const char *tmp, char *err, size_t errlen)
{
    if (fsync(fd) < 0) {
        snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        return -1;
    }
    if (close(fd) < 0) {
        snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

int msfs_store_put(msfs_store_t *st, const void *data, size_t len, const msfs_name_t *name,
                   char *rel, size_t rellen, char *err, size_t errlen)
{
    uint64_t cnt;
    int rc = next_number(st, &cnt, err, errlen);
    if (rc < 0)
        return -1;

    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s/%llu.part", st->tmp_dir, (unsigned long long)cnt);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
        return -1;
    }
    if (write_all(fd, data, len) < 0) {
        snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        return -1;
    }
    if (sync_close(fd, tmp, err, errlen) < 0)
        return -1;
    return place_numbered(st, tmp, cnt, name, rel, rellen, err, errlen);
}

/* Links the written temp file tmp under the name of number cnt; the temp file is gone after. */
static int place_numbered(msfs_store_t *st, const char *tmp, uint64_t cnt,
                          const msfs_name_t *name, char *rel, size_t rellen, char *err,
                          size_t errlen)
{
    char path[4096];
    struct timeval tv;
    gettimeofday(&tv, NULL);
    uint64_t usec = (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
    for (int attempt = 0;; attempt++, usec++) {
        if (msfs_layout_rel_path(rel, rellen, cnt, st->files_per_dir, usec, name) < 0) {
            snprintf(err, errlen, "stored name too long");
            break;
        }
        snprintf(path, sizeof(path), "%s/%s", st->base_dir, rel);
        if (attempt == 0 && make_dirs(st, rel, err, errlen) < 0)
            break;
        if (place(tmp, path) == 0)
            return 0;
        if (errno != EEXIST || attempt >= 16) {
            snprintf(err, errlen, "cannot store %s: %s", path, strerror(errno));
            break;
        }
    }
    unlink(tmp);
    return -1;
}

int msfs_store_tmp_create(msfs_store_t *st, char *path, size_t pathlen, char *err,
                          size_t errlen)
{
    uint64_t seq = __atomic_add_fetch(&st->tmp_seq, 1, __ATOMIC_RELAXED);
    snprintf(path, pathlen, "%s/up%llu.part", st->tmp_dir, (unsigned long long)seq);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
    return fd;
}

int msfs_store_put_tmp(msfs_store_t *st, int fd, const char *tmp, const msfs_name_t *name,
                       char *rel, size_t rellen, char *err, size_t errlen)
{
    if (sync_close(fd, tmp, err, errlen) < 0)
        return -1;
    uint64_t cnt;
    int rc = next_number(st, &cnt, err, errlen);
    if (rc < 0) {
        unlink(tmp);
        return -1;
    }
    return place_numbered(st, tmp, cnt, name, rel, rellen, err, errlen);
}

int msfs_store_get(msfs_store_t *st, const char *rel, size_t max, uint8_t **data, size_t *len,
                   char *err, size_t errlen)
{
    char path[4096];
    *data = NULL;
    *len = 0;
    int n = snprintf(path, sizeof(path), "%s/%s", st->base_dir, rel);
    if (n < 0 || (size_t)n >= sizeof(path))
        return -1;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
            return -1;
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return -3;
    }
    struct stat sb;
    if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return -1;
    }
    if ((uint64_t)sb.st_size > max) {
        snprintf(err, errlen, "%s has %lld bytes, more than the %zu that can be served", path,
                 (long long)sb.st_size, max);
        close(fd);
        return -2;
    }
    size_t size = (size_t)sb.st_size;
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf) {
        snprintf(err, errlen, "out of memory reading %s", path);
        close(fd);
        return -3;
    }
    size_t got = 0;
    while (got < size) {
        ssize_t r = pread(fd, buf + got, size - got, (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
            free(buf);
            close(fd);
            return -3;
        }
        if (r == 0)
            break; /* shrank meanwhile: serve what is there */
        got += (size_t)r;
    }
    close(fd);
    *data = buf;
    *len = got;
    return 0;
}
