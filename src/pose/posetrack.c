/*
 * src/pose/posetrack.c - pose tracks: timestamped poses, the pose at any time
 * between them, and their file, the pose log (voxtrack/pose.h, docs/POSE.md).
 *
 * Samples live in one array sorted by time; a query finds its interval by
 * binary search and interpolates: linearly for the position, by slerp for the
 * orientation (constant angular rate between samples, which is what a filter
 * stepping at the IMU rate or a 100 Hz motion-capture log gives). A query in
 * a gap longer than max_gap fails rather than invent a pose across a dropout.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "pose/pose_internal.h"
#include "voxtrack/pose.h"

struct vt_pose_track {
    char name[256];
    double max_gap;
    vt_pose_sample *s;
    size_t count, cap;
};

static const char header[] = "t,x,y,z,qw,qx,qy,qz";

vt_status vt_pose_track_new(const char *name, double max_gap, vt_pose_track **out)
{
    if (!out)
        return vt__error(VT_EINVAL, "vt_pose_track_new: out is NULL");
    *out = NULL;
    if (!(max_gap > 0.0) || !isfinite(max_gap))
        return vt__error(VT_EINVAL, "%s: max_gap must be > 0 and finite", name ? name : "poses");
    vt_pose_track *tr = calloc(1, sizeof *tr);
    if (!tr)
        return vt__error(VT_ENOMEM, "poses: out of memory");
    snprintf(tr->name, sizeof tr->name, "%s", name ? name : "poses");
    tr->max_gap = max_gap;
    *out = tr;
    return VT_OK;
}

void vt_pose_track_free(vt_pose_track *tr)
{
    if (!tr)
        return;
    free(tr->s);
    free(tr);
}

/* Appends without checks beyond memory; the callers check. */
static vt_status push(vt_pose_track *tr, double t, vt_vec3 p, vt_quat q)
{
    if (tr->count == tr->cap) {
        size_t n = tr->cap ? 2 * tr->cap : 1024;
        vt_pose_sample *g = n < SIZE_MAX / sizeof *g ? realloc(tr->s, n * sizeof *g) : NULL;
        if (!g)
            return vt__error(VT_ENOMEM, "%s: out of memory for %zu poses", tr->name, n);
        tr->s = g;
        tr->cap = n;
    }
    tr->s[tr->count++] = (vt_pose_sample){t, p, vt_q_normalize(q)};
    return VT_OK;
}

static bool finite_pose(double t, vt_vec3 p, vt_quat q)
{
    return isfinite(t) && isfinite(p.x) && isfinite(p.y) && isfinite(p.z) && isfinite(q.w) &&
           isfinite(q.x) && isfinite(q.y) && isfinite(q.z);
}

vt_status vt_pose_track_append(vt_pose_track *tr, double t, vt_vec3 p, vt_quat q)
{
    if (!tr)
        return vt__error(VT_EINVAL, "vt_pose_track_append: NULL track");
    if (!finite_pose(t, p, q))
        return vt__error(VT_EINVAL, "%s: pose at t = %.9g s is not finite", tr->name, t);
    if (tr->count && !(t > tr->s[tr->count - 1].t))
        return vt__error(VT_EINVAL, "%s: pose at t = %.9f s is not after the last (%.9f s)",
                         tr->name, t, tr->s[tr->count - 1].t);
    double n = vt_q_norm(q);
    if (!(fabs(n - 1.0) <= 1e-6))
        return vt__error(VT_EINVAL, "%s: pose at t = %.9f s: quaternion norm %.9g is not 1",
                         tr->name, t, n);
    return push(tr, t, p, q);
}

static vt_status pose_line(const vt__csv *c, void *ctx, void *rec, double *t)
{
    (void)ctx;
    static const char *const names[8] = {"t", "x", "y", "z", "qw", "qx", "qy", "qz"};
    double v[8];
    vt_status st = vt__csv_numbers(c, 8, names, false, v);
    if (st)
        return st;
    vt_quat q = {v[4], v[5], v[6], v[7]};
    double n = vt_q_norm(q);
    if (!(fabs(n - 1.0) <= 1e-3))
        return vt__error(VT_EPARSE,
                         "%s: line %ld: quaternion (%g, %g, %g, %g) has norm %.6g, not 1", c->name,
                         c->line, q.w, q.x, q.y, q.z, n);
    vt_pose_sample s = {v[0], vt_v3(v[1], v[2], v[3]), vt_q_normalize(q)};
    memcpy(rec, &s, sizeof s);
    *t = v[0];
    return VT_OK;
}

vt_status vt_pose_track_parse(const char *text, size_t len, const char *name, double max_gap,
                              vt_pose_track **out)
{
    if (!out || (!text && len))
        return vt__error(VT_EINVAL, "vt_pose_track_parse: NULL argument");
    *out = NULL;
    vt_pose_track *tr;
    vt_status st = vt_pose_track_new(name, max_gap, &tr);
    if (st)
        return st;
    st = vt__csv_read(text, len, tr->name, header, sizeof *tr->s, pose_line, NULL, (void **)&tr->s,
                      &tr->count);
    if (st) {
        vt_pose_track_free(tr);
        return st;
    }
    tr->cap = tr->count;
    *out = tr;
    return VT_OK;
}

vt_status vt_pose_track_load(const char *path, double max_gap, vt_pose_track **out)
{
    if (!path || !out)
        return vt__error(VT_EINVAL, "vt_pose_track_load: NULL argument");
    char *text;
    size_t len;
    vt_status st = vt__read_text_file(path, &text, &len);
    if (st)
        return st;
    st = vt_pose_track_parse(text, len, path, max_gap, out);
    free(text);
    return st;
}

vt_status vt_pose_track_save(const vt_pose_track *tr, const char *path)
{
    if (!tr || !path)
        return vt__error(VT_EINVAL, "vt_pose_track_save: NULL argument");
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return vt__error(VT_ERANGE, "%s: path too long", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return vt__error(VT_EIO, "%s: cannot create: %s", tmp, strerror(errno));
    fprintf(f, "%s\n", header);
    for (size_t i = 0; i < tr->count; i++) {
        const vt_pose_sample *s = &tr->s[i];
        fprintf(f, "%.9f,%.9f,%.9f,%.9f,%.12f,%.12f,%.12f,%.12f\n", s->t, s->p.x, s->p.y, s->p.z,
                s->q.w, s->q.x, s->q.y, s->q.z);
    }
    bool bad = ferror(f) != 0;
    if (fclose(f) != 0 || bad) {
        remove(tmp);
        return vt__error(VT_EIO, "%s: write failed", tmp);
    }
    if (rename(tmp, path) != 0) {
        remove(tmp);
        return vt__error(VT_EIO, "%s: cannot rename to %s: %s", tmp, path, strerror(errno));
    }
    return VT_OK;
}

vt_status vt_pose_track_at(const vt_pose_track *tr, double t, vt_vec3 *p, vt_quat *q)
{
    if (!tr || !p || !q)
        return vt__error(VT_EINVAL, "vt_pose_track_at: NULL argument");
    if (tr->count == 0)
        return vt__error(VT_ERANGE, "%s: no poses", tr->name);
    const vt_pose_sample *s = tr->s;
    size_t n = tr->count;
    if (!(t >= s[0].t && t <= s[n - 1].t))
        return vt__error(VT_ERANGE, "%s: t = %.6f s is outside the poses' span [%.6f, %.6f] s",
                         tr->name, t, s[0].t, s[n - 1].t);
    /* The last sample at or before t. */
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo + 1) / 2;
        if (s[mid].t <= t)
            lo = mid;
        else
            hi = mid - 1;
    }
    if (s[lo].t == t || lo + 1 == n) {
        *p = s[lo].p;
        *q = s[lo].q;
        return VT_OK;
    }
    const vt_pose_sample *a = &s[lo], *b = &s[lo + 1];
    double gap = b->t - a->t;
    if (gap > tr->max_gap)
        return vt__error(VT_ERANGE,
                         "%s: t = %.6f s falls in a gap of %.6g s between poses at %.6f and %.6f s "
                         "(max_gap %g s)",
                         tr->name, t, gap, a->t, b->t, tr->max_gap);
    double u = (t - a->t) / gap;
    *p = vt_v3_add(a->p, vt_v3_scale(vt_v3_sub(b->p, a->p), u));
    *q = vt_q_slerp(a->q, b->q, u);
    return VT_OK;
}

vt_status vt_pose_compare(const vt_pose_track *est, const vt_pose_track *truth, double skip,
                          vt_pose_errors *out)
{
    if (!est || !truth || !out || !isfinite(skip))
        return vt__error(VT_EINVAL, "vt_pose_compare: NULL argument or non-finite skip");
    memset(out, 0, sizeof *out);
    if (!est->count)
        return VT_OK;
    double pe = 0.0, ae = 0.0, from = est->s[0].t + skip;
    for (size_t i = 0; i < est->count; i++) {
        const vt_pose_sample *e = &est->s[i];
        if (e->t < from)
            continue;
        vt_vec3 p;
        vt_quat q;
        vt_status st = vt_pose_track_at(truth, e->t, &p, &q);
        if (st)
            return st;
        double d = vt_v3_norm(vt_v3_sub(e->p, p));
        vt_quat r = vt_q_mul(vt_q_conj(e->q), q);
        double a = 2.0 * atan2(sqrt(r.x * r.x + r.y * r.y + r.z * r.z), fabs(r.w));
        pe += d * d;
        ae += a * a;
        out->position_max = fmax(out->position_max, d);
        out->orientation_max = fmax(out->orientation_max, a);
        out->count++;
    }
    if (out->count) {
        out->position_rmse = sqrt(pe / (double)out->count);
        out->orientation_rmse = sqrt(ae / (double)out->count);
    }
    return VT_OK;
}

size_t vt_pose_track_count(const vt_pose_track *tr)
{
    return tr ? tr->count : 0;
}

const vt_pose_sample *vt_pose_track_sample(const vt_pose_track *tr, size_t i)
{
    return tr && i < tr->count ? &tr->s[i] : NULL;
}
