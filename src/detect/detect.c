/*
 * src/detect/detect.c - vote clusters to 3D detections, with ray ownership
 * (see voxtrack/detect.h).
 *
 * Ghosts: with many targets, rays of different targets cross where nothing
 * is, and the vote grid cannot tell such a crossing from a target. What
 * tells them apart is that a real target explains its rays best. So the
 * clusters are visited strongest first, and each ray may support one
 * detection only: once a target has taken its rays, a ghost built from them
 * is left with too few cameras (the greedy "ray ownership" rule of
 * space-carving and multi-view counting, e.g. Otsuka & Mukawa, "Multiview
 * occlusion analysis for tracking densely populated objects", CVPR 2004).
 * A camera sees a target once, so a detection takes at most one ray per
 * camera: the one passing closest.
 *
 * For one cluster: gather the unowned rays passing within the gate of its
 * centroid, solve their least-squares meeting point (raymeet.c), gather again
 * around that point and solve again, three passes in all (fewer when the set
 * of rays stops changing). The gate of a ray at range t is max(gate_min,
 * gate_sigma * sigma * t) metres of miss distance.
 *
 * Speed: testing every ray against every cluster costs clusters x rays. The
 * rays are instead bucketed per camera by direction: the directions of one
 * camera are mapped by the gnomonic (central) projection onto the plane
 * across their mean direction, where a uniform grid sorts them (counting
 * sort). A query point defines a cone of directions (half-angle from the
 * gate); its image on that plane lies in a square whose half-size is the
 * cone's angle times the projection's largest stretch, 1 / cos^2 of the
 * cone's furthest angle from the mean. Only the grid cells under that square
 * are tested, and only for the cameras in the cluster's mask. A camera whose
 * rays span too wide a cone for the projection (> 75 degrees from their mean,
 * a fisheye) is tested ray by ray.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/internal.h"
#include "detect/detect_internal.h"
#include "voxtrack/detect.h"

enum {
    MAX_CAMERAS = 64,
    MAX_GRID = 64, /* cells per side of a camera's direction grid */
    GATE_PASSES = 3
};

/* cos(75 deg): rays further from their camera's mean direction get no grid. */
#define MAX_CONE_COS 0.25881904510252074
/* cos(80 deg): a query cone reaching past this is tested ray by ray. */
#define MAX_VIEW_COS 0.17364817766693041

/*
 * One camera's rays, bucketed by direction: the rays of its cell j are
 * sorted[cell_start[cells + j] .. cell_start[cells + j + 1]). A camera
 * without a grid has one cell.
 */
typedef struct cam_grid {
    uint32_t count;    /* its rays */
    uint32_t cells;    /* its first cell */
    int g;             /* cells per side; 0 = no grid, one cell */
    vt_vec3 origin;    /* its first ray's origin */
    vt_vec3 m, e1, e2; /* mean direction and the plane across it */
    double delta;      /* largest distance of one of its ray origins from `origin` */
    double max_sigma;
    double a0, b0, inv_a, inv_b; /* grid: cell = floor((a - a0) * inv_a), likewise b */
} cam_grid;

typedef struct ranked {
    uint64_t weight;
    uint32_t index;
} ranked;

struct vt__detect_work {
    size_t ray_capacity;
    uint32_t *key;    /* per ray: its cell, counting all cameras' cells in one row */
    uint32_t *sorted; /* ray indices by key: by camera, then by cell */
    uint8_t *owned;
    size_t cell_capacity;
    uint32_t *cell_start;
    size_t order_capacity;
    ranked *order; /* clusters, strongest first */
    cam_grid cams[MAX_CAMERAS];
};

/* What one vt_detect() call works with. */
typedef struct detector {
    const vt_ray *rays;
    const vt_detect_opts *opts;
    struct vt__detect_work *w;
    uint64_t present; /* cameras with at least one ray */
} detector;

vt_detect_opts vt_detect_opts_default(void)
{
    vt_detect_opts o = {.min_cameras = 3,
                        .min_thermal = 0,
                        .gate_sigma = 3.0,
                        .gate_min = 0.5,
                        .max_residual = 2.0,
                        .thermal_mask = 0};
    return o;
}

void vt_detection_list_free(vt_detection_list *l)
{
    if (!l)
        return;
    free(l->items);
    free(l->ray_index);
    if (l->work) {
        free(l->work->key);
        free(l->work->sorted);
        free(l->work->owned);
        free(l->work->cell_start);
        free(l->work->order);
    }
    free(l->work);
    memset(l, 0, sizeof *l);
}

/* ------------------------------------------------------------------------ */
/* Checks and memory                                                         */

static bool finite3(vt_vec3 v)
{
    return isfinite(v.x) && isfinite(v.y) && isfinite(v.z);
}

static vt_status check_opts(const vt_detect_opts *o)
{
    if (o->min_cameras < 2 || o->min_cameras > MAX_CAMERAS)
        return vt__error(VT_EINVAL, "detect: min_cameras %d must lie in [2, 64]", o->min_cameras);
    if (o->min_thermal < 0 || o->min_thermal > MAX_CAMERAS)
        return vt__error(VT_EINVAL, "detect: min_thermal %d must lie in [0, 64]", o->min_thermal);
    if (!(o->gate_sigma >= 0.0) || !isfinite(o->gate_sigma))
        return vt__error(VT_EINVAL, "detect: gate_sigma %g must be finite and >= 0", o->gate_sigma);
    if (!(o->gate_min >= 0.0) || !isfinite(o->gate_min))
        return vt__error(VT_EINVAL, "detect: gate_min %g must be finite and >= 0", o->gate_min);
    if (!(o->max_residual > 0.0))
        return vt__error(VT_EINVAL, "detect: max_residual %g must be > 0", o->max_residual);
    return VT_OK;
}

static vt_status check_rays(const vt_ray *rays, size_t nray)
{
    for (size_t i = 0; i < nray; i++) {
        const vt_ray *r = &rays[i];
        if (r->camera >= MAX_CAMERAS)
            return vt__error(VT_ERANGE, "detect: ray %zu: camera %u is not < 64", i, r->camera);
        double dd = vt_v3_dot(r->dir, r->dir);
        if (!(fabs(dd - 1.0) <= 1e-6))
            return vt__error(VT_EINVAL, "detect: ray %zu: direction is not a unit vector", i);
        if (!(r->sigma > 0.0f) || !isfinite(r->sigma))
            return vt__error(VT_EINVAL, "detect: ray %zu: sigma %g must be finite and > 0", i,
                             (double)r->sigma);
        if (!finite3(r->origin))
            return vt__error(VT_EINVAL, "detect: ray %zu: origin is not finite", i);
    }
    return VT_OK;
}

static vt_status check_args(const vt_cluster *clusters, size_t ncluster, const vt_ray *rays,
                            size_t nray, const vt_detect_opts *opts)
{
    if (!clusters && ncluster > 0)
        return vt__error(VT_EINVAL, "detect: clusters is NULL but ncluster is %zu", ncluster);
    if (!rays && nray > 0)
        return vt__error(VT_EINVAL, "detect: rays is NULL but nray is %zu", nray);
    if (nray > UINT32_MAX || ncluster > UINT32_MAX)
        return vt__error(VT_ERANGE, "detect: %zu rays and %zu clusters; at most 2^32 - 1 each",
                         nray, ncluster);
    for (size_t k = 0; k < ncluster; k++)
        if (!finite3(clusters[k].centroid))
            return vt__error(VT_EINVAL, "detect: cluster %zu: centroid is not finite", k);
    vt_status s = check_opts(opts);
    return s ? s : check_rays(rays, nray);
}

static vt_status reserve(struct vt__detect_work *w, size_t nray, size_t ncluster)
{
    void *const arrays[] = {&w->key, &w->sorted, &w->owned};
    const size_t elems[] = {sizeof *w->key, sizeof *w->sorted, sizeof *w->owned};
    vt_status s = vt__grow_group(arrays, elems, 3, &w->ray_capacity, nray);
    if (s)
        return s;
    return vt__grow(&w->order, &w->order_capacity, ncluster, sizeof(ranked));
}

/* ------------------------------------------------------------------------ */
/* Direction grids                                                           */

/* Two unit vectors that complete m to an orthonormal basis. */
static void basis_across(vt_vec3 m, vt_vec3 *e1, vt_vec3 *e2)
{
    vt_vec3 axis = fabs(m.x) < 0.6 ? vt_v3(1, 0, 0) : vt_v3(0, 1, 0);
    *e1 = vt_v3_normalize(vt_v3_cross(m, axis));
    *e2 = vt_v3_cross(m, *e1);
}

/* Gnomonic coordinates of a direction d with d . m > 0. */
static inline void gnomonic(const cam_grid *g, vt_vec3 d, double *a, double *b)
{
    double z = vt_v3_dot(d, g->m);
    *a = vt_v3_dot(d, g->e1) / z;
    *b = vt_v3_dot(d, g->e2) / z;
}

static inline int cell_coord(double x, double x0, double inv, int g)
{
    double c = floor((x - x0) * inv);
    return c < 0.0 ? 0 : c > g - 1 ? g - 1 : (int)c;
}

/*
 * Per camera: ray count, first origin, how far the other origins are from
 * it, largest sigma, mean direction. Decides which cameras get a grid: those
 * with enough rays, all within MAX_CONE_COS of their mean.
 */
static void describe_cameras(detector *dt, size_t nray)
{
    cam_grid *cams = dt->w->cams;
    vt_vec3 sum[MAX_CAMERAS];
    dt->present = 0;
    for (size_t i = 0; i < nray; i++) {
        const vt_ray *r = &dt->rays[i];
        cam_grid *g = &cams[r->camera];
        if (!(dt->present >> r->camera & 1)) {
            dt->present |= 1ull << r->camera;
            *g = (cam_grid){.origin = r->origin};
            sum[r->camera] = vt_v3(0, 0, 0);
        }
        double off = vt_v3_norm(vt_v3_sub(r->origin, g->origin));
        g->delta = off > g->delta ? off : g->delta;
        g->max_sigma = r->sigma > g->max_sigma ? r->sigma : g->max_sigma;
        sum[r->camera] = vt_v3_add(sum[r->camera], r->dir);
        g->count++;
    }
    for (int c = 0; c < MAX_CAMERAS; c++) {
        cam_grid *g = &cams[c];
        /* A handful of rays is cheaper to test than to bucket. */
        if (!(dt->present >> c & 1) || g->count < 8 || vt_v3_norm(sum[c]) < 1e-9)
            continue;
        g->m = vt_v3_normalize(sum[c]);
        g->g = (int)ceil(sqrt(g->count / 2.0));
        g->g = g->g > MAX_GRID ? MAX_GRID : g->g;
        g->a0 = g->b0 = INFINITY;
        g->inv_a = g->inv_b = -INFINITY; /* the largest a and b, until set_extent() */
    }
    for (size_t i = 0; i < nray; i++) {
        cam_grid *g = &cams[dt->rays[i].camera];
        if (g->g && vt_v3_dot(dt->rays[i].dir, g->m) < MAX_CONE_COS)
            g->g = 0;
    }
}

/* The extent of each grid camera's directions on its plane, and its cells. */
static void set_extent(detector *dt, size_t nray)
{
    cam_grid *cams = dt->w->cams;
    for (int c = 0; c < MAX_CAMERAS; c++)
        if (cams[c].g)
            basis_across(cams[c].m, &cams[c].e1, &cams[c].e2);
    for (size_t i = 0; i < nray; i++) {
        cam_grid *g = &cams[dt->rays[i].camera];
        if (!g->g)
            continue;
        double a, b;
        gnomonic(g, dt->rays[i].dir, &a, &b);
        g->a0 = a < g->a0 ? a : g->a0;
        g->b0 = b < g->b0 ? b : g->b0;
        g->inv_a = a > g->inv_a ? a : g->inv_a;
        g->inv_b = b > g->inv_b ? b : g->inv_b;
    }
    for (int c = 0; c < MAX_CAMERAS; c++) {
        cam_grid *g = &cams[c];
        if (!g->g)
            continue;
        double wa = g->inv_a - g->a0, wb = g->inv_b - g->b0;
        g->inv_a = g->g / (wa > 1e-12 ? wa : 1e-12);
        g->inv_b = g->g / (wb > 1e-12 ? wb : 1e-12);
    }
}

/* Sorts the rays by camera and cell (one counting sort) and fills cell_start. */
static vt_status bucket_rays(detector *dt, size_t nray)
{
    struct vt__detect_work *w = dt->w;
    cam_grid *cams = w->cams;
    uint32_t ncell = 0;
    for (int c = 0; c < MAX_CAMERAS; c++) {
        if (!(dt->present >> c & 1))
            continue;
        cams[c].cells = ncell;
        ncell += cams[c].g ? (uint32_t)(cams[c].g * cams[c].g) : 1;
    }
    vt_status s = vt__grow(&w->cell_start, &w->cell_capacity, (size_t)ncell + 1, sizeof(uint32_t));
    if (s)
        return s;
    uint32_t *start = w->cell_start;
    memset(start, 0, ((size_t)ncell + 1) * sizeof *start);
    for (size_t i = 0; i < nray; i++) {
        const cam_grid *g = &cams[dt->rays[i].camera];
        uint32_t key = g->cells;
        if (g->g) {
            double a, b;
            gnomonic(g, dt->rays[i].dir, &a, &b);
            key += (uint32_t)(cell_coord(b, g->b0, g->inv_b, g->g) * g->g +
                              cell_coord(a, g->a0, g->inv_a, g->g));
        }
        w->key[i] = key;
        start[key + 1]++;
    }
    for (uint32_t c = 0; c < ncell; c++)
        start[c + 1] += start[c];
    /* Placing moves each start to the next cell's start; shift them back after. */
    for (size_t i = 0; i < nray; i++)
        w->sorted[start[w->key[i]]++] = (uint32_t)i;
    memmove(start + 1, start, ncell * sizeof *start);
    start[0] = 0;
    return VT_OK;
}

/* ------------------------------------------------------------------------ */
/* Gathering the rays near a point                                           */

/* The closest unowned ray of each camera within the gate of a point. */
typedef struct nearest {
    uint64_t found;
    uint32_t ray[MAX_CAMERAS];
    double miss2[MAX_CAMERAS];
} nearest;

static inline void test_ray(const detector *dt, uint32_t i, vt_vec3 p, nearest *n)
{
    if (dt->w->owned[i])
        return;
    const vt_ray *r = &dt->rays[i];
    vt_vec3 w = vt_v3_sub(p, r->origin);
    double t = vt_v3_dot(w, r->dir);
    if (!(t > 0.0))
        return;
    double miss2 = vt_v3_dot(w, w) - t * t;
    double gate = dt->opts->gate_sigma * r->sigma * t;
    gate = gate > dt->opts->gate_min ? gate : dt->opts->gate_min;
    if (miss2 > gate * gate)
        return;
    int c = r->camera;
    /* Ties go to the lower ray index, so the visiting order never matters. */
    if (!(n->found >> c & 1) || miss2 < n->miss2[c] || (miss2 == n->miss2[c] && i < n->ray[c])) {
        n->found |= 1ull << c;
        n->ray[c] = i;
        n->miss2[c] = miss2;
    }
}

static void test_cells(const detector *dt, uint32_t c0, uint32_t c1, vt_vec3 p, nearest *n)
{
    const uint32_t *start = dt->w->cell_start;
    for (uint32_t k = start[c0]; k < start[c1]; k++)
        test_ray(dt, dt->w->sorted[k], p, n);
}

/*
 * The grid column (or row) of x, -1 left of the grid and g right of it, so
 * that an empty window stays empty. Comparisons rather than floor(), fmin()
 * and fmax(), which are library calls under strict IEEE semantics.
 */
static inline int window_cell(double x, double x0, double inv, int g)
{
    double c = (x - x0) * inv;
    return c < 0.0 ? -1 : c >= g ? g : (int)c;
}

/*
 * The square of grid cells that holds every direction of camera g within
 * the gate of p. False when the camera must be tested ray by ray.
 */
static bool cell_window(const detector *dt, const cam_grid *g, vt_vec3 p, int win[4])
{
    vt_vec3 v = vt_v3_sub(p, g->origin);
    double range = vt_v3_norm(v), near = range - g->delta;
    if (!g->g || !(near > g->delta))
        return false;
    /* A ray within the gate of p leaves it at sin(angle) <= gate / range. */
    double s = dt->opts->gate_min / near;
    s = s > dt->opts->gate_sigma * g->max_sigma ? s : dt->opts->gate_sigma * g->max_sigma;
    /*
     * Rays from origins up to delta away see p up to asin(delta / near) off.
     * No trigonometry: asin(x) <= 1.048 x for x <= 0.5, cos(a) >= 1 - a^2 / 2
     * and sin(a) <= a, which only widen the window.
     */
    if (s + g->delta / near >= 0.5)
        return false;
    double alpha = 1.048 * (s + g->delta / near) * (1.0 + 1e-9) + 1e-12;
    double cq = vt_v3_dot(v, g->m) / range, sq2 = 1.0 - cq * cq;
    double sq = sq2 > 0.0 ? sqrt(sq2) : 0.0;
    double cos_far = cq * (1.0 - 0.5 * alpha * alpha) - sq * alpha;
    if (!(cos_far > MAX_VIEW_COS))
        return false;
    double qa, qb;
    gnomonic(g, v, &qa, &qb);
    double h = alpha / (cos_far * cos_far) + 1e-12;
    win[0] = window_cell(qa - h, g->a0, g->inv_a, g->g);
    win[1] = window_cell(qa + h, g->a0, g->inv_a, g->g);
    win[2] = window_cell(qb - h, g->b0, g->inv_b, g->g);
    win[3] = window_cell(qb + h, g->b0, g->inv_b, g->g);
    return true;
}

/*
 * The closest unowned ray per camera of `mask` within the gate of p, in
 * camera order, into set[]; returns how many.
 */
static int gather(const detector *dt, uint64_t mask, vt_vec3 p, uint32_t set[MAX_CAMERAS])
{
    nearest n;
    n.found = 0;
    for (uint64_t m = mask; m; m &= m - 1) {
        const cam_grid *g = &dt->w->cams[__builtin_ctzll(m)];
        int win[4];
        if (!cell_window(dt, g, p, win)) {
            uint32_t ncell = g->g ? (uint32_t)(g->g * g->g) : 1;
            test_cells(dt, g->cells, g->cells + ncell, p, &n);
            continue;
        }
        int a0 = win[0] < 0 ? 0 : win[0], a1 = win[1] >= g->g ? g->g - 1 : win[1];
        int b0 = win[2] < 0 ? 0 : win[2], b1 = win[3] >= g->g ? g->g - 1 : win[3];
        for (int b = b0; b <= b1 && a0 <= a1; b++) {
            uint32_t row = g->cells + (uint32_t)(b * g->g);
            test_cells(dt, row + (uint32_t)a0, row + (uint32_t)a1 + 1, p, &n);
        }
    }
    int k = 0;
    for (uint64_t m = n.found; m; m &= m - 1)
        set[k++] = n.ray[__builtin_ctzll(m)];
    return k;
}

/* ------------------------------------------------------------------------ */
/* Clusters to detections                                                    */

static int by_weight_desc(const void *pa, const void *pb)
{
    const ranked *a = pa, *b = pb;
    if (a->weight != b->weight)
        return a->weight > b->weight ? -1 : 1;
    return a->index < b->index ? -1 : a->index > b->index;
}

static uint64_t cameras_of(const detector *dt, const uint32_t *set, int n)
{
    uint64_t m = 0;
    for (int k = 0; k < n; k++)
        m |= 1ull << dt->rays[set[k]].camera;
    return m;
}

/* Enough cameras, and enough thermal ones when the rig has any and they are asked for. */
static bool enough_cameras(const detector *dt, const uint32_t *set, int n)
{
    const vt_detect_opts *o = dt->opts;
    if (n < o->min_cameras)
        return false;
    if (o->thermal_mask == 0 || o->min_thermal <= 0)
        return true;
    return __builtin_popcountll(cameras_of(dt, set, n) & o->thermal_mask) >= o->min_thermal;
}

static vt_status append_detection(detector *dt, const vt_detection *d, const uint32_t *set,
                                  vt_detection_list *out)
{
    vt_status s = vt__grow(&out->items, &out->capacity, out->count + 1, sizeof(vt_detection));
    if (!s)
        s = vt__grow(&out->ray_index, &out->index_capacity, out->nindex + (size_t)d->nrays,
                     sizeof(uint32_t));
    if (s)
        return s;
    vt_detection *nd = &out->items[out->count++];
    *nd = *d;
    nd->first_ray = (int)out->nindex;
    for (int k = 0; k < d->nrays; k++) {
        out->ray_index[out->nindex++] = set[k];
        dt->w->owned[set[k]] = 1;
    }
    return VT_OK;
}

/*
 * One cluster: gate around its centroid, solve, gate around the solution
 * and solve again, up to GATE_PASSES times; keep it when the final rays come
 * from enough cameras and meet closely enough.
 */
static vt_status detect_cluster(detector *dt, const vt_cluster *cl, vt_detection_list *out)
{
    uint64_t mask = cl->cameras ? cl->cameras & dt->present : dt->present;
    if (__builtin_popcountll(mask) < dt->opts->min_cameras)
        return VT_OK;
    uint32_t set[MAX_CAMERAS], used[MAX_CAMERAS];
    int nused = 0;
    vt_detection d = {.pos = cl->centroid};
    for (int pass = 0; pass < GATE_PASSES; pass++) {
        int n = gather(dt, mask, d.pos, set);
        if (!enough_cameras(dt, set, n))
            return VT_OK;
        /* The same rays would give the same point. */
        if (n == nused && memcmp(set, used, (size_t)n * sizeof *set) == 0)
            break;
        if (vt__rays_meet(dt->rays, set, (size_t)n, &d.pos, d.cov, &d.residual))
            return VT_OK;
        memcpy(used, set, (size_t)n * sizeof *set);
        nused = n;
    }
    if (!(d.residual <= dt->opts->max_residual))
        return VT_OK;
    d.nrays = nused;
    d.cameras = cameras_of(dt, used, nused);
    d.ncameras = __builtin_popcountll(d.cameras);
    d.nthermal = __builtin_popcountll(d.cameras & dt->opts->thermal_mask);
    for (int k = 0; k < nused; k++)
        d.weight += dt->rays[used[k]].weight;
    return append_detection(dt, &d, used, out);
}

vt_status vt_detect(const vt_cluster *clusters, size_t ncluster, const vt_ray *rays, size_t nray,
                    const vt_detect_opts *opts, vt_detection_list *out)
{
    if (!out)
        return vt__error(VT_EINVAL, "detect: output list is NULL");
    out->count = 0;
    out->nindex = 0;
    vt_detect_opts defaults = vt_detect_opts_default();
    opts = opts ? opts : &defaults;
    vt_status s = check_args(clusters, ncluster, rays, nray, opts);
    if (s)
        return s;
    if (ncluster == 0 || nray == 0)
        return VT_OK;
    if (!out->work) {
        out->work = calloc(1, sizeof *out->work);
        if (!out->work)
            return vt__error(VT_ENOMEM, "detect: cannot allocate the working memory");
    }
    s = reserve(out->work, nray, ncluster);
    if (s)
        return s;
    detector dt = {.rays = rays, .opts = opts, .w = out->work};
    describe_cameras(&dt, nray);
    set_extent(&dt, nray);
    s = bucket_rays(&dt, nray);
    if (s)
        return s;
    memset(dt.w->owned, 0, nray);
    ranked *order = dt.w->order;
    for (size_t k = 0; k < ncluster; k++)
        order[k] = (ranked){.weight = clusters[k].weight, .index = (uint32_t)k};
    qsort(order, ncluster, sizeof *order, by_weight_desc);
    for (size_t k = 0; k < ncluster && !s; k++)
        s = detect_cluster(&dt, &clusters[order[k].index], out);
    if (s) {
        out->count = 0;
        out->nindex = 0;
    }
    return s;
}
