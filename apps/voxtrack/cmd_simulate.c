/*
 * apps/voxtrack/cmd_simulate.c - `voxtrack simulate`: a scenario (a file or
 * a built-in preset) rendered to an output folder that `voxtrack run` reads
 * as if real cameras had recorded it: frames and timestamps per camera,
 * rig.json, the ground truth and config.json (docs/SCENARIO.md).
 *
 * The scenario is loaded and validated, and the overrides applied, before
 * anything is written, so a mistake in the file costs a message naming the
 * field, not a half-written folder.
 */
#include "cli.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static void usage(void)
{
    printf("Usage: voxtrack simulate [SCENARIO.json | --preset NAME] --out DIR [options]\n"
           "\n"
           "Renders a scenario: every camera's frames with their capture times, the rig\n"
           "file, the ground truth (truth.jsonl, truth_pixels.jsonl) and config.json for\n"
           "'voxtrack run'. docs/SCENARIO.md describes the scenario file and the output.\n"
           "\n"
           "Options:\n"
           "  --preset NAME    a built-in scenario instead of a file:");
    for (const char *const *n = vt_scenario_preset_names(); *n; n++)
        printf(" %s", *n);
    printf("\n"
           "  --out DIR        output folder (created; its parent must exist)\n"
           "  --format FMT     frames as png (default), pgm, hevc or raw\n"
           "  --frames N       render N frames instead of the scenario's\n"
           "  --seed S         another seed: other targets, timing and noise\n"
           "  --threads N      threads (default 0: all cores)\n"
           "  --true-poses     rig.json gives cameras on moving platforms their true pose\n"
           "                   logs instead of their platforms' GPS + IMU logs\n"
           "  --quiet          no progress line and no summary\n"
           "  --json           the summary as one JSON object on stdout\n"
           "  -h, --help       this help\n"
           "\n"
           "Exit status: 0 success, 1 failure, 2 bad command line.\n");
}

typedef struct simulate_flags {
    const char *preset, *out, *format, *frames, *seed;
    int threads;
    bool quiet, json, true_poses;
} simulate_flags;

typedef struct progress_ctx {
    cli_progress line;
} progress_ctx;

static void on_progress(void *user, int64_t done, int64_t total)
{
    progress_ctx *c = user;
    cli_progress_update(&c->line, "simulate: %" PRId64 "/%" PRId64 " camera frames", done, total);
}

/* Loads the file or the preset: 0, or the exit status to return. */
static int load_scenario(const char *cmd, const simulate_flags *f, const cli_args *args,
                         vt_scenario **s)
{
    vt_clear_error();
    if (f->preset) {
        vt_status st = vt_scenario_preset(f->preset, s);
        if (st == VT_ENOENT) {
            cli_usage_error(cmd, "--preset: no preset '%s'", f->preset);
            return CLI_EXIT_USAGE;
        }
        if (st) {
            cli_lib_error(cmd, st);
            return CLI_EXIT_FAIL;
        }
        return CLI_EXIT_OK;
    }
    vt_status st = vt_scenario_load(args->positional[0], s);
    if (st) {
        cli_lib_error(cmd, st);
        return CLI_EXIT_FAIL;
    }
    return CLI_EXIT_OK;
}

/* Checks the flags and fills the options (but the output folder). */
static bool parse_flags(const char *cmd, const simulate_flags *f, const cli_args *args,
                        vt_simulate_opts *o)
{
    if ((args->count == 1) == (f->preset != NULL)) {
        cli_usage_error(cmd, "give either a SCENARIO.json or --preset NAME");
        return false;
    }
    if (!f->out) {
        cli_usage_error(cmd, "--out DIR is required");
        return false;
    }
    if (f->format && vt_frame_format_parse(f->format, &o->format) != VT_OK) {
        cli_usage_error(cmd, "--format: '%s' is not png, pgm, hevc or raw", f->format);
        return false;
    }
    int frames = 0;
    if (f->frames && !cli_parse_int(cmd, "--frames", f->frames, &frames))
        return false;
    if (f->frames && frames < 1) {
        cli_usage_error(cmd, "--frames: '%s' must be at least 1", f->frames);
        return false;
    }
    o->frames = frames;
    if (f->seed) {
        if (!cli_parse_u64(cmd, "--seed", f->seed, &o->seed))
            return false;
        o->override_seed = true;
    }
    if (f->threads < 0) {
        cli_usage_error(cmd, "--threads: %d must be >= 0 (0 = all cores)", f->threads);
        return false;
    }
    o->threads = f->threads;
    o->out_dir = f->out;
    o->true_poses = f->true_poses;
    return true;
}

/* Drones, birds and glints in the scenario. */
static void count_kinds(const vt_scenario *s, size_t counts[3])
{
    size_t n = vt_scenario_target_count(s);
    vt_target_truth *tr = calloc(n ? n : 1, sizeof *tr);
    counts[0] = counts[1] = counts[2] = 0;
    if (!tr)
        return;
    vt_scenario_targets(s, 0.0, NULL, tr);
    for (size_t i = 0; i < n; i++)
        counts[tr[i].kind]++;
    free(tr);
}

static void print_summary(const vt_scenario *s, const vt_simulate_opts *o,
                          const vt_simulate_stats *st, bool json)
{
    size_t k[3];
    count_kinds(s, k);
    double mb = (double)st->bytes_written / 1e6;
    const char *fmt = vt_frame_format_name(o->format);
    if (json) {
        printf("{\"out\": ");
        cli_json_string(stdout, o->out_dir);
        printf(", \"format\": \"%s\", \"cameras\": %d, \"frames\": %" PRId64
               ", \"images\": %" PRId64 ", \"dropped\": %" PRId64
               ", \"drones\": %zu, \"birds\": %zu, \"glints\": %zu, \"bytes\": %" PRIu64
               ", \"seconds\": %.3f}\n",
               fmt, st->cameras, st->frames, st->images, st->dropped, k[0], k[1], k[2],
               st->bytes_written, st->seconds);
        return;
    }
    printf("cameras      %d\n", st->cameras);
    printf("frames       %" PRId64 " per camera, %" PRId64 " written, %" PRId64 " dropped\n",
           st->frames, st->images, st->dropped);
    printf("targets      %zu drones, %zu birds, %zu glints\n", k[0], k[1], k[2]);
    printf("output       %s (%s, %.1f MB)\n", o->out_dir, fmt, mb);
    printf("wall time    %.2f s (%.1f frames/s)\n", st->seconds,
           st->seconds > 0 ? (double)st->images / st->seconds : 0.0);
}

int cmd_simulate(int argc, char **argv)
{
    const char *cmd = "simulate";
    simulate_flags f = {0};
    const cli_option opts[] = {
        {"--preset", CLI_STRING, &f.preset},       {"--out", CLI_STRING, &f.out},
        {"--format", CLI_STRING, &f.format},       {"--frames", CLI_STRING, &f.frames},
        {"--seed", CLI_STRING, &f.seed},           {"--threads", CLI_INT, &f.threads},
        {"--quiet", CLI_BOOL, &f.quiet},           {"--json", CLI_BOOL, &f.json},
        {"--true-poses", CLI_BOOL, &f.true_poses},
    };
    cli_args args;
    int rc = cli_parse_args(cmd, argc, argv, opts, sizeof opts / sizeof opts[0], 1, &args);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (args.help) {
        usage();
        return CLI_EXIT_OK;
    }
    vt_simulate_opts o = vt_simulate_opts_default();
    if (!parse_flags(cmd, &f, &args, &o))
        return CLI_EXIT_USAGE;
    vt_scenario *s = NULL;
    if ((rc = load_scenario(cmd, &f, &args, &s)) != CLI_EXIT_OK)
        return rc;

    progress_ctx ctx;
    cli_progress_init(&ctx.line, f.quiet || f.json);
    o.progress = on_progress;
    o.progress_user = &ctx;
    vt_simulate_stats st;
    vt_clear_error();
    vt_status status = vt_simulate_run(s, &o, &st);
    cli_progress_end(&ctx.line);
    if (status) {
        cli_lib_error(cmd, status);
        vt_scenario_free(s);
        return CLI_EXIT_FAIL;
    }
    if (f.json || !f.quiet)
        print_summary(s, &o, &st, f.json);
    vt_scenario_free(s);
    return fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}
