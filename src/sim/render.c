/*
 * src/sim/render.c - the synthetic camera: targets of their true size drawn
 * over the sky through the full camera model (see voxtrack/render.h; the
 * sky, noise and hot pixels are in render_sky.c).
 *
 * Targets are rasterised in render_target.c: exact ray-ellipsoid tests,
 * coverage exact along sub-rows, and the optics' point spread.
 *
 * A frame. The sky pass writes sky + noise to every pixel; the targets'
 * pixels (a list of pixel, order, coverage entries, sorted by pixel then by
 * distance, far first) are then composited, value = value (1 - c) + target c,
 * noised with the same noise as the pixel would have had and stored; last,
 * the hot pixels that are on. Targets only partly in front of the camera
 * plane (within their own size of the lens) are not drawn.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/internal.h"
#include "sim/render_internal.h"

enum {
    BORDER_STEP = 4 /* pixels between undistorted points of the image border */
};

/* Point spread: the default and the largest sigma, pixels. */
#define DEFAULT_BLUR 0.5
#define MAX_BLUR 8.0

vt_render_opts vt_render_opts_default(void)
{
    vt_render_opts o;
    memset(&o, 0, sizeof o);
    /* A bright overcast sky: dark targets in mono, warm ones in thermal. */
    o.mono = (vt_render_sky){.level = 180.0f,
                             .gradient = 20.0f,
                             .noise = 2.0f,
                             .cloud = 10.0f,
                             .cloud_scale = 240.0f,
                             .cloud_speed = 2.0f,
                             .hot_fraction = 1e-5f,
                             .hot_value = 255.0f};
    o.thermal = (vt_render_sky){.level = 8000.0f,
                                .gradient = 400.0f,
                                .noise = 20.0f,
                                .cloud = 200.0f,
                                .cloud_scale = 160.0f,
                                .cloud_speed = 2.0f,
                                .hot_fraction = 1e-5f,
                                .hot_value = 60000.0f};
    o.seed = 1;
    o.supersample = 8;
    o.threads = 0;
    return o;
}

/* ------------------------------------------------------------------------ */
/* Creation                                                                  */

static vt_status check_sky(const char *name, const vt_render_sky *s)
{
    const float v[] = {s->level,       s->gradient,    s->noise,        s->cloud,
                       s->cloud_scale, s->cloud_speed, s->hot_fraction, s->hot_value};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        if (!isfinite(v[i]))
            return vt__error(VT_EINVAL, "render: opts.%s: values must be finite", name);
    if (s->noise < 0 || s->cloud < 0)
        return vt__error(VT_EINVAL, "render: opts.%s: noise and cloud must be >= 0", name);
    if (s->cloud > 0 && !(s->cloud_scale > 0))
        return vt__error(VT_EINVAL, "render: opts.%s.cloud_scale must be > 0 (got %g)", name,
                         (double)s->cloud_scale);
    if (s->hot_fraction < 0 || s->hot_fraction > 1)
        return vt__error(VT_EINVAL, "render: opts.%s.hot_fraction must be in [0, 1] (got %g)", name,
                         (double)s->hot_fraction);
    return VT_OK;
}

/* The normalised bounding box of the image: undistorted points along its border. */
static void image_bounds(vt__render_cam *c)
{
    const vt_camera *k = &c->cam;
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    int nu = k->width / BORDER_STEP + 1, nv = k->height / BORDER_STEP + 1;
    for (int side = 0; side < 4; side++) {
        int n = side < 2 ? nu : nv;
        for (int i = 0; i <= n; i++) {
            double f = (double)i / n;
            double u = side < 2 ? -0.5 + f * k->width : (side == 2 ? -0.5 : k->width - 0.5);
            double v = side < 2 ? (side == 0 ? -0.5 : k->height - 0.5) : -0.5 + f * k->height;
            double x, y;
            vt_camera_undistort(k, (u - k->cx) / k->fx, (v - k->cy) / k->fy, &x, &y);
            x0 = fmin(x0, x);
            x1 = fmax(x1, x);
            y0 = fmin(y0, y);
            y1 = fmax(y1, y);
        }
    }
    /* Room for the border's bends between the points. */
    double mx = 0.01 * (x1 - x0) + 2.0 / k->fx, my = 0.01 * (y1 - y0) + 2.0 / k->fy;
    c->nx0 = x0 - mx;
    c->nx1 = x1 + mx;
    c->ny0 = y0 - my;
    c->ny1 = y1 + my;
}

static vt_status init_camera(const vt_renderer *r, const vt_rig_camera *rc, int index,
                             vt__render_cam *c)
{
    c->index = index;
    c->cam = rc->cam;
    vt_status s = vt_camera_init(&c->cam);
    if (s != VT_OK)
        return vt__error_prefix(s, "render: rig camera %d ('%s')", index, rc->id);
    c->modality = rc->modality;
    if (c->modality != VT_MODALITY_MONO && c->modality != VT_MODALITY_THERMAL)
        return vt__error(VT_EINVAL, "render: rig camera %d ('%s'): unknown modality %d", index,
                         rc->id, (int)rc->modality);
    c->bits = rc->bits ? rc->bits : (c->modality == VT_MODALITY_MONO ? 8 : 16);
    if (c->bits != 8 && c->bits != 16)
        return vt__error(VT_EINVAL, "render: rig camera %d ('%s'): bits must be 8 or 16 (got %d)",
                         index, rc->id, rc->bits);
    c->sky = c->modality == VT_MODALITY_MONO ? &r->opts.mono : &r->opts.thermal;
    image_bounds(c);
    return VT_OK;
}

vt_status vt_renderer_new(const vt_render_opts *opts, const vt_rig *rig, vt_renderer **out)
{
    if (!out)
        return vt__error(VT_EINVAL, "render: out is NULL");
    *out = NULL;
    if (!rig)
        return vt__error(VT_EINVAL, "render: rig is NULL");
    if (rig->count < 0 || (rig->count > 0 && !rig->cameras))
        return vt__error(VT_EINVAL, "render: rig has %d cameras and cameras %p", rig->count,
                         (void *)rig->cameras);
    vt_render_opts o = opts ? *opts : vt_render_opts_default();
    if (o.supersample < 1 || o.supersample > VT__RENDER_MAX_ROWS)
        return vt__error(VT_EINVAL, "render: opts.supersample must be in [1, %d] (got %d)",
                         VT__RENDER_MAX_ROWS, o.supersample);
    vt_status s = check_sky("mono", &o.mono);
    if (s == VT_OK)
        s = check_sky("thermal", &o.thermal);
    if (s != VT_OK)
        return s;

    vt_renderer *r = calloc(1, sizeof *r);
    if (!r)
        return vt__error(VT_ENOMEM, "render: out of memory");
    r->opts = o;
    r->cams = calloc(rig->count > 0 ? (size_t)rig->count : 1, sizeof *r->cams);
    if (!r->cams) {
        free(r);
        return vt__error(VT_ENOMEM, "render: out of memory for %d cameras", rig->count);
    }
    r->count = rig->count;
    for (int i = 0; i < rig->count && s == VT_OK; i++)
        s = init_camera(r, &rig->cameras[i], i, &r->cams[i]);
    if (s != VT_OK) {
        vt_renderer_free(r);
        return s;
    }
    vt__render_gauss_table(r->gauss);
    vt__render_psf_tables(r);
    r->blur[VT_MODALITY_MONO] = r->blur[VT_MODALITY_THERMAL] = DEFAULT_BLUR;
    *out = r;
    return VT_OK;
}

void vt_renderer_free(vt_renderer *r)
{
    if (!r)
        return;
    for (int i = 0; i < r->count; i++) {
        vt__render_cam *c = &r->cams[i];
        free(c->row_level);
        free(c->sky_px);
        free(c->hot);
        free(c->entries);
        free(c->snr);
        for (int k = 0; k < c->work_count; k++) {
            free(c->work[k].scratch);
            free(c->work[k].entries);
        }
        free(c->work);
    }
    free(r->cams);
    free(r);
}

/*
 * Appends the in-image pixels of one target (drawing order seq) to the
 * camera's entries, and sums the squares of the change it makes alone,
 * cover * (value - sky), into *energy (what vt_renderer_snr reports).
 */
static vt_status add_entries(const vt__render_cam *c, vt__render_work *w,
                             const vt__render_grid *grid, uint32_t seq, float value, double *energy)
{
    double e = 0.0;
    int x0 = grid->x0 < 0 ? 0 : grid->x0, y0 = grid->y0 < 0 ? 0 : grid->y0;
    int x1 = grid->x0 + grid->w, y1 = grid->y0 + grid->h;
    x1 = x1 > c->cam.width ? c->cam.width : x1;
    y1 = y1 > c->cam.height ? c->cam.height : y1;
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) {
            double cover = vt__render_grid_cover(grid, x, y);
            if (cover == 0.0)
                continue;
            double change = (double)(float)cover * (value - vt__render_sky_at(c, x, y));
            e += change * change;
            vt_status s = vt__grow(&w->entries, &w->cap, w->count + 1, sizeof *w->entries);
            if (s != VT_OK)
                return s;
            w->entries[w->count++] =
                (vt__render_entry){.pixel = (uint64_t)y * (uint64_t)c->cam.width + (uint64_t)x,
                                   .seq = seq,
                                   .cover = (float)cover,
                                   .value = value};
        }
    *energy = e;
    return VT_OK;
}

/* ------------------------------------------------------------------------ */
/* Drawing                                                                   */

static vt_status check_target(const vt_render_target *t, size_t i)
{
    if (!isfinite(t->pos.x) || !isfinite(t->pos.y) || !isfinite(t->pos.z))
        return vt__error(VT_EINVAL, "render: target %zu (id %d): position must be finite", i,
                         t->id);
    if (!(t->semi.x > 0 && t->semi.y > 0 && t->semi.z > 0) || !isfinite(t->semi.x) ||
        !isfinite(t->semi.y) || !isfinite(t->semi.z))
        return vt__error(VT_EINVAL, "render: target %zu (id %d): semi-axes must be finite and > 0",
                         i, t->id);
    if (!isfinite(t->mono) || !isfinite(t->thermal))
        return vt__error(VT_EINVAL, "render: target %zu (id %d): brightness must be finite", i,
                         t->id);
    return VT_OK;
}

typedef struct ordered_target {
    vt__render_geom g;
    float value;
    size_t index;
} ordered_target;

static int farther_first(const void *pa, const void *pb)
{
    const ordered_target *a = pa, *b = pb;
    if (a->g.distance != b->g.distance)
        return a->g.distance > b->g.distance ? -1 : 1;
    return a->index < b->index ? -1 : a->index > b->index;
}

static int by_pixel_then_order(const void *pa, const void *pb)
{
    const vt__render_entry *a = pa, *b = pb;
    if (a->pixel != b->pixel)
        return a->pixel < b->pixel ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static vt_status ensure_work(vt__render_cam *c, int nt)
{
    if (c->work_count >= nt)
        return VT_OK;
    vt__render_work *w = realloc(c->work, (size_t)nt * sizeof *w);
    if (!w)
        return vt__error(VT_ENOMEM, "render: camera %d: out of memory", c->index);
    memset(w + c->work_count, 0, (size_t)(nt - c->work_count) * sizeof *w);
    c->work = w;
    c->work_count = nt;
    return VT_OK;
}

/* sqrt(energy) / sigma; a visible target without noise is infinitely significant. */
static float snr_of(double energy, float sigma)
{
    if (!(energy > 0.0))
        return 0.0f;
    return sigma > 0.0f ? (float)(sqrt(energy) / sigma) : INFINITY;
}

/*
 * Rasterises the targets (in far-to-near order) on all threads, each into
 * its own work area, then gathers the entries. Which thread drew a target
 * does not matter: the entries are sorted by (pixel, order) afterwards.
 */
static vt_status rasterise_all(const vt_renderer *r, vt__render_cam *c, const ordered_target *ot,
                               size_t n)
{
    int nt = vt__render_threads(r);
    vt_status s = ensure_work(c, nt);
    if (s != VT_OK)
        return s;
    for (int k = 0; k < nt; k++) {
        c->work[k].count = 0;
        c->work[k].status = VT_OK;
    }
    vt__render_psf p = vt__render_camera_psf(r, c);
#pragma omp parallel for num_threads(nt) schedule(dynamic, 4) if (nt > 1 && n > 8)
    for (size_t i = 0; i < n; i++) {
        vt__render_work *w = &c->work[omp_get_thread_num()];
        if (w->status != VT_OK)
            continue;
        vt__render_grid grid;
        double energy = 0.0;
        w->status = vt__render_rasterise(c, &ot[i].g, &p, &w->scratch, &w->scratch_cap, &grid);
        if (w->status == VT_OK)
            w->status = add_entries(c, w, &grid, (uint32_t)i, ot[i].value, &energy);
        c->snr[ot[i].index] = snr_of(energy, c->sky->noise); /* one target per entry: no race */
    }
    size_t total = 0;
    for (int k = 0; k < nt; k++) {
        if (c->work[k].status != VT_OK)
            return vt__error(c->work[k].status, "render: camera %d: out of memory for targets",
                             c->index);
        total += c->work[k].count;
    }
    if ((s = vt__grow(&c->entries, &c->entry_cap, total, sizeof *c->entries)) != VT_OK)
        return s;
    c->entry_count = 0;
    for (int k = 0; k < nt; k++) {
        if (c->work[k].count == 0)
            continue; /* its entries may never have been allocated */
        memcpy(c->entries + c->entry_count, c->work[k].entries,
               c->work[k].count * sizeof *c->entries);
        c->entry_count += c->work[k].count;
    }
    return VT_OK;
}

/* The camera's entries for these targets, sorted by pixel, far targets first within a pixel. */
static vt_status collect_entries(const vt_renderer *r, vt__render_cam *c,
                                 const vt_render_target *targets, size_t count)
{
    c->entry_count = 0;
    c->snr_count = 0;
    if (count == 0)
        return VT_OK;
    vt_status s = vt__grow(&c->snr, &c->snr_cap, count, sizeof *c->snr);
    if (s != VT_OK)
        return s;
    memset(c->snr, 0, count * sizeof *c->snr);
    c->snr_count = count;
    ordered_target *ot = malloc(count * sizeof *ot);
    if (!ot)
        return vt__error(VT_ENOMEM, "render: out of memory for %zu targets", count);
    size_t n = 0;
    for (size_t i = 0; i < count; i++) {
        const vt_render_target *t = &targets[i];
        float value = c->modality == VT_MODALITY_MONO ? t->mono : t->thermal;
        if (c->modality == VT_MODALITY_THERMAL && t->thermal < 0)
            continue; /* glints: not seen in thermal */
        if (vt__render_geom_init(c, t, r->opts.supersample, &ot[n].g)) {
            ot[n].value = value;
            ot[n].index = i;
            n++;
        }
    }
    qsort(ot, n, sizeof *ot, farther_first);
    s = rasterise_all(r, c, ot, n);
    free(ot);
    if (s != VT_OK)
        return s;
    if (c->entry_count > 1)
        qsort(c->entries, c->entry_count, sizeof *c->entries, by_pixel_then_order);
    return VT_OK;
}

/* Composites the sorted entries over the sky and stores them noised. */
static void composite(const vt_renderer *r, const vt__render_cam *c, int64_t frame, vt_image *out)
{
    uint64_t key = vt__render_noise_key(r, c, frame);
    float sigma = c->sky->noise;
    uint64_t w = (uint64_t)c->cam.width;
    for (size_t i = 0; i < c->entry_count;) {
        uint64_t p = c->entries[i].pixel;
        int x = (int)(p % w), y = (int)(p / w);
        float v = vt__render_sky_at(c, x, y);
        for (; i < c->entry_count && c->entries[i].pixel == p; i++)
            v += c->entries[i].cover * (c->entries[i].value - v);
        if (sigma > 0.0f)
            v += sigma * vt__render_noise_at(r, c, key, x, y);
        vt__render_store(out, x, y, v);
    }
}

static vt_status ensure_image(const vt__render_cam *c, vt_image *out)
{
    if (out->data && out->width == c->cam.width && out->height == c->cam.height &&
        out->bits == c->bits)
        return VT_OK;
    vt_image_free(out);
    vt_status s = vt_image_alloc(out, c->cam.width, c->cam.height, c->bits);
    if (s != VT_OK)
        return vt__error_prefix(s, "render: camera %d", c->index);
    return VT_OK;
}

static vt_status check_draw(const vt_renderer *r, int camera, const vt_render_target *targets,
                            size_t count)
{
    if (!r)
        return vt__error(VT_EINVAL, "render: renderer is NULL");
    if (camera < 0 || camera >= r->count)
        return vt__error(VT_EINVAL, "render: camera %d out of range (the rig has %d)", camera,
                         r->count);
    if (count > 0 && !targets)
        return vt__error(VT_EINVAL, "render: targets is NULL but count is %zu", count);
    return VT_OK;
}

vt_status vt_renderer_draw(vt_renderer *r, int camera, int64_t frame, double t,
                           const vt_render_target *targets, size_t count, vt_image *out)
{
    vt_status s = check_draw(r, camera, targets, count);
    if (s != VT_OK)
        return s;
    if (!out)
        return vt__error(VT_EINVAL, "render: camera %d: out image is NULL", camera);
    if (!isfinite(t))
        return vt__error(VT_EINVAL, "render: camera %d: time %g is not finite", camera, t);
    for (size_t i = 0; i < count; i++)
        if ((s = check_target(&targets[i], i)) != VT_OK)
            return s;
    vt__render_cam *c = &r->cams[camera];
    if ((s = ensure_image(c, out)) != VT_OK || (s = vt__render_sky_update(r, c, t)) != VT_OK ||
        (s = vt__render_hot_update(r, c)) != VT_OK ||
        (s = collect_entries(r, c, targets, count)) != VT_OK)
        return s;
    vt__render_sky_pass(r, c, frame, out);
    composite(r, c, frame, out);
    vt__render_hot_pass(r, c, frame, out);
    return VT_OK;
}

const float *vt_renderer_snr(const vt_renderer *r, int camera, size_t *count)
{
    if (count)
        *count = 0;
    if (check_draw(r, camera, NULL, 0) != VT_OK)
        return NULL;
    const vt__render_cam *c = &r->cams[camera];
    if (count)
        *count = c->snr_count;
    return c->snr;
}

double vt_render_coverage(const vt_renderer *r, int camera, const vt_render_target *target, int x,
                          int y)
{
    if (check_draw(r, camera, target, 1) != VT_OK || check_target(target, 0) != VT_OK)
        return -1.0;
    const vt__render_cam *c = &r->cams[camera];
    if (x < 0 || y < 0 || x >= c->cam.width || y >= c->cam.height)
        return 0.0;
    vt__render_geom g;
    if (!vt__render_geom_init(c, target, r->opts.supersample, &g))
        return 0.0;
    vt__render_psf p = vt__render_camera_psf(r, c);
    vt__render_grid grid;
    double *scratch = NULL;
    size_t cap = 0;
    if (vt__render_rasterise(c, &g, &p, &scratch, &cap, &grid) != VT_OK)
        return -1.0;
    double cover = vt__render_grid_cover(&grid, x, y);
    free(scratch);
    return cover;
}

vt_status vt_renderer_set_blur(vt_renderer *r, vt_modality modality, double sigma)
{
    if (!r)
        return vt__error(VT_EINVAL, "render: renderer is NULL");
    if (modality != VT_MODALITY_MONO && modality != VT_MODALITY_THERMAL)
        return vt__error(VT_EINVAL, "render: blur: unknown modality %d", (int)modality);
    if (!(sigma >= 0.0 && sigma <= MAX_BLUR))
        return vt__error(VT_EINVAL, "render: blur must be in [0, %g] pixels (got %g)", MAX_BLUR,
                         sigma);
    r->blur[modality] = sigma;
    return VT_OK;
}

vt_status vt_renderer_set_pose(vt_renderer *r, int camera, vt_vec3 position, vt_quat q)
{
    vt_status s = check_draw(r, camera, NULL, 0);
    if (s != VT_OK)
        return s;
    vt_camera cam = r->cams[camera].cam;
    cam.position = position;
    cam.q = q;
    if ((s = vt_camera_init(&cam)) != VT_OK)
        return vt__error_prefix(s, "render: camera %d: set_pose", camera);
    r->cams[camera].cam = cam;
    return VT_OK;
}
