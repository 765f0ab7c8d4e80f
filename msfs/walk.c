/* The walk over the stored files: every leaf directory BaseDir/<D1>/<D2>/ of the layout, and
 * in it the stored files and cached thumbnails (names of the layout only: BaseDir/.tmp, the
 * state file and anything else are never touched). Used by the retention sweep (a worker
 * thread of msfs) and by `ttadm msfs usage`. Regular files only; symlinks are skipped. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "msfs.h"

static int all_digits(const char *s, size_t min, size_t max)
{
    size_t n = strlen(s);
    if (n < min || n > max)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

/* Calls fn(arg, dirfd, "D1/D2") for every leaf directory; stops at the first fn < 0. */
static int for_each_leaf(const char *base_dir, int (*fn)(void *arg, int dirfd, const char *rel),
                         void *arg, char *err, size_t errlen)
{
    DIR *top = opendir(base_dir);
    if (!top) {
        snprintf(err, errlen, "cannot read %s: %s", base_dir, strerror(errno));
        return -1;
    }
    int rc = 0;
    struct dirent *e1;
    while (rc == 0 && (e1 = readdir(top)) != NULL) {
        if (!all_digits(e1->d_name, 3, 10))
            continue;
        int fd1 = openat(dirfd(top), e1->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        DIR *mid = fd1 >= 0 ? fdopendir(fd1) : NULL;
        if (!mid) {
            if (fd1 >= 0)
                close(fd1);
            continue;
        }
        struct dirent *e2;
        while (rc == 0 && (e2 = readdir(mid)) != NULL) {
            if (!all_digits(e2->d_name, 3, 3))
                continue;
            int fd2 = openat(dirfd(mid), e2->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
                                                         O_CLOEXEC);
            if (fd2 < 0)
                continue;
            char rel[32];
            snprintf(rel, sizeof(rel), "%.10s/%.3s", e1->d_name, e2->d_name);
            rc = fn(arg, fd2, rel);
            close(fd2);
        }
        closedir(mid);
    }
    closedir(top);
    return rc;
}

/* Calls fn for every stored file / thumbnail of the leaf directory dirfd. */
static int for_each_file(int dirfd_, const char *rel, msfs_walk_fn fn, void *arg)
{
    int fd = dup(dirfd_);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    rewinddir(d); /* the dup shares the offset: a second pass starts at the top again */
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        msfs_entry_t ent = {.dir_rel = rel, .name = e->d_name};
        if (msfs_is_stored_name(e->d_name))
            ent.is_thumb = 0;
        else if (msfs_is_thumb_name(e->d_name))
            ent.is_thumb = 1;
        else
            continue;
        struct stat sb;
        if (fstatat(dirfd_, e->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(sb.st_mode))
            continue;
        ent.size = (uint64_t)sb.st_size;
        ent.mtime = sb.st_mtime;
        rc = fn(arg, dirfd_, &ent);
    }
    closedir(d);
    return rc;
}

typedef struct walk_arg_s {
    msfs_walk_fn fn;
    void *arg;
} walk_arg_t;

static int walk_leaf(void *arg, int dirfd_, const char *rel)
{
    walk_arg_t *w = arg;
    return for_each_file(dirfd_, rel, w->fn, w->arg);
}

int msfs_walk(const char *base_dir, msfs_walk_fn fn, void *arg, char *err, size_t errlen)
{
    walk_arg_t w = {fn, arg};
    return for_each_leaf(base_dir, walk_leaf, &w, err, errlen);
}

/* ---- the retention sweep ---- */

typedef struct sweep_s {
    time_t cutoff;
    const int *stop;
    msfs_sweep_stats_t *st;
} sweep_t;

/* Pass 1: originals older than the cutoff. */
static int sweep_old(void *arg, int dirfd_, const msfs_entry_t *e)
{
    sweep_t *s = arg;
    if (e->is_thumb || e->mtime >= s->cutoff)
        return 0;
    if (unlinkat(dirfd_, e->name, 0) == 0) {
        s->st->files++;
        s->st->bytes += e->size;
    }
    return 0;
}

/* Pass 2: thumbnails whose original is gone. */
static int sweep_orphans(void *arg, int dirfd_, const msfs_entry_t *e)
{
    sweep_t *s = arg;
    if (!e->is_thumb)
        return 0;
    char orig[MSFS_NAME_MAX + 1];
    const char *us = strrchr(e->name, '_');
    size_t n = us ? (size_t)(us - e->name) : 0;
    if (n == 0 || n >= sizeof(orig))
        return 0;
    memcpy(orig, e->name, n);
    orig[n] = '\0';
    struct stat sb;
    if (fstatat(dirfd_, orig, &sb, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT)
        return 0;
    if (unlinkat(dirfd_, e->name, 0) == 0) {
        s->st->thumbs++;
        s->st->bytes += e->size;
    }
    return 0;
}

static int sweep_leaf(void *arg, int dirfd_, const char *rel)
{
    sweep_t *s = arg;
    if (s->stop && __atomic_load_n(s->stop, __ATOMIC_RELAXED))
        return 1; /* msfs stops: the rest waits for the next sweep */
    for_each_file(dirfd_, rel, sweep_old, s);
    for_each_file(dirfd_, rel, sweep_orphans, s);
    return 0;
}

int msfs_sweep(const char *base_dir, time_t cutoff, const int *stop, msfs_sweep_stats_t *st,
               char *err, size_t errlen)
{
    memset(st, 0, sizeof(*st));
    sweep_t s = {cutoff, stop, st};
    return for_each_leaf(base_dir, sweep_leaf, &s, err, errlen) < 0 ? -1 : 0;
}
