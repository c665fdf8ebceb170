/*
 * src/pose/nav.c - a moving platform's pose from its recorded IMU and GNSS
 * logs (and camera bearings to landmarks, fed in by whoever sees them): the
 * error-state filter of eskf.c, started and stepped in time order
 * (voxtrack/pose.h, docs/POSE.md).
 *
 * Start: the body is taken to be at rest over the first level_seconds of the
 * IMU log (a vehicle before it drives off, a mast, a drone in hover): the
 * mean specific force gives "up" in the body frame, which fixes roll and
 * pitch; the nominal orientation (the rig's, a surveyed mount) gives the
 * heading, with init_heading_sd of uncertainty, unless a dual-antenna heading
 * is logged within a second of the start, which replaces it. The first GNSS
 * fix within a second gives the position.
 *
 * The NIS gate refuses a fix that disagrees with the filter; but five refused
 * fixes in a row say that the filter has gone wrong (a start that was not at
 * rest), and the sixth is taken ungated, which pulls it back.
 *
 * Stepping: advance(t) feeds every IMU sample, fix and heading up to time t
 * to the filter, merged by time (a fix between two IMU samples is applied
 * after the earlier one, moved along the motion by the filter: see
 * vt_eskf_update_position). A pose at t then comes from the filter at its
 * last step, at most one IMU period away.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "pose/pose_internal.h"
#include "voxtrack/pose.h"

struct vt_pose_platform {
    vt_pose_platform_opts o;
    char name[64];
    vt__imu_sample *imu;
    vt__gps_fix *gps;
    vt__heading_fix *hd;
    size_t nimu, ngps, nhd, ii, gi, hi;
    vt_quat nominal;
    vt_eskf *f;
    bool started;
    int gps_refused_run; /* fixes refused in a row */
    vt_pose_platform_stats stats;
};

/* Fixes refused in a row after which the next is taken whatever its innovation. */
#define VT__GPS_REFUSED_RUN 5

vt_pose_platform_opts vt_pose_platform_opts_default(void)
{
    vt_pose_platform_opts o;
    memset(&o, 0, sizeof o);
    o.filter = vt_eskf_opts_default();
    o.gps_sd_h = 1.5;
    o.gps_sd_v = 3.0;
    o.heading_sd = vt_deg2rad(0.2);
    o.init_heading_sd = vt_deg2rad(2.0);
    o.init_tilt_sd = vt_deg2rad(1.0);
    o.init_velocity_sd = 0.05;
    o.init_accel_bias_sd = 0.1;
    o.init_gyro_bias_sd = 1e-3;
    o.level_seconds = 0.2;
    return o;
}

static vt_status check_opts(const vt_pose_platform_opts *o, const char *name)
{
    const double v[] = {o->gps_sd_h,           o->gps_sd_v,          o->heading_sd,
                        o->init_heading_sd,    o->init_tilt_sd,      o->init_velocity_sd,
                        o->init_accel_bias_sd, o->init_gyro_bias_sd, o->level_seconds};
    for (size_t i = 0; i < sizeof v / sizeof *v; i++)
        if (!(v[i] > 0.0) || !isfinite(v[i]))
            return vt__error(VT_EINVAL,
                             "platform '%s': standard deviations and level_seconds must be "
                             "finite and > 0",
                             name);
    return VT_OK;
}

static vt_status load(const char *path, const char *kind, const vt_pose_origin *origin,
                      vt_pose_platform *pp)
{
    char *text;
    size_t len;
    vt_status st = vt__read_text_file(path, &text, &len);
    if (!st) {
        if (strcmp(kind, "imu") == 0)
            st = vt__imu_log_parse(text, len, path, &pp->imu, &pp->nimu);
        else if (strcmp(kind, "gps") == 0)
            st = vt__gps_log_parse(text, len, path, origin, &pp->gps, &pp->ngps);
        else
            st = vt__heading_log_parse(text, len, path, &pp->hd, &pp->nhd);
        free(text);
    }
    return st ? vt__error_prefix(st, "platform '%s': %s log", pp->name, kind) : VT_OK;
}

vt_status vt_pose_platform_new(const vt_pose_platform_opts *opts, const char *name, const char *imu,
                               const char *gps, const char *heading, const vt_pose_origin *origin,
                               vt_quat nominal, vt_pose_platform **out)
{
    if (!out || !imu || !gps)
        return vt__error(VT_EINVAL, "vt_pose_platform_new: NULL argument");
    *out = NULL;
    vt_pose_platform_opts o = opts ? *opts : vt_pose_platform_opts_default();
    const char *nm = name ? name : "platform";
    vt_status st = check_opts(&o, nm);
    if (st)
        return st;
    if (!(fabs(vt_q_norm(nominal) - 1.0) <= 1e-6))
        return vt__error(VT_EINVAL,
                         "platform '%s': the nominal orientation is not a unit quaternion", nm);
    vt_pose_platform *pp = calloc(1, sizeof *pp);
    if (!pp)
        return vt__error(VT_ENOMEM, "platform '%s': out of memory", nm);
    pp->o = o;
    snprintf(pp->name, sizeof pp->name, "%s", nm);
    pp->nominal = vt_q_normalize(nominal);
    st = vt_eskf_new(&o.filter, &pp->f);
    if (!st)
        st = load(imu, "imu", origin, pp);
    if (!st)
        st = load(gps, "gps", origin, pp);
    if (!st && heading)
        st = load(heading, "heading", origin, pp);
    if (st) {
        vt_pose_platform_free(pp);
        return st;
    }
    *out = pp;
    return VT_OK;
}

void vt_pose_platform_free(vt_pose_platform *pp)
{
    if (!pp)
        return;
    vt_eskf_free(pp->f);
    free(pp->imu);
    free(pp->gps);
    free(pp->hd);
    free(pp);
}

/* The shortest-arc rotation taking unit vector a to unit vector b. */
static vt_quat arc(vt_vec3 a, vt_vec3 b)
{
    vt_vec3 c = vt_v3_cross(a, b);
    double d = vt_v3_dot(a, b);
    if (d < -1.0 + 1e-12) { /* opposite: any perpendicular axis */
        vt_vec3 p = fabs(a.x) < 0.9 ? vt_v3(1, 0, 0) : vt_v3(0, 1, 0);
        return vt_q_from_axis_angle(vt_v3_normalize(vt_v3_cross(a, p)), VT_PI);
    }
    return vt_q_normalize((vt_quat){1.0 + d, c.x, c.y, c.z});
}

static double heading_of(vt_quat q, vt_vec3 b)
{
    vt_vec3 u = vt_q_rotate(q, b);
    return atan2(u.x, u.y);
}

/* The first state: levelled by gravity, headed by the nominal or a logged heading. */
static vt_status start(vt_pose_platform *pp)
{
    double t0 = pp->imu[0].t;
    vt_vec3 mean = vt_v3(0, 0, 0);
    size_t n = 0;
    for (size_t i = 0; i < pp->nimu && pp->imu[i].t <= t0 + pp->o.level_seconds; i++, n++)
        mean = vt_v3_add(mean, pp->imu[i].a);
    mean = vt_v3_scale(mean, 1.0 / (double)n);
    if (vt_v3_norm(mean) < 0.5 * pp->o.filter.gravity)
        return vt__error(VT_ERANGE,
                         "platform '%s': the IMU's mean specific force over its first %g s is "
                         "%.3g m/s^2, not gravity: cannot level (is it in m/s^2?)",
                         pp->name, pp->o.level_seconds, vt_v3_norm(mean));
    vt_vec3 up = vt_v3_normalize(mean);
    vt_vec3 up_nom = vt_q_rotate(vt_q_conj(pp->nominal), vt_v3(0, 0, 1));
    vt_quat q0 = vt_q_normalize(vt_q_mul(pp->nominal, vt_q_conj(arc(up_nom, up))));
    double heading_sd = pp->o.init_heading_sd;
    vt_vec3 b = pp->o.filter.heading_baseline;
    if (pp->nhd && fabs(pp->hd[0].t - t0) <= 1.0) {
        /* Turning about world up by a changes the heading by -a. */
        double a = -(pp->hd[0].h - heading_of(q0, b));
        q0 = vt_q_normalize(vt_q_mul(vt_q_from_axis_angle(vt_v3(0, 0, 1), a), q0));
        heading_sd = pp->o.heading_sd;
    }
    size_t g = 0;
    while (g < pp->ngps && pp->gps[g].t < t0 - 1.0)
        g++;
    if (g == pp->ngps || pp->gps[g].t > t0 + 1.0)
        return vt__error(VT_ERANGE,
                         "platform '%s': no GNSS fix within 1 s of the IMU log's start (%.6f s)",
                         pp->name, t0);
    vt_eskf_state x = {.t = t0, .q = q0};
    x.p = vt_v3_sub(pp->gps[g].p, vt_q_rotate(q0, pp->o.filter.gps_lever_arm));
    double sd[VT_ESKF_DIM] = {0};
    for (int i = 0; i < 3; i++) {
        sd[VT_ESKF_P + i] = i < 2 ? pp->o.gps_sd_h : pp->o.gps_sd_v;
        sd[VT_ESKF_V + i] = pp->o.init_velocity_sd;
        sd[VT_ESKF_BA + i] = pp->o.init_accel_bias_sd;
        sd[VT_ESKF_BG + i] = pp->o.init_gyro_bias_sd;
    }
    vt_status st = vt_eskf_set_state(pp->f, &x, sd);
    if (st)
        return st;
    /* Orientation: tilt and heading are world-frame ideas; the error is in the body frame. */
    double P[VT_ESKF_DIM][VT_ESKF_DIM];
    vt_eskf_get(pp->f, NULL, &P[0][0]);
    vt_mat3 R = vt_q_to_m3(q0);
    double w[3] = {pp->o.init_tilt_sd, pp->o.init_tilt_sd, heading_sd};
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            double s = 0.0;
            for (int k = 0; k < 3; k++)
                s += R.m[k][i] * w[k] * w[k] * R.m[k][j];
            P[VT_ESKF_THETA + i][VT_ESKF_THETA + j] = s;
        }
    st = vt_eskf_set_cov(pp->f, &P[0][0]);
    if (st)
        return st;
    pp->gi = g;
    pp->hi = pp->nhd && fabs(pp->hd[0].t - t0) <= 1.0 ? 1 : 0;
    pp->started = true;
    return VT_OK;
}

vt_status vt_pose_platform_advance(vt_pose_platform *pp, double t)
{
    if (!pp)
        return vt__error(VT_EINVAL, "vt_pose_platform_advance: NULL platform");
    if (!isfinite(t))
        return vt__error(VT_EINVAL, "platform '%s': time is not finite", pp->name);
    double lag = pp->o.filter.max_lag;
    if (t < pp->imu[0].t - lag || t > pp->imu[pp->nimu - 1].t + lag)
        return vt__error(VT_ERANGE,
                         "platform '%s': t = %.6f s is outside the IMU log's span [%.6f, %.6f] s",
                         pp->name, t, pp->imu[0].t, pp->imu[pp->nimu - 1].t);
    vt_status st = VT_OK;
    if (!pp->started && (st = start(pp)))
        return st;
    for (;;) {
        double ti = pp->ii < pp->nimu ? pp->imu[pp->ii].t : INFINITY;
        double tg = pp->gi < pp->ngps ? pp->gps[pp->gi].t : INFINITY;
        double th = pp->hi < pp->nhd ? pp->hd[pp->hi].t : INFINITY;
        double next = fmin(ti, fmin(tg, th));
        if (!(next <= t))
            break;
        vt_eskf_innovation in = {0};
        if (next == ti) {
            const vt__imu_sample *s = &pp->imu[pp->ii++];
            st = vt_eskf_imu(pp->f, s->t, s->g, s->a);
            pp->stats.imu++;
            if (st)
                return vt__error_prefix(st, "platform '%s': IMU sample %zu", pp->name, pp->ii);
            continue;
        }
        vt_eskf_state x;
        vt_eskf_get(pp->f, &x, NULL);
        if (next == tg) {
            const vt__gps_fix *g = &pp->gps[pp->gi++];
            if (g->t < x.t - lag)
                continue; /* before the filter started */
            /* After a run of refused fixes the filter, not GNSS, is wrong: take the next. */
            bool force = pp->gps_refused_run >= VT__GPS_REFUSED_RUN;
            if (force)
                vt_eskf_set_gate(pp->f, false);
            st = vt_eskf_update_position(pp->f, g->t, g->p, pp->o.gps_sd_h, pp->o.gps_sd_v, &in);
            if (force)
                vt_eskf_set_gate(pp->f, pp->o.filter.gate);
            pp->gps_refused_run = in.accepted ? 0 : pp->gps_refused_run + 1;
            pp->stats.gps += in.accepted;
            pp->stats.gps_refused += !in.accepted;
        } else {
            const vt__heading_fix *h = &pp->hd[pp->hi++];
            if (h->t < x.t - lag)
                continue;
            st = vt_eskf_update_heading(pp->f, h->t, h->h, pp->o.heading_sd, &in);
            pp->stats.heading += in.accepted;
            pp->stats.heading_refused += !in.accepted;
        }
        if (st)
            return vt__error_prefix(st, "platform '%s'", pp->name);
    }
    return VT_OK;
}

vt_status vt_pose_platform_pose(vt_pose_platform *pp, double t, const vt_pose_mount *mount,
                                vt_vec3 *position, vt_quat *q)
{
    vt_status st = vt_pose_platform_advance(pp, t);
    if (!st)
        st = vt_eskf_pose_at(pp->f, t, mount, position, q);
    return st ? vt__error_prefix(st, "platform '%s'", pp->name) : VT_OK;
}

vt_status vt_pose_platform_bearing(vt_pose_platform *pp, double t, const vt_pose_mount *mount,
                                   vt_vec3 landmark, double sd_landmark, double xn, double yn,
                                   double sd, vt_eskf_innovation *innov)
{
    vt_eskf_innovation in = {0};
    vt_status st = vt_pose_platform_advance(pp, t);
    if (!st)
        st = vt_eskf_update_bearing(pp->f, t, mount, landmark, sd_landmark, xn, yn, sd, &in);
    if (st)
        return vt__error_prefix(st, "platform '%s'", pp->name);
    pp->stats.bearings += in.accepted;
    pp->stats.bearings_refused += !in.accepted;
    if (innov)
        *innov = in;
    return VT_OK;
}

const vt_eskf *vt_pose_platform_filter(const vt_pose_platform *pp)
{
    return pp ? pp->f : NULL;
}

vt_pose_platform_stats vt_pose_platform_get_stats(const vt_pose_platform *pp)
{
    vt_pose_platform_stats s = {0};
    return pp ? pp->stats : s;
}
