/* msfs: shared types. The I/O-free pieces (multipart parsing, file-name rules, the on-disk
 * layout and URL mapping, thumbnail names, byte ranges), the walk over the stored files
 * (retention sweep, ttadm msfs usage), the store that writes and reads files on worker
 * threads, the libvips thumbnails, the bounded worker pools, and the daemon struct that ties
 * them to the HTTP listeners. */
#ifndef MSFS_H
#define MSFS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "tt_daemon.h"

/* ---- upload answer codes (PROTOCOL.md §5.2; 12 and 13 are added by this suite) ---- */
#define MSFS_OK 0
#define MSFS_E_TOO_BIG 1       /* body or file over the limit */
#define MSFS_E_NO_DISPOSITION 2 /* no part has a Content-Disposition header */
#define MSFS_E_NO_FILENAME 3   /* no part has a usable filename */
#define MSFS_E_NO_BOUNDARY 4   /* request Content-Type is not multipart or has no boundary */
#define MSFS_E_NO_DELIMITER 5  /* the boundary delimiter is not in the body */
#define MSFS_E_PART_HEADER 6   /* a part header is malformed (no ':', open quote, too long) */
#define MSFS_E_PART_HEADERS_END 7 /* a part's headers are not closed by an empty line */
#define MSFS_E_TRUNCATED 8     /* a part is not closed by a delimiter */
#define MSFS_E_TYPE 9          /* extension empty, longer than 15 bytes or with odd bytes */
#define MSFS_E_NO_DOT 10       /* file name without '.' */
#define MSFS_E_NAME_LONG 11    /* file name longer than 255 bytes */
#define MSFS_E_STORE 12        /* the file could not be stored (HTTP 500) */
#define MSFS_E_BUSY 13         /* the upload queue is full or the server stops (HTTP 503) */

#define MSFS_NAME_MAX 255      /* longest accepted upload file name */
#define MSFS_TYPE_MAX 15       /* longest accepted extension */
#define MSFS_BOUNDARY_MAX 200  /* longest accepted multipart boundary */
#define MSFS_PART_HEADER_MAX 8192 /* longest header block of one part */
#define MSFS_GROUP "g0"        /* the "group" prefix of every returned path */
/* Responses are queued whole in the connection's output (tt_conn's 8 MiB default cap):
 * nothing larger can be stored or served. */
#define MSFS_MAX_SERVE ((size_t)8 * 1024 * 1024 - 4096)

/* ---- multipart/form-data (multipart.c) ---- */

/* One part of a multipart body; pointers point into the body. */
typedef struct msfs_part_s {
    const uint8_t *data;            /* payload */
    size_t len;                     /* payload bytes */
    int has_disposition;            /* a Content-Disposition header was present */
    int has_filename;               /* its filename parameter was present and not empty */
    int filename_bad;               /* the filename holds NUL or control bytes */
    char filename[MSFS_NAME_MAX + 1]; /* filename, unquoted, NUL-terminated, cut at the max */
    size_t filename_len;            /* full filename length (may exceed MSFS_NAME_MAX) */
} msfs_part_t;

/* Boundary of a request Content-Type ("multipart/...; boundary=b", quoted or not, other
 * parameters allowed). 0 with the boundary in out, or MSFS_E_NO_BOUNDARY. */
int msfs_mp_boundary(const char *content_type, char *out, size_t outlen);

/* Iterates over the parts of body. Init, then call next until it returns 0 (closing
 * delimiter reached) or a MSFS_E_* code (> 0); 1 means *part was filled. */
typedef struct msfs_mp_iter_s {
    const uint8_t *body, *end; /* the whole body */
    const uint8_t *pos;        /* start of the next part, NULL before the first delimiter */
    char delim[MSFS_BOUNDARY_MAX + 5]; /* "\r\n--" boundary */
    size_t delim_len;
    int done;                  /* the closing delimiter was seen */
} msfs_mp_iter_t;

void msfs_mp_init(msfs_mp_iter_t *it, const uint8_t *body, size_t len, const char *boundary);
int msfs_mp_next(msfs_mp_iter_t *it, msfs_part_t *part);

/* The first part with a filename. 0 with *part filled, or the MSFS_E_* code: a parse error
 * met before it, MSFS_E_NO_DISPOSITION when no part had one, else MSFS_E_NO_FILENAME. */
int msfs_mp_find_file(const uint8_t *body, size_t len, const char *boundary, msfs_part_t *part);

/* The same search for the first part with a filename, over a body that arrives in chunks of
 * any size, so that an upload is never held whole: the file part's data is handed to data()
 * as it is found (begin() runs first, with its headers), everything else is looked at in a
 * window of MSFS_MPF_WINDOW bytes and dropped. Feed the chunks, then finish; both give 0 or a
 * MSFS_E_* code, and finish gives the code msfs_mp_find_file gives for the whole body. (One
 * difference: a delimiter followed by more spaces than fit in the window is taken as data.)
 * A callback returning < 0 stops the parse with MSFS_E_STORE. */
#define MSFS_MPF_WINDOW (MSFS_PART_HEADER_MAX + MSFS_BOUNDARY_MAX + 256)
typedef struct msfs_mpf_s {
    int state;                 /* MPF_* of multipart.c */
    int code;                  /* the result once known (MSFS_OK while going on) */
    char delim[MSFS_BOUNDARY_MAX + 5]; /* "\r\n--" boundary */
    size_t delim_len;
    int any_disposition;       /* a complete part had a Content-Disposition */
    int in_file;               /* the current part is the file: its data go to data() */
    msfs_part_t part;          /* headers of the current part (data unused, len counted) */
    size_t skip;               /* bytes at the window's start that are not data */
    int (*begin)(void *udata, const msfs_part_t *part);
    int (*data)(void *udata, const uint8_t *p, size_t n);
    void *udata;
    size_t len;                /* bytes in win */
    uint8_t win[MSFS_MPF_WINDOW];
} msfs_mpf_t;

void msfs_mpf_init(msfs_mpf_t *f, const char *boundary,
                   int (*begin)(void *udata, const msfs_part_t *part),
                   int (*data)(void *udata, const uint8_t *p, size_t n), void *udata);
int msfs_mpf_feed(msfs_mpf_t *f, const void *p, size_t n);
/* The body is complete: 0 when the file part was found whole (f->part has its name and len),
 * else the MSFS_E_* code. */
int msfs_mpf_finish(msfs_mpf_t *f);

/* ---- names and layout (layout.c) ---- */

/* What an upload file name contributes to the stored name. */
typedef struct msfs_name_s {
    char type[MSFS_TYPE_MAX + 1]; /* extension after the last '.' */
    int has_size;                 /* the iOS size hint "_<W>x<H>." was present */
    unsigned width, height;       /* the hint's values */
} msfs_name_t;

/* Checks an upload file name (PROTOCOL.md §5.2 rules plus: no '/', '\\', NUL or control
 * bytes; the extension is 1..15 bytes of [A-Za-z0-9_-]). 0 or a MSFS_E_* code. */
int msfs_name_check(const char *name, size_t len, int has_bad_bytes, msfs_name_t *out);

/* Directory of the file with running number cnt: D1 = (cnt / per_dir) / 255,
 * D2 = (cnt % (per_dir * 255)) / per_dir. */
void msfs_layout_dirs(uint64_t cnt, uint64_t per_dir, uint64_t *d1, uint64_t *d2);

/* "<D1>/<D2>/<usec>_<n>.<type>" or "..._<W>x<H>.<type>" into out. -1 if it does not fit. */
int msfs_layout_rel_path(char *out, size_t outlen, uint64_t cnt, uint64_t per_dir,
                         uint64_t usec, const msfs_name_t *name);

/* Maps a download request target "/<group>/<D1>/<D2>/<name>[?query]" to "<D1>/<D2>/<name>"
 * under BaseDir. Only the stored layout is accepted: group [A-Za-z0-9]{1,15}, D1 3..10 digits,
 * D2 3 digits, name "<digits>_<digits>[_<W>x<H>].<type>". -1 for anything else. */
int msfs_layout_map_url(const char *url, char *out, size_t outlen);

/* A thumbnail request: "/<group>/<D1>/<D2>/<stored name>_<W>x<H>.<fmt>" (iOS and Mac ask
 * "<avatar url>_100x100.jpg"), fmt jpg, jpeg, png or webp (any case). */
typedef struct msfs_thumb_s {
    char rel[512];        /* "<D1>/<D2>/<stored name>": the original */
    char cache_rel[600];  /* "<D1>/<D2>/<stored name>_<W>x<H>.<fmt>": the cached thumbnail */
    unsigned width, height; /* the box */
    char fmt[8];          /* "jpg", "png" or "webp" (jpeg is jpg) */
} msfs_thumb_t;

/* 0 with *t filled, -1 not a thumbnail URL, -2 W or H is 0 or over max_side. */
int msfs_layout_map_thumb(const char *url, unsigned max_side, msfs_thumb_t *t);
/* The thumbnail suffix "_<W>x<H>.<fmt>" over [p, end): 0 (w, h, fmt set) or -1. */
int msfs_thumb_suffix(const char *p, const char *end, unsigned *w, unsigned *h, char *fmt,
                      size_t fmtlen);
/* Is name (no directory) a stored file's name / a cached thumbnail's name? */
int msfs_is_stored_name(const char *name);
int msfs_is_thumb_name(const char *name);

/* A Range header against a file of size bytes: 1 a single satisfiable range [*first, *last],
 * -1 not satisfiable (416), 0 nothing usable (absent, not "bytes=", several ranges, malformed:
 * the whole file is served). */
int msfs_range_parse(const char *h, uint64_t size, uint64_t *first, uint64_t *last);

/* Content-Type of a stored file: "image/<ext as written>" for jpg, jpeg, png, gif (any case)
 * as the original, image/webp, image/bmp, audio/ogg for voice (.audio, .ogg, .spx), a few
 * other audio types, else application/octet-stream. */
void msfs_layout_content_type(const char *rel_path, char *out, size_t outlen);

/* ---- the walk over the stored files (walk.c) ---- */

typedef struct msfs_entry_s {
    const char *dir_rel; /* "<D1>/<D2>" */
    const char *name;    /* file name in it */
    int is_thumb;        /* a cached thumbnail (else a stored file) */
    uint64_t size;       /* bytes */
    time_t mtime;        /* last change */
} msfs_entry_t;

/* Called for every entry with the fd of its directory; < 0 stops the walk. */
typedef int (*msfs_walk_fn)(void *arg, int dirfd, const msfs_entry_t *e);
/* Every stored file and thumbnail under base_dir. 0, fn's < 0, or -1 (reason in err). */
int msfs_walk(const char *base_dir, msfs_walk_fn fn, void *arg, char *err, size_t errlen);

typedef struct msfs_sweep_stats_s {
    uint64_t files;  /* stored files deleted */
    uint64_t thumbs; /* thumbnails deleted (their original was gone) */
    uint64_t bytes;  /* bytes of both */
} msfs_sweep_stats_t;

/* Deletes the stored files last changed before cutoff, then the thumbnails whose original is
 * gone, directory by directory; stops early once *stop (read atomically; may be NULL) is set.
 * 0 or -1 (BaseDir unreadable; reason in err). */
int msfs_sweep(const char *base_dir, time_t cutoff, const int *stop, msfs_sweep_stats_t *st,
               char *err, size_t errlen);

/* ---- the store (store.c): disk I/O, called on worker threads ---- */

typedef struct msfs_store_s {
    char *base_dir;          /* storage root */
    char *tmp_dir;           /* BaseDir/.tmp: uploads are written here, then linked in place */
    char *state_path;        /* BaseDir/msfs.state: FileCnt, rewritten after every upload */
    uint64_t files_per_dir;  /* FilesPerDir */
    pthread_mutex_t lock;    /* guards file_cnt and the state file */
    uint64_t file_cnt;       /* number the next file gets */
    int lock_ok;             /* lock was initialised */
    int dir_fd;              /* BaseDir/.tmp, flock'ed so that one msfs at a time uses BaseDir */
    uint64_t tmp_seq;        /* last number of a streamed upload's temp file */
} msfs_store_t;

#define MSFS_STATE_FILE "msfs.state"

/* Creates BaseDir (its parent must exist) and BaseDir/.tmp, locks .tmp (a second msfs on the
 * same BaseDir fails here), empties it (leftovers of a crash), reads the state file and starts
 * counting at max(state, conf_cnt), then writes the state back (so an unwritable BaseDir fails
 * here). -1 with the reason in err. */
int msfs_store_open(msfs_store_t *st, const char *base_dir, uint64_t files_per_dir,
                    uint64_t conf_cnt, char *err, size_t errlen);
void msfs_store_close(msfs_store_t *st);
/* Stores data as a new file: takes the next number (persisted first), writes a temp file,
 * syncs it and links it under its final name, which is never an existing file. 0 with
 * "<D1>/<D2>/<name>" in rel, -1 with the reason in err. */
int msfs_store_put(msfs_store_t *st, const void *data, size_t len, const msfs_name_t *name,
                   char *rel, size_t rellen, char *err, size_t errlen);
/* A new temp file BaseDir/.tmp/up<n>.part for an upload that arrives in pieces (any thread):
 * its fd (path in path), or -1 with the reason in err. */
int msfs_store_tmp_create(msfs_store_t *st, char *path, size_t pathlen, char *err,
                          size_t errlen);
/* Stores the complete temp file: syncs and closes fd, takes the next number (persisted first)
 * and links tmp under its final name. The temp file is gone after, whatever the result.
 * 0 with "<D1>/<D2>/<name>" in rel, -1 with the reason in err. */
int msfs_store_put_tmp(msfs_store_t *st, int fd, const char *tmp, const msfs_name_t *name,
                       char *rel, size_t rellen, char *err, size_t errlen);
/* write(2) until all is written (EINTR retried). 0 or -1 (errno set). */
int msfs_write_all(int fd, const void *data, size_t len);
/* Reads BaseDir/<rel> whole (regular files only, no symlinks, at most max bytes).
 * 0 with a malloc'ed *data, -1 not found, -2 too large, -3 other error (reason in err). */
int msfs_store_get(msfs_store_t *st, const char *rel, size_t max, uint8_t **data, size_t *len,
                   char *err, size_t errlen);
uint64_t msfs_store_count(msfs_store_t *st);

/* ---- thumbnails (thumb.c, libvips) ---- */

#define MSFS_THUMB_MISSING (-1)   /* no such original (404) */
#define MSFS_THUMB_NOT_IMAGE (-2) /* not an image, undecodable or too many pixels (415) */
#define MSFS_THUMB_ERROR (-3)     /* encoding or memory (500) */

/* Starts libvips once per process (before any worker). -1 with the reason in err. */
int msfs_thumb_init(const char *argv0, char *err, size_t errlen);
void msfs_thumb_shutdown(void);
typedef struct msfs_thumb_limits_s {
    uint64_t max_pixels; /* ThumbMaxPixels: larger originals are refused */
    unsigned cache_max;  /* ThumbCacheMax: cached sizes per original */
} msfs_thumb_limits_t;

/* The thumbnail t: from the cache when it is there and not older than the original (*cached
 * = 1), else made from the original, cached (unless the original has cache_max cached sizes
 * already) and returned. 0 with a malloc'ed *data (err may then say why it was not cached),
 * or MSFS_THUMB_*. On a worker thread. */
int msfs_thumb_get(msfs_store_t *st, const msfs_thumb_t *t, const msfs_thumb_limits_t *lim,
                   uint8_t **data, size_t *len, int *cached, char *err, size_t errlen);

/* ---- worker pools (pool.c) ---- */

typedef struct msfs_job_s msfs_job_t;
struct msfs_job_s {
    msfs_job_t *next;                /* queue link */
    void (*run)(msfs_job_t *job);    /* on a worker thread */
    void (*done)(msfs_job_t *job);   /* on the loop thread; answers and frees the job */
    int cancelled;                   /* 1: never ran (the pool stopped first) */
};

typedef struct msfs_pool_s {
    const char *name;        /* for the logs: "get" or "post" */
    tt_loop_t *loop;         /* where done() runs */
    pthread_mutex_t lock;    /* guards the queue and quit */
    pthread_cond_t cond;     /* signalled when a job is queued or quit is set */
    msfs_job_t *head, *tail; /* jobs not started yet */
    size_t queued;           /* length of the queue */
    msfs_job_t *done_head, *done_tail; /* finished jobs waiting for the loop thread */
    int drain_posted;        /* a drain of the finished jobs is posted to the loop */
    size_t max_queued;       /* bound of the queue */
    int quit;                /* workers exit once set */
    pthread_t *threads;      /* the workers */
    int nthreads;            /* started workers */
    int started;             /* lock and cond were initialised */
} msfs_pool_t;

/* Starts nthreads workers. -1 with the reason in err. */
int msfs_pool_start(msfs_pool_t *p, tt_loop_t *loop, const char *name, int nthreads,
                    size_t max_queued, char *err, size_t errlen);
/* Queues a job; -1 when the queue is full or the pool stops (the caller keeps the job). */
int msfs_pool_submit(msfs_pool_t *p, msfs_job_t *job);
/* On the loop thread: lets running jobs finish, joins the workers, calls done() of the
 * finished jobs not yet handed back, then of every job that never ran with cancelled = 1. */
void msfs_pool_stop(msfs_pool_t *p);

/* ---- the daemon (main.c, http.c) ---- */

typedef struct msfs_s {
    tt_daemon_t d;              /* process life, config, loop */
    tt_http_limits_t http;      /* HTTP limits */
    const char *base_dir;       /* BaseDir */
    const char *public_url;     /* PublicUrl: URL prefix when the Host header is unusable */
    uint64_t files_per_dir;     /* FilesPerDir */
    uint64_t conf_file_cnt;     /* FileCnt of the config (a start value for old deployments) */
    size_t max_file;            /* MaxFileSize */
    int get_threads;            /* GetThreadCount */
    int post_threads;           /* PostThreadCount */
    size_t get_queue;           /* GetQueueSize */
    size_t post_queue;          /* PostQueueSize */
    unsigned thumb_max_side;    /* ThumbMaxSize: largest W and H of a thumbnail */
    msfs_thumb_limits_t thumb_lim; /* ThumbMaxPixels, ThumbCacheMax */
    int thumb_threads;          /* ThumbThreadCount */
    size_t thumb_queue;         /* ThumbQueueSize */
    uint32_t retention_days;    /* RetentionDays (0: keep everything) */
    uint32_t sweep_secs;        /* RetentionSweepSecs: period of the sweep */
    int thumb_ok;               /* libvips was started */
    msfs_store_t store;         /* the files */
    msfs_pool_t get_pool;       /* download readers */
    msfs_pool_t post_pool;      /* upload writers */
    msfs_pool_t thumb_pool;     /* thumbnail makers (libvips) */
    msfs_pool_t sweep_pool;     /* the retention sweep (one thread, one job at a time) */
    tt_timer_t sweep_timer;     /* starts a sweep every sweep_secs */
    int sweep_timer_on;         /* sweep_timer was started */
    int sweep_running;          /* a sweep job is out */
    int sweep_stop;             /* set (atomically) at the stop: a running sweep ends early */
    uint64_t uploads, downloads;/* answered successfully */
    uint64_t thumbs_made, thumbs_cached; /* thumbnails made / served from the cache */
    uint64_t refused_busy;      /* requests refused because a queue was full */
} msfs_t;

/* Starts the retention sweep timer (nothing when RetentionDays is 0). */
void msfs_sweep_start(msfs_t *m);

/* Room for the multipart framing and the iOS text part around a file of MaxFileSize: a
 * Content-Length over MaxFileSize + this is refused before the body is read. */
#define MSFS_FORM_SLACK (64 * 1024)

/* The HTTP handler: GET and HEAD download (single ranges too), POST uploads, else 403. */
void msfs_http_request(tt_http_req_t *req, void *udata);
/* Streams upload bodies: parsed as they arrive, the file part written to a temp file under
 * BaseDir/.tmp (removed when the upload fails or the client leaves). */
extern const tt_http_stream_t msfs_http_stream;

/* The upload answer body (PROTOCOL.md §5.2): for MSFS_OK, path "g0/<rel>" and url
 * "<url_prefix>/g0/<rel>"; else the error JSON of code. rel and url_prefix must not need JSON
 * escaping (they are checked before). Returns the length written into out (NUL-terminated). */
size_t msfs_answer_json(char *out, size_t outlen, int code, const char *rel,
                        const char *url_prefix);
/* HTTP status of an upload answer code: 200, 500 (MSFS_E_STORE) or 503 (MSFS_E_BUSY). */
int msfs_answer_status(int code);
/* Is a Host header value usable in a URL (host or IP, optional port, no odd bytes)? */
int msfs_host_ok(const char *host);

#endif
