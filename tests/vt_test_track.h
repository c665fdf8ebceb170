/*
 * tests/vt_test_track.h - what the tracker tests share: a noisy detection
 * of a point and a tracker of a given kind with default options.
 *
 * Include after <cmocka.h> and vt_test.h; define VT_TEST_DET_CAMERAS (the
 * cameras a detection claims) before including it.
 */
#ifndef VT_TEST_TRACK_H
#define VT_TEST_TRACK_H

#include <string.h>

#include "voxtrack/track.h"

#ifndef VT_TEST_DET_CAMERAS
#error "define VT_TEST_DET_CAMERAS before including vt_test_track.h"
#endif

/* A detection of p with isotropic Gaussian noise of sigma metres (seeded generator). */
static inline vt_detection det_at(vt_vec3 p, double sigma)
{
    vt_detection d;
    memset(&d, 0, sizeof d);
    d.pos = vt_v3(p.x + sigma * vt_test_gauss(), p.y + sigma * vt_test_gauss(),
                  p.z + sigma * vt_test_gauss());
    d.cov[0] = d.cov[3] = d.cov[5] = sigma * sigma;
    d.ncameras = VT_TEST_DET_CAMERAS;
    return d;
}

static inline vt_tracker *new_tracker(vt_tracker_kind kind)
{
    vt_tracker_opts o = vt_tracker_opts_default();
    o.kind = kind;
    vt_tracker *t = NULL;
    assert_int_equal(vt_tracker_new(&o, &t), VT_OK);
    return t;
}

#endif
