/*
 * src/voxel/original.c - the original projector's float arithmetic (see
 * voxtrack/original.h): its rotation matrix, its pixel rays and its DDA,
 * written so that every float operation happens in the same order as in
 * ray_voxel.cpp. Compiled without floating-point contraction (ISO C mode), as
 * the original on x86-64, so the results agree to the last bit.
 */
#include <math.h>
#include <string.h>

#include "core/internal.h"
#include "voxel/grid_internal.h"
#include "voxtrack/original.h"

static float deg2rad_f(float deg)
{
    return deg * 3.14159265358979323846f / 180.0f;
}

static void matmul3_f(const float a[9], const float b[9], float c[9])
{
    for (int row = 0; row < 3; ++row)
        for (int col = 0; col < 3; ++col)
            c[row * 3 + col] = a[row * 3 + 0] * b[0 * 3 + col] + a[row * 3 + 1] * b[1 * 3 + col] +
                               a[row * 3 + 2] * b[2 * 3 + col];
}

void vt_original_camera_init(vt_original_camera *c, int width, int height, double fov_deg,
                             double yaw_deg, double pitch_deg, double roll_deg,
                             const double position[3])
{
    float y = deg2rad_f((float)yaw_deg), p = deg2rad_f((float)pitch_deg),
          r = deg2rad_f((float)roll_deg);
    float cy = cosf(y), sy = sinf(y), cr = cosf(r), sr = sinf(r), cp = cosf(p), sp = sinf(p);
    const float rz[9] = {cy, -sy, 0.f, sy, cy, 0.f, 0.f, 0.f, 1.f};
    const float ry[9] = {cr, 0.f, sr, 0.f, 1.f, 0.f, -sr, 0.f, cr};
    const float rx[9] = {1.f, 0.f, 0.f, 0.f, cp, -sp, 0.f, sp, cp};
    float tmp[9];
    matmul3_f(rz, ry, tmp);
    matmul3_f(tmp, rx, c->r);
    float fov_rad = deg2rad_f((float)fov_deg);
    c->focal = ((float)width * 0.5f) / tanf(fov_rad * 0.5f);
    for (int i = 0; i < 3; i++)
        c->position[i] = (float)position[i];
    c->width = width;
    c->height = height;
}

static void normalize_f(float v[3])
{
    float len = sqrtf(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
    if (len < 1e-12f) {
        v[0] = v[1] = v[2] = 0.f;
        return;
    }
    v[0] = v[0] / len;
    v[1] = v[1] / len;
    v[2] = v[2] / len;
}

void vt_original_pixel_dir(const vt_original_camera *c, int u, int v, float dir[3])
{
    float cam[3] = {(float)u - 0.5f * (float)c->width, -((float)v - 0.5f * (float)c->height),
                    -c->focal};
    normalize_f(cam);
    const float *m = c->r;
    dir[0] = m[0] * cam[0] + m[1] * cam[1] + m[2] * cam[2];
    dir[1] = m[3] * cam[0] + m[4] * cam[1] + m[5] * cam[2];
    dir[2] = m[6] * cam[0] + m[7] * cam[1] + m[8] * cam[2];
    normalize_f(dir);
}

static float safe_div_f(float num, float den)
{
    return fabsf(den) < 1e-12f ? INFINITY : num / den;
}

/* The original's slab test; false when the ray misses. */
static bool clip_f(const float o[3], const float d[3], const float mn[3], const float mx[3],
                   float *t_min, float *t_max)
{
    *t_min = 0.f;
    *t_max = INFINITY;
    for (int i = 0; i < 3; i++) {
        if (fabsf(d[i]) < 1e-12f) {
            if (o[i] < mn[i] || o[i] > mx[i])
                return false;
            continue;
        }
        float t1 = (mn[i] - o[i]) / d[i], t2 = (mx[i] - o[i]) / d[i];
        float t_near = fminf(t1, t2), t_far = fmaxf(t1, t2);
        if (t_near > *t_min)
            *t_min = t_near;
        if (t_far < *t_max)
            *t_max = t_far;
        if (*t_min > *t_max)
            return false;
    }
    return true;
}

vt_status vt_grid_cast_original(vt_grid *g, const float o[3], const float d[3], uint64_t weight,
                                uint64_t *steps)
{
    uint64_t n = 0;
    vt_status status = VT_OK;
    const int N = g->o.nx;
    if (g->o.ny != N || g->o.nz != N) {
        status = vt__error(VT_EUNSUPPORTED, "grid: the original traversal needs a cubic grid");
        goto out;
    }
    const float vs = (float)g->o.voxel_size;
    const float half = 0.5f * ((float)N * vs);
    const float c[3] = {(float)g->o.center.x, (float)g->o.center.y, (float)g->o.center.z};
    const float mn[3] = {c[0] - half, c[1] - half, c[2] - half};
    const float mx[3] = {c[0] + half, c[1] + half, c[2] + half};
    float t_min, t_max;
    if (!clip_f(o, d, mn, mx, &t_min, &t_max))
        goto out;
    if (t_min < 0.f)
        t_min = 0.f;
    int idx[3];
    for (int i = 0; i < 3; i++) {
        float start = o[i] + t_min * d[i];
        idx[i] = (int)((start - mn[i]) / vs);
        /* The original drops the ray here when it enters through a + face (index N). */
        if (idx[i] >= N)
            idx[i] = N - 1;
        if (idx[i] < 0)
            goto out;
    }
    int ix = idx[0], iy = idx[1], iz = idx[2];
    const int sx = d[0] >= 0.f ? 1 : -1, sy = d[1] >= 0.f ? 1 : -1, sz = d[2] >= 0.f ? 1 : -1;
    float tmx = safe_div_f(mn[0] + (float)(ix + (sx > 0)) * vs - o[0], d[0]);
    float tmy = safe_div_f(mn[1] + (float)(iy + (sy > 0)) * vs - o[1], d[1]);
    float tmz = safe_div_f(mn[2] + (float)(iz + (sz > 0)) * vs - o[2], d[2]);
    const float tdx = safe_div_f(vs, fabsf(d[0])), tdy = safe_div_f(vs, fabsf(d[1])),
                tdz = safe_div_f(vs, fabsf(d[2]));
    const int ex = sx > 0 ? 0 : VT_GRID_BRICK - 1, ey = sy > 0 ? 0 : VT_GRID_BRICK - 1,
              ez = sz > 0 ? 0 : VT_GRID_BRICK - 1;
    float t_cur = t_min;
    uint64_t *brick;
    int local;
new_brick:
    if (!(brick = vt__grid_brick(g, ix, iy, iz))) {
        status = VT_ENOMEM;
        goto out;
    }
    local = vt__grid_local_index(ix, iy, iz);
    while (t_cur <= t_max) {
        brick[local] += weight;
        n++;
        /* Strict comparisons, as the original: ties go to z, then y. */
        if (tmx < tmy && tmx < tmz) {
            t_cur = tmx;
            VT__STEP(ix, sx, N, tmx, tdx, 2 * VT_GRID_BRICK_LOG2, ex);
        } else if (tmy < tmz) {
            t_cur = tmy;
            VT__STEP(iy, sy, N, tmy, tdy, VT_GRID_BRICK_LOG2, ey);
        } else {
            t_cur = tmz;
            VT__STEP(iz, sz, N, tmz, tdz, 0, ez);
        }
    }
out:
    if (steps)
        *steps = n;
    return status;
}
