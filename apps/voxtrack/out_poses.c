/*
 * apps/voxtrack/out_poses.c - `--poses DIR` of `run`: the pose each moving
 * camera's rays were formed with, at its frames' capture times, written at
 * the end as one pose log per camera (DIR/ID.csv, docs/POSE.md), for
 * `voxtrack pose-eval` to hold against the truth.
 */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>

typedef struct pose_sink {
    const char *cmd, *dir;
    const vt_rig *rig;
    vt_pose_track **tracks; /* per camera, made on its first moved frame */
} pose_sink;

static vt_status poses_publish(void *ctx, const vt_pipeline_result *r)
{
    pose_sink *k = ctx;
    for (int i = 0; i < r->ncameras && i < k->rig->count; i++) {
        const vt_camera_result *c = &r->cameras[i];
        if (!c->present || !c->moved)
            continue;
        vt_status s = VT_OK;
        if (!k->tracks[i])
            s = vt_pose_track_new(k->rig->cameras[i].id, 1.0, &k->tracks[i]);
        if (!s)
            s = vt_pose_track_append(k->tracks[i], r->t + c->sync_error, c->position, c->q);
        if (s)
            return s;
    }
    return VT_OK;
}

static void poses_close(void *ctx)
{
    pose_sink *k = ctx;
    for (int i = 0; i < k->rig->count; i++) {
        if (!k->tracks[i])
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s.csv", k->dir, k->rig->cameras[i].id);
        if (vt_pose_track_save(k->tracks[i], path) != VT_OK)
            cli_error(k->cmd, "--poses: %s", vt_last_error());
        vt_pose_track_free(k->tracks[i]);
    }
    free(k->tracks);
    free(k);
}

bool cli_poses_open(const char *cmd, const vt_rig *rig, const char *dir, cli_track_job *job)
{
    if (!dir)
        return true;
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        cli_error(cmd, "--poses: cannot create '%s'", dir);
        return false;
    }
    pose_sink *k = calloc(1, sizeof *k);
    vt_pose_track **tracks = calloc((size_t)rig->count, sizeof *tracks);
    if (!k || !tracks) {
        free(k);
        free(tracks);
        cli_error(cmd, "--poses: out of memory");
        return false;
    }
    *k = (pose_sink){cmd, dir, rig, tracks};
    cli_sink sink = {k, poses_publish, poses_close, NULL};
    if (!cli_track_job_add_sink(job, sink)) {
        poses_close(k);
        return false;
    }
    return true;
}
