/*
 * tests/test_pipeline_alloc.c - no allocation in the steady-state per-frame
 * path: once the stages' buffers have grown to what the frame sets need (the
 * warm-up), a frame set allocates nothing, through vt_pipeline_process and
 * through vt_pipeline_run with and without stage overlap (every thread
 * counted: the producer, the camera stages', OpenMP's).
 *
 * Steady state: the small scene's first frames, then two of its frame sets
 * in turn, for ever (time still going on), so that every later set needs
 * what some set of the warm-up needed. The buffers grow by doubling, so a
 * live scene allocates only when a set needs more than any before it.
 * One worker thread: with more, voting's refinement workers share the cells
 * by dynamic scheduling, and a worker's buffers grow when it first gets the
 * largest cell, which depends on the timing (not covered here).
 *
 * The counter is a malloc interposer: this program defines malloc, calloc,
 * realloc and the aligned allocators, counts the calls while counting is on
 * and passes them to glibc's own (__libc_malloc and friends); the library,
 * linked statically, and the shared libraries it calls all reach these.
 * Under AddressSanitizer or ThreadSanitizer, whose run times own malloc,
 * there is no interposer and the test skips (the plain suite runs it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vt_test_scene.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define VT_TEST_COUNTING 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define VT_TEST_COUNTING 0
#endif
#endif
#ifndef VT_TEST_COUNTING
#define VT_TEST_COUNTING 1
#endif

static atomic_bool counting;
static atomic_long allocations;

#if VT_TEST_COUNTING
#include <errno.h>

void *__libc_malloc(size_t n);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t n);
void *__libc_memalign(size_t align, size_t n);
void *memalign(size_t align, size_t n); /* glibc's <malloc.h> has it; this file needs no more */

static void count(void)
{
    if (atomic_load_explicit(&counting, memory_order_relaxed))
        atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
}

void *malloc(size_t n)
{
    count();
    return __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
    count();
    return __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
    count();
    return __libc_realloc(p, n);
}

void *aligned_alloc(size_t align, size_t n)
{
    count();
    return __libc_memalign(align, n);
}

void *memalign(size_t align, size_t n)
{
    count();
    return __libc_memalign(align, n);
}

int posix_memalign(void **out, size_t align, size_t n)
{
    count();
    if (align < sizeof(void *) || (align & (align - 1)))
        return EINVAL;
    void *p = __libc_memalign(align, n);
    if (!p && n)
        return ENOMEM;
    *out = p;
    return 0;
}
#endif

enum {
    FRAMES = 16, /* frames rendered */
    SETS = 192,  /* frame sets run: frames 0..15, then 14, 15, 14, 15, ... */
    WARM = 112   /* the sets before this are the warm-up (the background models settle) */
};

/* The scene's frame of frame set n. */
static int frame_of(int n)
{
    return n < FRAMES ? n : FRAMES - 2 + n % 2;
}

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

static void counting_on(bool on)
{
    atomic_store(&counting, on);
}

/* The interposer counts at all: a malloc here is seen (a test of the test). */
static void the_counter_counts(void **state)
{
    (void)state;
    if (!VT_TEST_COUNTING)
        skip();
    atomic_store(&allocations, 0);
    counting_on(true);
    void *volatile p = malloc(64);
    counting_on(false);
    free(p);
    assert_int_equal(atomic_load(&allocations), 1);
}

static void no_allocation_per_frame_set_in_process(void **state)
{
    (void)state;
    if (!VT_TEST_COUNTING)
        skip();
    vt_pipeline_opts o = vt_test_scene_opts(&g, 1);
    vt_pipeline *p = NULL;
    assert_int_equal(vt_pipeline_new(&o, g.rig, &p), VT_OK);
    const vt_image *ptrs[64];
    size_t tracks = 0;
    for (int n = 0; n < SETS; n++) {
        for (int c = 0; c < g.cams; c++)
            ptrs[c] = vt_test_scene_image(&g, frame_of(n), c);
        vt_frame_set fs = {.frame = n, .t = n / vt_scenario_fps(g.sc), .images = ptrs};
        vt_pipeline_result r;
        if (n == WARM) {
            atomic_store(&allocations, 0);
            counting_on(true);
        }
        vt_status s = vt_pipeline_process(p, &fs, &r);
        counting_on(n >= WARM);
        assert_int_equal(s, VT_OK);
        tracks += n >= WARM ? r.ntracks : 0;
    }
    counting_on(false);
    long a = atomic_load(&allocations);
    vt_pipeline_free(p);
    assert_true(tracks > 0);
    if (a)
        fail_msg("%ld allocations in %d steady-state frame sets", a, SETS - WARM);
}

/* The loop: the producer copies frames into its slots (allocated on their first fill). */
typedef struct loop {
    int64_t next;
} loop;

static vt_status produce(void *user, vt_frame_slot *slot, bool *end)
{
    loop *l = user;
    if (l->next == SETS) {
        *end = true;
        return VT_OK;
    }
    slot->frame = l->next;
    slot->t = (double)l->next / vt_scenario_fps(g.sc);
    for (int c = 0; c < g.cams; c++) {
        const vt_image *src = vt_test_scene_image(&g, frame_of((int)l->next), c);
        if (!src)
            continue;
        vt_image *dst = &slot->images[c];
        if (!dst->data) {
            vt_status s = vt_image_alloc(dst, src->width, src->height, src->bits);
            if (s)
                return s;
        }
        memcpy(dst->data, src->data, src->stride * (size_t)src->height);
        slot->present[c] = true;
    }
    l->next++;
    return VT_OK;
}

static vt_status consume(void *user, const vt_pipeline_result *r)
{
    (void)user;
    if (r->frame == WARM) {
        atomic_store(&allocations, 0);
        counting_on(true);
    }
    if (r->frame == SETS - 1)
        counting_on(false);
    return VT_OK;
}

static void no_allocation_per_frame_set_in_run(void **state)
{
    (void)state;
    if (!VT_TEST_COUNTING)
        skip();
    for (int overlap = 0; overlap < 2; overlap++) {
        vt_pipeline_opts o = vt_test_scene_opts(&g, 1);
        o.overlap = overlap;
        vt_pipeline *p = NULL;
        assert_int_equal(vt_pipeline_new(&o, g.rig, &p), VT_OK);
        loop l = {0};
        vt_status s = vt_pipeline_run(p, 2, produce, &l, consume, &l);
        counting_on(false);
        long a = atomic_load(&allocations);
        vt_pipeline_free(p);
        assert_int_equal(s, VT_OK);
        if (a)
            fail_msg("overlap %d: %ld allocations in %d steady-state frame sets", overlap, a,
                     SETS - 1 - WARM);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_counter_counts),
        cmocka_unit_test(no_allocation_per_frame_set_in_process),
        cmocka_unit_test(no_allocation_per_frame_set_in_run),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
