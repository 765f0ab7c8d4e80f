/* workers: the threads that run requests, so that the reactor never waits on MariaDB, Redis
 * or a password hash.
 *
 * Ordering: every peer connection has a lane; the jobs of one lane run one at a time, in the
 * order they were submitted, so the answers of one connection leave in request order and the
 * writes of one connection happen in request order (two sign changes of one user cannot
 * overtake each other; msg_server keeps a user on one db_proxy connection). Different lanes run
 * in parallel on any free thread: a lane that is ready goes to the back of one shared run
 * queue, a worker takes the lane at the front, runs ONE of its jobs and, if the lane has more,
 * puts it at the back again — so connections share the threads fairly and one busy connection
 * cannot starve the others. A job with run_many takes the jobs of the same kind queued right
 * behind it along (up to max_batch), and they run as one; the lane's order holds, since they
 * were consecutive and their answers are handed over in order. A small batch also takes such
 * jobs from the heads of other waiting lanes (those lanes wait for it like for their own).
 * (Hashing connections onto fixed threads would also keep the order, but leaves threads idle
 * while others have a backlog.)
 *
 * Bounds: the work admitted and not yet finished is capped both in number of jobs and in bytes
 * (max_jobs, max_bytes); dbp_workers_submit refuses beyond them and the caller answers with
 * an error instead of queueing. A job stays charged until its owner calls dbp_workers_settle
 * (i.e. until its answer has been handed to the connection), so answers waiting for the
 * reactor count too. */
#ifndef DBP_WORKERS_H
#define DBP_WORKERS_H

#include <stddef.h>
#include <stdint.h>

typedef struct dbp_workers_s dbp_workers_t;
typedef struct dbp_job_s dbp_job_t;
typedef struct dbp_lane_s dbp_lane_t;

struct dbp_job_s {
    dbp_job_t *next;                         /* lane queue link */
    dbp_lane_t *lane;                        /* where it was submitted */
    size_t cost;                             /* bytes charged to the budget */
    void (*run)(dbp_job_t *j, void *thread); /* on a worker (thread = its thread_start value) */
    /* Optional: runs n jobs at once — j and the n - 1 jobs linked by next after it, all with
     * this same run_many (which must mean one kind of job), that were waiting consecutively at
     * the head of the lane (at most max_batch; n may be 1) and, when that is less than a
     * quarter of max_batch, at the head of other lanes too (up to half of it; each lane's
     * jobs stay consecutive and in order). Used instead of run, e.g. to store many messages
     * in one transaction. Each job is still released on its own afterwards. */
    void (*run_many)(dbp_job_t *j, size_t n, void *thread);
    /* After run (ran = 1) or instead of it (ran = 0: cancelled, or the workers stopped);
     * frees the job. Runs without locks held, on any thread. */
    void (*release)(dbp_job_t *j, int ran);
};

/* A serial queue, embedded by its owner. All fields belong to dbp_workers. */
struct dbp_lane_s {
    dbp_job_t *head, *tail;         /* waiting jobs, oldest first */
    dbp_lane_t *rprev, *rnext;      /* links in the run queue while READY */
    int state;                      /* idle, ready (in the run queue) or running */
    int closed;                     /* cancelled: takes no more jobs */
};

typedef struct dbp_workers_opts_s {
    int threads;                  /* worker threads (>= 1) */
    size_t max_jobs;              /* jobs admitted and not settled, at most */
    size_t max_bytes;             /* their cost, at most */
    void *(*thread_start)(void *arg); /* per-thread setup; its result is passed to job->run */
    void (*thread_stop)(void *thread, void *arg); /* per-thread teardown */
    void *arg;                    /* for thread_start / thread_stop */
    size_t max_batch;             /* jobs per run_many call, at most (0: 1) */
    size_t max_batches;           /* run_many calls at once, at most (0: no limit); lanes
                                   * waiting for one pile up, and are merged into one batch */
} dbp_workers_opts_t;

/* Starts the threads. NULL on failure. */
dbp_workers_t *dbp_workers_new(const dbp_workers_opts_t *o);
/* Stops: running jobs finish, the threads are joined, waiting jobs are released (ran = 0).
 * The budget calls still work afterwards, until dbp_workers_free. */
void dbp_workers_stop(dbp_workers_t *w);
/* Stops if needed, and frees. */
void dbp_workers_free(dbp_workers_t *w);

void dbp_lane_init(dbp_lane_t *lane);
/* Queues j on lane. 0 ok; -1 when the budget is exhausted, the lane is closed or the workers
 * are stopping (j untouched: the caller still owns it and nothing was charged). With force,
 * the budget may be exceeded up to twice its bounds (+ 1024 jobs), for small jobs that must
 * keep their place in the lane, such as an error answer behind earlier requests. */
int dbp_workers_submit(dbp_workers_t *w, dbp_lane_t *lane, dbp_job_t *j, int force);
/* 1 when the lane has a job waiting or running. */
int dbp_lane_busy(dbp_workers_t *w, dbp_lane_t *lane);
/* Cancels the jobs still waiting on lane (they are released with ran = 0) and refuses new
 * ones. A running job goes on; the lane must stay allocated until its release ran. */
void dbp_lane_close(dbp_workers_t *w, dbp_lane_t *lane);
/* Gives back the budget of one job: its cost plus any bytes charged for it since. */
void dbp_workers_settle(dbp_workers_t *w, size_t cost);
/* Charges extra bytes (e.g. an answer waiting for the reactor) to the budget; they are given
 * back as part of the job's settle. */
void dbp_workers_charge(dbp_workers_t *w, size_t bytes);
/* Jobs admitted and not settled. */
size_t dbp_workers_pending(dbp_workers_t *w);

#endif
