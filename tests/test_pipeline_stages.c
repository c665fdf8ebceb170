/*
 * tests/test_pipeline_stages.c - the pipeline's stages on their own (camera,
 * vote, track; voxtrack/pipeline.h): in a row they give exactly what
 * vt_pipeline_process gives, frame sets voted in any order by another vote
 * stage give the same detections, a camera's ray cap keeps its strongest
 * blobs, and bad input is refused with a message naming it.
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

#include "voxtrack/voxtrack.h"
#include "vt_test.h"
#include "vt_test_scene.h"

enum { FRAMES = 36 };

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

/* Every field the same, to the bit (memcmp per field: padding is not compared). */
static void assert_same_track(const vt_track *a, const vt_track *b)
{
    assert_int_equal(a->id, b->id);
    assert_int_equal(a->status, b->status);
    assert_memory_equal(&a->pos, &b->pos, sizeof a->pos);
    assert_memory_equal(&a->vel, &b->vel, sizeof a->vel);
    assert_memory_equal(a->cov, b->cov, sizeof a->cov);
    assert_int_equal(a->cams, b->cams);
    assert_int_equal(a->camera_mask, b->camera_mask);
    assert_int_equal(a->thermal, b->thermal);
    assert_int_equal(a->thermal_hits, b->thermal_hits);
    assert_int_equal(a->hits, b->hits);
    assert_int_equal(a->misses, b->misses);
    assert_int_equal(a->age, b->age);
    assert_memory_equal(&a->accel_rms, &b->accel_rms, sizeof a->accel_rms);
}

static void assert_same_detection(const vt_detection *a, const vt_detection *b)
{
    assert_memory_equal(&a->pos, &b->pos, sizeof a->pos);
    assert_memory_equal(a->cov, b->cov, sizeof a->cov);
    assert_memory_equal(&a->residual, &b->residual, sizeof a->residual);
    assert_memory_equal(&a->weight, &b->weight, sizeof a->weight);
    assert_int_equal(a->cameras, b->cameras);
    assert_int_equal(a->ncameras, b->ncameras);
    assert_int_equal(a->nthermal, b->nthermal);
    assert_int_equal(a->nrays, b->nrays);
    assert_int_equal(a->first_ray, b->first_ray);
}

static void assert_same_detection_rays(const vt_set_detections *a, const vt_set_detections *b)
{
    assert_int_equal(a->ndetections, b->ndetections);
    assert_int_equal(a->nrays, b->nrays);
    assert_int_equal(a->rays_cast, b->rays_cast);
    assert_int_equal(a->clusters, b->clusters);
    for (size_t i = 0; i < a->ndetections; i++)
        assert_same_detection(&a->detections[i], &b->detections[i]);
    for (size_t j = 0; j < a->nrays; j++) {
        assert_int_equal(a->rays[j].camera, b->rays[j].camera);
        assert_memory_equal(&a->rays[j].weight, &b->rays[j].weight, sizeof(float));
        assert_memory_equal(&a->rays[j].noise, &b->rays[j].noise, sizeof(float));
        assert_int_equal(a->rays[j].area, b->rays[j].area);
    }
}

/* The three stages of a rig: one camera stage per camera. */
typedef struct stages {
    vt_camera_stage *cam[64];
    vt_camera_rays rays[64];
    vt_vote_stage *vote;
    vt_track_stage *track;
} stages;

static void stages_new(stages *s, const vt_pipeline_opts *o)
{
    memset(s, 0, sizeof *s);
    for (int c = 0; c < g.cams; c++)
        assert_int_equal(vt_camera_stage_new(o, g.rig, c, &s->cam[c]), VT_OK);
    assert_int_equal(vt_vote_stage_new(o, g.rig, &s->vote), VT_OK);
    assert_int_equal(vt_track_stage_new(o, g.rig, &s->track), VT_OK);
}

static void stages_free(stages *s)
{
    for (int c = 0; c < g.cams; c++)
        vt_camera_stage_free(s->cam[c]);
    vt_vote_stage_free(s->vote);
    vt_track_stage_free(s->track);
}

static double set_time(int n)
{
    return n / vt_scenario_fps(g.sc);
}

static void stages_in_a_row_are_the_pipeline(vt_tracker_kind kind)
{
    vt_pipeline_opts o = vt_test_scene_opts(&g, 1);
    o.tracker.kind = kind;
    vt_pipeline *p = NULL;
    assert_int_equal(vt_pipeline_new(&o, g.rig, &p), VT_OK);
    stages s;
    stages_new(&s, &o);
    size_t tracked = 0;
    for (int n = 0; n < FRAMES; n++) {
        const vt_image *ptrs[64];
        for (int c = 0; c < g.cams; c++) {
            ptrs[c] = vt_test_scene_image(&g, n, c);
            assert_int_equal(vt_camera_stage_process(s.cam[c], ptrs[c], &s.rays[c]), VT_OK);
        }
        vt_frame_set fs = {.frame = n, .t = set_time(n), .images = ptrs};
        vt_pipeline_result res;
        assert_int_equal(vt_pipeline_process(p, &fs, &res), VT_OK);
        vt_set_detections d;
        vt_track_output out;
        assert_int_equal(vt_vote_stage_process(s.vote, s.rays, &d), VT_OK);
        assert_int_equal(vt_track_stage_process(s.track, fs.t, &d, &out), VT_OK);
        assert_int_equal(d.rays_cast, res.rays);
        assert_int_equal(d.ndetections, res.ndetections);
        for (size_t i = 0; i < d.ndetections; i++)
            assert_same_detection(&d.detections[i], &res.detections[i]);
        assert_int_equal(out.ntracks, res.ntracks);
        for (size_t i = 0; i < out.ntracks; i++) {
            assert_same_track(&out.tracks[i], &res.tracks[i]);
            assert_int_equal(out.classes[i], res.classes[i]);
            assert_memory_equal(&out.flicker[i], &res.flicker[i], sizeof(float));
        }
        tracked += out.ntracks;
    }
    assert_true(tracked > 0);
    stages_free(&s);
    vt_pipeline_free(p);
}

static void stages_in_a_row_are_the_pipeline_gnn(void **state)
{
    (void)state;
    stages_in_a_row_are_the_pipeline(VT_TRACKER_GNN);
}

static void stages_in_a_row_are_the_pipeline_mht(void **state)
{
    (void)state;
    stages_in_a_row_are_the_pipeline(VT_TRACKER_MHT);
}

/* A camera's rays of one frame, copied out of its stage. */
typedef struct kept_rays {
    vt_camera_rays r;
    vt_ray *rays;
    int32_t *area;
    float *raw;
} kept_rays;

static void keep(kept_rays *k, const vt_camera_rays *r)
{
    k->r = *r;
    k->rays = malloc((r->nrays ? r->nrays : 1) * sizeof *k->rays);
    k->area = malloc((r->nrays ? r->nrays : 1) * sizeof *k->area);
    k->raw = malloc((r->nrays ? r->nrays : 1) * sizeof *k->raw);
    assert_non_null(k->rays);
    assert_non_null(k->area);
    assert_non_null(k->raw);
    if (r->nrays) {
        memcpy(k->rays, r->rays, r->nrays * sizeof *k->rays);
        memcpy(k->area, r->area, r->nrays * sizeof *k->area);
        memcpy(k->raw, r->raw, r->nrays * sizeof *k->raw);
    }
    k->r.rays = k->rays;
    k->r.area = k->area;
    k->r.raw = k->raw;
}

/* Voting keeps nothing from one frame set to the next: any order, any stage. */
static void frame_sets_vote_the_same_in_any_order(void **state)
{
    (void)state;
    vt_pipeline_opts o = vt_test_scene_opts(&g, 2);
    stages s;
    stages_new(&s, &o);
    kept_rays *kept = calloc((size_t)(FRAMES * g.cams), sizeof *kept);
    assert_non_null(kept);
    for (int n = 0; n < FRAMES; n++)
        for (int c = 0; c < g.cams; c++) {
            vt_camera_rays r;
            const vt_image *img = vt_test_scene_image(&g, n, c);
            assert_int_equal(vt_camera_stage_process(s.cam[c], img, &r), VT_OK);
            keep(&kept[n * g.cams + c], &r);
        }
    vt_vote_stage *other = NULL;
    o.threads = 1;
    assert_int_equal(vt_vote_stage_new(&o, g.rig, &other), VT_OK);
    size_t detections = 0;
    for (int k = 0; k < FRAMES; k++) {
        int n = (k * 7) % FRAMES; /* 7 is prime to 36: every set once, out of order */
        vt_camera_rays in[64];
        for (int c = 0; c < g.cams; c++)
            in[c] = kept[n * g.cams + c].r;
        vt_set_detections a, b;
        assert_int_equal(vt_vote_stage_process(other, in, &b), VT_OK);
        /* The first stage votes this set right after a different one. */
        assert_int_equal(vt_vote_stage_process(s.vote, in, &a), VT_OK);
        assert_same_detection_rays(&a, &b);
        detections += a.ndetections;
    }
    assert_true(detections > 0);
    for (int i = 0; i < FRAMES * g.cams; i++) {
        free(kept[i].rays);
        free(kept[i].area);
        free(kept[i].raw);
    }
    free(kept);
    vt_vote_stage_free(other);
    stages_free(&s);
}

static void expect_error(vt_status got, vt_status want, const char *needle)
{
    assert_int_equal(got, want);
    if (!strstr(vt_last_error(), needle)) {
        print_error("message '%s' lacks '%s'\n", vt_last_error(), needle);
        fail();
    }
}

static void stages_refuse_bad_input(void **state)
{
    (void)state;
    vt_pipeline_opts o = vt_test_scene_opts(&g, 1);
    vt_camera_stage *cs = NULL;
    expect_error(vt_camera_stage_new(&o, g.rig, g.cams, &cs), VT_ERANGE, "not in the rig");
    assert_null(cs);
    assert_int_equal(vt_camera_stage_new(&o, g.rig, 1, &cs), VT_OK);
    vt_image small;
    assert_int_equal(vt_image_alloc(&small, 8, 8, 8), VT_OK);
    vt_camera_rays r;
    expect_error(vt_camera_stage_process(cs, &small, &r), VT_EMISMATCH, "camera 1 ('t0')");
    vt_image_free(&small);

    stages s;
    stages_new(&s, &o);
    for (int c = 0; c < g.cams; c++)
        assert_int_equal(vt_camera_stage_process(s.cam[c], NULL, &s.rays[c]), VT_OK);
    vt_ray ray = {.origin = {0, 0, 0}, .dir = {0, 0, 1}, .weight = 1, .sigma = 1e-3, .camera = 2};
    int32_t area = 1;
    s.rays[0] = (vt_camera_rays){.present = true, .rays = &ray, .area = &area, .nrays = 1};
    vt_set_detections d;
    expect_error(vt_vote_stage_process(s.vote, s.rays, &d), VT_EINVAL, "ray 0 says camera 2");

    vt_detection det = {.pos = {1, 2, 3}, .cov = {1, 0, 0, 1, 0, 1}, .ncameras = 3, .nrays = 2};
    vt_detection_ray dr[2] = {{.camera = 0, .weight = 1, .noise = 1, .area = 1},
                              {.camera = 1, .weight = 1, .noise = 1, .area = 1}};
    vt_set_detections in = {.detections = &det, .ndetections = 1, .rays = dr, .nrays = 1};
    vt_track_output out;
    expect_error(vt_track_stage_process(s.track, 1.0, &in, &out), VT_EINVAL, "detection 0");
    in.nrays = 2;
    dr[1].camera = (uint16_t)g.cams;
    expect_error(vt_track_stage_process(s.track, 1.0, &in, &out), VT_EINVAL, "not in the rig");
    dr[1].camera = 1;
    assert_int_equal(vt_track_stage_process(s.track, 1.0, &in, &out), VT_OK);
    assert_int_equal(out.ntracks, 1);
    expect_error(vt_track_stage_process(s.track, 0.5, &in, &out), VT_EINVAL, "goes back");
    stages_free(&s);
    vt_camera_stage_free(cs);
}

/* Sets pixel (x, y) of an 8- or 16-bit image. */
static void put(vt_image *img, int x, int y, int v)
{
    uint8_t *row = vt_image_row8(img, y);
    if (img->bits == 8)
        row[x] = (uint8_t)v;
    else
        ((uint16_t *)(void *)row)[x] = (uint16_t)v;
}

/* A frame of the camera's size, all `level`. */
static void flat(vt_image *img, const vt_rig_camera *rc, int level)
{
    assert_int_equal(vt_image_alloc(img, rc->cam.width, rc->cam.height, rc->bits), VT_OK);
    for (int y = 0; y < img->height; y++)
        for (int x = 0; x < img->width; x++)
            put(img, x, y, level);
}

/*
 * Over max_rays blobs, the camera stage keeps the strongest, in raster
 * order: a strong target at the bottom of a frame full of weak blobs above
 * it keeps its ray.
 */
static void a_ray_cap_keeps_the_strongest_blobs(void **state)
{
    (void)state;
    vt_pipeline_opts o = vt_test_scene_opts(&g, 1);
    o.mono.threshold = 10.0f; /* fixed: the flat frames have no noise to measure */
    o.max_rays = 5;
    const vt_rig_camera *rc = &g.rig->cameras[0];
    assert_int_equal(rc->modality, VT_MODALITY_MONO); /* polarity -1: darker is a change */
    vt_camera_stage *cs = NULL;
    assert_int_equal(vt_camera_stage_new(&o, g.rig, 0, &cs), VT_OK);
    vt_image a, b;
    flat(&a, rc, 100);
    flat(&b, rc, 100);
    enum { WEAK = 12 };
    for (int k = 0; k < WEAK; k++)
        put(&b, 10 + 4 * k, 10, 80); /* weak blobs, one pixel each, on row 10 */
    const int sx = rc->cam.width - 20, sy = rc->cam.height - 20;
    put(&b, sx, sy, 10); /* the strong one, last in raster order */
    put(&b, 6, 14, 70);  /* a second-strongest, between them */
    vt_camera_rays r;
    assert_int_equal(vt_camera_stage_process(cs, &a, &r), VT_OK);
    assert_int_equal(vt_camera_stage_process(cs, &b, &r), VT_OK);
    assert_int_equal(r.blobs, WEAK + 2);
    assert_int_equal(r.nrays, 5);
    /* Weights are peak / noise: 20, 30 and 90 grey levels over one unit. */
    float w[5];
    for (int k = 0; k < 5; k++)
        w[k] = r.rays[k].weight;
    /* In raster order: three weak blobs of row 10 (the first, by index), then 30, then 90. */
    assert_float_equal(w[0], w[1], 0.0f);
    assert_float_equal(w[1], w[2], 0.0f);
    assert_float_equal(w[3] / w[0], 1.5f, 1e-5f);
    assert_float_equal(w[4] / w[0], 4.5f, 1e-5f);
    vt_image_free(&a);
    vt_image_free(&b);
    vt_camera_stage_free(cs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stages_in_a_row_are_the_pipeline_gnn),
        cmocka_unit_test(stages_in_a_row_are_the_pipeline_mht),
        cmocka_unit_test(frame_sets_vote_the_same_in_any_order),
        cmocka_unit_test(stages_refuse_bad_input),
        cmocka_unit_test(a_ray_cap_keeps_the_strongest_blobs),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
