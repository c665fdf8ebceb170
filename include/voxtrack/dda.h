/*
 * voxtrack/dda.h - exact 3D DDA voxel traversal (Amanatides & Woo, "A Fast
 * Voxel Traversal Algorithm for Ray Tracing", Eurographics 1987).
 *
 * Visits every voxel of an nx x ny x nz grid that a ray passes through, in
 * order along the ray, none skipped and none twice. The grid spans
 * [lo, lo + n * voxel) on each axis. Unlike the original projector, a ray
 * that enters through a +x, +y or +z face starts in the last cell instead of
 * being dropped, and the start cell is clamped so that rounding at the entry
 * face never loses a ray.
 *
 * Header-only and VT_HD: the CPU and CUDA builds run the same arithmetic.
 * Usage:
 *
 *   vt_dda d;
 *   if (vt_dda_init(&d, origin, dir, lo, voxel, nx, ny, nz))
 *       do visit(d.ix, d.iy, d.iz); while (vt_dda_next(&d));
 */
#ifndef VOXTRACK_DDA_H
#define VOXTRACK_DDA_H

#include <math.h>
#include <stdbool.h>

#include "voxtrack/export.h"
#include "voxtrack/math3d.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vt_dda {
    int ix, iy, iz;       /* current voxel */
    int sx, sy, sz;       /* step per axis: +1 or -1 */
    int nx, ny, nz;       /* grid size */
    double tmx, tmy, tmz; /* ray parameter at the next boundary on each axis */
    double tdx, tdy, tdz; /* ray parameter between two boundaries on each axis */
    double t;             /* ray parameter where the current voxel was entered */
    double t_exit;        /* ray parameter where the ray leaves the grid */
} vt_dda;

VT_HD static inline int vt__dda_clamp(int i, int n)
{
    return i < 0 ? 0 : (i >= n ? n - 1 : i);
}

/* Slab test on one axis; narrows [*t0, *t1]. False when the ray misses. */
VT_HD static inline bool vt__dda_slab(double o, double d, double lo, double hi, double *t0,
                                      double *t1)
{
    if (d == 0.0)
        return o >= lo && o <= hi;
    double ta = (lo - o) / d, tb = (hi - o) / d;
    double tn = ta < tb ? ta : tb, tf = ta < tb ? tb : ta;
    if (tn > *t0)
        *t0 = tn;
    if (tf < *t1)
        *t1 = tf;
    return *t0 <= *t1;
}

/* Per-axis set-up: start index, step, next boundary and boundary spacing. */
VT_HD static inline void vt__dda_axis(double o, double d, double p, double lo, double voxel, int n,
                                      int *i, int *s, double *tm, double *td)
{
    *i = vt__dda_clamp((int)floor((p - lo) / voxel), n);
    if (d > 0.0) {
        *s = 1;
        *tm = (lo + (*i + 1) * voxel - o) / d;
        *td = voxel / d;
    } else if (d < 0.0) {
        *s = -1;
        *tm = (lo + *i * voxel - o) / d;
        *td = -voxel / d;
    } else {
        *s = 1;
        *tm = INFINITY;
        *td = INFINITY;
    }
}

/*
 * Starts a traversal of the ray origin + t dir, t >= 0 (dir need not be unit
 * length; t is in units of |dir|). Returns false when the ray misses the grid
 * or dir is zero or not finite.
 */
VT_HD static inline bool vt_dda_init(vt_dda *d, vt_vec3 o, vt_vec3 dir, vt_vec3 lo, double voxel,
                                     int nx, int ny, int nz)
{
    if (!(voxel > 0.0) || nx <= 0 || ny <= 0 || nz <= 0)
        return false;
    if (!isfinite(dir.x) || !isfinite(dir.y) || !isfinite(dir.z) ||
        (dir.x == 0.0 && dir.y == 0.0 && dir.z == 0.0))
        return false;
    double t0 = 0.0, t1 = INFINITY;
    if (!vt__dda_slab(o.x, dir.x, lo.x, lo.x + nx * voxel, &t0, &t1) ||
        !vt__dda_slab(o.y, dir.y, lo.y, lo.y + ny * voxel, &t0, &t1) ||
        !vt__dda_slab(o.z, dir.z, lo.z, lo.z + nz * voxel, &t0, &t1))
        return false;
    d->nx = nx;
    d->ny = ny;
    d->nz = nz;
    d->t = t0;
    d->t_exit = t1;
    vt__dda_axis(o.x, dir.x, o.x + t0 * dir.x, lo.x, voxel, nx, &d->ix, &d->sx, &d->tmx, &d->tdx);
    vt__dda_axis(o.y, dir.y, o.y + t0 * dir.y, lo.y, voxel, ny, &d->iy, &d->sy, &d->tmy, &d->tdy);
    vt__dda_axis(o.z, dir.z, o.z + t0 * dir.z, lo.z, voxel, nz, &d->iz, &d->sz, &d->tmz, &d->tdz);
    return true;
}

/*
 * Steps to the next voxel along the ray. Returns false (and leaves the
 * current voxel as it was) when the ray leaves the grid. On a tie (the ray
 * passes exactly through an edge or corner) x steps before y before z.
 */
VT_HD static inline bool vt_dda_next(vt_dda *d)
{
    if (d->tmx <= d->tmy && d->tmx <= d->tmz) {
        int i = d->ix + d->sx;
        if ((unsigned)i >= (unsigned)d->nx)
            return false;
        d->ix = i;
        d->t = d->tmx;
        d->tmx += d->tdx;
    } else if (d->tmy <= d->tmz) {
        int i = d->iy + d->sy;
        if ((unsigned)i >= (unsigned)d->ny)
            return false;
        d->iy = i;
        d->t = d->tmy;
        d->tmy += d->tdy;
    } else {
        int i = d->iz + d->sz;
        if ((unsigned)i >= (unsigned)d->nz)
            return false;
        d->iz = i;
        d->t = d->tmz;
        d->tmz += d->tdz;
    }
    return true;
}

#ifdef __cplusplus
}
#endif

#endif
