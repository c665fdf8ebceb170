/*
 * src/sim/platform.c - where each camera is and when it sees: mount
 * orientations, moving platforms, frame timing, and the IMU and GPS streams
 * a moving platform would record.
 *
 * A camera pair is mounted on a body whose frame is the mono camera's (x
 * right, y down, z forward); the thermal camera sits at the pair's baseline
 * in that frame with the same orientation. A moving platform carries the
 * body along a path (the same schedules as the drones) with its mount
 * orientation plus a slow sway (roll and pitch oscillations), as a
 * gimbal-stabilised camera on a mast or vehicle would show.
 *
 * The IMU is a strapdown model: the gyroscope measures the body's angular
 * velocity (from the quaternion's derivative, omega = 2 q* dq/dt), the
 * accelerometer the specific force R^T (a - g) with g = (0, 0, -9.80665),
 * both plus a constant bias drawn per platform and white Gaussian noise per
 * sample. GPS reports the body's position with independent horizontal and
 * vertical noise, converted to WGS-84 latitude, longitude and ellipsoidal
 * height through ECEF (the standard ENU <-> ECEF rotation and Bowring's
 * closed-form inverse, iterated to convergence).
 *
 * Frame timing is counter-based: a camera's jitter and drop for frame n are
 * hashes of (seed, camera, n), so any frame's time is known without playing
 * the sequence back. Jitter is clamped to 4 sigma so that frames stay in
 * order (the parser keeps 4 sigma below one frame period).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "sim/sim_internal.h"

#define GRAVITY 9.80665
#define WGS84_A 6378137.0
#define WGS84_F (1.0 / 298.257223563)

/* ---- orientations ------------------------------------------------------- */

/* The rotation whose columns are the camera axes (right, down, forward) in the world. */
static vt_quat from_axes(vt_vec3 right, vt_vec3 down, vt_vec3 fwd)
{
    vt_mat3 m = {{{right.x, down.x, fwd.x}, {right.y, down.y, fwd.y}, {right.z, down.z, fwd.z}}};
    return vt_m3_to_q(m);
}

vt_quat vt__orientation_ypr(double yaw, double pitch, double roll)
{
    vt_vec3 fwd = vt_v3(sin(yaw) * cos(pitch), cos(yaw) * cos(pitch), sin(pitch));
    vt_vec3 right = vt_v3(cos(yaw), -sin(yaw), 0.0);
    vt_vec3 down = vt_v3_cross(fwd, right);
    /* Roll turns the image clockwise as seen from behind the camera. */
    vt_vec3 r2 = vt_v3_add(vt_v3_scale(right, cos(roll)), vt_v3_scale(down, sin(roll)));
    vt_vec3 d2 = vt_v3_sub(vt_v3_scale(down, cos(roll)), vt_v3_scale(right, sin(roll)));
    return from_axes(r2, d2, fwd);
}

bool vt__orientation_look_at(vt_vec3 from, vt_vec3 at, vt_quat *q)
{
    vt_vec3 d = vt_v3_sub(at, from);
    double h = hypot(d.x, d.y);
    if (h < 1e-6 * vt_v3_norm(d) || vt_v3_norm(d) == 0.0)
        return false;
    *q = vt__orientation_ypr(atan2(d.x, d.y), atan2(d.z, h), 0.0);
    return true;
}

/* ---- poses -------------------------------------------------------------- */

/* The sway of a platform at time t: small roll and pitch oscillations, body frame. */
static vt_quat sway(const vt__platform_spec *p, double t)
{
    if (p->sway_deg == 0.0)
        return vt_q_identity();
    double w = 2.0 * VT_PI / p->sway_period, amp = vt_deg2rad(p->sway_deg);
    vt_quat roll = vt_q_from_axis_angle(vt_v3(0, 0, 1), amp * sin(w * t));
    vt_quat pitch = vt_q_from_axis_angle(vt_v3(1, 0, 0), 0.7 * amp * sin(1.3 * w * t + 1.0));
    return vt_q_mul(roll, pitch);
}

void vt__pair_pose(const vt_scenario *s, int pair, double t, vt_vec3 *pos, vt_quat *q)
{
    const vt__pair_spec *ps = &s->spec.pairs[pair];
    if (!ps->platform.present) {
        *pos = ps->position;
        *q = ps->q;
        return;
    }
    vt__traj_eval(&s->platforms[pair].traj, t, pos, NULL, NULL);
    *q = vt_q_normalize(vt_q_mul(ps->q, sway(&ps->platform, t)));
}

vt_status vt_scenario_camera_at(const vt_scenario *s, int camera, double t, vt_camera *out)
{
    if (!s || !out)
        return vt__error(VT_EINVAL, "vt_scenario_camera_at: NULL argument");
    if (camera < 0 || camera >= s->rig.count)
        return vt__error(VT_EINVAL, "%s: no camera %d (the rig has %d)", s->spec.name, camera,
                         s->rig.count);
    if (!isfinite(t))
        return vt__error(VT_EINVAL, "%s: camera %d: time must be finite", s->spec.name, camera);
    const vt__cam_state *cs = &s->cams[camera];
    vt_vec3 pos;
    vt_quat q;
    vt__pair_pose(s, cs->pair, t, &pos, &q);
    if (cs->modality == VT_MODALITY_THERMAL)
        pos = vt_v3_add(pos, vt_q_rotate(q, s->spec.pairs[cs->pair].baseline));
    *out = s->rig.cameras[camera].cam;
    out->position = pos;
    out->q = q;
    return vt_camera_init(out);
}

bool vt_scenario_has_platforms(const vt_scenario *s)
{
    for (int i = 0; s && i < s->spec.pair_count; i++)
        if (s->spec.pairs[i].platform.present)
            return true;
    return false;
}

/* ---- timing ------------------------------------------------------------- */

bool vt_scenario_frame_time(const vt_scenario *s, int camera, int64_t frame, double *t)
{
    if (!s || camera < 0 || camera >= s->rig.count)
        return false;
    const vt__cam_state *cs = &s->cams[camera];
    uint64_t seed = s->spec.seed, c = (uint64_t)camera, f = (uint64_t)frame;
    double when = (double)frame / s->spec.fps + cs->clock_offset;
    if (cs->jitter > 0.0) {
        double u1 = vt__unit(vt__hash4(seed, VT__STREAM_JITTER, c, f));
        double u2 = vt__unit(vt__hash4(seed, VT__STREAM_JITTER, c, f ^ 0x5555555555555555ull));
        when += cs->jitter * fmax(-4.0, fmin(4.0, vt__gauss2(u1, u2)));
    }
    if (t)
        *t = when;
    return !(cs->drop_prob > 0.0 &&
             vt__unit(vt__hash4(seed, VT__STREAM_DROP, c, f)) < cs->drop_prob);
}

/* ---- platforms ---------------------------------------------------------- */

void vt__platforms_free(vt_scenario *s)
{
    if (s->platforms)
        for (int i = 0; i < s->spec.pair_count; i++)
            vt__traj_free(&s->platforms[i].traj);
    free(s->platforms);
    s->platforms = NULL;
}

static vt_vec3 gauss3(vt__rng *r, double sd)
{
    double x = vt__rng_gauss(r), y = vt__rng_gauss(r);
    return vt_v3_scale(vt_v3(x, y, vt__rng_gauss(r)), sd);
}

vt_status vt__platforms_build(vt_scenario *s)
{
    vt__platforms_free(s);
    int n = s->spec.pair_count;
    s->platforms = calloc(n > 0 ? (size_t)n : 1, sizeof *s->platforms);
    if (!s->platforms)
        return vt__error(VT_ENOMEM, "%s: out of memory", s->spec.name);
    for (int i = 0; i < n; i++) {
        const vt__platform_spec *p = &s->spec.pairs[i].platform;
        if (!p->present)
            continue;
        long bad;
        vt_vec3 lo = vt_v3(1, 1, 1), hi = vt_v3(0, 0, 0); /* platforms may leave the world */
        vt_status st = vt__path_build(&p->path, lo, hi, &s->platforms[i].traj, &bad);
        if (st)
            return st;
        vt__rng r = vt__rng_make(s->spec.seed, VT__STREAM_IMU, (uint64_t)i);
        s->platforms[i].gyro_bias = gauss3(&r, p->gyro_bias);
        s->platforms[i].accel_bias = gauss3(&r, p->accel_bias);
        s->platforms[i].heading_error = vt_deg2rad(p->heading_error_deg) * vt__rng_gauss(&r);
    }
    return VT_OK;
}

/* ---- geodesy ------------------------------------------------------------ */

static vt_vec3 geodetic_to_ecef(double lat, double lon, double h)
{
    double e2 = WGS84_F * (2.0 - WGS84_F);
    double n = WGS84_A / sqrt(1.0 - e2 * sin(lat) * sin(lat));
    return vt_v3((n + h) * cos(lat) * cos(lon), (n + h) * cos(lat) * sin(lon),
                 (n * (1.0 - e2) + h) * sin(lat));
}

static void ecef_to_geodetic(vt_vec3 p, double *lat, double *lon, double *h)
{
    double e2 = WGS84_F * (2.0 - WGS84_F), r = hypot(p.x, p.y);
    double la = atan2(p.z, r * (1.0 - e2)), n = WGS84_A;
    for (int i = 0; i < 8; i++) {
        n = WGS84_A / sqrt(1.0 - e2 * sin(la) * sin(la));
        la = atan2(p.z + e2 * n * sin(la), r);
    }
    *lat = la;
    *lon = atan2(p.y, p.x);
    *h = r / cos(la) - n;
}

/* World ENU (relative to the scenario's origin) to latitude, longitude (degrees), height. */
static void enu_to_geodetic(const vt__spec *sp, vt_vec3 e, double *lat, double *lon, double *h)
{
    double la = vt_deg2rad(sp->lat_deg), lo = vt_deg2rad(sp->lon_deg);
    vt_vec3 o = geodetic_to_ecef(la, lo, sp->height_m);
    double sl = sin(la), cl = cos(la), so = sin(lo), co = cos(lo);
    vt_vec3 d = vt_v3(-so * e.x - sl * co * e.y + cl * co * e.z,
                      co * e.x - sl * so * e.y + cl * so * e.z, cl * e.y + sl * e.z);
    ecef_to_geodetic(vt_v3_add(o, d), lat, lon, h);
    *lat = vt_rad2deg(*lat);
    *lon = vt_rad2deg(*lon);
}

/* ---- logs --------------------------------------------------------------- */

static FILE *open_log(const char *dir, const char *kind, int pair, char *path, size_t size)
{
    snprintf(path, size, "%s/%s_%d.csv", dir, kind, pair);
    return fopen(path, "w");
}

static vt_status close_log(FILE *f, const char *path)
{
    bool bad = ferror(f) != 0;
    if (fclose(f) != 0 || bad)
        return vt__error(VT_EIO, "%s: write failed", path);
    return VT_OK;
}

/* The body's angular velocity (body frame) by a central difference of the orientation. */
static vt_vec3 body_rate(const vt_scenario *s, int pair, double t)
{
    const double h = 1e-4;
    vt_vec3 p;
    vt_quat q0, q1;
    vt__pair_pose(s, pair, t - h, &p, &q0);
    vt__pair_pose(s, pair, t + h, &p, &q1);
    vt_quat d = vt_q_mul(vt_q_conj(q0), q1);
    double sgn = d.w < 0.0 ? -1.0 : 1.0;
    return vt_v3_scale(vt_v3(d.x, d.y, d.z), sgn * 2.0 / (2.0 * h));
}

static vt_status write_imu(const vt_scenario *s, int pair, const char *dir)
{
    const vt__platform_spec *p = &s->spec.pairs[pair].platform;
    const vt__platform *pl = &s->platforms[pair];
    char path[4096];
    FILE *f = open_log(dir, "imu", pair, path, sizeof path);
    if (!f)
        return vt__error(VT_EIO, "%s: cannot create: %s", path, strerror(errno));
    fprintf(f, "t,gx,gy,gz,ax,ay,az\n");
    double duration = (double)s->spec.frames / s->spec.fps;
    int64_t n = (int64_t)floor(duration * p->imu_rate) + 1;
    for (int64_t k = 0; k < n; k++) {
        double t = (double)k / p->imu_rate;
        vt_vec3 pos, acc;
        vt_quat q;
        vt__traj_eval(&pl->traj, t, NULL, NULL, &acc);
        vt__pair_pose(s, pair, t, &pos, &q);
        vt_vec3 f_world = vt_v3_add(acc, vt_v3(0, 0, GRAVITY));
        vt_vec3 fb = vt_q_rotate(vt_q_conj(q), f_world);
        vt_vec3 w = body_rate(s, pair, t);
        vt__rng r =
            vt__rng_make(s->spec.seed, VT__STREAM_IMU, ((uint64_t)pair << 40) ^ (uint64_t)(k + 1));
        w = vt_v3_add(vt_v3_add(w, pl->gyro_bias), gauss3(&r, p->gyro_noise));
        fb = vt_v3_add(vt_v3_add(fb, pl->accel_bias), gauss3(&r, p->accel_noise));
        fprintf(f, "%.6f,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g\n", t, w.x, w.y, w.z, fb.x, fb.y, fb.z);
    }
    return close_log(f, path);
}

static vt_status write_gps(const vt_scenario *s, int pair, const char *dir)
{
    const vt__platform_spec *p = &s->spec.pairs[pair].platform;
    char path[4096];
    FILE *f = open_log(dir, "gps", pair, path, sizeof path);
    if (!f)
        return vt__error(VT_EIO, "%s: cannot create: %s", path, strerror(errno));
    fprintf(f, "t,lat,lon,h,x,y,z\n");
    double duration = (double)s->spec.frames / s->spec.fps;
    int64_t n = (int64_t)floor(duration * p->gps_rate) + 1;
    for (int64_t k = 0; k < n; k++) {
        double t = (double)k / p->gps_rate;
        vt_vec3 pos;
        vt_quat q;
        vt__pair_pose(s, pair, t, &pos, &q);
        pos = vt_v3_add(pos, vt_q_rotate(q, p->gps_lever_arm)); /* the antenna's */
        vt__rng r =
            vt__rng_make(s->spec.seed, VT__STREAM_GPS, ((uint64_t)pair << 40) ^ (uint64_t)k);
        double ex = vt__rng_gauss(&r) * p->gps_noise_h, ey = vt__rng_gauss(&r) * p->gps_noise_h;
        pos = vt_v3_add(pos, vt_v3(ex, ey, vt__rng_gauss(&r) * p->gps_noise_v));
        if (s->spec.has_origin) {
            double lat, lon, h;
            enu_to_geodetic(&s->spec, pos, &lat, &lon, &h);
            fprintf(f, "%.3f,%.10f,%.10f,%.4f,%.4f,%.4f,%.4f\n", t, lat, lon, h, pos.x, pos.y,
                    pos.z);
        } else {
            fprintf(f, "%.3f,,,,%.4f,%.4f,%.4f\n", t, pos.x, pos.y, pos.z);
        }
    }
    return close_log(f, path);
}

/* A dual-antenna receiver's headings of the baseline, at the GPS rate, with noise. */
static vt_status write_heading(const vt_scenario *s, int pair, const char *dir)
{
    const vt__platform_spec *p = &s->spec.pairs[pair].platform;
    char path[4096];
    FILE *f = open_log(dir, "heading", pair, path, sizeof path);
    if (!f)
        return vt__error(VT_EIO, "%s: cannot create: %s", path, strerror(errno));
    fprintf(f, "t,heading_deg\n");
    double duration = (double)s->spec.frames / s->spec.fps;
    int64_t n = (int64_t)floor(duration * p->gps_rate) + 1;
    for (int64_t k = 0; k < n; k++) {
        double t = (double)k / p->gps_rate;
        vt_vec3 pos;
        vt_quat q;
        vt__pair_pose(s, pair, t, &pos, &q);
        vt_vec3 u = vt_q_rotate(q, p->heading_baseline);
        vt__rng r = vt__rng_make(s->spec.seed, VT__STREAM_GPS,
                                 ((uint64_t)pair << 40) ^ (uint64_t)k ^ (1ull << 39));
        double h = vt_rad2deg(atan2(u.x, u.y)) + p->heading_noise_deg * vt__rng_gauss(&r);
        fprintf(f, "%.3f,%.6f\n", t, fmod(h + 360.0, 360.0));
    }
    return close_log(f, path);
}

/* The true pose of each camera on a platform, as a pose log at the IMU rate. */
static vt_status write_true_poses(const vt_scenario *s, int pair, const char *dir)
{
    const vt__platform_spec *p = &s->spec.pairs[pair].platform;
    /* 50 ms beyond both ends: a camera's clock offset may put its frames before t = 0. */
    double duration = (double)s->spec.frames / s->spec.fps;
    int64_t k0 = -(int64_t)ceil(0.05 * p->imu_rate);
    int64_t n = (int64_t)floor((duration + 0.05) * p->imu_rate) + 1;
    for (int c = 0; c < s->rig.count; c++) {
        if (s->cams[c].pair != pair)
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/truth_pose_%s.csv", dir, s->rig.cameras[c].id);
        FILE *f = fopen(path, "w");
        if (!f)
            return vt__error(VT_EIO, "%s: cannot create: %s", path, strerror(errno));
        fprintf(f, "t,x,y,z,qw,qx,qy,qz\n");
        for (int64_t k = k0; k < n; k++) {
            double t = (double)k / p->imu_rate;
            vt_camera cam;
            vt_status st = vt_scenario_camera_at(s, c, t, &cam);
            if (st) {
                fclose(f);
                return st;
            }
            fprintf(f, "%.6f,%.6f,%.6f,%.6f,%.12f,%.12f,%.12f,%.12f\n", t, cam.position.x,
                    cam.position.y, cam.position.z, cam.q.w, cam.q.x, cam.q.y, cam.q.z);
        }
        vt_status st = close_log(f, path);
        if (st)
            return st;
    }
    return VT_OK;
}

vt_quat vt__pair_installed_q(const vt_scenario *s, int pair, vt_quat q)
{
    if (!s->spec.pairs[pair].platform.present)
        return q;
    /* Turned about the world's vertical: an error of the installed heading only. */
    vt_quat e = vt_q_from_axis_angle(vt_v3(0, 0, 1), s->platforms[pair].heading_error);
    return vt_q_normalize(vt_q_mul(e, q));
}

vt_status vt_scenario_write_platform_logs(const vt_scenario *s, const char *dir)
{
    if (!s || !dir)
        return vt__error(VT_EINVAL, "vt_scenario_write_platform_logs: NULL argument");
    for (int i = 0; i < s->spec.pair_count; i++) {
        if (!s->spec.pairs[i].platform.present)
            continue;
        vt_status st = write_imu(s, i, dir);
        if (!st)
            st = write_gps(s, i, dir);
        if (!st && s->spec.pairs[i].platform.heading_noise_deg > 0.0)
            st = write_heading(s, i, dir);
        if (!st)
            st = write_true_poses(s, i, dir);
        if (st)
            return st;
    }
    return VT_OK;
}

/* ---- moving cameras in rig.json ------------------------------------------ */

/* The filter's settings for a platform: the sensor model the simulator used. */
static vt_rig_platform rig_platform(const vt__platform_spec *p, int pair)
{
    vt_rig_platform pl;
    memset(&pl, 0, sizeof pl);
    snprintf(pl.id, sizeof pl.id, "p%d", pair);
    pl.opts = vt_pose_platform_opts_default();
    vt_eskf_opts *f = &pl.opts.filter;
    double root = sqrt(p->imu_rate);
    f->gyro_noise = p->gyro_noise / root;
    f->accel_noise = p->accel_noise / root;
    f->gps_lever_arm = p->gps_lever_arm;
    f->heading_baseline = p->heading_baseline;
    /* A noise-free sensor still needs a little variance for the filter. */
    pl.opts.gps_sd_h = fmax(p->gps_noise_h, 1e-3);
    pl.opts.gps_sd_v = fmax(p->gps_noise_v, 1e-3);
    pl.opts.heading_sd = vt_deg2rad(fmax(p->heading_noise_deg, 1e-3));
    pl.opts.init_heading_sd = vt_deg2rad(fmax(p->heading_error_deg, 1e-3));
    pl.opts.init_gyro_bias_sd = fmax(p->gyro_bias, 1e-5);
    pl.opts.init_accel_bias_sd = fmax(p->accel_bias, 1e-4);
    return pl;
}

/* The beacons as surveyed: each off its true place by survey_sd per axis. */
static vt_status rig_landmarks(const vt_scenario *s, vt_rig *rig)
{
    const vt__beacons_spec *b = &s->spec.beacons;
    for (int i = 0; i < b->count; i++) {
        vt__rng r = vt__rng_make(s->spec.seed, VT__STREAM_BEACON, (uint64_t)i);
        vt_rig_landmark lm;
        memset(&lm, 0, sizeof lm);
        snprintf(lm.id, sizeof lm.id, "b%d", i);
        lm.position = vt_v3_add(b->pos[i], gauss3(&r, b->survey_sd));
        lm.sd = fmax(b->survey_sd, 1e-3);
        vt_status st = vt_rig_add_landmark(rig, &lm);
        if (st)
            return st;
    }
    return VT_OK;
}

vt_status vt__scenario_rig_poses(const vt_scenario *s, vt_rig *rig, bool truth)
{
    char imu[64], gps[64], hd[64], log[64];
    vt_status st0 = vt_scenario_has_platforms(s) ? rig_landmarks(s, rig) : VT_OK;
    if (st0)
        return st0;
    for (int i = 0; i < s->spec.pair_count; i++) {
        const vt__platform_spec *p = &s->spec.pairs[i].platform;
        if (!p->present)
            continue;
        vt_rig_platform pl = rig_platform(p, i);
        snprintf(imu, sizeof imu, "imu_%d.csv", i);
        snprintf(gps, sizeof gps, "gps_%d.csv", i);
        snprintf(hd, sizeof hd, "heading_%d.csv", i);
        pl.imu = imu;
        pl.gps = gps;
        pl.heading = p->heading_noise_deg > 0.0 ? hd : NULL;
        pl.landmarks = s->spec.beacons.count > 0;
        vt_status st = truth ? VT_OK : vt_rig_add_platform(rig, &pl);
        if (st)
            return st;
        for (int c = 0; c < rig->count; c++) {
            vt_rig_camera *rc = &rig->cameras[c];
            if (rc->pair != i)
                continue;
            rc->mount = vt_pose_mount_identity();
            if (rc->modality == VT_MODALITY_THERMAL)
                rc->mount.lever_arm = s->spec.pairs[i].baseline;
            if (truth) {
                snprintf(log, sizeof log, "truth_pose_%s.csv", rc->id);
                free(rc->pose_log);
                rc->pose_log = strdup(log);
                if (!rc->pose_log)
                    return vt__error(VT_ENOMEM, "%s: out of memory", s->spec.name);
                rc->pose = VT_POSE_LOG;
                rc->pose_max_gap = 2.0 / p->imu_rate;
                rc->mount = vt_pose_mount_identity();
            } else {
                rc->pose = VT_POSE_PLATFORM;
                rc->platform = rig->nplatforms - 1;
            }
            rc->cam.q = vt__pair_installed_q(s, i, rc->cam.q);
            if ((st = vt_camera_init(&rc->cam)))
                return st;
        }
    }
    return VT_OK;
}
