/*
 * src/pipeline/poses.c - the pose of every moving camera at the time of its
 * frame, before its rays are formed (docs/POSE.md, "Moving cameras").
 *
 * A rig camera with a pose source (rig.h: a platform or a pose log) gets its
 * pose for each frame set here, from the capture time of its own frame: a
 * pose log is interpolated; a platform's filter (vt_pose_platform, one per
 * rig platform, shared by the cameras on it) is advanced through its IMU and
 * GNSS logs to that time. The cameras of one platform are served in order
 * of their capture times, so the filter only moves forward (a camera whose
 * frame is slightly older than the filter's time is served by moving the
 * filter's pose back along its motion, within max_lag).
 *
 * The pipeline calls this on its own thread, once per frame set, before the
 * cameras' stages, and hands each moving camera's stage its pose
 * (vt_camera_stage_set_pose): the rays of that frame are formed with it.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "pipeline/pipeline_internal.h"
#include "voxtrack/pose.h"

/* What a camera's pose comes from (copied from the rig). */
typedef struct cam_source {
    vt_rig_pose_kind kind;
    int platform;
    vt_pose_mount mount;
    char id[32];
    vt_camera cam; /* intrinsics, for sighting landmarks */
    bool sights;   /* a mono camera on a platform that looks for landmarks */
} cam_source;

/* Landmark search: the largest window, the contrast a beacon needs, its centroid's sd. */
#define VT__LANDMARK_RADIUS_MAX 60
#define VT__LANDMARK_CONTRAST 30.0
#define VT__LANDMARK_SD_PX 0.3

struct vt__poses {
    int ncams, nplatforms;
    cam_source *src;              /* per camera */
    vt_pose_platform **platforms; /* per rig platform */
    vt_pose_track **logs;         /* per camera with a pose log, else NULL */
    int *order;                   /* scratch: cameras by capture time */
    vt_rig_landmark *landmarks;   /* copied from the rig */
    int nlandmarks;
    vt__poses_stats stats;
    double *times;
};

void vt__poses_free(vt__poses *ps)
{
    if (!ps)
        return;
    for (int i = 0; ps->platforms && i < ps->nplatforms; i++)
        vt_pose_platform_free(ps->platforms[i]);
    for (int i = 0; ps->logs && i < ps->ncams; i++)
        vt_pose_track_free(ps->logs[i]);
    free(ps->platforms);
    free(ps->src);
    free(ps->logs);
    free(ps->order);
    free(ps->landmarks);
    free(ps->times);
    free(ps);
}

/* The body's nominal orientation: the first camera on it, less its mount. */
static vt_quat nominal_of(const vt_rig *rig, int platform)
{
    for (int i = 0; i < rig->count; i++) {
        const vt_rig_camera *c = &rig->cameras[i];
        if (c->pose == VT_POSE_PLATFORM && c->platform == platform)
            return vt_q_normalize(vt_q_mul(c->cam.q, vt_q_conj(c->mount.q)));
    }
    return vt_q_identity();
}

static vt_status open_platform(const vt_rig *rig, int k, vt_pose_platform **out)
{
    const vt_rig_platform *pl = &rig->platforms[k];
    char imu[4096], gps[4096], hd[4096];
    vt_status st = vt_rig_resolve(rig, pl->imu, imu, sizeof imu);
    if (!st)
        st = vt_rig_resolve(rig, pl->gps, gps, sizeof gps);
    if (!st && pl->heading)
        st = vt_rig_resolve(rig, pl->heading, hd, sizeof hd);
    vt_pose_origin origin = {rig->has_origin, rig->lat_deg, rig->lon_deg, rig->height_m};
    if (!st)
        st = vt_pose_platform_new(&pl->opts, pl->id, imu, gps, pl->heading ? hd : NULL, &origin,
                                  nominal_of(rig, k), out);
    return st;
}

vt__poses_stats vt__poses_get_stats(const vt__poses *ps)
{
    vt__poses_stats s = {0};
    return ps ? ps->stats : s;
}

vt_status vt__poses_new(const vt_rig *rig, vt__poses **out)
{
    *out = NULL;
    if (!vt_rig_has_moving_cameras(rig))
        return VT_OK;
    vt__poses *ps = calloc(1, sizeof *ps);
    if (!ps)
        return vt__error(VT_ENOMEM, "pipeline: out of memory");
    ps->ncams = rig->count;
    ps->nplatforms = rig->nplatforms;
    ps->platforms = calloc(rig->nplatforms ? (size_t)rig->nplatforms : 1, sizeof *ps->platforms);
    ps->logs = calloc((size_t)rig->count, sizeof *ps->logs);
    ps->src = calloc((size_t)rig->count, sizeof *ps->src);
    ps->order = calloc((size_t)rig->count, sizeof *ps->order);
    ps->times = calloc((size_t)rig->count, sizeof *ps->times);
    ps->landmarks = calloc(rig->nlandmarks ? (size_t)rig->nlandmarks : 1, sizeof *ps->landmarks);
    if (ps->landmarks && rig->nlandmarks)
        memcpy(ps->landmarks, rig->landmarks, (size_t)rig->nlandmarks * sizeof *ps->landmarks);
    ps->nlandmarks = rig->nlandmarks;
    vt_status st = ps->platforms && ps->logs && ps->src && ps->order && ps->times && ps->landmarks
                       ? VT_OK
                       : vt__error(VT_ENOMEM, "pipeline: out of memory");
    for (int k = 0; !st && k < rig->nplatforms; k++)
        st = open_platform(rig, k, &ps->platforms[k]);
    for (int i = 0; !st && i < rig->count; i++) {
        const vt_rig_camera *c = &rig->cameras[i];
        ps->src[i] = (cam_source){c->pose, c->platform, c->mount, "", c->cam, false};
        memcpy(ps->src[i].id, c->id, sizeof c->id);
        ps->src[i].sights = c->pose == VT_POSE_PLATFORM && c->modality == VT_MODALITY_MONO &&
                            c->platform >= 0 && c->platform < rig->nplatforms &&
                            rig->platforms[c->platform].landmarks && rig->nlandmarks > 0;
        if (c->pose == VT_POSE_PLATFORM && (c->platform < 0 || c->platform >= rig->nplatforms))
            st = vt__error(VT_EINVAL, "camera %d ('%s'): platform %d is not in the rig", i, c->id,
                           c->platform);
        if (st || c->pose != VT_POSE_LOG)
            continue;
        char path[4096];
        st = vt_rig_resolve(rig, c->pose_log, path, sizeof path);
        if (!st)
            st = vt_pose_track_load(path, c->pose_max_gap, &ps->logs[i]);
        if (st)
            vt__error_prefix(st, "camera %d ('%s'): pose log", i, c->id);
    }
    if (st) {
        vt__poses_free(ps);
        return st;
    }
    *out = ps;
    return VT_OK;
}

/*
 * Sights every landmark in front of camera i in its frame: predicted from the
 * platform's pose at t, looked for within a few sigma of that prediction, and
 * fed to the filter as a bearing. A landmark not found is no measurement.
 */
static vt_status sight(vt__poses *ps, int i, double t, const vt_image *img)
{
    const cam_source *c = &ps->src[i];
    vt_pose_platform *pp = ps->platforms[c->platform];
    vt_camera cam = c->cam;
    vt_status st = vt_pose_platform_pose(pp, t, &c->mount, &cam.position, &cam.q);
    if (!st)
        st = vt_camera_init(&cam);
    if (st)
        return st;
    /* The search radius from the filter's orientation uncertainty (3 sigma, at least 4 px). */
    double P[VT_ESKF_DIM][VT_ESKF_DIM];
    vt_eskf_get(vt_pose_platform_filter(pp), NULL, &P[0][0]);
    double sth = sqrt(P[6][6] + P[7][7] + P[8][8]);
    int radius = (int)fmin(VT__LANDMARK_RADIUS_MAX, fmax(4.0, ceil(3.0 * sth * cam.fx + 2.0)));
    for (int k = 0; k < ps->nlandmarks; k++) {
        const vt_rig_landmark *lm = &ps->landmarks[k];
        double u, v;
        if (!vt_camera_world_to_pixel(&cam, lm->position, &u, &v) ||
            !vt_camera_in_image(&cam, u, v))
            continue;
        vt_pose_beacon b;
        if ((st = vt_pose_find_beacon(img, u, v, radius, VT__LANDMARK_CONTRAST, &b)))
            return st;
        if (!b.found)
            continue;
        double xd = (b.u - cam.cx) / cam.fx, yd = (b.v - cam.cy) / cam.fy, xn, yn;
        if (!vt_camera_undistort(&cam, xd, yd, &xn, &yn))
            continue;
        vt_eskf_innovation in;
        st = vt_pose_platform_bearing(pp, t, &c->mount, lm->position, lm->sd, xn, yn,
                                      VT__LANDMARK_SD_PX / cam.fx, &in);
        if (st == VT_ERANGE)
            continue; /* behind the camera after all */
        if (st)
            return st;
        ps->stats.sighted++;
        ps->stats.refused += !in.accepted;
    }
    return VT_OK;
}

vt_status vt__poses_apply(vt__poses *ps, const vt_frame_set *fs, vt_vec3 *position, vt_quat *q,
                          bool *moved)
{
    int n = 0;
    for (int i = 0; i < ps->ncams; i++) {
        moved[i] = false;
        if (ps->src[i].kind == VT_POSE_FIXED || !fs->images[i])
            continue;
        ps->times[i] = fs->times && isfinite(fs->times[i]) ? fs->times[i] : fs->t;
        ps->order[n++] = i;
    }
    /* Insertion sort by capture time (a handful of cameras; stable, so ties keep rig order). */
    for (int a = 1; a < n; a++) {
        int c = ps->order[a], b = a - 1;
        while (b >= 0 && ps->times[ps->order[b]] > ps->times[c]) {
            ps->order[b + 1] = ps->order[b];
            b--;
        }
        ps->order[b + 1] = c;
    }
    for (int k = 0; k < n; k++) {
        int i = ps->order[k];
        const cam_source *c = &ps->src[i];
        double t = ps->times[i];
        vt_status st;
        if (c->kind == VT_POSE_LOG) {
            vt_vec3 p;
            vt_quat r;
            st = vt_pose_track_at(ps->logs[i], t, &p, &r);
            if (!st) {
                position[i] = vt_v3_add(p, vt_q_rotate(r, c->mount.lever_arm));
                q[i] = vt_q_normalize(vt_q_mul(r, c->mount.q));
            }
        } else {
            st = c->sights ? sight(ps, i, t, fs->images[i]) : VT_OK;
            if (!st)
                st = vt_pose_platform_pose(ps->platforms[c->platform], t, &c->mount, &position[i],
                                           &q[i]);
        }
        if (st)
            return vt__error_prefix(st, "camera %d ('%s'): pose at t = %.6f s", i, c->id, t);
        moved[i] = true;
    }
    return VT_OK;
}
