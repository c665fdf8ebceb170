/*
 * apps/voxtrack/cmd_calibrate_pair.c - `voxtrack calibrate-pair`: the
 * rotation between the mono and the thermal camera of each pair from the 2D
 * detections of moving targets that both recorded (vt_pair_calibrate,
 * voxtrack/calib.h). It prints each pair's residual in thermal pixels with
 * the rig's rotation and with the solved one, and writes the rig with the
 * thermal cameras turned to it (--out). docs/FUSION.md, "Registration".
 */
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct pair_flags {
    const char *detections, *out;
    int pair; /* -1: every pair with detections on both cameras */
    vt_pair_calib_opts o;
    bool json, quiet;
} pair_flags;

static void usage(const vt_pair_calib_opts *d)
{
    printf("Usage: voxtrack calibrate-pair RIG [--detections DIR] [options]\n"
           "\n"
           "Solves the rotation of each thermal camera relative to the mono camera of its\n"
           "pair from the 2D detections of moving targets that both recorded: simultaneous\n"
           "detections are matched where the current rotation predicts them and the\n"
           "rotation is solved in closed form (Horn), with a shrinking gate from the rig's\n"
           "rotation on. The mono camera's pose and both intrinsics are taken as right.\n"
           "Prints each pair's residual in thermal pixels before and after.\n"
           "\n"
           "Options:\n"
           "  --detections DIR   camera ID's detections in DIR/ID.jsonl, .csv or .txt\n"
           "                     (default: the rig cameras' 'detections' files)\n"
           "  --pair N           only pair N (default: every pair with detections on both)\n"
           "  --out RIG2         write the rig with the thermal cameras turned to the\n"
           "                     solved rotation\n");
    printf("  --max-dt S         detections of one instant within S s (default %g)\n", d->max_dt);
    printf("  --gate PX          first match within PX thermal pixels of the rig's\n"
           "                     prediction (default %g)\n",
           d->gate_px);
    printf("  --inlier-px PX     final match within PX of the solved one (default %g)\n",
           d->inlier_px);
    printf("  --range M          the targets' range for the baseline's parallax, metres\n"
           "                     (default: infinite)\n"
           "  --json             print the result as one JSON object\n"
           "  --quiet            no table\n"
           "  -h, --help         this help\n"
           "\n"
           "Exit status: 0 success, 1 failure (a pair that could not be solved), 2 bad\n"
           "command line.\n");
}

/* The thermal camera of pair p, or -1. */
static int thermal_of(const vt_rig *rig, int p)
{
    for (int i = 0; i < rig->count; i++)
        if (rig->cameras[i].pair == p && rig->cameras[i].modality == VT_MODALITY_THERMAL)
            return i;
    return -1;
}

static void print_json(const vt_rig *rig, const int *mono, const int *thermal,
                       const vt_pair_calib_result *res, const bool *ok, int n)
{
    printf("{\"pairs\": [");
    for (int k = 0; k < n; k++) {
        const vt_pair_calib_result *r = &res[k];
        printf("%s{\"pair\": %d, \"mono\": ", k ? ", " : "", rig->cameras[mono[k]].pair);
        cli_json_string(stdout, rig->cameras[mono[k]].id);
        printf(", \"thermal\": ");
        cli_json_string(stdout, rig->cameras[thermal[k]].id);
        printf(", \"state\": \"%s\"", ok[k] ? "ok" : "failed");
        if (ok[k])
            printf(", \"mono_detections\": %zu, \"thermal_detections\": %zu, \"matches\": %zu, "
                   "\"inliers\": %zu, \"rig_rms_px\": %.4f, \"rms_px\": %.4f, \"max_px\": %.4f, "
                   "\"change_deg\": %.5f, \"quaternion\": [%.9f, %.9f, %.9f, %.9f]",
                   r->mono_detections, r->thermal_detections, r->matches, r->inliers,
                   r->rig_rms_px, r->rms_px, r->max_px, r->change_deg, r->thermal_q.w,
                   r->thermal_q.x, r->thermal_q.y, r->thermal_q.z);
        printf("}");
    }
    printf("]}\n");
}

static void print_table(const vt_rig *rig, const int *mono, const int *thermal,
                        const vt_pair_calib_result *res, const bool *ok, int n)
{
    printf("pair  mono      thermal   matched  inliers  rig rms px  rms px  max px  turned deg\n");
    for (int k = 0; k < n; k++) {
        const vt_pair_calib_result *r = &res[k];
        printf("%4d  %-8s  %-8s  ", rig->cameras[mono[k]].pair, rig->cameras[mono[k]].id,
               rig->cameras[thermal[k]].id);
        if (!ok[k])
            printf("failed\n");
        else
            printf("%7zu  %7zu  %10.3f  %6.3f  %6.3f  %10.4f\n", r->matches, r->inliers,
                   r->rig_rms_px, r->rms_px, r->max_px, r->change_deg);
    }
}

/* Solves every pair asked for; false when one failed (its error printed). */
static bool solve_pairs(const char *cmd, const pair_flags *f, vt_rig *rig,
                        const cli_camera_dets *in, int *mono, int *thermal,
                        vt_pair_calib_result *res, bool *ok, int *n)
{
    bool all = true;
    *n = 0;
    for (int i = 0; i < rig->count; i++) {
        const vt_rig_camera *c = &rig->cameras[i];
        if (c->modality != VT_MODALITY_MONO || (f->pair >= 0 && c->pair != f->pair))
            continue;
        int t = thermal_of(rig, c->pair);
        if (t < 0 || !in[i].have || !in[t].have) {
            if (f->pair >= 0) {
                cli_error(cmd, "pair %d: %s", f->pair,
                          t < 0 ? "has no thermal camera" : "a camera of it has no detections");
                return false;
            }
            continue;
        }
        int k = (*n)++;
        mono[k] = i;
        thermal[k] = t;
        vt_status s = vt_pair_calibrate(&f->o, &c->cam, &rig->cameras[t].cam, &in[i].dets,
                                        &in[t].dets, &res[k]);
        ok[k] = s == VT_OK;
        if (!ok[k]) {
            cli_error(cmd, "pair %d (%s, %s): %s", c->pair, c->id, rig->cameras[t].id,
                      vt_last_error());
            all = false;
        }
    }
    if (*n == 0) {
        if (f->pair >= 0)
            cli_error(cmd, "no pair to calibrate: the rig has no pair %d", f->pair);
        else
            cli_error(cmd, "no pair to calibrate: no pair has detections on both cameras");
        return false;
    }
    return all;
}

/* Turns each solved thermal camera and saves the rig. */
static bool write_rig(const char *cmd, const char *path, vt_rig *rig, const int *thermal,
                      const vt_pair_calib_result *res, const bool *ok, int n)
{
    for (int k = 0; k < n; k++) {
        if (!ok[k])
            continue;
        vt_camera *cam = &rig->cameras[thermal[k]].cam;
        cam->q = res[k].thermal_q;
        vt_status s = vt_camera_init(cam);
        if (s) {
            cli_lib_error(cmd, s);
            return false;
        }
    }
    vt_status s = vt_rig_save(rig, path);
    if (s) {
        cli_lib_error(cmd, s);
        return false;
    }
    return true;
}

int cmd_calibrate_pair(int argc, char **argv)
{
    const char *cmd = "calibrate-pair";
    pair_flags f = {.pair = -1, .o = vt_pair_calib_opts_default()};
    const cli_option opts[] = {
        {"--detections", CLI_STRING, &f.detections},
        {"--out", CLI_STRING, &f.out},
        {"--pair", CLI_INT, &f.pair},
        {"--max-dt", CLI_DOUBLE, &f.o.max_dt},
        {"--gate", CLI_DOUBLE, &f.o.gate_px},
        {"--inlier-px", CLI_DOUBLE, &f.o.inlier_px},
        {"--range", CLI_DOUBLE, &f.o.range},
        {"--json", CLI_BOOL, &f.json},
        {"--quiet", CLI_BOOL, &f.quiet},
    };
    cli_args args;
    int rc = cli_parse_args(cmd, argc, argv, opts, sizeof opts / sizeof opts[0], 1, &args);
    if (rc)
        return rc;
    if (args.help) {
        usage(&f.o);
        return CLI_EXIT_OK;
    }
    if (args.count < 1) {
        cli_usage_error(cmd, "missing RIG");
        return CLI_EXIT_USAGE;
    }
    if (f.out && !cli_check_output_path(cmd, "output rig", f.out))
        return CLI_EXIT_USAGE;
    vt_rig rig;
    vt_status s = vt_rig_load(args.positional[0], &rig);
    if (s) {
        cli_lib_error(cmd, s);
        return CLI_EXIT_FAIL;
    }
    size_t nc = (size_t)(rig.count > 0 ? rig.count : 1);
    cli_camera_dets *in = calloc(nc, sizeof *in);
    int *mono = calloc(nc, sizeof *mono), *thermal = calloc(nc, sizeof *thermal);
    vt_pair_calib_result *res = calloc(nc, sizeof *res);
    bool *ok = calloc(nc, sizeof *ok);
    int n = 0;
    rc = CLI_EXIT_FAIL;
    if (!in || !mono || !thermal || !res || !ok) {
        cli_error(cmd, "out of memory");
        goto done;
    }
    if (!cli_load_camera_detections(cmd, &rig, f.detections, in))
        goto done;
    bool all = solve_pairs(cmd, &f, &rig, in, mono, thermal, res, ok, &n);
    if (n > 0 && f.json)
        print_json(&rig, mono, thermal, res, ok, n);
    else if (n > 0 && !f.quiet)
        print_table(&rig, mono, thermal, res, ok, n);
    if (all && f.out && !write_rig(cmd, f.out, &rig, thermal, res, ok, n))
        goto done;
    rc = all ? CLI_EXIT_OK : CLI_EXIT_FAIL;
done:
    for (int i = 0; in && i < rig.count; i++)
        vt_det2d_list_free(&in[i].dets);
    free(in);
    free(mono);
    free(thermal);
    free(res);
    free(ok);
    vt_rig_free(&rig);
    return rc;
}
