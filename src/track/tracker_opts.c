/*
 * src/track/tracker_opts.c - the table of vt_tracker_opts (names, bounds,
 * defaults, documentation) and the check of vt_tracker_new() that uses it:
 * a bound of a tracker option is written here and nowhere else. The run
 * configuration reads "pipeline.tracker" with the same table, and the
 * table's defaults are those of vt_tracker_opts_default() (a test checks).
 *
 * The bounds say what the filter can work with: a gate probability of 1 is
 * an infinite gate, one of 0.5 or less gates out most true detections;
 * confirm_n <= 31 because the M-of-N window is a 32-bit mask of hits;
 * detect_prob < 1 and clutter_density > 0 keep the MHT's log-likelihoods
 * finite (log(1 - p_D), log(clutter)).
 */
#include "track/tracker_opts.h"

#include <stdio.h>
#include <string.h>

#include "core/internal.h"

/* The kind through vt_tracker_kind_parse(), the one place that reads a kind's name. */
static vt_status read_kind(const vt__jctx *c, json_t *v, const char *path, void *out)
{
    vt_tracker_kind k;
    const char *text = json_string_value(v);
    if (text && vt_tracker_kind_parse(text, &k) == VT_OK) {
        *(vt_tracker_kind *)out = k;
        return VT_OK;
    }
    const char *gnn = vt_tracker_kind_name(VT_TRACKER_GNN),
               *mht = vt_tracker_kind_name(VT_TRACKER_MHT);
    if (text)
        return vt__json_error(c, path, "must be \"%s\" or \"%s\" (got \"%s\")", gnn, mht, text);
    return vt__json_error(c, path, "must be \"%s\" or \"%s\"", gnn, mht);
}

/* For the docs' tables only: read_kind reads the names through vt_tracker_kind_parse(). */
static const char *const kind_names[] = {"gnn", "mht", NULL};

const vt__jfield vt__tracker_fields[] = {
    {"kind", VT__JT_CUSTOM, offsetof(vt_tracker_opts, kind), 0, 0, 0, VT_TRACKER_GNN, "`\"gnn\"`",
     kind_names, NULL, 0, read_kind,
     "association: global nearest neighbour or multiple hypotheses"},
    VT__JF_NUM("process_accel", vt_tracker_opts, process_accel, 1e-6, 1e3, 3.0,
               "white-acceleration sigma of the motion model, m/s²"),
    VT__JF_NUM("gate_prob", vt_tracker_opts, gate_prob, 0.5, 0.999999, 0.999,
               "chi-square gate probability (3 degrees of freedom)"),
    VT__JF_NUM("init_speed", vt_tracker_opts, init_speed, 1e-3, 1e4, 20.0,
               "sigma of a new track's unknown velocity, m/s"),
    VT__JF_INT("confirm_m", vt_tracker_opts, confirm_m, 1, 31, 3,
               "M of M-of-N confirmation (<= `confirm_n`)"),
    VT__JF_INT("confirm_n", vt_tracker_opts, confirm_n, 1, 31, 4, "N of M-of-N confirmation"),
    VT__JF_INT("delete_misses", vt_tracker_opts, delete_misses, 1, 1000, 5,
               "consecutive misses that delete a confirmed track"),
    VT__JF_INT("delete_tentative", vt_tracker_opts, delete_tentative, 1, 1000, 2,
               "misses that delete a tentative track"),
    {"min_pos_sigma", VT__JT_NUM, offsetof(vt_tracker_opts, min_pos_sigma), VT__JF_GT, 0, 100, 0.05,
     NULL, NULL, NULL, 0, NULL, "floor of a detection's position sigma, metres"},
    VT__JF_INT("mht_scan", vt_tracker_opts, mht_scan, 1, 20, 3, "MHT: N-scan pruning depth"),
    VT__JF_INT("mht_k", vt_tracker_opts, mht_k, 1, 1000, 10,
               "MHT: hypotheses kept per cluster (Murty's k-best)"),
    {"clutter_density", VT__JT_NUM, offsetof(vt_tracker_opts, clutter_density), VT__JF_GT, 0, 1,
     1e-9, NULL, NULL, NULL, 0, NULL, "MHT: false detections per m³"},
    {"detect_prob", VT__JT_NUM, offsetof(vt_tracker_opts, detect_prob), VT__JF_LT, 1e-3, 1, 0.95,
     NULL, NULL, NULL, 0, NULL, "MHT: probability of detection"},
    {0}};

vt_status vt__tracker_opts_check(const char *where, const vt_tracker_opts *o)
{
    vt__jctx c = {.where = where};
    if (o->kind != VT_TRACKER_GNN && o->kind != VT_TRACKER_MHT)
        return vt__error(VT_EINVAL,
                         "%s: field 'kind' must be VT_TRACKER_GNN or VT_TRACKER_MHT (got %d)",
                         where, (int)o->kind);
    vt_status s = vt__json_check_values(&c, "", vt__tracker_fields, o, VT_EINVAL);
    if (s)
        return s;
    if (o->confirm_m > o->confirm_n)
        return vt__error(VT_EINVAL, "%s: field 'confirm_m' must be <= confirm_n (got %d > %d)",
                         where, o->confirm_m, o->confirm_n);
    return VT_OK;
}
