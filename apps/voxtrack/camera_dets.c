/*
 * apps/voxtrack/camera_dets.c - the 2D detections of a rig's cameras for the
 * calibration commands (calibrate, calibrate-pair): from --detections DIR
 * (DIR/ID.jsonl, .csv or .txt) or from each camera's own "detections" file,
 * on the rig's clock.
 */
/* realpath (POSIX, but behind _DEFAULT_SOURCE in glibc) */
#define _DEFAULT_SOURCE

#include "cli.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

_Static_assert(sizeof(((cli_camera_dets *)0)->path) >= PATH_MAX, "realpath needs PATH_MAX bytes");

/* DIR/ID.jsonl, .csv or .txt, the first that exists; false when none does. */
static bool find_file(const char *dir, const char *id, char *buf, size_t size)
{
    static const char *const exts[] = {"jsonl", "csv", "txt"};
    struct stat st;
    for (int k = 0; k < 3; k++) {
        snprintf(buf, size, "%s/%s.%s", dir, id, exts[k]);
        if (stat(buf, &st) == 0 && S_ISREG(st.st_mode))
            return true;
    }
    return false;
}

bool cli_load_camera_detections(const char *cmd, const vt_rig *rig, const char *dir,
                                cli_camera_dets *in)
{
    for (int i = 0; i < rig->count; i++) {
        const vt_rig_camera *c = &rig->cameras[i];
        char file[PATH_MAX];
        const char *path = NULL;
        if (dir) {
            if (!find_file(dir, c->id, file, sizeof file))
                continue; /* a camera that saw nothing of the flight */
            path = file;
        } else if (c->media != VT_MEDIA_DETECTIONS) {
            continue;
        }
        vt_status s = vt_det2d_load(rig, i, path, &in[i].dets);
        if (s) {
            cli_lib_error(cmd, s);
            return false;
        }
        in[i].have = true;
        char resolved[PATH_MAX];
        if (!path && vt_rig_resolve(rig, c->path, resolved, sizeof resolved) == VT_OK)
            path = resolved;
        /* Absolute, so that a rig written in another folder still finds it. */
        if (!realpath(path, in[i].path))
            snprintf(in[i].path, sizeof in[i].path, "%s", path);
    }
    return true;
}
