/* ps_queue: the bounded FIFO of push jobs between the reactor and the sender thread, with a
 * counter of the jobs refused because it was full. */
#include <stdlib.h>

#include "ps.h"

void ps_job_free(ps_job_t *j)
{
    if (!j)
        return;
    free(j->stored);
    free(j->token);
    free(j->flash);
    free(j->data);
    free(j);
}

void ps_queue_init(ps_queue_t *q, size_t max)
{
    pthread_mutex_init(&q->mu, NULL);
    q->head = q->tail = NULL;
    q->n = 0;
    q->max = max;
    q->accepted = q->dropped_full = 0;
}

void ps_queue_fini(ps_queue_t *q)
{
    ps_job_t *j;
    while ((j = ps_queue_pop(q)))
        ps_job_free(j);
    pthread_mutex_destroy(&q->mu);
}

int ps_queue_push(ps_queue_t *q, ps_job_t *j)
{
    int rc = 0;
    pthread_mutex_lock(&q->mu);
    if (q->n >= q->max) {
        q->dropped_full++;
        rc = -1;
    } else {
        j->next = NULL;
        if (q->tail)
            q->tail->next = j;
        else
            q->head = j;
        q->tail = j;
        q->n++;
        q->accepted++;
    }
    pthread_mutex_unlock(&q->mu);
    return rc;
}

ps_job_t *ps_queue_pop(ps_queue_t *q)
{
    pthread_mutex_lock(&q->mu);
    ps_job_t *j = q->head;
    if (j) {
        q->head = j->next;
        if (!q->head)
            q->tail = NULL;
        q->n--;
        j->next = NULL;
    }
    pthread_mutex_unlock(&q->mu);
    return j;
}
