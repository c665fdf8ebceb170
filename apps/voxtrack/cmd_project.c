/*
 * apps/voxtrack/cmd_project.c - `voxtrack project`: the original
 * Pixeltovoxelprojector (ray_voxel) with its input (metadata.json and a
 * folder of images) and its output (voxel_grid.bin).
 *
 * Everything that can be checked cheaply is checked before the heavy work
 * (flags, the metadata, the image folder, the output folder), so a typo
 * costs a message, not minutes of casting followed by a failed write.
 */
#include "cli.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_GRID_SIZE 2048

/* ---- the projection job ------------------------------------------------ */

typedef struct progress_ctx {
    const char *cmd;
    cli_progress line;
} progress_ctx;

static void on_progress(void *user, const vt_project_progress *p)
{
    progress_ctx *c = user;
    cli_progress_update(&c->line, "%s: pair %d/%d, %" PRIu64 " rays", c->cmd, p->pairs_done,
                        p->pairs_total, p->rays);
}

static bool check_image_dir(const char *cmd, const char *dir)
{
    struct stat st;
    if (stat(dir, &st) != 0) {
        cli_error(cmd, "image folder '%s' does not exist", dir);
        return false;
    }
    if (!S_ISDIR(st.st_mode)) {
        cli_error(cmd, "image folder '%s' is not a folder", dir);
        return false;
    }
    return true;
}

static void find_brightest(const vt_grid *grid, cli_project_result *res)
{
    uint64_t votes = 0;
    res->has_max = vt_grid_argmax(grid, &res->ix, &res->iy, &res->iz, &votes);
    if (res->has_max) {
        res->max_center = vt_grid_voxel_center(grid, res->ix, res->iy, res->iz);
        res->max_value = (double)votes / VT_VOTE_ONE;
    }
}

int cli_project_execute(const cli_project_job *job, cli_project_result *res)
{
    memset(res, 0, sizeof *res);
    res->grid = job->grid;
    vt_metadata meta = {0};
    vt_grid *grid = NULL;
    int rc = CLI_EXIT_FAIL;
    vt_status s;

    vt_clear_error();
    if ((s = vt_metadata_load(job->metadata_path, &meta)) != VT_OK) {
        cli_lib_error(job->cmd, s);
        goto done;
    }
    if (!check_image_dir(job->cmd, job->image_dir) ||
        !cli_check_output_path(job->cmd, "output", job->out_path) ||
        (job->mip_prefix && !cli_check_output_path(job->cmd, "MIP prefix", job->mip_prefix)))
        goto done;

    vt_clear_error();
    if ((s = vt_grid_new(&job->grid, &grid)) != VT_OK) {
        cli_lib_error(job->cmd, s);
        goto done;
    }

    progress_ctx ctx = {.cmd = job->cmd};
    cli_progress_init(&ctx.line, job->quiet);
    vt_project_opts opts = job->opts;
    opts.progress = on_progress;
    opts.progress_user = &ctx;
    vt_clear_error();
    s = vt_project_run(&opts, &meta, job->image_dir, grid, &res->stats);
    cli_progress_end(&ctx.line);
    if (s != VT_OK) {
        cli_lib_error(job->cmd, s);
        goto done;
    }

    vt_clear_error();
    if ((s = vt_grid_save_bin(grid, job->out_path)) != VT_OK) {
        cli_lib_error(job->cmd, s);
        goto done;
    }
    vt_clear_error();
    if (job->mip_prefix && (s = vt_grid_save_mip(grid, job->mip_prefix)) != VT_OK) {
        cli_lib_error(job->cmd, s);
        goto done;
    }
    find_brightest(grid, res);
    rc = CLI_EXIT_OK;
done:
    vt_grid_free(grid);
    vt_metadata_free(&meta);
    return rc;
}

/* ---- output ------------------------------------------------------------ */

static double mib(size_t bytes)
{
    return (double)bytes / (1024.0 * 1024.0);
}

void cli_project_print_text(const cli_project_result *res)
{
    const vt_project_stats *st = &res->stats;
    printf("cameras          %d\n", st->cameras);
    printf("frames           %d (%d skipped)\n", st->frames, st->frames_skipped);
    printf("frame pairs      %d\n", st->pairs);
    printf("changed pixels   %" PRIu64 "\n", st->changed);
    printf("rays hit grid    %" PRIu64 "\n", st->rays_hit);
    printf("voxel steps      %" PRIu64 "\n", st->voxel_steps);
    printf("grid             %d x %d x %d voxels of %g m, centre (%g, %g, %g)\n", res->grid.nx,
           res->grid.ny, res->grid.nz, res->grid.voxel_size, res->grid.center.x, res->grid.center.y,
           res->grid.center.z);
    printf("grid memory      %.1f MiB\n", mib(st->grid_bytes));
    printf("wall time        %.3f s\n", st->seconds);
    if (res->has_max)
        printf("brightest voxel  [%d, %d, %d] at (%.1f, %.1f, %.1f) m, value %.6g\n", res->ix,
               res->iy, res->iz, res->max_center.x, res->max_center.y, res->max_center.z,
               res->max_value);
    else
        printf("brightest voxel  none (no voxel got votes)\n");
}

void cli_project_print_json_members(const cli_project_result *res)
{
    const vt_project_stats *st = &res->stats;
    printf("\"cameras\": %d, \"frames\": %d, \"frames_skipped\": %d, \"frame_pairs\": %d, ",
           st->cameras, st->frames, st->frames_skipped, st->pairs);
    printf("\"changed_pixels\": %" PRIu64 ", \"rays_hit\": %" PRIu64 ", \"voxel_steps\": %" PRIu64
           ", ",
           st->changed, st->rays_hit, st->voxel_steps);
    printf("\"grid_size\": [%d, %d, %d], \"voxel_size\": %.17g, \"grid_center\": [%.17g, %.17g, "
           "%.17g], ",
           res->grid.nx, res->grid.ny, res->grid.nz, res->grid.voxel_size, res->grid.center.x,
           res->grid.center.y, res->grid.center.z);
    printf("\"grid_bytes\": %zu, \"grid_mib\": %.3f, \"seconds\": %.6f, ", st->grid_bytes,
           mib(st->grid_bytes), st->seconds);
    if (res->has_max)
        printf("\"brightest\": {\"index\": [%d, %d, %d], \"center\": [%.17g, %.17g, %.17g], "
               "\"value\": %.17g}",
               res->ix, res->iy, res->iz, res->max_center.x, res->max_center.y, res->max_center.z,
               res->max_value);
    else
        printf("\"brightest\": null");
}

/* ---- the command ------------------------------------------------------- */

static void usage(const vt_grid_opts *g, const vt_project_opts *p)
{
    printf("Usage: voxtrack project METADATA.json IMAGE_DIR OUT.bin [options]\n"
           "\n"
           "The original Pixeltovoxelprojector: for each camera, difference consecutive\n"
           "frames; cast a ray through every changed pixel; add the difference to every\n"
           "voxel on the ray. Writes the grid as voxel_grid.bin (int32 N, float32 voxel\n"
           "size, N^3 float32, little-endian).\n"
           "\n"
           "Options:\n");
    printf("  --grid-size N       voxels per axis, 1..%d (default %d)\n", MAX_GRID_SIZE, g->nx);
    printf("  --voxel-size M      voxel edge in metres (default %g)\n", g->voxel_size);
    printf("  --center X,Y,Z      centre of the grid, world metres (default %g,%g,%g)\n",
           g->center.x, g->center.y, g->center.z);
    printf("  --threshold T       a pixel changed when |difference| > T (default %g)\n",
           p->threshold);
    printf("  --noise A           add uniform noise in [-A, A] to pixels (default %g)\n", p->noise);
    printf("  --seed S            seed of the noise generator (default %" PRIu64 ")\n", p->seed);
    printf("  --threads N         worker threads, 0 = all cores (default %d)\n",
           p->threads > 0 ? p->threads : 0);
    printf("  --traversal T       original (default): the original's float DDA, same grid\n"
           "                      bit for bit; exact: the exact double-precision DDA\n"
           "  --skip-bad-frames   skip unreadable images (counted) instead of failing\n"
           "  --mip PREFIX        also write maximum-intensity projections\n"
           "                      PREFIX_x.png, PREFIX_y.png, PREFIX_z.png\n"
           "  --quiet             no progress line; no summary unless --json\n"
           "  --json              print the summary as one JSON object\n"
           "  -h, --help          show this help\n"
           "\n"
           "Exit status: 0 success, 1 failure, 2 bad command line.\n");
}

typedef struct project_flags {
    int grid_size;
    double voxel_size;
    vt_vec3 center;
    double threshold, noise;
    uint64_t seed;
    int threads;
    bool skip_bad_frames, quiet, json;
    const char *mip;
    const char *traversal;
} project_flags;

static bool validate(const char *cmd, const project_flags *f)
{
    if (f->grid_size <= 0 || f->grid_size > MAX_GRID_SIZE) {
        cli_usage_error(cmd, "--grid-size: %d is out of range (1..%d)", f->grid_size,
                        MAX_GRID_SIZE);
        return false;
    }
    if (!(f->voxel_size > 0.0)) {
        cli_usage_error(cmd, "--voxel-size: %g must be > 0", f->voxel_size);
        return false;
    }
    if (!(f->threshold >= 0.0)) {
        cli_usage_error(cmd, "--threshold: %g must be >= 0", f->threshold);
        return false;
    }
    if (!(f->noise >= 0.0)) {
        cli_usage_error(cmd, "--noise: %g must be >= 0", f->noise);
        return false;
    }
    if (f->traversal && strcmp(f->traversal, "original") != 0 &&
        strcmp(f->traversal, "exact") != 0) {
        cli_usage_error(cmd, "--traversal: '%s' is not 'original' or 'exact'", f->traversal);
        return false;
    }
    if (f->threads < 0) {
        cli_usage_error(cmd, "--threads: %d must be >= 0 (0 = all cores)", f->threads);
        return false;
    }
    return true;
}

static void print_json(const cli_project_job *job, const cli_project_result *res)
{
    printf("{\"output\": ");
    cli_json_string(stdout, job->out_path);
    printf(", \"mip_prefix\": ");
    if (job->mip_prefix)
        cli_json_string(stdout, job->mip_prefix);
    else
        printf("null");
    printf(", ");
    cli_project_print_json_members(res);
    printf("}\n");
}

int cmd_project(int argc, char **argv)
{
    const char *cmd = "project";
    vt_grid_opts gdef = vt_grid_opts_default();
    vt_project_opts pdef = vt_project_opts_default();
    project_flags f = {
        .grid_size = gdef.nx,
        .voxel_size = gdef.voxel_size,
        .center = gdef.center,
        .threshold = pdef.threshold,
        .noise = pdef.noise,
        .seed = pdef.seed,
        .threads = pdef.threads > 0 ? pdef.threads : 0,
        .skip_bad_frames = pdef.skip_bad_frames,
    };
    const cli_option opts[] = {
        {"--grid-size", CLI_INT, &f.grid_size}, {"--voxel-size", CLI_DOUBLE, &f.voxel_size},
        {"--center", CLI_VEC3, &f.center},      {"--threshold", CLI_DOUBLE, &f.threshold},
        {"--noise", CLI_DOUBLE, &f.noise},      {"--seed", CLI_U64, &f.seed},
        {"--threads", CLI_INT, &f.threads},     {"--skip-bad-frames", CLI_BOOL, &f.skip_bad_frames},
        {"--mip", CLI_STRING, &f.mip},          {"--quiet", CLI_BOOL, &f.quiet},
        {"--json", CLI_BOOL, &f.json},          {"--traversal", CLI_STRING, &f.traversal},
    };
    cli_args args;
    int rc = cli_parse_args(cmd, argc, argv, opts, sizeof opts / sizeof opts[0], 3, &args);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (args.help) {
        usage(&gdef, &pdef);
        return CLI_EXIT_OK;
    }
    if (args.count != 3) {
        cli_usage_error(cmd, "expected METADATA.json IMAGE_DIR OUT.bin (got %d argument%s)",
                        args.count, args.count == 1 ? "" : "s");
        return CLI_EXIT_USAGE;
    }
    if (!validate(cmd, &f))
        return CLI_EXIT_USAGE;

    cli_project_job job = {
        .cmd = cmd,
        .metadata_path = args.positional[0],
        .image_dir = args.positional[1],
        .out_path = args.positional[2],
        .mip_prefix = f.mip,
        .grid = gdef,
        .opts = pdef,
        .quiet = f.quiet,
    };
    job.grid.nx = job.grid.ny = job.grid.nz = f.grid_size;
    job.grid.voxel_size = f.voxel_size;
    job.grid.center = f.center;
    job.opts.threshold = f.threshold;
    job.opts.noise = f.noise;
    job.opts.seed = f.seed;
    job.opts.threads = f.threads;
    job.opts.skip_bad_frames = f.skip_bad_frames;
    if (f.traversal && strcmp(f.traversal, "exact") == 0)
        job.opts.traversal = VT_TRAVERSAL_EXACT;

    cli_project_result res;
    rc = cli_project_execute(&job, &res);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (res.stats.frames_skipped > 0)
        cli_error(cmd, "warning: skipped %d unreadable frame%s", res.stats.frames_skipped,
                  res.stats.frames_skipped == 1 ? "" : "s");
    if (f.json) {
        print_json(&job, &res);
    } else if (!f.quiet) {
        cli_project_print_text(&res);
        printf("output           %s\n", job.out_path);
        if (job.mip_prefix)
            printf("projections      %s_x.png, %s_y.png, %s_z.png\n", job.mip_prefix,
                   job.mip_prefix, job.mip_prefix);
    }
    return fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}
