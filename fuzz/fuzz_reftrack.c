/*
 * fuzz/fuzz_reftrack.c - libFuzzer target for the reference-track reader
 * (vt_reftrack_parse, voxtrack/calib.h).
 *
 * The input is the file's text, read without a rig (so a WGS84 line is an
 * error with its line number, like any other bad line). A parse must return
 * VT_OK, VT_EPARSE (a bad line or too few samples) or VT_EINVAL (several
 * targets and none chosen); a track that parses must hold at least two
 * samples at finite, strictly increasing times with finite positions, and
 * vt_reftrack_at must answer for every sample time and refuse times outside
 * the span. Anything else, a crash, a sanitizer report or a leak, is a bug.
 * Built and run by scripts/fuzz.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "voxtrack/calib.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vt_reftrack *r = NULL;
    vt_status s = vt_reftrack_parse((const char *)data, size, "fuzz.csv", NULL, NULL, &r);
    if (s != VT_OK && s != VT_EPARSE && s != VT_EINVAL)
        abort();
    if ((s == VT_OK) != (r != NULL))
        abort();
    if (!r)
        return 0;
    size_t n = vt_reftrack_count(r);
    if (n < 2)
        abort();
    double prev = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        double t;
        vt_vec3 p;
        vt_reftrack_sample(r, i, &t, &p);
        if (!isfinite(t) || !(t > prev) || !isfinite(p.x) || !isfinite(p.y) || !isfinite(p.z))
            abort();
        if (!vt_reftrack_at(r, t, 0.0, NULL, NULL) || !vt_reftrack_at(r, t, 1.0, NULL, NULL))
            abort();
        prev = t;
    }
    double t0, t1;
    vt_reftrack_span(r, &t0, &t1);
    vt_vec3 p;
    /* The nearest times outside the span: t1 + 1.0 is t1 itself once t1 is past 2^53. */
    if (vt_reftrack_at(r, nextafter(t0, -INFINITY), 0.0, &p, NULL) ||
        vt_reftrack_at(r, nextafter(t1, INFINITY), 0.0, &p, NULL) ||
        vt_reftrack_at(r, NAN, 0.0, &p, NULL))
        abort();
    vt_reftrack_free(r);
    return 0;
}
