/*
 * fuzz/fuzz_poselog.c - libFuzzer target for the pose-log parser
 * (vt_pose_track_parse, voxtrack/pose.h).
 *
 * The input is the file's text. A parse must return VT_OK or VT_EPARSE; a
 * track that parses must hold at least one pose, strictly increasing finite
 * times and unit quaternions, and every query inside its span must give OK
 * (a finite position, a unit quaternion) or VT_ERANGE (a gap). Anything else,
 * a crash, a sanitizer report or a leak, is a bug. Built and run by
 * scripts/fuzz.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "voxtrack/pose.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vt_pose_track *tr = NULL;
    vt_status s = vt_pose_track_parse((const char *)data, size, "fuzz.csv", 0.2, &tr);
    if (s != VT_OK && s != VT_EPARSE)
        abort();
    if ((s == VT_OK) != (tr != NULL))
        abort();
    if (!tr)
        return 0;
    size_t n = vt_pose_track_count(tr);
    if (n == 0)
        abort();
    for (size_t i = 0; i < n; i++) {
        const vt_pose_sample *p = vt_pose_track_sample(tr, i);
        if (!isfinite(p->t) || fabs(vt_q_norm(p->q) - 1.0) > 1e-12)
            abort();
        if (i > 0 && !(p->t > vt_pose_track_sample(tr, i - 1)->t))
            abort();
    }
    double t0 = vt_pose_track_sample(tr, 0)->t, t1 = vt_pose_track_sample(tr, n - 1)->t;
    for (int k = 0; k <= 8; k++) {
        double t = t0 + (t1 - t0) * k / 8.0;
        vt_vec3 p;
        vt_quat q;
        s = vt_pose_track_at(tr, t, &p, &q);
        if (s == VT_OK) {
            if (!isfinite(p.x) || !isfinite(p.y) || !isfinite(p.z) ||
                fabs(vt_q_norm(q) - 1.0) > 1e-9)
                abort();
        } else if (s != VT_ERANGE) {
            abort();
        }
    }
    vt_pose_track_free(tr);
    return 0;
}
