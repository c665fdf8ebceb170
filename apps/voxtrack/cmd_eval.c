/*
 * apps/voxtrack/cmd_eval.c - `voxtrack eval`: tracking accuracy of a
 * tracks.jsonl against a truth.jsonl (MOTA, MOTP, IDF1, ID switches,
 * fragmentations, rates, RMSE, GOSPA), as a table or one JSON object, and
 * optionally top-down and side plots. docs/EVAL.md defines the figures.
 *
 * The files are read as streams by the library (vt_eval_read_files), so a
 * long run costs one frame of memory, plus its positions with --plot.
 * With --reference the truth is one target's reference track (t,x,y,z, as
 * `voxtrack calibrate` reads it), interpolated at each frame set's time
 * (vt_eval_read_reference).
 */
#include "cli.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

typedef struct eval_flags {
    double match_dist, gospa_c, gospa_p;
    bool all_tracks, json, quiet, no_pixels, reference;
    const char *plot, *pixels;
    /* --reference */
    const char *rig, *target;
    double fps, max_gap;
    int first, last;
} eval_flags;

static void usage(const vt_eval_opts *d)
{
    printf("Usage: voxtrack eval TRACKS.jsonl TRUTH.jsonl [options]\n"
           "       voxtrack eval TRACKS.jsonl TRACK --reference [--rig RIG] [options]\n"
           "\n"
           "Tracking accuracy against ground truth: per frame, drone truths and tracks\n"
           "are matched within --match-dist (last frame's matches kept while in reach,\n"
           "the rest by minimum-cost assignment). Prints MOTA, MOTP, IDF1, ID switches,\n"
           "fragmentations, detection and false-track rates, position RMSE and GOSPA.\n"
           "With the truth's SNRs also the detectability ceiling and the detection\n"
           "rate by SNR and by size, and always HOTA.\n"
           "Tentative tracks are ignored unless --all-tracks; tracks of class bird are\n"
           "kept out of the matching. Definitions: docs/EVAL.md.\n"
           "With --reference, TRACK is one target's reference flight (JSON Lines or CSV of\n"
           "t,x,y,z in the rig's ENU metres, or t,lat,lon,h in WGS84 with --rig), the truth\n"
           "at each frame set's time on the grid of --fps frame sets per second.\n"
           "\n"
           "Options:\n");
    printf("  --match-dist M   match distance, metres (default %g)\n", d->match_dist);
    printf("  --all-tracks     count tentative tracks too\n"
           "  --gospa-c C      GOSPA cut-off, metres (default: the match distance)\n");
    printf("  --gospa-p P      GOSPA order, >= 1 (default %g)\n", d->gospa_p);
    printf("  --pixels FILE    the truth's SNRs per camera frame, for the detectability\n"
           "                   ceiling and the rates by SNR (default: truth_pixels.jsonl\n"
           "                   beside TRUTH.jsonl, when there is one; none with --reference)\n"
           "  --no-pixels      read no SNRs\n"
           "  --reference      TRUTH is a reference track (t,x,y,z), not a truth.jsonl\n"
           "  --rig RIG        with --reference: the rig (its fps; its origin for WGS84)\n"
           "  --target ID      with --reference: the track's target, when it holds several\n"
           "  --fps F          with --reference: frame sets per second (default: the rig's,\n"
           "                   else 30)\n"
           "  --max-gap S      with --reference: frames in a gap of the track longer than\n"
           "                   S seconds are not scored (default 1; 0: bridge any gap)\n"
           "  --first-frame N, --last-frame N\n"
           "                   with --reference: score only these frame sets (default:\n"
           "                   every one on the track)\n"
           "  --plot PREFIX    draw PREFIX_top.png (x-y) and PREFIX_side.png (x-z), and\n"
           "                   PREFIX_snr.png (detection rate by SNR) when there are SNRs\n"
           "  --json           print the figures as one JSON object\n"
           "  --quiet          no table unless --json\n"
           "  -h, --help       show this help\n"
           "\n"
           "Exit status: 0 success, 1 failure (unreadable or malformed file), 2 bad\n"
           "command line.\n");
}

static bool validate(const char *cmd, const eval_flags *f)
{
    if (!(f->match_dist > 0.0)) {
        cli_usage_error(cmd, "--match-dist: %g must be > 0", f->match_dist);
        return false;
    }
    if (!(f->gospa_c >= 0.0)) {
        cli_usage_error(cmd, "--gospa-c: %g must be >= 0 (0 = the match distance)", f->gospa_c);
        return false;
    }
    if (!(f->gospa_p >= 1.0)) {
        cli_usage_error(cmd, "--gospa-p: %g must be >= 1", f->gospa_p);
        return false;
    }
    if (f->pixels && f->no_pixels) {
        cli_usage_error(cmd, "--pixels and --no-pixels exclude each other");
        return false;
    }
    if (f->pixels && f->reference) {
        cli_usage_error(cmd, "--pixels: a reference track has no SNRs (--reference)");
        return false;
    }
    if (f->plot && !*f->plot) {
        cli_usage_error(cmd, "--plot: empty prefix");
        return false;
    }
    if (!f->reference && (f->rig || f->target || f->fps != 0.0 || f->max_gap != 1.0 ||
                          f->first != -1 || f->last != -1)) {
        cli_usage_error(cmd, "--rig, --target, --fps, --max-gap, --first-frame and --last-frame "
                             "go with --reference");
        return false;
    }
    if (f->fps < 0.0 || f->max_gap < 0.0) {
        cli_usage_error(cmd, "--fps must be > 0 and --max-gap >= 0");
        return false;
    }
    if (f->first < -1 || f->last < -1 || (f->first >= 0 && f->last >= 0 && f->last < f->first)) {
        cli_usage_error(cmd, "--first-frame and --last-frame: frames >= 0, first <= last");
        return false;
    }
    return true;
}

/* ---- output ------------------------------------------------------------ */

/* A figure for the table: "n/a" when undefined (no truth, no tracks, no match). */
static const char *fig(char *buf, size_t n, const char *fmt, double v)
{
    if (isnan(v))
        snprintf(buf, n, "n/a");
    else
        snprintf(buf, n, fmt, v);
    return buf;
}

static void print_text(const vt_eval_result *r, FILE *f)
{
    char a[32], b[32], c[32], d[32];
    fprintf(f, "frames             %" PRId64 "\n", r->frames);
    fprintf(f, "truth drones       %" PRId64 " objects, %" PRId64 " object-frames\n",
            r->truth_objects, r->gt);
    fprintf(f, "tracks             %" PRId64 ", %" PRId64 " matched frames\n", r->tracks_confirmed,
            r->tp);
    fprintf(f, "MOTA               %s\n", fig(a, sizeof a, "%.4f", r->mota));
    fprintf(f, "MOTP               %s m\n", fig(a, sizeof a, "%.3f", r->motp));
    fprintf(f, "IDF1               %s (IDP %s, IDR %s)\n", fig(a, sizeof a, "%.4f", r->idf1),
            fig(b, sizeof b, "%.4f", r->idp), fig(c, sizeof c, "%.4f", r->idr));
    fprintf(f, "ID switches        %" PRId64 "\n", r->idsw);
    fprintf(f, "fragmentations     %" PRId64 "\n", r->frag);
    fprintf(f, "detection rate     %s%% (%" PRId64 " of %" PRId64 ")\n",
            fig(a, sizeof a, "%.2f", 100.0 * r->detection_rate), r->tp, r->gt);
    fprintf(f, "false-track rate   %s%% (%" PRId64 " false positives)\n",
            fig(a, sizeof a, "%.2f", 100.0 * r->false_rate), r->fp);
    fprintf(f, "misses             %" PRId64 "\n", r->fn);
    fprintf(f, "position RMSE      %s m\n", fig(a, sizeof a, "%.3f", r->rmse));
    fprintf(f, "GOSPA              %s per frame (localisation %s, missed %s, false %s)\n",
            fig(a, sizeof a, "%.3f", r->gospa), fig(b, sizeof b, "%.3f", r->gospa_loc),
            fig(c, sizeof c, "%.3f", r->gospa_missed), fig(d, sizeof d, "%.3f", r->gospa_false));
    fprintf(f, "mostly tracked     %" PRId64 ", partially %" PRId64 ", mostly lost %" PRId64 "\n",
            r->mostly_tracked, r->partially_tracked, r->mostly_lost);
    fprintf(f,
            "birds              %" PRId64 " drone-class track-frames on birds, %" PRId64
            " bird-class track-frames\n",
            r->bird_as_drone, r->bird_tracks);
    cli_eval_print_extra_text(r, f);
}

/* The figures as JSON members ("frames": 4, ...) without braces; NaN is null. */
static void print_json_members(const vt_eval_result *r, FILE *f)
{
    const struct {
        const char *name;
        int64_t v;
    } ints[] = {
        {"frames", r->frames},
        {"gt", r->gt},
        {"tp", r->tp},
        {"fn", r->fn},
        {"fp", r->fp},
        {"idsw", r->idsw},
        {"frag", r->frag},
        {"idtp", r->idtp},
        {"idfp", r->idfp},
        {"idfn", r->idfn},
        {"truth_objects", r->truth_objects},
        {"tracks_confirmed", r->tracks_confirmed},
        {"mostly_tracked", r->mostly_tracked},
        {"partially_tracked", r->partially_tracked},
        {"mostly_lost", r->mostly_lost},
        {"bird_as_drone", r->bird_as_drone},
        {"bird_tracks", r->bird_tracks},
    };
    const struct {
        const char *name;
        double v;
    } nums[] = {
        {"mota", r->mota},
        {"motp", r->motp},
        {"idf1", r->idf1},
        {"idp", r->idp},
        {"idr", r->idr},
        {"detection_rate", r->detection_rate},
        {"false_rate", r->false_rate},
        {"rmse", r->rmse},
        {"gospa", r->gospa},
        {"gospa_loc", r->gospa_loc},
        {"gospa_missed", r->gospa_missed},
        {"gospa_false", r->gospa_false},
    };
    const char *sep = "";
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++, sep = ", ")
        fprintf(f, "%s\"%s\": %" PRId64, sep, ints[i].name, ints[i].v);
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        if (isnan(nums[i].v))
            fprintf(f, ", \"%s\": null", nums[i].name);
        else
            fprintf(f, ", \"%s\": %.17g", nums[i].name, nums[i].v);
    }
    cli_eval_print_extra_json(r, f);
}

/* The whole --json object: files, options, figures, plots. */
static void print_json(const vt_eval_result *r, const eval_flags *f, double gospa_c,
                       const char *tracks, const char *truth, const char *pixels, int plotted)
{
    printf("{\"tracks_file\": ");
    cli_json_string(stdout, tracks);
    printf(", \"%s\": ", f->reference ? "reference_file" : "truth_file");
    cli_json_string(stdout, truth);
    printf(", \"pixels_file\": ");
    if (pixels)
        cli_json_string(stdout, pixels);
    else
        printf("null");
    printf(", \"match_dist\": %.17g, \"only_confirmed\": %s, \"gospa_c\": %.17g, "
           "\"gospa_p\": %.17g, ",
           f->match_dist, f->all_tracks ? "false" : "true", gospa_c, f->gospa_p);
    print_json_members(r, stdout);
    if (plotted) {
        char path[4096];
        printf(", \"plot\": {\"top\": ");
        snprintf(path, sizeof path, "%s_top.png", f->plot);
        cli_json_string(stdout, path);
        printf(", \"side\": ");
        snprintf(path, sizeof path, "%s_side.png", f->plot);
        cli_json_string(stdout, path);
        printf(", \"snr\": ");
        snprintf(path, sizeof path, "%s_snr.png", f->plot);
        if (plotted > 1)
            cli_json_string(stdout, path);
        else
            printf("null");
        printf("}");
    } else {
        printf(", \"plot\": null");
    }
    printf("}\n");
}

/* ---- the command ------------------------------------------------------- */

/* Feeds e the tracks against the reference track of --reference. */
static vt_status read_reference(vt_eval *e, const eval_flags *f, const char *tracks,
                                const char *path)
{
    vt_rig rig;
    memset(&rig, 0, sizeof rig);
    vt_status s = f->rig ? vt_rig_load(f->rig, &rig) : VT_OK;
    vt_reftrack *ref = NULL;
    if (!s)
        s = vt_reftrack_load(path, f->rig ? &rig : NULL, f->target, &ref);
    vt_eval_ref_opts o = vt_eval_ref_opts_default();
    o.fps = f->fps > 0.0 ? f->fps : f->rig && rig.fps > 0.0 ? rig.fps : o.fps;
    o.max_gap = f->max_gap;
    if (f->first >= 0)
        o.first = f->first;
    if (f->last >= 0)
        o.last = f->last;
    if (!s)
        s = vt_eval_read_reference(e, tracks, ref, &o);
    vt_reftrack_free(ref);
    if (f->rig)
        vt_rig_free(&rig);
    return s;
}

/*
 * Evaluates the files with these options (and plots); prints any error.
 * *plotted: 0 no plots, 1 the paths, 2 the paths and the SNR plot.
 */
static bool evaluate(const char *cmd, const vt_eval_opts *o, const eval_flags *f,
                     const char *tracks, const char *truth, const char *pixels, vt_eval_result *r,
                     int *plotted)
{
    const char *plot = f->plot;
    vt_eval *e = NULL;
    vt_status s;
    *plotted = 0;
    vt_clear_error();
    if ((s = vt_eval_new(o, &e)) == VT_OK &&
        (s = f->reference ? read_reference(e, f, tracks, truth)
                          : vt_eval_read_files_snr(e, tracks, truth, pixels)) == VT_OK &&
        (s = vt_eval_result_get(e, r)) == VT_OK && plot) {
        if (r->frames == 0)
            cli_error(cmd, "warning: no frames, no plots");
        else if ((s = vt_eval_plot(e, plot, 0, NULL, NULL)) == VT_OK)
            *plotted = 1;
        if (s == VT_OK && *plotted && r->snr_frames > 0) {
            char path[4096];
            snprintf(path, sizeof path, "%s_snr.png", plot);
            if ((s = vt_eval_plot_snr(e, path, 0)) == VT_OK)
                *plotted = 2;
        }
    }
    vt_eval_free(e);
    if (s != VT_OK)
        cli_lib_error(cmd, s);
    return s == VT_OK;
}

int cmd_eval(int argc, char **argv)
{
    const char *cmd = "eval";
    vt_eval_opts d = vt_eval_opts_default();
    eval_flags f = {.match_dist = d.match_dist,
                    .gospa_c = d.gospa_c,
                    .gospa_p = d.gospa_p,
                    .max_gap = 1.0,
                    .first = -1,
                    .last = -1};
    const cli_option opts[] = {
        {"--match-dist", CLI_DOUBLE, &f.match_dist},
        {"--gospa-c", CLI_DOUBLE, &f.gospa_c},
        {"--gospa-p", CLI_DOUBLE, &f.gospa_p},
        {"--all-tracks", CLI_BOOL, &f.all_tracks},
        {"--plot", CLI_STRING, &f.plot},
        {"--pixels", CLI_STRING, &f.pixels},
        {"--no-pixels", CLI_BOOL, &f.no_pixels},
        {"--reference", CLI_BOOL, &f.reference},
        {"--rig", CLI_STRING, &f.rig},
        {"--target", CLI_STRING, &f.target},
        {"--fps", CLI_DOUBLE, &f.fps},
        {"--max-gap", CLI_DOUBLE, &f.max_gap},
        {"--first-frame", CLI_INT, &f.first},
        {"--last-frame", CLI_INT, &f.last},
        {"--json", CLI_BOOL, &f.json},
        {"--quiet", CLI_BOOL, &f.quiet},
    };
    cli_args args;
    int rc = cli_parse_args(cmd, argc, argv, opts, sizeof opts / sizeof opts[0], 2, &args);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (args.help) {
        usage(&d);
        return CLI_EXIT_OK;
    }
    if (args.count != 2) {
        cli_usage_error(cmd, "expected TRACKS.jsonl and TRUTH.jsonl or TRACK (got %d argument%s)",
                        args.count, args.count == 1 ? "" : "s");
        return CLI_EXIT_USAGE;
    }
    if (!validate(cmd, &f))
        return CLI_EXIT_USAGE;
    if (f.plot && !cli_check_output_path(cmd, "plot prefix", f.plot))
        return CLI_EXIT_FAIL;

    vt_eval_opts o = vt_eval_opts_default();
    o.match_dist = f.match_dist;
    o.only_confirmed = !f.all_tracks;
    o.gospa_c = f.gospa_c;
    o.gospa_p = f.gospa_p;
    o.record_paths = f.plot != NULL;
    char beside[4096];
    const char *pixels = f.pixels;
    if (!pixels && !f.no_pixels && !f.reference &&
        cli_eval_pixels_beside(args.positional[1], beside, sizeof beside))
        pixels = beside;
    vt_eval_result r;
    int plotted;
    if (!evaluate(cmd, &o, &f, args.positional[0], args.positional[1], pixels, &r, &plotted))
        return CLI_EXIT_FAIL;
    double gospa_c = f.gospa_c > 0.0 ? f.gospa_c : f.match_dist;
    if (f.json) {
        print_json(&r, &f, gospa_c, args.positional[0], args.positional[1], pixels, plotted);
    } else if (!f.quiet) {
        printf("matching           within %g m, %s tracks; GOSPA c = %g m, p = %g\n", f.match_dist,
               f.all_tracks ? "all" : "confirmed and coasting", gospa_c, f.gospa_p);
        print_text(&r, stdout);
        if (plotted)
            printf("plots              %s_top.png, %s_side.png%s%s%s\n", f.plot, f.plot,
                   plotted > 1 ? ", " : "", plotted > 1 ? f.plot : "",
                   plotted > 1 ? "_snr.png" : "");
    }
    return fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}
