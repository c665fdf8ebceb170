/*
 * src/detect/raymeet.c - rays through blob centroids, and the point where a
 * set of rays meets (see voxtrack/detect.h).
 *
 * Meeting point: the p that minimises sum_i w_i |(I - d_i d_i^T)(p - o_i)|^2,
 * the weighted squared perpendicular distances of p from the rays (the
 * linear "midpoint" triangulation of Hartley & Sturm, "Triangulation", 1997,
 * generalised to n rays). Setting the gradient to zero gives the 3x3 normal
 * equations A p = b with A = sum w_i P_i, b = sum w_i P_i o_i and
 * P_i = I - d_i d_i^T.
 *
 * A ray's direction is uncertain by sigma_i radians in each of the two
 * directions across it, so at range r_i it misses the true point by about
 * sigma_i r_i metres on each axis across it. Weighting each ray by
 * w_i = 1 / (sigma_i r_i)^2 makes the solution the maximum-likelihood
 * estimate under that noise, and A^-1 its covariance. The ranges need the
 * point, so the point is solved three times: with w_i = 1 / sigma_i^2 (no
 * range), then twice with the ranges from the previous solution.
 *
 * Near-parallel rays leave A nearly singular. Its conditioning is judged by
 * det(A) / (e2(A) tr(A)), with e2 the sum of the principal 2x2 minors: for a
 * symmetric positive semi-definite A that ratio lies within a factor 9 of
 * lambda_min / lambda_max, and it needs no eigen-solver (whose small
 * eigenvalue would lose half its digits when the two large ones are nearly
 * equal, which is exactly the two-ray case). It is checked on the first,
 * range-free solve, where it measures the geometry rather than the ranges.
 */
#include <math.h>
#include <stdint.h>

#include "core/internal.h"
#include "detect/detect_internal.h"
#include "voxtrack/detect.h"

/*
 * Two rays at an angle theta give a ratio of about theta^2 / 8, so 1e-12
 * refuses rays within about 3e-6 rad (0.6 arc seconds) of parallel.
 */
#define RCOND_MIN 1e-12
/* Ranges below this (a point at a camera's centre) would give a ray an unbounded weight. */
#define MIN_RANGE 1e-3

/* A symmetric 3x3 matrix as xx, xy, xz, yy, yz, zz, the order of vt_detection.cov. */
typedef struct sym3 {
    double a[6];
} sym3;

bool vt_ray_from_pixel(const vt_camera *cam, double u, double v, double sigma_px, float weight,
                       uint16_t camera, uint16_t pair, uint32_t blob, vt_ray *out)
{
    if (!cam || !out || !(cam->fx > 0.0))
        return false;
    vt_vec3 o, d;
    if (!vt_camera_pixel_to_ray(cam, u, v, &o, &d))
        return false;
    out->origin = o;
    out->dir = d;
    out->weight = weight;
    out->sigma = (float)(sigma_px / cam->fx);
    out->camera = camera;
    out->pair = pair;
    out->blob = blob;
    return true;
}

static inline const vt_ray *ray_at(const vt_ray *rays, const uint32_t *index, size_t k)
{
    return &rays[index ? index[k] : k];
}

/* Adds w (I - d d^T) to A and w (I - d d^T) o to b. */
static void add_ray(sym3 *A, vt_vec3 *b, const vt_ray *r, double w)
{
    vt_vec3 d = r->dir, o = r->origin;
    double dx = d.x, dy = d.y, dz = d.z;
    A->a[0] += w * (1.0 - dx * dx);
    A->a[1] -= w * dx * dy;
    A->a[2] -= w * dx * dz;
    A->a[3] += w * (1.0 - dy * dy);
    A->a[4] -= w * dy * dz;
    A->a[5] += w * (1.0 - dz * dz);
    double t = vt_v3_dot(d, o);
    b->x += w * (o.x - t * dx);
    b->y += w * (o.y - t * dy);
    b->z += w * (o.z - t * dz);
}

/* The adjugate of A (also symmetric); A^-1 = adj(A) / det(A). */
static sym3 adjugate(const sym3 *A)
{
    const double *m = A->a; /* xx xy xz yy yz zz */
    sym3 c;
    c.a[0] = m[3] * m[5] - m[4] * m[4];
    c.a[1] = m[2] * m[4] - m[1] * m[5];
    c.a[2] = m[1] * m[4] - m[2] * m[3];
    c.a[3] = m[0] * m[5] - m[2] * m[2];
    c.a[4] = m[1] * m[2] - m[0] * m[4];
    c.a[5] = m[0] * m[3] - m[1] * m[1];
    return c;
}

/*
 * Solves A p = b. With check_rcond, refuses an ill-conditioned A (see the
 * top of the file); otherwise only a singular one. Fills inv with A^-1.
 */
static bool solve3(const sym3 *A, vt_vec3 b, bool check_rcond, vt_vec3 *p, sym3 *inv)
{
    const double *m = A->a;
    sym3 adj = adjugate(A);
    double det = m[0] * adj.a[0] + m[1] * adj.a[1] + m[2] * adj.a[2];
    double tr = m[0] + m[3] + m[5];
    double e2 = adj.a[0] + adj.a[3] + adj.a[5];
    if (!(det > 0.0) || !(tr > 0.0) || !(e2 > 0.0) || !isfinite(det))
        return false;
    if (check_rcond && det / (e2 * tr) < RCOND_MIN)
        return false;
    double s = 1.0 / det;
    for (int i = 0; i < 6; i++)
        inv->a[i] = adj.a[i] * s;
    const double *q = inv->a;
    *p = vt_v3(q[0] * b.x + q[1] * b.y + q[2] * b.z, q[1] * b.x + q[3] * b.y + q[4] * b.z,
               q[2] * b.x + q[4] * b.y + q[5] * b.z);
    return true;
}

/* One weighted solve; `at` NULL means no range in the weights. */
static bool solve_once(const vt_ray *rays, const uint32_t *index, size_t n, const vt_vec3 *at,
                       vt_vec3 *p, sym3 *inv)
{
    sym3 A = {{0}};
    vt_vec3 b = vt_v3(0, 0, 0);
    for (size_t k = 0; k < n; k++) {
        const vt_ray *r = ray_at(rays, index, k);
        double s2 = (double)r->sigma * (double)r->sigma;
        if (at) {
            double range = vt_v3_norm(vt_v3_sub(*at, r->origin));
            range = range > MIN_RANGE ? range : MIN_RANGE;
            s2 *= range * range;
        }
        add_ray(&A, &b, r, 1.0 / s2);
    }
    return solve3(&A, b, at == NULL, p, inv);
}

static double rms_miss(const vt_ray *rays, const uint32_t *index, size_t n, vt_vec3 p)
{
    double sum = 0.0;
    for (size_t k = 0; k < n; k++) {
        const vt_ray *r = ray_at(rays, index, k);
        /* |w - (w . d) d|, not |w|^2 - (w . d)^2, which cancels to noise at long range. */
        vt_vec3 w = vt_v3_sub(p, r->origin);
        vt_vec3 across = vt_v3_sub(w, vt_v3_scale(r->dir, vt_v3_dot(w, r->dir)));
        sum += vt_v3_dot(across, across);
    }
    return sqrt(sum / (double)n);
}

vt_status vt__rays_meet(const vt_ray *rays, const uint32_t *index, size_t n, vt_vec3 *pos,
                        double cov[6], double *residual)
{
    vt_vec3 p;
    sym3 inv;
    if (!solve_once(rays, index, n, NULL, &p, &inv))
        return VT_ERANGE;
    for (int it = 0; it < 2; it++) {
        vt_vec3 at = p;
        if (!solve_once(rays, index, n, &at, &p, &inv))
            return VT_ERANGE;
    }
    *pos = p;
    if (cov)
        for (int i = 0; i < 6; i++)
            cov[i] = inv.a[i];
    if (residual)
        *residual = rms_miss(rays, index, n, p);
    return VT_OK;
}

vt_status vt_rays_meet(const vt_ray *rays, const uint32_t *index, size_t n, vt_vec3 *pos,
                       double cov[6], double *residual)
{
    if (!rays || !pos)
        return vt__error(VT_EINVAL, "rays_meet: %s is NULL", !rays ? "rays" : "pos");
    if (n < 2)
        return vt__error(VT_EINVAL, "rays_meet: %zu ray(s); the meeting point needs >= 2", n);
    for (size_t k = 0; k < n; k++) {
        const vt_ray *r = ray_at(rays, index, k);
        double dd = vt_v3_dot(r->dir, r->dir);
        if (!(fabs(dd - 1.0) <= 1e-6))
            return vt__error(VT_EINVAL,
                             "rays_meet: ray %zu: direction is not a unit vector "
                             "(norm %g)",
                             k, sqrt(dd));
        if (!(r->sigma > 0.0f) || !isfinite(r->sigma))
            return vt__error(VT_EINVAL, "rays_meet: ray %zu: sigma %g must be finite and > 0", k,
                             (double)r->sigma);
        if (!isfinite(r->origin.x) || !isfinite(r->origin.y) || !isfinite(r->origin.z))
            return vt__error(VT_EINVAL, "rays_meet: ray %zu: origin is not finite", k);
    }
    vt_status s = vt__rays_meet(rays, index, n, pos, cov, residual);
    if (s)
        return vt__error(s, "rays_meet: the %zu rays are (nearly) parallel; no meeting point", n);
    return VT_OK;
}
