/*
 * src/detect/fusion_opts.c - the table of vt_fusion_opts (docs/FUSION.md):
 * names, bounds, defaults (those of vt_fusion_opts_default(); a test
 * checks) and documentation. vt_fusion_opts_check() and the run
 * configuration both use it, so a bound is written here only.
 *
 * psf_sigma is at most 8 / 3 pixels because the measurement's window has a
 * radius of 8 pixels (3 sigma); the thresholds are positive because a
 * target that gives no signal cannot be expected to be seen.
 */
#include "detect/fusion_opts.h"

#include "voxtrack/fusion.h"

#define GT_NUM(name, member, lo, hi, dflt, doc)                                                    \
    {                                                                                              \
        name, VT__JT_NUM, offsetof(vt_fusion_opts, member), VT__JF_GT, lo, hi, dflt, NULL, NULL,   \
            NULL, 0, NULL, doc                                                                     \
    }

const vt__jfield vt__fusion_fields[] = {
    VT__JF_NUM("psf_sigma", vt_fusion_opts, psf_sigma, 0.2, 8.0 / 3.0, 0.6,
               "the thermal optics' point spread, pixels"),
    VT__JF_NUM("confirm_snr", vt_fusion_opts, confirm_snr, -1e3, 1e3, 3,
               "a thermal SNR at least this confirms"),
    GT_NUM("observe_snr", observe_snr, 0, 1e6, 6,
           "a thermal camera should have seen a target that would give it this SNR"),
    GT_NUM("min_size", min_size, 0, 1e3, 0.3, "the smallest target of interest, metres ..."),
    GT_NUM("min_contrast", min_contrast, 0, 1e6, 4000,
           "... and its contrast over the sky, thermal grey levels"),
    VT__JF_BOOL("drop_contradicted", vt_fusion_opts, drop_contradicted, 1,
                "drop a contradicted detection that no thermal ray supports"),
    VT__JF_NUM("min_confirm_rate", vt_fusion_opts, min_confirm_rate, 0, 1, 0.5,
               "a track confirmed by thermal less often than this is reported tentative ..."),
    VT__JF_INT("min_observed", vt_fusion_opts, min_observed, 0, 1 << 20, 5,
               "... once it has this many observable detections; 0: never"),
    VT__JF_NUM("bird_ratio", vt_fusion_opts, bird_ratio, 0, 1e6, 0,
               "a track whose mean thermal / mono SNR ratio is below this is a bird; 0: not used"),
    {0}};
