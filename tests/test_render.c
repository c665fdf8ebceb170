/*
 * tests/test_render.c - the synthetic camera: targets land where the camera
 * model projects them, with the area they have, over a sky whose noise,
 * clouds and hot pixels depend only on (seed, camera, frame, pixel).
 *
 * Geometry is checked on noise-free frames (no noise, clouds, gradient or
 * hot pixels): the intensity centroid of a target against
 * vt_camera_world_to_pixel of its centre through a distorted lens, and the
 * summed coverage of a target against its projected area. Determinism is
 * checked byte for byte with everything on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "voxtrack/render.h"
#include "voxtrack/rig.h"
#include "vt_test.h"

enum { W = 320, H = 240 };
#define FOCAL 400.0
#define FPS 30.0

/* ------------------------------------------------------------------------ */
/* Rigs and options                                                          */

static const double NO_DIST[5] = {0, 0, 0, 0, 0};
static const double LENS[5] = {-0.12, 0.03, 0.0015, -0.001, 0.0}; /* k1, k2, p1, p2, k3 */

/* A camera at the origin looking up (camera z = world z), principal point off centre. */
static vt_rig_camera make_camera(const char *id, vt_modality modality, const double dist[5])
{
    vt_rig_camera rc;
    memset(&rc, 0, sizeof rc);
    strcpy(rc.id, id);
    rc.modality = modality;
    rc.bits = modality == VT_MODALITY_MONO ? 8 : 16;
    rc.cam.width = W;
    rc.cam.height = H;
    rc.cam.fx = FOCAL;
    rc.cam.fy = FOCAL * 1.01;
    rc.cam.cx = W / 2.0 - 3.3;
    rc.cam.cy = H / 2.0 + 2.1;
    memcpy(rc.cam.dist, dist, sizeof rc.cam.dist);
    rc.cam.q = vt_q_identity();
    assert_int_equal(vt_camera_init(&rc.cam), VT_OK);
    return rc;
}

/* Camera 0 mono, camera 1 thermal, both with this lens. */
static void make_rig(vt_rig *rig, const double dist[5])
{
    vt_rig_init(rig);
    vt_rig_camera m = make_camera("m0", VT_MODALITY_MONO, dist);
    vt_rig_camera t = make_camera("t0", VT_MODALITY_THERMAL, dist);
    assert_int_equal(vt_rig_add(rig, &m), VT_OK);
    assert_int_equal(vt_rig_add(rig, &t), VT_OK);
}

static vt_render_sky flat_sky(float level)
{
    vt_render_sky s = {.level = level, .cloud_scale = 100.0f, .hot_value = 0.0f};
    return s;
}

/* A noise-free, cloud-free, flat sky: the frame is the targets' coverage and nothing else. */
static vt_render_opts quiet_opts(void)
{
    vt_render_opts o = vt_render_opts_default();
    o.mono = flat_sky(20.0f);
    o.thermal = flat_sky(1000.0f);
    return o;
}

/* Everything on, clouds drifting fast enough to be redrawn every few frames. */
static vt_render_opts busy_opts(uint64_t seed)
{
    vt_render_opts o = vt_render_opts_default();
    o.seed = seed;
    o.mono.cloud_speed = 7.0f;
    o.thermal.cloud_speed = 7.0f;
    o.mono.hot_fraction = 1e-3f;
    o.thermal.hot_fraction = 1e-3f;
    return o;
}

static vt_renderer *new_renderer(const vt_render_opts *o, const vt_rig *rig)
{
    vt_renderer *r = NULL;
    assert_int_equal(vt_renderer_new(o, rig, &r), VT_OK);
    assert_non_null(r);
    return r;
}

/* A sphere of `diameter_px` pixels whose centre projects to pixel (u, v), `depth` metres away. */
static vt_render_target target_at(const vt_rig *rig, int camera, double u, double v, double depth,
                                  double diameter_px)
{
    vt_vec3 o, d;
    assert_true(vt_camera_pixel_to_ray(&rig->cameras[camera].cam, u, v, &o, &d));
    double radius = 0.5 * diameter_px * depth / FOCAL;
    vt_render_target t = {.id = 1,
                          .kind = VT_TARGET_DRONE,
                          .pos = vt_v3_add(o, vt_v3_scale(d, depth / d.z)),
                          .semi = vt_v3(radius, radius, radius),
                          .mono = 250.0f,
                          .thermal = 30000.0f};
    return t;
}

static double pixel(const vt_image *img, int x, int y)
{
    return img->bits == 8 ? vt_image_row8(img, y)[x] : vt_image_row16(img, y)[x];
}

static bool same_pixels(const vt_image *a, const vt_image *b)
{
    if (a->width != b->width || a->height != b->height || a->bits != b->bits)
        return false;
    size_t row = (size_t)a->width * (size_t)(a->bits / 8);
    for (int y = 0; y < a->height; y++)
        if (memcmp(vt_image_row8(a, y), vt_image_row8(b, y), row) != 0)
            return false;
    return true;
}

/* Centroid of |pixel - sky| in a window around (u, v). */
static void centroid(const vt_image *img, double sky, double u, double v, int half, double *cu,
                     double *cv)
{
    double sw = 0, su = 0, sv = 0;
    for (int y = (int)v - half; y <= (int)v + half; y++)
        for (int x = (int)u - half; x <= (int)u + half; x++) {
            if (x < 0 || y < 0 || x >= img->width || y >= img->height)
                continue;
            double w = fabs(pixel(img, x, y) - sky);
            sw += w;
            su += w * x;
            sv += w * y;
        }
    assert_true(sw > 0);
    *cu = su / sw;
    *cv = sv / sw;
}

/* ------------------------------------------------------------------------ */
/* Geometry                                                                  */

static void check_centroid(const vt_rig *rig, vt_renderer *r, int camera, vt_render_target t,
                           double sky)
{
    vt_image img = {0};
    double pu, pv, cu, cv;
    assert_int_equal(vt_renderer_draw(r, camera, 0, 0.0, &t, 1, &img), VT_OK);
    assert_true(vt_camera_world_to_pixel(&rig->cameras[camera].cam, t.pos, &pu, &pv));
    centroid(&img, sky, pu, pv, 6, &cu, &cv);
    assert_near(cu, pu, 0.05);
    assert_near(cv, pv, 0.05);
    vt_image_free(&img);
}

static void target_centroid_is_its_projection_through_a_distorted_lens(void **state)
{
    (void)state;
    vt_rig rig;
    make_rig(&rig, LENS);
    vt_render_opts o = quiet_opts();
    vt_renderer *r = new_renderer(&o, &rig);
    const double where[][2] = {
        {156.7, 122.1}, {291.3, 17.8}, {12.6, 221.4}, {40.2, 30.9}, {250.45, 200.55}};
    const double diameters[] = {0.6, 1.3, 2.2, 3.0};
    for (int cam = 0; cam < 2; cam++)
        for (size_t i = 0; i < sizeof where / sizeof where[0]; i++)
            for (size_t k = 0; k < sizeof diameters / sizeof diameters[0]; k++) {
                vt_render_target t =
                    target_at(&rig, cam, where[i][0], where[i][1], 300.0, diameters[k]);
                check_centroid(&rig, r, cam, t, cam == 0 ? 20.0 : 1000.0);
            }
    vt_renderer_free(r);
    vt_rig_free(&rig);
}

static void ellipsoid_centroid_is_its_projection(void **state)
{
    (void)state;
    vt_rig rig;
    make_rig(&rig, LENS);
    vt_render_opts o = quiet_opts();
    vt_renderer *r = new_renderer(&o, &rig);
    vt_render_target t = target_at(&rig, 1, 231.2, 64.7, 200.0, 2.0);
    t.semi = vt_v3(t.semi.x * 1.6, t.semi.y * 0.7, t.semi.z);
    check_centroid(&rig, r, 1, t, 1000.0);
    vt_renderer_free(r);
    vt_rig_free(&rig);
}

static double summed_coverage(const vt_renderer *r, const vt_render_target *t, int cx, int cy,
                              int half)
{
    double sum = 0;
    for (int y = cy - half; y <= cy + half; y++)
        for (int x = cx - half; x <= cx + half; x++) {
            double c = vt_render_coverage(r, 0, t, x, y);
            assert_true(c >= 0.0 && c <= 1.0);
            sum += c;
        }
    return sum;
}

static void subpixel_coverage_sums_to_the_projected_area(void **state)
{
    (void)state;
    vt_rig rig;
    vt_rig_init(&rig);
    vt_rig_camera rc = make_camera("m0", VT_MODALITY_MONO, NO_DIST);
    rc.cam.fy = FOCAL;
    assert_int_equal(vt_camera_init(&rc.cam), VT_OK);
    assert_int_equal(vt_rig_add(&rig, &rc), VT_OK);
    vt_render_opts o = quiet_opts();
    vt_renderer *r = new_renderer(&o, &rig);
    const double offsets[][2] = {{0, 0}, {0.31, -0.17}, {0.5, 0.5}, {-0.44, 0.08}};
    const double diameters[] = {0.3, 0.8, 1.0, 4.5};
    /* Pure area coverage and the default point spread: the light sums to the area either way. */
    for (int blur = 0; blur < 2; blur++) {
        assert_int_equal(vt_renderer_set_blur(r, VT_MODALITY_MONO, blur * 0.5), VT_OK);
        for (size_t i = 0; i < sizeof offsets / sizeof offsets[0]; i++)
            for (size_t k = 0; k < sizeof diameters / sizeof diameters[0]; k++) {
                double fu = rc.cam.cx + offsets[i][0], fv = rc.cam.cy + offsets[i][1];
                vt_render_target t = target_at(&rig, 0, fu, fv, 500.0, diameters[k]);
                double r_px = FOCAL * t.semi.x / 500.0;
                double area = VT_PI * r_px * r_px;
                double sum = summed_coverage(r, &t, (int)floor(fu + 0.5), (int)floor(fv + 0.5), 4);
                assert_near(sum / area, 1.0, 0.015);
            }
    }
    vt_renderer_free(r);
    vt_rig_free(&rig);
}

static void drawn_pixels_are_the_coverage_blend(void **state)
{
    (void)state;
    vt_rig rig;
    make_rig(&rig, LENS);
    vt_render_opts o = quiet_opts();
    vt_renderer *r = new_renderer(&o, &rig);
    vt_render_target t = target_at(&rig, 1, 77.3, 180.6, 250.0, 3.7);
    vt_image img = {0};
    assert_int_equal(vt_renderer_draw(r, 1, 5, 0.2, &t, 1, &img), VT_OK);
    assert_int_equal(img.bits, 16);
    for (int y = 170; y < 192; y++)
        for (int x = 66; x < 88; x++) {
            double c = vt_render_coverage(r, 1, &t, x, y);
            assert_near(pixel(&img, x, y), 1000.0 + c * (30000.0 - 1000.0), 0.5 + 1e-3);
        }
    vt_image_free(&img);
    vt_renderer_free(r);
    vt_rig_free(&rig);
}

static void nearer_target_is_drawn_over_the_farther(void **state)
{
    (void)state;
    vt_rig rig;
    make_rig(&rig, NO_DIST);
    vt_render_opts o = quiet_opts();
    vt_renderer *r = new_renderer(&o, &rig);
    vt_render_target ts[2] = {target_at(&rig, 0, 100, 100, 100.0, 12.0),
                              target_at(&rig, 0, 100, 100, 400.0, 12.0)};
    ts[0].mono = 200.0f;
    ts[1].mono = 90.0f;
    vt_image img = {0};
    for (int order = 0; order < 2; order++) {
        vt_render_target pair[2] = {ts[order], ts[1 - order]};
        assert_int_equal(vt_renderer_draw(r, 0, 0, 0.0, pair, 2, &img), VT_OK);
        assert_int_equal(pixel(&img, 100, 100), 200);
    }
    vt_image_free(&img);
    vt_renderer_free(r);
    vt_rig_free(&rig);
}

static void a_moved_camera_sees_the_target_elsewhere(void **state)
{
    (void)state;
    vt_rig rig;
    make_rig(&rig, NO_DIST);
    vt_render_opts o = quiet_opts();
    vt_renderer *r = new_renderer(&o, &rig);
    vt_render_target t = target_at(&rig, 0, 100.0, 100.0, 200.0, 3.0);
    /* Moving the camera 1 m east moves the target 2 pixels left (f 400 at 200 m). */
    assert_int_equal(vt_renderer_set_pose(r, 0, vt_v3(1.0, 0.0, 0.0), vt_q_identity()), VT_OK);
    vt_image img = {0};
    double cu, cv;
    assert_int_equal(vt_renderer_draw(r, 0, 0, 0.0, &t, 1, &img), VT_OK);
    centroid(&img, 20.0, 98.0, 100.0, 6, &cu, &cv);
    assert_near(cu, 98.0, 0.05);
    assert_near(cv, 100.0, 0.05);
    vt_image_free(&img);
    vt_renderer_free(r);
    vt_rig_free(&rig);
}

/* ------------------------------------------------------------------------ */
/* What draws nothing                                                        */

static void targets_behind_or_outside_draw_nothing(void **state)
{
    (void)state;
    vt_rig rig;
    make_rig(&rig, LENS);
    vt_render_opts o = busy_opts(7);
    vt_renderer *r = new_renderer(&o, &rig);
    vt_render_target t = target_at(&rig, 0, 160, 120, 100.0, 8.0);
    vt_render_target none[4] = {t, t, t, t};
    none[0].pos = vt_v3(t.pos.x, t.pos.y, -100.0);     /* behind */
    none[1].pos = vt_v3(400.0, 0.0, 100.0);            /* far to the right, 76 degrees off axis */
    none[2].pos = vt_v3(-60.0, 40.0, 100.0);           /* left of and below the image */
    none[3].pos = vt_v3(0.0, 0.0, none[3].semi.z / 2); /* straddles the camera plane */
    for (int cam = 0; cam < 2; cam++) {
        vt_image sky = {0}, img = {0};
        assert_int_equal(vt_renderer_draw(r, cam, 3, 0.1, NULL, 0, &sky), VT_OK);
        assert_int_equal(vt_renderer_draw(r, cam, 3, 0.1, none, 4, &img), VT_OK);
        assert_true(same_pixels(&sky, &img));
        assert_int_equal(vt_render_coverage(r, cam, &none[0], 160, 120), 0);
        assert_int_equal(vt_renderer_draw(r, cam, 3, 0.1, &t, 1, &img), VT_OK);
        assert_false(same_pixels(&sky, &img));
        vt_image_free(&sky);
        vt_image_free(&img);
    }
    vt_renderer_free(r);
    vt_rig_free(&rig);
}

/* ------------------------------------------------------------------------ */
/* Determinism                                                               */

static vt_render_target some_targets[3];

static const vt_render_target *three_targets(const vt_rig *rig)
{
    some_targets[0] = target_at(rig, 0, 50.5, 60.2, 300.0, 2.5);
    some_targets[1] = target_at(rig, 0, 210.1, 150.9, 150.0, 0.7);
    some_targets[2] = target_at(rig, 0, 280.0, 40.0, 90.0, 9.0);
    some_targets[2].thermal = -1.0f;
    return some_targets;
}

static void draw_frames(vt_renderer *r, const vt_rig *rig, const int *order, int n, vt_image *out)
{
    const vt_render_target *ts = three_targets(rig);
    for (int i = 0; i < n; i++) {
        int f = order[i];
        for (int cam = 0; cam < 2; cam++)
            assert_int_equal(vt_renderer_draw(r, cam, f, f / FPS, ts, 3, &out[2 * f + cam]), VT_OK);
    }
}

static void free_frames(vt_image *f, int n)
{
    for (int i = 0; i < n; i++)
        vt_image_free(&f[i]);
}

enum { NFRAMES = 8 };

static void frames_depend_on_seed_not_on_order_or_threads(void **state)
{
    (void)state;
    vt_rig rig;
    make_rig(&rig, LENS);
    static const int forward[NFRAMES] = {0, 1, 2, 3, 4, 5, 6, 7};
    static const int shuffled[NFRAMES] = {5, 2, 7, 0, 3, 6, 1, 4};
    vt_image a[2 * NFRAMES] = {{0}}, b[2 * NFRAMES] = {{0}}, c[2 * NFRAMES] = {{0}};
    vt_render_opts o = busy_opts(42);
    o.threads = 1;
    vt_renderer *r1 = new_renderer(&o, &rig);
    draw_frames(r1, &rig, forward, NFRAMES, a);
    o.threads = 2;
    vt_renderer *r2 = new_renderer(&o, &rig);
    draw_frames(r2, &rig, shuffled, NFRAMES, b);
    o.seed = 43;
    vt_renderer *r3 = new_renderer(&o, &rig);
    draw_frames(r3, &rig, forward, NFRAMES, c);
    for (int i = 0; i < 2 * NFRAMES; i++) {
        assert_true(same_pixels(&a[i], &b[i]));
        assert_false(same_pixels(&a[i], &c[i]));
        if (i >= 2)
            assert_false(same_pixels(&a[i], &a[i - 2])); /* the noise changes every frame */
    }
    /* Drawing a frame again, after others, gives it back byte for byte. */
    vt_image again = {0};
    const vt_render_target *ts = three_targets(&rig);
    assert_int_equal(vt_renderer_draw(r2, 0, 1, 1 / FPS, ts, 3, &again), VT_OK);
    assert_true(same_pixels(&again, &a[2]));
    vt_image_free(&again);
    free_frames(a, 2 * NFRAMES);
    free_frames(b, 2 * NFRAMES);
    free_frames(c, 2 * NFRAMES);
    vt_renderer_free(r1);
    vt_renderer_free(r2);
    vt_renderer_free(r3);
    vt_rig_free(&rig);
}

/* ------------------------------------------------------------------------ */
/* Sky, noise, hot pixels, thermal                                           */

static void noise_has_the_asked_mean_and_deviation(void **state)
{
    (void)state;
    vt_rig rig;
    make_rig(&rig, NO_DIST);
    vt_render_opts o = quiet_opts();
    o.mono.level = 128.0f;
    o.mono.noise = 10.0f;
    vt_renderer *r = new_renderer(&o, &rig);
    vt_image img = {0};
    double s = 0, s2 = 0;
    int frames = 4;
    for (int f = 0; f < frames; f++) {
        assert_int_equal(vt_renderer_draw(r, 0, f, f / FPS, NULL, 0, &img), VT_OK);
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                double v = pixel(&img, x, y) - 128.0;
                s += v;
                s2 += v * v;
            }
    }
    double n = (double)frames * W * H;
    double mean = s / n, var = s2 / n - mean * mean;
    assert_near(mean, 0.0, 0.06);
    /* Rounding to integers adds 1/12 to the variance. */
    assert_near(sqrt(var - 1.0 / 12.0), 10.0, 0.1);
    vt_image_free(&img);
    vt_renderer_free(r);
    vt_rig_free(&rig);
}

static void clouds_are_smooth_and_drift(void **state)
{
    (void)state;
    vt_rig rig;
    make_rig(&rig, NO_DIST);
    vt_render_opts o = quiet_opts();
    o.thermal.cloud = 3000.0f;
    o.thermal.cloud_scale = 60.0f;
    o.thermal.cloud_speed = 20.0f;
    vt_renderer *r = new_renderer(&o, &rig);
    vt_image a = {0}, b = {0};
    assert_int_equal(vt_renderer_draw(r, 1, 0, 0.0, NULL, 0, &a), VT_OK);
    assert_int_equal(vt_renderer_draw(r, 1, 30, 1.0, NULL, 0, &b), VT_OK);
    double lo = 1e9, hi = -1e9, step = 0, moved = 0;
    for (int y = 0; y < H; y++)
        for (int x = 1; x < W; x++) {
            double v = pixel(&a, x, y);
            lo = fmin(lo, v);
            hi = fmax(hi, v);
            step = fmax(step, fabs(v - pixel(&a, x - 1, y)));
            moved = fmax(moved, fabs(v - pixel(&b, x, y)));
        }
    assert_true(hi - lo > 1000.0);    /* there are clouds */
    assert_true(step < 3000.0 * 0.2); /* no jumps between neighbours */
    assert_true(moved > 50.0);        /* 20 px in a second */
    vt_image_free(&a);
    vt_image_free(&b);
    vt_renderer_free(r);
    vt_rig_free(&rig);
}

static void hot_pixels_are_fixed_and_flicker(void **state)
{
    (void)state;
    vt_rig rig;
    make_rig(&rig, NO_DIST);
    vt_render_opts o = quiet_opts();
    o.mono.hot_fraction = 0.01f;
    o.mono.hot_value = 255.0f;
    vt_renderer *r = new_renderer(&o, &rig);
    vt_image img = {0};
    int frames = 6, ever = 0, on_total = 0;
    unsigned char *seen = calloc(W * H, 1);
    assert_non_null(seen);
    for (int f = 0; f < frames; f++) {
        assert_int_equal(vt_renderer_draw(r, 0, f, f / FPS, NULL, 0, &img), VT_OK);
        for (int i = 0; i < W * H; i++)
            if (pixel(&img, i % W, i / W) == 255) {
                on_total++;
                ever += !seen[i];
                seen[i] = 1;
            }
    }
    double hot = 0.01 * W * H, on_mean = (double)on_total / frames;
    assert_near(on_mean, hot / 2, hot * 0.1); /* on in half the frames */
    assert_true(ever < hot * 1.15);           /* always the same set */
    assert_true(ever > on_mean * 1.5);        /* which flickers */
    free(seen);
    vt_image_free(&img);
    vt_renderer_free(r);
    vt_rig_free(&rig);
}

static void thermal_is_16_bit_warm_and_blind_to_glints(void **state)
{
    (void)state;
    vt_rig rig;
    make_rig(&rig, LENS);
    vt_render_opts o = vt_render_opts_default();
    o.mono.hot_fraction = o.thermal.hot_fraction = 0.0f;
    vt_renderer *r = new_renderer(&o, &rig);
    vt_render_target drone = target_at(&rig, 1, 100.2, 90.7, 200.0, 6.0);
    vt_render_target glint = target_at(&rig, 1, 220.0, 160.0, 200.0, 6.0);
    drone.thermal = 20000.0f;
    glint.kind = VT_TARGET_GLINT;
    glint.thermal = -1.0f;
    glint.mono = 255.0f;
    vt_render_target both[2] = {drone, glint};
    vt_image sky = {0}, img = {0}, mono = {0};
    assert_int_equal(vt_renderer_draw(r, 1, 2, 0.0, &drone, 1, &sky), VT_OK);
    assert_int_equal(vt_renderer_draw(r, 1, 2, 0.0, both, 2, &img), VT_OK);
    assert_int_equal(img.bits, 16);
    assert_true(same_pixels(&sky, &img)); /* the glint added nothing */
    assert_true(pixel(&img, 100, 91) > o.thermal.level + 5000.0);
    assert_int_equal(vt_renderer_draw(r, 0, 2, 0.0, both, 2, &mono), VT_OK);
    assert_int_equal(mono.bits, 8);
    assert_true(pixel(&mono, 220, 160) > 240);
    vt_image_free(&sky);
    vt_image_free(&img);
    vt_image_free(&mono);
    vt_renderer_free(r);
    vt_rig_free(&rig);
}

/* ------------------------------------------------------------------------ */
/* Bad arguments                                                             */

static void assert_einval_naming(vt_status s, const char *word)
{
    assert_int_equal(s, VT_EINVAL);
    assert_non_null(strstr(vt_last_error(), word));
}

static void bad_arguments_are_refused_with_a_message(void **state)
{
    (void)state;
    vt_rig rig;
    make_rig(&rig, NO_DIST);
    vt_render_opts o = quiet_opts();
    vt_renderer *r = new_renderer(&o, &rig);
    vt_image img = {0};
    vt_render_target t = target_at(&rig, 0, 100, 100, 100.0, 3.0);
    assert_einval_naming(vt_renderer_draw(r, 2, 0, 0.0, &t, 1, &img), "camera 2 out of range");
    assert_einval_naming(vt_renderer_draw(r, -1, 0, 0.0, &t, 1, &img), "camera -1");
    assert_einval_naming(vt_renderer_draw(NULL, 0, 0, 0.0, &t, 1, &img), "NULL");
    assert_einval_naming(vt_renderer_draw(r, 0, 0, 0.0, &t, 1, NULL), "NULL");
    assert_einval_naming(vt_renderer_draw(r, 0, 0, 0.0, NULL, 3, &img), "NULL");
    t.semi.y = -1.0;
    assert_einval_naming(vt_renderer_draw(r, 0, 0, 0.0, &t, 1, &img), "semi-axes");
    assert_true(vt_render_coverage(r, 0, &t, 100, 100) < 0);
    assert_true(vt_render_coverage(r, 5, &t, 100, 100) < 0);
    assert_true(vt_render_coverage(NULL, 0, &t, 100, 100) < 0);
    assert_null(img.data);

    assert_einval_naming(vt_renderer_set_blur(r, VT_MODALITY_MONO, -0.1), "blur");
    assert_einval_naming(vt_renderer_set_blur(NULL, VT_MODALITY_MONO, 0.5), "NULL");
    assert_einval_naming(vt_renderer_set_pose(r, 3, vt_v3(0, 0, 0), vt_q_identity()), "camera 3");
    vt_quat zero = {0, 0, 0, 0};
    assert_einval_naming(vt_renderer_set_pose(r, 0, vt_v3(0, 0, 0), zero), "camera 0");

    vt_renderer *bad = NULL;
    assert_einval_naming(vt_renderer_new(&o, NULL, &bad), "rig");
    o.supersample = 0;
    assert_einval_naming(vt_renderer_new(&o, &rig, &bad), "supersample");
    o = quiet_opts();
    o.thermal.hot_fraction = 2.0f;
    assert_einval_naming(vt_renderer_new(&o, &rig, &bad), "thermal.hot_fraction");
    rig.cameras[1].cam.fx = 0.0;
    o = quiet_opts();
    assert_einval_naming(vt_renderer_new(&o, &rig, &bad), "camera 1");
    assert_null(bad);
    vt_renderer_free(NULL);
    vt_renderer_free(r);
    vt_rig_free(&rig);
}

/* ------------------------------------------------------------------------ */
/* Matched-filter SNR                                                        */

/* sqrt(sum of (with - without)^2) over a noise-free frame pair, in units of sigma. */
static double direct_snr(vt_renderer *quiet, int camera, const vt_render_target *ts, size_t which,
                         double sigma)
{
    vt_image with = {0}, without = {0};
    assert_int_equal(vt_renderer_draw(quiet, camera, 3, 0.1, &ts[which], 1, &with), VT_OK);
    assert_int_equal(vt_renderer_draw(quiet, camera, 3, 0.1, ts, 0, &without), VT_OK);
    double e = 0.0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            double d = pixel(&with, x, y) - pixel(&without, x, y);
            e += d * d;
        }
    vt_image_free(&with);
    vt_image_free(&without);
    return sqrt(e) / sigma;
}

static void snr_is_the_footprint_energy_over_the_noise(void **state)
{
    (void)state;
    vt_rig rig;
    make_rig(&rig, LENS);
    /* The direct sum needs changes far above the rounding: a 16-bit mono sky scaled by 100. */
    rig.cameras[0].bits = 16;
    vt_render_opts noisy = vt_render_opts_default();
    noisy.mono.level *= 100.0f;
    noisy.mono.gradient *= 100.0f;
    noisy.mono.cloud *= 100.0f;
    vt_render_opts quiet = noisy;
    noisy.mono.noise = 200.0f;
    noisy.thermal.noise = 20.0f;
    quiet.mono.noise = quiet.thermal.noise = 0.0f;
    quiet.mono.hot_fraction = quiet.thermal.hot_fraction = 0.0f;
    noisy.mono.hot_fraction = noisy.thermal.hot_fraction = 0.0f;
    vt_renderer *r = new_renderer(&noisy, &rig), *q = new_renderer(&quiet, &rig);
    /* Sub-pixel, pixel-sized and larger targets, dark in mono, warm in thermal; one far off. */
    vt_render_target ts[5] = {
        target_at(&rig, 0, 100.3, 80.6, 800.0, 0.4),  target_at(&rig, 0, 200.7, 150.2, 600.0, 1.1),
        target_at(&rig, 0, 60.1, 190.9, 300.0, 3.5),  target_at(&rig, 0, 250.5, 40.4, 900.0, 0.7),
        target_at(&rig, 0, -400.0, 90.0, 500.0, 2.0),
    };
    for (int i = 0; i < 5; i++) {
        ts[i].mono = 6000.0f;
        ts[i].thermal = 30000.0f;
        ts[i].id = i;
    }
    for (int cam = 0; cam < 2; cam++) {
        vt_image img = {0};
        assert_int_equal(vt_renderer_draw(r, cam, 3, 0.1, ts, 5, &img), VT_OK);
        size_t n = 0;
        const float *snr = vt_renderer_snr(r, cam, &n);
        assert_int_equal(n, 5);
        double sigma = cam == 0 ? 200.0 : 20.0;
        for (size_t i = 0; i < 4; i++) {
            double want = direct_snr(q, cam, ts, i, sigma);
            assert_true(want > 1.0);
            assert_near(snr[i], want, 0.01 * want);
        }
        assert_true(snr[4] == 0.0f); /* outside the image */
        vt_image_free(&img);
    }
    assert_null(vt_renderer_snr(r, 7, NULL));
    vt_renderer_free(r);
    vt_renderer_free(q);
    vt_rig_free(&rig);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(target_centroid_is_its_projection_through_a_distorted_lens),
        cmocka_unit_test(ellipsoid_centroid_is_its_projection),
        cmocka_unit_test(subpixel_coverage_sums_to_the_projected_area),
        cmocka_unit_test(drawn_pixels_are_the_coverage_blend),
        cmocka_unit_test(nearer_target_is_drawn_over_the_farther),
        cmocka_unit_test(a_moved_camera_sees_the_target_elsewhere),
        cmocka_unit_test(targets_behind_or_outside_draw_nothing),
        cmocka_unit_test(frames_depend_on_seed_not_on_order_or_threads),
        cmocka_unit_test(noise_has_the_asked_mean_and_deviation),
        cmocka_unit_test(clouds_are_smooth_and_drift),
        cmocka_unit_test(hot_pixels_are_fixed_and_flicker),
        cmocka_unit_test(thermal_is_16_bit_warm_and_blind_to_glints),
        cmocka_unit_test(bad_arguments_are_refused_with_a_message),
        cmocka_unit_test(snr_is_the_footprint_energy_over_the_noise),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
