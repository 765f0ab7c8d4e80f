/* Worker pools for the disk I/O: a bounded FIFO of jobs, a fixed set of threads that run them,
 * and a list of finished jobs that a drain posted with tt_loop_post hands back to the loop
 * thread, where each answers its request. Stopping lets the running jobs finish, hands back
 * what finished and cancels what never started. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "msfs.h"

/* On the loop thread: run done() of every finished job. */
static void drain_done(void *arg)
{
    msfs_pool_t *p = arg;
    if (!p->started)
        return; /* a drain still queued in the loop after msfs_pool_stop */
    pthread_mutex_lock(&p->lock);
    msfs_job_t *job = p->done_head;
    p->done_head = p->done_tail = NULL;
    p->drain_posted = 0;
    pthread_mutex_unlock(&p->lock);
    while (job) {
        msfs_job_t *next = job->next;
        job->done(job);
        job = next;
    }
}

static void *worker_main(void *arg)
{
    msfs_pool_t *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->lock);
        while (!p->quit && !p->head)
            pthread_cond_wait(&p->cond, &p->lock);
        if (p->quit) {
            pthread_mutex_unlock(&p->lock);
            return NULL;
        }
        msfs_job_t *job = p->head;
        p->head = job->next;
        if (!p->head)
            p->tail = NULL;
        p->queued--;
        pthread_mutex_unlock(&p->lock);

        job->run(job);

        pthread_mutex_lock(&p->lock);
        job->next = NULL;
        if (p->done_tail)
            p->done_tail->next = job;
        else
            p->done_head = job;
        p->done_tail = job;
        int post = !p->drain_posted;
        p->drain_posted = 1;
        pthread_mutex_unlock(&p->lock);
        /* The loop's post queue is unbounded for our purposes (one drain per pool at a time),
         * so this fails only when memory is short: wait for it rather than lose answers. */
        while (post && tt_loop_post(p->loop, drain_done, p) < 0) {
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
        }
    }
}

int msfs_pool_start(msfs_pool_t *p, tt_loop_t *loop, const char *name, int nthreads,
                    size_t max_queued, char *err, size_t errlen)
{
    memset(p, 0, sizeof(*p));
    p->name = name;
    p->loop = loop;
    p->max_queued = max_queued;
    p->threads = calloc((size_t)nthreads, sizeof(*p->threads));
    if (!p->threads || pthread_mutex_init(&p->lock, NULL) != 0) {
        free(p->threads);
        p->threads = NULL;
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (pthread_cond_init(&p->cond, NULL) != 0) {
        pthread_mutex_destroy(&p->lock);
        free(p->threads);
        p->threads = NULL;
        snprintf(err, errlen, "cannot create a condition variable");
        return -1;
    }
    p->started = 1;
    for (int i = 0; i < nthreads; i++) {
        int rc = pthread_create(&p->threads[i], NULL, worker_main, p);
        if (rc != 0) {
            snprintf(err, errlen, "cannot start %s worker %d: %s", name, i, strerror(rc));
            return -1; /* msfs_pool_stop joins those that started */
        }
        p->nthreads++;
    }
    return 0;
}

int msfs_pool_submit(msfs_pool_t *p, msfs_job_t *job)
{
    if (!p->started)
        return -1;
    pthread_mutex_lock(&p->lock);
    if (p->quit || p->queued >= p->max_queued) {
        pthread_mutex_unlock(&p->lock);
        return -1;
    }
    job->next = NULL;
    job->cancelled = 0;
    if (p->tail)
        p->tail->next = job;
    else
        p->head = job;
    p->tail = job;
    p->queued++;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);
    return 0;
}

void msfs_pool_stop(msfs_pool_t *p)
{
    if (!p->started)
        return;
    pthread_mutex_lock(&p->lock);
    p->quit = 1;
    msfs_job_t *left = p->head;
    p->head = p->tail = NULL;
    p->queued = 0;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    drain_done(p); /* no worker is left: hand back what finished */
    while (left) {
        msfs_job_t *next = left->next;
        left->cancelled = 1;
        left->done(left);
        left = next;
    }
    pthread_cond_destroy(&p->cond);
    pthread_mutex_destroy(&p->lock);
    free(p->threads);
    p->threads = NULL;
    p->nthreads = 0;
    p->started = 0;
}
