/*
 * src/pipeline/runner.c - the frame-set loop with its input on a thread of
 * its own (see vt_pipeline_run in voxtrack/pipeline.h).
 *
 * A ring of `depth` slots is shared by two threads: the producer fills free
 * slots in order (reading or rendering frames), the caller's thread
 * processes filled slots in order. A mutex and two condition variables guard
 * the ring; a slot is handed over whole, so neither side touches a slot the
 * other holds. Either side's failure stops both.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "pipeline/pipeline_internal.h"

typedef struct ring {
    vt_frame_slot *slots;
    int depth, count; /* slots, filled slots */
    int head;         /* next slot to process */
    int cams;
    bool end;  /* the producer has no more */
    bool stop; /* the consumer gave up */
    vt_status produce_status;
    char produce_error[512];
    pthread_mutex_t mu;
    pthread_cond_t filled, freed;
    vt_produce_fn produce;
    void *puser;
} ring;

static void *producer(void *arg)
{
    ring *r = arg;
    int tail = 0;
    for (;;) {
        pthread_mutex_lock(&r->mu);
        while (r->count == r->depth && !r->stop)
            pthread_cond_wait(&r->freed, &r->mu);
        bool stop = r->stop;
        pthread_mutex_unlock(&r->mu);
        if (stop)
            return NULL;
        vt_frame_slot *slot = &r->slots[tail];
        memset(slot->present, 0, (size_t)r->cams * sizeof *slot->present);
        for (int c = 0; c < r->cams; c++)
            slot->times[c] = NAN; /* unknown unless the producer says */
        bool end = false;
        vt_status s = r->produce(r->puser, slot, &end);
        pthread_mutex_lock(&r->mu);
        if (s) {
            r->produce_status = s;
            snprintf(r->produce_error, sizeof r->produce_error, "%s", vt_last_error());
        }
        if (s || end)
            r->end = true;
        else
            r->count++;
        pthread_cond_signal(&r->filled);
        pthread_mutex_unlock(&r->mu);
        if (s || end)
            return NULL;
        tail = (tail + 1) % r->depth;
    }
}

static void free_slots(ring *r)
{
    for (int i = 0; r->slots && i < r->depth; i++) {
        for (int c = 0; r->slots[i].images && c < r->cams; c++)
            vt_image_free(&r->slots[i].images[c]);
        free(r->slots[i].images);
        free(r->slots[i].present);
        free(r->slots[i].times);
    }
    free(r->slots);
}

static vt_status alloc_slots(ring *r)
{
    r->slots = calloc((size_t)r->depth, sizeof *r->slots);
    if (!r->slots)
        return vt__error(VT_ENOMEM, "pipeline: out of memory");
    for (int i = 0; i < r->depth; i++) {
        r->slots[i].images = calloc((size_t)r->cams, sizeof *r->slots[i].images);
        r->slots[i].present = calloc((size_t)r->cams, sizeof *r->slots[i].present);
        r->slots[i].times = calloc((size_t)r->cams, sizeof *r->slots[i].times);
        if (!r->slots[i].images || !r->slots[i].present || !r->slots[i].times)
            return vt__error(VT_ENOMEM, "pipeline: out of memory");
    }
    return VT_OK;
}

/* Processes one filled slot. */
static vt_status process_slot(vt_pipeline *p, vt_frame_slot *slot, const vt_image **ptrs, int cams,
                              vt_consume_fn consume, void *cuser)
{
    for (int c = 0; c < cams; c++) {
        ptrs[c] = slot->present[c] ? &slot->images[c] : NULL;
        if (isnan(slot->times[c]))
            slot->times[c] = slot->t;
    }
    vt_frame_set fs = {.frame = slot->frame, .t = slot->t, .images = ptrs, .times = slot->times};
    vt_pipeline_result res;
    vt_status s = vt_pipeline_process(p, &fs, &res);
    if (!s && consume)
        s = consume(cuser, &res);
    return s;
}

vt_status vt_pipeline_run(vt_pipeline *p, int depth, vt_produce_fn produce, void *puser,
                          vt_consume_fn consume, void *cuser)
{
    if (!p || !produce)
        return vt__error(VT_EINVAL, "vt_pipeline_run: NULL argument");
    ring r = {.depth = depth > 0 ? depth : 2,
              .cams = vt__pipeline_camera_count(p),
              .produce = produce,
              .puser = puser};
    const vt_image **ptrs = calloc((size_t)r.cams, sizeof *ptrs);
    vt_status s = ptrs ? alloc_slots(&r) : vt__error(VT_ENOMEM, "pipeline: out of memory");
    if (s) {
        free(ptrs);
        free_slots(&r);
        return s;
    }
    pthread_mutex_init(&r.mu, NULL);
    pthread_cond_init(&r.filled, NULL);
    pthread_cond_init(&r.freed, NULL);
    pthread_t th;
    if (pthread_create(&th, NULL, producer, &r) != 0) {
        s = vt__error(VT_ENOMEM, "pipeline: cannot start the producer thread");
    } else {
        for (;;) {
            pthread_mutex_lock(&r.mu);
            while (r.count == 0 && !r.end)
                pthread_cond_wait(&r.filled, &r.mu);
            bool done = r.count == 0 && r.end;
            pthread_mutex_unlock(&r.mu);
            if (done)
                break;
            s = process_slot(p, &r.slots[r.head], ptrs, r.cams, consume, cuser);
            pthread_mutex_lock(&r.mu);
            r.head = (r.head + 1) % r.depth;
            r.count--;
            if (s)
                r.stop = true;
            pthread_cond_signal(&r.freed);
            pthread_mutex_unlock(&r.mu);
            if (s)
                break;
        }
        pthread_join(th, NULL);
        if (!s && r.produce_status)
            s = vt__error(r.produce_status, "%s", r.produce_error);
    }
    pthread_cond_destroy(&r.filled);
    pthread_cond_destroy(&r.freed);
    pthread_mutex_destroy(&r.mu);
    free(ptrs);
    free_slots(&r);
    return s;
}
