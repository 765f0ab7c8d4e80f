#include "workers.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

enum { LANE_IDLE, LANE_READY, LANE_RUNNING };

struct dbp_workers_s {
    dbp_workers_opts_t o;           /* options */
    pthread_mutex_t mu;             /* guards everything below and every lane */
    pthread_cond_t cv;              /* a lane became ready, or stop */
    dbp_lane_t *rq_head, *rq_tail;  /* run queue: lanes with waiting jobs, not running */
    size_t jobs, bytes;             /* admitted, not settled */
    size_t batches;                 /* run_many calls running */
    int stopping;                   /* no more jobs */
    int stopped;                    /* dbp_workers_stop ran */
    pthread_t *tids;                /* the threads */
    int nthreads;                   /* started */
};

void dbp_lane_init(dbp_lane_t *lane)
{
    memset(lane, 0, sizeof(*lane));
    lane->state = LANE_IDLE;
}

static void rq_push(dbp_workers_t *w, dbp_lane_t *lane)
{
    lane->rnext = NULL;
    lane->rprev = w->rq_tail;
    if (w->rq_tail)
        w->rq_tail->rnext = lane;
    else
        w->rq_head = lane;
    w->rq_tail = lane;
    lane->state = LANE_READY;
}

static void rq_remove(dbp_workers_t *w, dbp_lane_t *lane)
{
    if (lane->rprev)
        lane->rprev->rnext = lane->rnext;
    else
        w->rq_head = lane->rnext;
    if (lane->rnext)
        lane->rnext->rprev = lane->rprev;
    else
        w->rq_tail = lane->rprev;
    lane->rprev = lane->rnext = NULL;
}

#define MERGE_LANES 64 /* lanes one small batch takes jobs from, at most */

/* The first lane of the run queue that may run now: with max_batches batches running, a lane
 * whose next job is a batch waits (and the batches that run meanwhile take its jobs along
 * when they are small), others go ahead. NULL: none. Called with the lock held. */
static dbp_lane_t *next_lane(dbp_workers_t *w)
{
    if (!w->o.max_batches || w->batches < w->o.max_batches)
        return w->rq_head;
    for (dbp_lane_t *l = w->rq_head; l; l = l->rnext)
        if (!l->head->run_many)
            return l;
    return NULL;
}

/* Detaches the jobs at the head of lane that run together with the first one (all of them
 * with the same run_many, while *n stays under max; a job without run_many alone) and
 * returns the last one (its next is NULL). *n counts them. Called with the lock held. */
static dbp_job_t *take(dbp_lane_t *lane, size_t max, size_t *n)
{
    dbp_job_t *j = lane->head, *last = j;
    (*n)++;
    if (j->run_many)
        while (*n < max && last->next && last->next->run_many == j->run_many) {
            last = last->next;
            (*n)++;
        }
    lane->head = last->next;
    if (!lane->head)
        lane->tail = NULL;
    last->next = NULL;
    return last;
}

static void *worker_main(void *arg)
{
    dbp_workers_t *w = arg;
    void *thread = w->o.thread_start ? w->o.thread_start(w->o.arg) : NULL;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        dbp_lane_t *lane, *merged[MERGE_LANES];
        while (!w->stopping && !(lane = next_lane(w)))
            pthread_cond_wait(&w->cv, &w->mu);
        if (w->stopping)
            break;
        rq_remove(w, lane);
        lane->state = LANE_RUNNING;
        size_t max = w->o.max_batch ? w->o.max_batch : 1, n = 0, nl = 1;
        dbp_job_t *j = lane->head, *last = take(lane, max, &n);
        merged[0] = lane;
        if (j->run_many && n < max / 4) {
            /* A small batch: jobs of the same kind waiting at the head of other lanes join
             * it (while it stays under half the maximum), so that a light load does not cost
             * one transaction per message. A busy lane keeps its own batches, run in
             * parallel with the others. */
            for (dbp_lane_t *o = w->rq_head, *next; o && n < max / 2 && nl < MERGE_LANES;
                 o = next) {
                next = o->rnext;
                if (o->head->run_many != j->run_many)
                    continue;
                rq_remove(w, o);
                o->state = LANE_RUNNING;
                last->next = o->head;
                last = take(o, max / 2, &n);
                merged[nl++] = o;
            }
        }
        if (j->run_many)
            w->batches++;
        pthread_mutex_unlock(&w->mu);

        if (j->run_many)
            j->run_many(j, n, thread);
        else
            j->run(j, thread);

        pthread_mutex_lock(&w->mu);
        if (j->run_many && w->batches-- == w->o.max_batches)
            pthread_cond_broadcast(&w->cv); /* lanes held back may go now */
        for (size_t k = 0; k < nl; k++) {
            dbp_lane_t *l = merged[k];
            if (l->head && !l->closed) {
                rq_push(w, l); /* to the back: other connections get their turn */
                if (k > 0)
                    pthread_cond_signal(&w->cv);
            } else {
                l->state = LANE_IDLE;
            }
        }
        pthread_mutex_unlock(&w->mu);
        while (j) { /* may free a lane's owner: the lanes are not touched after this */
            dbp_job_t *next = j->next;
            j->release(j, 1);
            j = next;
        }
        pthread_mutex_lock(&w->mu);
    }
    pthread_mutex_unlock(&w->mu);
    if (w->o.thread_stop)
        w->o.thread_stop(thread, w->o.arg);
    return NULL;
}

dbp_workers_t *dbp_workers_new(const dbp_workers_opts_t *o)
{
    if (o->threads < 1)
        return NULL;
    dbp_workers_t *w = calloc(1, sizeof(*w));
    if (!w)
        return NULL;
    w->o = *o;
    w->tids = calloc((size_t)o->threads, sizeof(*w->tids));
    if (!w->tids) {
        free(w);
        return NULL;
    }
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    for (int i = 0; i < o->threads; i++) {
        if (pthread_create(&w->tids[i], NULL, worker_main, w) != 0) {
            dbp_workers_free(w); /* joins the ones started */
            return NULL;
        }
        pthread_mutex_lock(&w->mu);
        w->nthreads++;
        pthread_mutex_unlock(&w->mu);
    }
    return w;
}

void dbp_workers_stop(dbp_workers_t *w)
{
    pthread_mutex_lock(&w->mu);
    if (w->stopped) {
        pthread_mutex_unlock(&w->mu);
        return;
    }
    w->stopped = 1;
    w->stopping = 1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    for (int i = 0; i < w->nthreads; i++)
        pthread_join(w->tids[i], NULL);
    w->nthreads = 0;
    /* What never ran: every lane with waiting jobs is in the run queue now. */
    dbp_job_t *left = NULL, **tail = &left;
    pthread_mutex_lock(&w->mu);
    while (w->rq_head) {
        dbp_lane_t *lane = w->rq_head;
        rq_remove(w, lane);
        lane->state = LANE_IDLE;
        *tail = lane->head;
        if (lane->head)
            tail = &lane->tail->next;
        lane->head = lane->tail = NULL;
    }
    pthread_mutex_unlock(&w->mu);
    while (left) {
        dbp_job_t *next = left->next;
        left->release(left, 0);
        left = next;
    }
}

void dbp_workers_free(dbp_workers_t *w)
{
    if (!w)
        return;
    dbp_workers_stop(w);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w->tids);
    free(w);
}

int dbp_workers_submit(dbp_workers_t *w, dbp_lane_t *lane, dbp_job_t *j, int force)
{
    size_t max_jobs = force ? 2 * w->o.max_jobs + 1024 : w->o.max_jobs;
    size_t max_bytes = force ? 2 * w->o.max_bytes : w->o.max_bytes;
    pthread_mutex_lock(&w->mu);
    if (w->stopping || lane->closed || w->jobs + 1 > max_jobs || w->bytes + j->cost > max_bytes) {
        pthread_mutex_unlock(&w->mu);
        return -1;
    }
    w->jobs++;
    w->bytes += j->cost;
    j->next = NULL;
    j->lane = lane;
    if (lane->tail)
        lane->tail->next = j;
    else
        lane->head = j;
    lane->tail = j;
    if (lane->state == LANE_IDLE) {
        rq_push(w, lane);
        pthread_cond_signal(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    return 0;
}

int dbp_lane_busy(dbp_workers_t *w, dbp_lane_t *lane)
{
    pthread_mutex_lock(&w->mu);
    int busy = lane->head != NULL || lane->state == LANE_RUNNING;
    pthread_mutex_unlock(&w->mu);
    return busy;
}

void dbp_lane_close(dbp_workers_t *w, dbp_lane_t *lane)
{
    pthread_mutex_lock(&w->mu);
    lane->closed = 1;
    dbp_job_t *left = lane->head;
    lane->head = lane->tail = NULL;
    if (lane->state == LANE_READY) {
        rq_remove(w, lane);
        lane->state = LANE_IDLE;
    }
    pthread_mutex_unlock(&w->mu);
    while (left) {
        dbp_job_t *next = left->next;
        left->release(left, 0);
        left = next;
    }
}

void dbp_workers_settle(dbp_workers_t *w, size_t cost)
{
    pthread_mutex_lock(&w->mu);
    if (w->jobs > 0)
        w->jobs--;
    w->bytes = w->bytes > cost ? w->bytes - cost : 0;
    pthread_mutex_unlock(&w->mu);
}

void dbp_workers_charge(dbp_workers_t *w, size_t bytes)
{
    pthread_mutex_lock(&w->mu);
    w->bytes += bytes;
    pthread_mutex_unlock(&w->mu);
}

size_t dbp_workers_pending(dbp_workers_t *w)
{
    pthread_mutex_lock(&w->mu);
    size_t n = w->jobs;
    pthread_mutex_unlock(&w->mu);
    return n;
}
