/*
 * tests/test_pipeline_run.c - the frame-set loop (vt_pipeline_run): the same
 * tracks with and without stage overlap, on one thread or two, and as
 * vt_pipeline_process gives them; latency from the producer's hand-over;
 * failures of the producer, of a camera stage and of the consumer, each
 * after every earlier set was consumed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/internal.h"
#include "vt_test_scene.h"

enum { FRAMES = 32 };

static vt_test_scene g;

static int setup(void **state)
{
    (void)state;
    return vt_test_scene_render(&g, "small", FRAMES);
}

static int teardown(void **state)
{
    (void)state;
    vt_test_scene_free(&g);
    return 0;
}

/* What the producer and the consumer of one run share. */
typedef struct run_state {
    int64_t next;     /* the producer's next frame set */
    int64_t fail_at;  /* the producer fails at this set (-1: never) */
    int64_t bad_at;   /* ... or gives camera 0 a frame of the wrong size here */
    int64_t stop_at;  /* the consumer fails at this set */
    int64_t consumed; /* results seen */
    size_t tracks;    /* tracks in them, all told */
    uint64_t digest;  /* FNV-1a over every track of every result */
    bool latency_ok;  /* every result's latency >= its processing time > 0 */
    vt_image wrong;   /* the wrong-sized frame */
} run_state;

static void mix(uint64_t *h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        *h = (*h ^ b[i]) * 1099511628211ull;
}

/* Folds a result's tracks into the digest, field by field (no padding bytes). */
static void digest_result(uint64_t *h, const vt_pipeline_result *r)
{
    mix(h, &r->frame, sizeof r->frame);
    mix(h, &r->ntracks, sizeof r->ntracks);
    mix(h, &r->ndetections, sizeof r->ndetections);
    for (size_t i = 0; i < r->ntracks; i++) {
        const vt_track *k = &r->tracks[i];
        int st = (int)k->status, cls = (int)r->classes[i];
        mix(h, &k->id, sizeof k->id);
        mix(h, &st, sizeof st);
        mix(h, &cls, sizeof cls);
        mix(h, &k->pos, sizeof k->pos);
        mix(h, &k->vel, sizeof k->vel);
        mix(h, k->cov, sizeof k->cov);
        mix(h, &k->cams, sizeof k->cams);
        mix(h, &r->flicker[i], sizeof r->flicker[i]);
    }
}

static vt_status produce(void *user, vt_frame_slot *slot, bool *end)
{
    run_state *s = user;
    if (s->next == FRAMES) {
        *end = true;
        return VT_OK;
    }
    if (s->next == s->fail_at)
        return vt__error(VT_EIO, "test producer: no frame %lld", (long long)s->next);
    slot->frame = s->next;
    slot->t = (double)s->next / vt_scenario_fps(g.sc);
    for (int c = 0; c < g.cams; c++) {
        const vt_image *src = vt_test_scene_image(&g, (int)s->next, c);
        if (c == 0 && s->next == s->bad_at)
            src = &s->wrong;
        if (!src)
            continue;
        vt_image *dst = &slot->images[c];
        if (dst->width != src->width || dst->height != src->height || dst->bits != src->bits) {
            vt_image_free(dst);
            vt_status st = vt_image_alloc(dst, src->width, src->height, src->bits);
            if (st)
                return st;
        }
        for (int y = 0; y < src->height; y++)
            memcpy((char *)dst->data + (size_t)y * dst->stride,
                   (const char *)src->data + (size_t)y * src->stride,
                   (size_t)src->width * (size_t)(src->bits / 8));
        slot->present[c] = true;
    }
    s->next++;
    return VT_OK;
}

static vt_status consume(void *user, const vt_pipeline_result *r)
{
    run_state *s = user;
    assert_int_equal(r->frame, s->consumed); /* in order, none skipped */
    if (!(r->latency >= r->seconds && r->seconds > 0.0))
        s->latency_ok = false;
    digest_result(&s->digest, r);
    s->tracks += r->ntracks;
    s->consumed++;
    if (r->frame == s->stop_at)
        return VT_ECANCELED;
    return VT_OK;
}

static run_state new_state(void)
{
    run_state s = {.fail_at = -1,
                   .bad_at = -1,
                   .stop_at = -1,
                   .digest = 14695981039346656037ull,
                   .latency_ok = true};
    return s;
}

/* One run of the loop; returns its status, the state says what it saw. */
static vt_status run_loop(int threads, bool overlap, int depth, run_state *s)
{
    vt_pipeline_opts o = vt_test_scene_opts(&g, threads);
    o.overlap = overlap;
    vt_pipeline *p = NULL;
    assert_int_equal(vt_pipeline_new(&o, g.rig, &p), VT_OK);
    vt_status st = vt_pipeline_run(p, depth, produce, s, consume, s);
    vt_pipeline_free(p);
    return st;
}

/* The same frame sets through vt_pipeline_process, one call each. */
static uint64_t direct_digest(int threads)
{
    vt_pipeline_opts o = vt_test_scene_opts(&g, threads);
    vt_pipeline *p = NULL;
    assert_int_equal(vt_pipeline_new(&o, g.rig, &p), VT_OK);
    uint64_t h = 14695981039346656037ull;
    const vt_image *ptrs[64];
    for (int n = 0; n < FRAMES; n++) {
        for (int c = 0; c < g.cams; c++)
            ptrs[c] = vt_test_scene_image(&g, n, c);
        vt_frame_set fs = {.frame = n, .t = n / vt_scenario_fps(g.sc), .images = ptrs};
        vt_pipeline_result r;
        assert_int_equal(vt_pipeline_process(p, &fs, &r), VT_OK);
        assert_true(r.latency >= r.seconds && r.seconds > 0.0);
        digest_result(&h, &r);
    }
    vt_pipeline_free(p);
    return h;
}

static void same_tracks_with_and_without_overlap(void **state)
{
    (void)state;
    uint64_t want = direct_digest(1);
    assert_true(want == direct_digest(2));
    const struct {
        int threads, depth;
        bool overlap;
    } runs[] = {{1, 2, false}, {1, 2, true}, {2, 2, true}, {2, 1, true}, {2, 4, false}};
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        run_state s = new_state();
        assert_int_equal(run_loop(runs[i].threads, runs[i].overlap, runs[i].depth, &s), VT_OK);
        assert_int_equal(s.consumed, FRAMES);
        assert_true(s.tracks >=
                    FRAMES); /* the scene's targets are tracked: a digest of something */
        assert_true(s.latency_ok);
        if (s.digest != want)
            fail_msg("threads %d, depth %d, overlap %d: other tracks than vt_pipeline_process's",
                     runs[i].threads, runs[i].depth, (int)runs[i].overlap);
    }
}

static void producer_failure_after_the_sets_before_it(void **state)
{
    (void)state;
    for (int overlap = 0; overlap < 2; overlap++) {
        run_state s = new_state();
        s.fail_at = 7;
        assert_int_equal(run_loop(2, overlap, 2, &s), VT_EIO);
        assert_string_equal(vt_last_error(), "test producer: no frame 7");
        assert_int_equal(s.consumed, 7);
    }
}

static void bad_frame_names_the_camera_after_the_sets_before_it(void **state)
{
    (void)state;
    for (int overlap = 0; overlap < 2; overlap++) {
        run_state s = new_state();
        s.bad_at = 5;
        assert_int_equal(vt_image_alloc(&s.wrong, 16, 8, 8), VT_OK);
        assert_int_equal(run_loop(2, overlap, 3, &s), VT_EMISMATCH);
        assert_non_null(strstr(vt_last_error(), "frame 5"));
        assert_non_null(strstr(vt_last_error(), "camera 0"));
        assert_int_equal(s.consumed, 5);
        vt_image_free(&s.wrong);
    }
}

static void consumer_failure_stops_the_loop(void **state)
{
    (void)state;
    for (int overlap = 0; overlap < 2; overlap++) {
        run_state s = new_state();
        s.stop_at = 3;
        assert_int_equal(run_loop(2, overlap, 2, &s), VT_ECANCELED);
        assert_int_equal(s.consumed, 4);
        assert_true(s.next >= 4 && s.next <= FRAMES);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(same_tracks_with_and_without_overlap),
        cmocka_unit_test(producer_failure_after_the_sets_before_it),
        cmocka_unit_test(bad_frame_names_the_camera_after_the_sets_before_it),
        cmocka_unit_test(consumer_failure_stops_the_loop),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
