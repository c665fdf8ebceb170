/*
 * fuzz/fuzz_sapient.c - libFuzzer target for what a SAPIENT node receives from
 * a fusion node (vt__sapient_receive_locked, src/stream/sapient_net.c): the
 * nanopb decoding of SapientMessage, registration acks, tasks (requests,
 * regions, controls) and errors.
 *
 * The input is a conversation: records of a 2-byte little-endian length and
 * that many bytes, each one message handed to one node in turn, so that a
 * task can be followed by its stop. After each, every message the node queued
 * in answer must decode as a SapientMessage, the queue must stay within its
 * capacity, and the task in effect must be well formed. Anything else, a
 * crash, a sanitizer report or a leak, is a bug. Built and run by scripts/fuzz
 * (seeds: fuzz/corpus/sapient/).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <pb_decode.h>

#include "stream/sapient_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { QUEUE = 64 };

/* A node as vt_sapient_open makes one, without its thread, socket or PROJ (made once, kept
   for the whole run: LeakSanitizer sees it reachable). */
static vt_sapient *node(void)
{
    vt_sapient *s = calloc(1, sizeof *s);
    strcpy(s->url, "sapient+tcp://fuzz:1");
    strcpy(s->node_id, "0f0e0d0c-0b0a-4908-8706-050403020100");
    strcpy(s->name, "fuzz");
    s->o.status_interval_s = 5; /* what the registration declares */
    s->qcap = QUEUE;
    s->q = calloc(QUEUE, sizeof *s->q);
    s->msg = malloc(sizeof *s->msg);
    s->in = malloc(sizeof *s->in);
    s->enc_cap = 20 << 10;
    s->enc = malloc(s->enc_cap);
    s->task.reporting = true;
    s->wake[0] = s->wake[1] = -1;
    pthread_mutex_init(&s->mu, NULL);
    return s;
}

/* Back to a node that has received nothing; its buffers are kept (made once: allocating
   and poisoning ~100 KiB per input would cost more than the parsing). */
static void reset(vt_sapient *s)
{
    memset(&s->task, 0, sizeof s->task);
    s->task.reporting = true;
    memset(&s->st, 0, sizeof s->st);
    s->qhead = s->qcount = 0;
    s->registered = s->rejected = s->status_due = false;
}

/* Every queued answer decodes; then the queue is emptied. */
static void check_queue(vt_sapient *s, sapient_SapientMessage *m)
{
    if (s->qcount > s->qcap)
        abort();
    for (size_t k = 0; k < s->qcount; k++) {
        const vt__sapient_slot *q = &s->q[(s->qhead + k) % s->qcap];
        if (q->len < 4)
            abort();
        uint32_t n = (uint32_t)q->buf[0] | (uint32_t)q->buf[1] << 8 | (uint32_t)q->buf[2] << 16 |
                     (uint32_t)q->buf[3] << 24;
        pb_istream_t is = pb_istream_from_buffer(q->buf + 4, n);
        if (n + 4 != q->len || !pb_decode(&is, sapient_SapientMessage_fields, m))
            abort();
    }
    s->qhead = s->qcount = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static sapient_SapientMessage check;
    static vt_sapient *s;
    if (!s)
        s = node();
    reset(s);
    /* Errors from the fusion node are logged once per connection: not here, where every input
       is one (the log would cost more than the parsing). */
    vt__sapient_rx rx = {.backoff = VT__SAPIENT_BACKOFF_MIN, .warned_error = true};
    while (size >= 2) {
        size_t n = (size_t)data[0] | (size_t)data[1] << 8;
        data += 2;
        size -= 2;
        if (n > size)
            n = size;
        pthread_mutex_lock(&s->mu);
        vt__sapient_receive_locked(s, &rx, data, n);
        pthread_mutex_unlock(&s->mu);
        check_queue(s, &check);
        const vt__sapient_task *t = &s->task;
        if (t->nregions < 0 || t->nregions > VT__SAPIENT_MAX_REGIONS ||
            !memchr(t->id, 0, sizeof t->id))
            abort();
        for (int i = 0; i < t->nregions; i++)
            if (t->regions[i].n < 3 || t->regions[i].n > VT__SAPIENT_MAX_POINTS)
                abort();
        (void)vt__sapient_task_allows(t, 51.0, 0.0);
        data += n;
        size -= n;
    }
    return 0;
}
