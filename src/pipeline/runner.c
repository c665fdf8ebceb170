/*
 * src/pipeline/runner.c - the frame-set loop with its input on a thread of
 * its own and, with opts.overlap, the camera stages on another (see
 * vt_pipeline_run in voxtrack/pipeline.h).
 *
 * Two bounded queues in a row, each a ring whose entries are handed over
 * whole, so no two threads ever touch the same entry:
 *
 *   producer --(depth frame slots)--> front --(2 sets)--> back + consume
 *
 * The producer fills free slots in order (reading or rendering frames) and
 * stamps when each was complete. The front (vt__pipeline_front: poses,
 * camera stages) takes slots in order and, with overlap, since its sets
 * keep copies of the rays and thermal frames, gives the slot back at once
 * (without overlap the set borrows the slot's frames, and the slot goes back
 * after the back); the back (vt__pipeline_back:
 * voting, detection, tracking) takes sets in order on the caller's thread
 * and hands each result to `consume`. Without overlap the caller's thread
 * runs the front too, one set after the other. Either way each set meets
 * the same stages in the same order, so the results are the same.
 *
 * One mutex guards all the bookkeeping and one condition variable (woken
 * for every change) serves all the waits: three threads and tens of hand
 * overs a second need nothing finer. A failure stops every side; the sets
 * before it are consumed first, so the first error in set order is the one
 * returned.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "pipeline/pipeline_internal.h"

enum { SETS = 2 }; /* the front runs at most one set ahead of the back */

typedef struct runner {
    vt_pipeline *p;
    int cams;
    pthread_mutex_t mu;
    pthread_cond_t changed;
    bool stop; /* the back gave up: everyone stops */

    /* producer -> front */
    vt_frame_slot *slots;
    double *ready; /* per slot: vt__now() when the producer handed it over */
    int depth, slots_filled, slot_head;
    bool produced_all;
    vt_status produce_status;
    char produce_error[512];
    vt_produce_fn produce;
    void *puser;

    /* front -> back */
    vt__set sets[SETS];
    const vt_image **ptrs; /* the front's frame pointers */
    int sets_filled, set_head;
    bool fronts_done; /* the front has no more (its status says why) */
    vt_status front_status;
    char front_error[512];
} runner;

static void *producer(void *arg)
{
    runner *r = arg;
    for (int tail = 0;; tail = (tail + 1) % r->depth) {
        pthread_mutex_lock(&r->mu);
        while (r->slots_filled == r->depth && !r->stop)
            pthread_cond_wait(&r->changed, &r->mu);
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
        double now = vt__now();
        pthread_mutex_lock(&r->mu);
        if (s) {
            r->produce_status = s;
            snprintf(r->produce_error, sizeof r->produce_error, "%s", vt_last_error());
        }
        if (s || end) {
            r->produced_all = true;
        } else {
            r->ready[tail] = now;
            r->slots_filled++;
        }
        pthread_cond_broadcast(&r->changed);
        pthread_mutex_unlock(&r->mu);
        if (s || end)
            return NULL;
    }
}

/* Gives the slot at the head back to the producer. */
static void release_slot(runner *r)
{
    pthread_mutex_lock(&r->mu);
    r->slot_head = (r->slot_head + 1) % r->depth;
    r->slots_filled--;
    pthread_cond_broadcast(&r->changed);
    pthread_mutex_unlock(&r->mu);
}

/*
 * Runs the front on the next filled slot into `set`; with `release` it gives
 * the slot back at once (the set is owned: it keeps copies of what the back
 * needs). A set that is not owned still points into the slot (fusion reads
 * the thermal frames in the back), so its caller gives the slot back with
 * release_slot() after the back. Returns false when there is nothing more to
 * do: the producer is done, the front failed (both noted in fronts_done /
 * front_status) or the back stopped.
 */
static bool front_next(runner *r, vt__set *set, bool release)
{
    pthread_mutex_lock(&r->mu);
    while (r->slots_filled == 0 && !r->produced_all && !r->stop)
        pthread_cond_wait(&r->changed, &r->mu);
    bool none = r->stop || r->slots_filled == 0;
    if (none && !r->stop) {
        r->fronts_done = true;
        r->front_status = r->produce_status;
        snprintf(r->front_error, sizeof r->front_error, "%s", r->produce_error);
    }
    int k = r->slot_head;
    pthread_mutex_unlock(&r->mu);
    if (none) {
        pthread_cond_broadcast(&r->changed);
        return false;
    }
    vt_frame_slot *slot = &r->slots[k];
    for (int c = 0; c < r->cams; c++) {
        r->ptrs[c] = slot->present[c] ? &slot->images[c] : NULL;
        if (isnan(slot->times[c]))
            slot->times[c] = slot->t;
    }
    vt_frame_set fs = {.frame = slot->frame, .t = slot->t, .images = r->ptrs, .times = slot->times};
    vt_status s = vt__pipeline_front(r->p, &fs, r->ready[k], set);
    pthread_mutex_lock(&r->mu);
    if (release) {
        r->slot_head = (r->slot_head + 1) % r->depth;
        r->slots_filled--;
    }
    if (s) {
        r->fronts_done = true;
        r->front_status = s;
        snprintf(r->front_error, sizeof r->front_error, "%s", vt_last_error());
    }
    pthread_cond_broadcast(&r->changed);
    pthread_mutex_unlock(&r->mu);
    return !s;
}

/* The front's thread (overlap): fills the sets in order while the back empties them. */
static void *front_thread(void *arg)
{
    runner *r = arg;
    for (int tail = 0;; tail = (tail + 1) % SETS) {
        pthread_mutex_lock(&r->mu);
        while (r->sets_filled == SETS && !r->stop)
            pthread_cond_wait(&r->changed, &r->mu);
        bool stop = r->stop;
        pthread_mutex_unlock(&r->mu);
        if (stop || !front_next(r, &r->sets[tail], true))
            return NULL;
        pthread_mutex_lock(&r->mu);
        r->sets_filled++;
        pthread_cond_broadcast(&r->changed);
        pthread_mutex_unlock(&r->mu);
    }
}

/* The back, on the caller's thread: each set in order, then its consumer. */
static vt_status back_loop(runner *r, bool overlap, vt_consume_fn consume, void *cuser)
{
    for (;;) {
        vt__set *set = &r->sets[r->set_head];
        if (overlap) {
            pthread_mutex_lock(&r->mu);
            while (r->sets_filled == 0 && !r->fronts_done)
                pthread_cond_wait(&r->changed, &r->mu);
            bool done = r->sets_filled == 0;
            pthread_mutex_unlock(&r->mu);
            if (done)
                break;
        } else if (!front_next(r, set, false)) {
            break;
        }
        vt_pipeline_result res;
        vt_status s = vt__pipeline_back(r->p, set, &res);
        if (!overlap)
            release_slot(r); /* the back has read the slot's frames */
        if (!s && consume)
            s = consume(cuser, &res);
        if (s)
            return s;
        if (overlap) {
            pthread_mutex_lock(&r->mu);
            r->sets_filled--;
            pthread_cond_broadcast(&r->changed);
            pthread_mutex_unlock(&r->mu);
            r->set_head = (r->set_head + 1) % SETS;
        }
    }
    if (r->front_status)
        return vt__error(r->front_status, "%s", r->front_error);
    return VT_OK;
}

static void free_runner(runner *r)
{
    for (int i = 0; r->slots && i < r->depth; i++) {
        for (int c = 0; r->slots[i].images && c < r->cams; c++)
            vt_image_free(&r->slots[i].images[c]);
        free(r->slots[i].images);
        free(r->slots[i].present);
        free(r->slots[i].times);
    }
    free(r->slots);
    free(r->ready);
    for (int i = 0; i < SETS; i++)
        vt__set_free(&r->sets[i], r->cams);
    free(r->ptrs);
}

static vt_status alloc_runner(runner *r, bool overlap)
{
    r->slots = calloc((size_t)r->depth, sizeof *r->slots);
    r->ready = calloc((size_t)r->depth, sizeof *r->ready);
    r->ptrs = calloc((size_t)r->cams, sizeof *r->ptrs);
    if (!r->slots || !r->ready || !r->ptrs)
        return vt__error(VT_ENOMEM, "pipeline: out of memory");
    for (int i = 0; i < r->depth; i++) {
        r->slots[i].images = calloc((size_t)r->cams, sizeof *r->slots[i].images);
        r->slots[i].present = calloc((size_t)r->cams, sizeof *r->slots[i].present);
        r->slots[i].times = calloc((size_t)r->cams, sizeof *r->slots[i].times);
        if (!r->slots[i].images || !r->slots[i].present || !r->slots[i].times)
            return vt__error(VT_ENOMEM, "pipeline: out of memory");
    }
    /* Without overlap one set does, and it may borrow the camera stages' rays. */
    for (int i = 0; i < (overlap ? SETS : 1); i++) {
        vt_status s = vt__set_init(&r->sets[i], r->cams, overlap);
        if (s)
            return s;
    }
    return VT_OK;
}

/* Stops the other threads (after a failure of the back) and waits for them. */
static void stop_and_join(runner *r, pthread_t th)
{
    pthread_mutex_lock(&r->mu);
    r->stop = true;
    pthread_cond_broadcast(&r->changed);
    pthread_mutex_unlock(&r->mu);
    pthread_join(th, NULL);
}

vt_status vt_pipeline_run(vt_pipeline *p, int depth, vt_produce_fn produce, void *puser,
                          vt_consume_fn consume, void *cuser)
{
    if (!p || !produce)
        return vt__error(VT_EINVAL, "vt_pipeline_run: NULL argument");
    runner r = {.p = p,
                .depth = depth > 0 ? depth : 2,
                .cams = vt__pipeline_camera_count(p),
                .produce = produce,
                .puser = puser};
    bool overlap = vt__pipeline_overlap(p);
    vt_status s = alloc_runner(&r, overlap);
    if (s) {
        free_runner(&r);
        return s;
    }
    pthread_mutex_init(&r.mu, NULL);
    pthread_cond_init(&r.changed, NULL);
    pthread_t prod, front;
    bool have_front = false;
    if (pthread_create(&prod, NULL, producer, &r) != 0) {
        s = vt__error(VT_ENOMEM, "pipeline: cannot start the producer thread");
    } else {
        if (overlap) {
            have_front = pthread_create(&front, NULL, front_thread, &r) == 0;
            if (!have_front)
                s = vt__error(VT_ENOMEM, "pipeline: cannot start the camera stages' thread");
        }
        if (!s)
            s = back_loop(&r, overlap, consume, cuser);
        if (have_front)
            stop_and_join(&r, front);
        stop_and_join(&r, prod);
    }
    pthread_cond_destroy(&r.changed);
    pthread_mutex_destroy(&r.mu);
    free_runner(&r);
    return s;
}
