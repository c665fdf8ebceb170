/*
 * apps/voxtrack/cmd_calibrate.c - `voxtrack calibrate`: camera orientations,
 * clocks and optionally positions and intrinsics from a flight's 2D
 * detections (voxtrack/calib.h), against a reference track or, without one,
 * against the target triangulated from cameras whose poses are known.
 *
 * It writes the calibrated rig (each calibrated camera reading the detections
 * it was calibrated on, with its solved clock), a report (report.json and a
 * PNG per camera) and a table. docs/DETECTIONS.md has a worked example.
 */
/* realpath (POSIX, but behind _DEFAULT_SOURCE in glibc) */
#define _DEFAULT_SOURCE

#include "cli.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct calib_flags {
    const char *detections, *out, *report, *target, *cameras, *known;
    const char *position, *focal, *k1, *scale;
    double max_offset, search_px;
    uint64_t seed;
    bool json, quiet;
} calib_flags;

static void usage(const vt_calib_opts *d)
{
    printf("Usage: voxtrack calibrate RIG [TRACK] [--detections DIR] [options]\n"
           "\n"
           "Solves each camera's orientation and clock offset from its 2D detections of a\n"
           "flight: against TRACK (the flight's reference, JSON Lines or CSV of t,x,y,z in\n"
           "the rig's ENU metres or t,lat,lon,h in WGS84) or, without it, against the\n"
           "target triangulated from the --known cameras (self-calibration). RANSAC over\n"
           "candidate clock offsets, then Levenberg-Marquardt on the reprojection error.\n"
           "docs/DETECTIONS.md has a worked example.\n"
           "\n"
           "Options:\n"
           "  --detections DIR   camera ID's detections in DIR/ID.jsonl, .csv or .txt\n"
           "                     (default: the rig cameras' 'detections' files)\n"
           "  --out RIG2         write the calibrated rig (its calibrated cameras read\n"
           "                     their detections, with the solved clock)\n"
           "  --report DIR       write DIR/report.json and DIR/ID.png per camera\n"
           "  --target ID        the track's target, when the file holds several\n"
           "  --cameras IDS      calibrate only these (comma-separated; default: every\n"
           "                     camera with detections, less the known ones)\n"
           "  --known IDS        without TRACK: the cameras whose poses are known (two or\n"
           "                     more); the first is the clock reference\n"
           "  --position IDS     also solve these cameras' positions (unsurveyed; 'all')\n"
           "  --focal IDS        also solve their focal lengths ('all' for every camera)\n"
           "  --k1 IDS           also solve their first radial distortion coefficient\n"
           "  --scale IDS        also solve their clock scale (a frame rate not exact)\n");
    printf("  --max-offset S     search clock offsets within +-S s of the rig's (default %g)\n",
           d->max_offset);
    printf("  --search-px PX     inlier gate of the search, pixels (default %g)\n", d->search_px);
    printf("  --seed N           RANSAC's seed (default %llu)\n", (unsigned long long)d->seed);
    printf("  --json             print the report as one JSON object\n"
           "  --quiet            no table unless --json\n"
           "  -h, --help         show this help\n"
           "\n"
           "Exit status: 0 every camera calibrated (weak geometry is a warning), 1 a\n"
           "camera failed or an input is unreadable, 2 bad command line.\n");
}

/* ---- camera lists ------------------------------------------------------ */

/* Sets bit i for each id of the comma-separated list ("all": every camera). */
static bool parse_ids(const char *cmd, const char *flag, const char *list, const vt_rig *rig,
                      uint64_t *mask)
{
    *mask = 0;
    if (!list)
        return true;
    if (strcmp(list, "all") == 0) {
        *mask = rig->count >= 64 ? ~0ull : (1ull << rig->count) - 1;
        return true;
    }
    char id[64];
    for (const char *p = list; *p;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (n == 0 || n >= sizeof id) {
            cli_usage_error(cmd, "%s: '%s' is not a list of camera ids", flag, list);
            return false;
        }
        memcpy(id, p, n);
        id[n] = '\0';
        int i = vt_rig_find(rig, id);
        if (i < 0 || i >= 64) {
            cli_usage_error(cmd, "%s: the rig has no camera '%s'", flag, id);
            return false;
        }
        *mask |= 1ull << i;
        p += n + (comma ? 1 : 0);
    }
    return true;
}

/* Whether the rig at `out` lies in the folder of the rig read from `dir`. */
static bool same_folder(const char *dir, const char *out)
{
    char a[PATH_MAX], b[PATH_MAX], parent[PATH_MAX];
    const char *slash = strrchr(out, '/');
    snprintf(parent, sizeof parent, "%.*s", slash ? (int)(slash - out) : 1, slash ? out : ".");
    if (slash == out)
        snprintf(parent, sizeof parent, "/");
    return realpath(dir, a) && realpath(parent, b) && strcmp(a, b) == 0;
}

/* ---- the report -------------------------------------------------------- */

typedef struct outcome {
    bool tried, ok;
    vt_calib_result res;
    char png[PATH_MAX];
} outcome;

static const char *state_of(const outcome *o)
{
    return !o->ok ? "failed" : o->res.weak ? "weak" : "ok";
}

static void print_table(const vt_rig *rig, const outcome *out, const vt_calib_triangulation *tri,
                        uint64_t known, FILE *f)
{
    if (tri) {
        fprintf(f,
                "triangulated %zu points from %zu detections, rays meeting at a median %.1f deg,"
                " RMS miss %.3f m; clock offsets:",
                tri->points, tri->candidates, tri->median_angle_deg, tri->rms_miss_m);
        for (int i = 0; i < rig->count && i < 64; i++)
            if (known >> i & 1)
                fprintf(f, " %s %.6f", rig->cameras[i].id, tri->clock_offset[i]);
        fputc('\n', f);
    }
    fprintf(f, "%-8s %-6s %7s %7s %8s %8s %10s %13s %13s %9s\n", "camera", "state", "rms_px",
            "max_px", "inliers", "outliers", "turned_deg", "clock_offset", "clock_scale",
            "moved_m");
    for (int i = 0; i < rig->count; i++) {
        const outcome *o = &out[i];
        if (!o->tried)
            continue;
        const vt_calib_result *r = &o->res;
        if (!o->ok) {
            fprintf(f, "%-8s %-6s %s\n", rig->cameras[i].id, "failed", r->message);
            continue;
        }
        fprintf(f, "%-8s %-6s %7.3f %7.3f %8zu %8zu %10.4f %13.6f %13.10f %9.3f\n",
                rig->cameras[i].id, state_of(o), r->rms_px, r->max_px, r->inliers, r->outliers,
                r->rotation_deg, r->clock_offset, r->clock_scale, r->position_m);
        if (r->weak)
            fprintf(f, "         %s\n", r->message);
    }
}

static void json_camera(FILE *f, const vt_rig_camera *c, const outcome *o)
{
    const vt_calib_result *r = &o->res;
    fputs("{\"id\": ", f);
    cli_json_string(f, c->id);
    fprintf(f, ", \"state\": \"%s\", \"message\": ", state_of(o));
    cli_json_string(f, r->message);
    fprintf(f, ", \"detections\": %zu", r->detections);
    if (o->ok) {
        const vt_camera *k = &r->cam;
        fprintf(f,
                ", \"on_track\": %zu, \"inliers\": %zu, \"outliers\": %zu, \"rms_px\": %.6g, "
                "\"max_px\": %.6g, \"turned_deg\": %.9g, \"moved_m\": %.9g, \"clock\": "
                "{\"scale\": %.17g, \"offset\": %.17g}, \"sd\": {\"rotation_deg\": %.6g, "
                "\"clock_s\": %.6g, \"position_m\": %.6g}, \"iterations\": %d, "
                "\"quaternion\": [%.17g, %.17g, %.17g, %.17g], \"position\": [%.17g, %.17g, "
                "%.17g], \"fx\": %.17g, \"fy\": %.17g, \"k1\": %.17g",
                r->on_track, r->inliers, r->outliers, r->rms_px, r->max_px, r->rotation_deg,
                r->position_m, r->clock_scale, r->clock_offset, r->sd_rotation_deg, r->sd_clock_s,
                r->sd_position_m, r->iterations, k->q.w, k->q.x, k->q.y, k->q.z, k->position.x,
                k->position.y, k->position.z, k->fx, k->fy, k->dist[0]);
    }
    if (o->png[0]) {
        fputs(", \"png\": ", f);
        cli_json_string(f, o->png);
    }
    fputc('}', f);
}

static void print_json(FILE *f, const vt_rig *rig, const outcome *out, const char *mode,
                       const vt_calib_triangulation *tri, uint64_t known)
{
    fprintf(f, "{\"mode\": \"%s\", \"cameras\": [", mode);
    bool first = true;
    for (int i = 0; i < rig->count; i++) {
        if (!out[i].tried)
            continue;
        fputs(first ? "" : ", ", f);
        json_camera(f, &rig->cameras[i], &out[i]);
        first = false;
    }
    fputc(']', f);
    if (tri) {
        fprintf(f,
                ", \"triangulation\": {\"points\": %zu, \"candidates\": %zu, "
                "\"median_angle_deg\": %.6g, \"rms_miss_m\": %.6g, \"weak\": %s, \"message\": ",
                tri->points, tri->candidates, tri->median_angle_deg, tri->rms_miss_m,
                tri->weak ? "true" : "false");
        cli_json_string(f, tri->message);
        fputs(", \"known_clock_offsets\": {", f);
        first = true;
        for (int i = 0; i < rig->count && i < 64; i++) {
            if (!(known >> i & 1))
                continue;
            fputs(first ? "" : ", ", f);
            cli_json_string(f, rig->cameras[i].id);
            fprintf(f, ": %.17g", tri->clock_offset[i]);
            first = false;
        }
        fputs("}}", f);
    }
    fputs("}\n", f);
}

static bool write_report(const char *cmd, const char *dir, const vt_rig *rig, outcome *out,
                         const vt_reftrack *track, const char *mode,
                         const vt_calib_triangulation *tri, uint64_t known)
{
    if (!cli_ensure_dir(cmd, dir))
        return false;
    for (int i = 0; i < rig->count; i++) {
        if (!out[i].tried || !out[i].ok)
            continue;
        snprintf(out[i].png, sizeof out[i].png, "%s/%s.png", dir, rig->cameras[i].id);
        vt_status s = vt_calib_plot(&out[i].res, track, out[i].png);
        if (s) {
            cli_lib_error(cmd, s);
            return false;
        }
    }
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/report.json", dir);
    FILE *f = fopen(path, "w");
    if (!f) {
        cli_error(cmd, "%s: cannot create", path);
        return false;
    }
    print_json(f, rig, out, mode, tri, known);
    if (fclose(f) != 0) {
        cli_error(cmd, "%s: cannot write", path);
        return false;
    }
    return true;
}

/* ---- the calibration --------------------------------------------------- */

static vt_calib_opts camera_opts(const vt_calib_opts *base, int i, const uint64_t masks[4])
{
    static const unsigned bits[4] = {VT_CALIB_POSITION, VT_CALIB_FOCAL, VT_CALIB_K1,
                                     VT_CALIB_SCALE};
    vt_calib_opts o = *base;
    for (int k = 0; k < 4; k++)
        if (masks[k] >> i & 1)
            o.solve |= bits[k];
    return o;
}

/* Calibrates the cameras in `todo` against the track; writes the solutions into `out_rig`. */
static void calibrate_cameras(const vt_calib_opts *base, const uint64_t masks[4], uint64_t todo,
                              const vt_rig *rig, cli_camera_dets *in, const vt_reftrack *track,
                              outcome *out, vt_rig *out_rig, const char *dets_dir, bool keep_paths)
{
    for (int i = 0; i < rig->count && i < 64; i++) {
        if (!(todo >> i & 1) || !in[i].have)
            continue;
        vt_calib_opts o = camera_opts(base, i, masks);
        out[i].tried = true;
        out[i].ok = vt_calib_camera(&o, rig, i, &in[i].dets, track, &out[i].res) == VT_OK;
        if (!out[i].ok)
            continue;
        vt_rig_camera *c = &out_rig->cameras[i];
        vt_calib_apply(&out[i].res, out_rig, i);
        /*
         * It reads the detections it was calibrated on, on the solved clock:
         * the rig's own file stays as written when the new rig lies beside
         * the old one; anything else is named by its absolute path.
         */
        if (c->media != VT_MEDIA_DETECTIONS || dets_dir || !keep_paths) {
            free(c->path);
            c->path = strdup(in[i].path);
            c->media = VT_MEDIA_DETECTIONS;
            c->gige = vt_rig_gige_default();
        }
    }
}

static bool validate(const char *cmd, const calib_flags *f, const char *track)
{
    if (!f->detections && !f->out && !f->report && f->quiet && !f->json) {
        cli_usage_error(cmd, "nothing to do: give --out, --report or --json, or drop --quiet");
        return false;
    }
    if (!track && !f->known) {
        cli_usage_error(cmd, "give a reference TRACK, or --known IDS for self-calibration");
        return false;
    }
    if (track && f->known) {
        cli_usage_error(cmd, "--known is for self-calibration, without a TRACK");
        return false;
    }
    if (!(f->max_offset >= 0) || !(f->search_px > 0)) {
        cli_usage_error(cmd, "--max-offset must be >= 0 and --search-px > 0");
        return false;
    }
    return !f->out || cli_check_output_path(cmd, "output rig", f->out);
}

int cmd_calibrate(int argc, char **argv)
{
    const char *cmd = "calibrate";
    vt_calib_opts base = vt_calib_opts_default();
    calib_flags f = {.max_offset = base.max_offset, .search_px = base.search_px, .seed = base.seed};
    const cli_option opts[] = {
        {"--detections", CLI_STRING, &f.detections},
        {"--out", CLI_STRING, &f.out},
        {"--report", CLI_STRING, &f.report},
        {"--target", CLI_STRING, &f.target},
        {"--cameras", CLI_STRING, &f.cameras},
        {"--known", CLI_STRING, &f.known},
        {"--position", CLI_STRING, &f.position},
        {"--focal", CLI_STRING, &f.focal},
        {"--k1", CLI_STRING, &f.k1},
        {"--scale", CLI_STRING, &f.scale},
        {"--max-offset", CLI_DOUBLE, &f.max_offset},
        {"--search-px", CLI_DOUBLE, &f.search_px},
        {"--seed", CLI_U64, &f.seed},
        {"--json", CLI_BOOL, &f.json},
        {"--quiet", CLI_BOOL, &f.quiet},
    };
    cli_args args;
    int rc = cli_parse_args(cmd, argc, argv, opts, sizeof opts / sizeof opts[0], 2, &args);
    if (rc)
        return rc;
    if (args.help) {
        usage(&base);
        return CLI_EXIT_OK;
    }
    if (args.count < 1) {
        cli_usage_error(cmd, "missing RIG");
        return CLI_EXIT_USAGE;
    }
    const char *track_path = args.count > 1 ? args.positional[1] : NULL;
    if (!validate(cmd, &f, track_path))
        return CLI_EXIT_USAGE;
    base.max_offset = f.max_offset;
    base.search_px = f.search_px;
    base.seed = f.seed;

    vt_rig rig, out_rig;
    vt_status s = vt_rig_load(args.positional[0], &rig);
    if (s) {
        cli_lib_error(cmd, s);
        return CLI_EXIT_FAIL;
    }
    s = vt_rig_load(args.positional[0], &out_rig);
    cli_camera_dets *in = calloc((size_t)rig.count, sizeof *in);
    outcome *out = calloc((size_t)rig.count, sizeof *out);
    uint64_t masks[4], todo = 0, known = 0;
    vt_reftrack *track = NULL;
    vt_calib_triangulation tri;
    rc = CLI_EXIT_FAIL;
    if (s || !in || !out) {
        cli_lib_error(cmd, s ? s : VT_ENOMEM);
        goto done;
    }
    if (!parse_ids(cmd, "--position", f.position, &rig, &masks[0]) ||
        !parse_ids(cmd, "--focal", f.focal, &rig, &masks[1]) ||
        !parse_ids(cmd, "--k1", f.k1, &rig, &masks[2]) ||
        !parse_ids(cmd, "--scale", f.scale, &rig, &masks[3]) ||
        !parse_ids(cmd, "--cameras", f.cameras, &rig, &todo) ||
        !parse_ids(cmd, "--known", f.known, &rig, &known)) {
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    if (!cli_load_camera_detections(cmd, &rig, f.detections, in))
        goto done;
    if (!f.cameras)
        todo = ~known;
    todo &= ~known;
    if (track_path) {
        s = vt_reftrack_load(track_path, &rig, f.target, &track);
    } else {
        const vt_det2d_list **lists = calloc((size_t)rig.count, sizeof *lists);
        s = lists ? VT_OK : VT_ENOMEM;
        for (int i = 0; lists && i < rig.count; i++)
            lists[i] = in[i].have ? &in[i].dets : NULL;
        if (!s)
            s = vt_calib_triangulate(&base, &rig, lists, known, &track, &tri);
        free(lists);
        if (!s) {
            /* The known cameras keep their poses; their clocks follow the first's. */
            for (int i = 0; i < rig.count && i < 64; i++)
                if (known >> i & 1) {
                    rig.cameras[i].clock_offset = tri.clock_offset[i];
                    out_rig.cameras[i].clock_offset = tri.clock_offset[i];
                }
            if (tri.weak)
                cli_error(cmd, "warning: %s", tri.message);
        }
    }
    if (s) {
        cli_lib_error(cmd, s);
        goto done;
    }
    calibrate_cameras(&base, masks, todo, &rig, in, track, out, &out_rig, f.detections,
                      f.out && same_folder(rig.dir, f.out));
    bool all_ok = true, any = false;
    for (int i = 0; i < rig.count; i++) {
        all_ok = all_ok && (!out[i].tried || out[i].ok);
        any = any || out[i].tried;
    }
    if (!any) {
        cli_error(cmd, "no camera to calibrate: none has detections%s",
                  f.known ? " beside the known ones" : "");
        goto done;
    }
    const char *mode = track_path ? "reference" : "self";
    if (f.report &&
        !write_report(cmd, f.report, &rig, out, track, mode, track_path ? NULL : &tri, known))
        goto done;
    if (f.out && (s = vt_rig_save(&out_rig, f.out))) {
        cli_lib_error(cmd, s);
        goto done;
    }
    if (f.json)
        print_json(stdout, &rig, out, mode, track_path ? NULL : &tri, known);
    else if (!f.quiet)
        print_table(&rig, out, track_path ? NULL : &tri, known, stdout);
    for (int i = 0; i < rig.count; i++)
        if (out[i].tried && !out[i].ok)
            cli_error(cmd, "%s", out[i].res.message);
    rc = all_ok ? CLI_EXIT_OK : CLI_EXIT_FAIL;
done:
    for (int i = 0; in && out && i < rig.count; i++) {
        vt_det2d_list_free(&in[i].dets);
        vt_calib_result_free(&out[i].res);
    }
    free(in);
    free(out);
    vt_reftrack_free(track);
    vt_rig_free(&rig);
    vt_rig_free(&out_rig);
    return rc;
}
