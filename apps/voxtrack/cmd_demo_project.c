/*
 * apps/voxtrack/cmd_demo_project.c - `voxtrack demo-project`: the built-in dataset (a ring
 * of cameras watching one dot that moves in a straight line), projected
 * end to end, with the answer checked against the known path.
 *
 * The dataset goes into --out DIR, or into a temporary folder that is
 * removed afterwards. The check is geometric: the distance from the
 * brightest voxel's centre to the segment the dot travelled, which should be
 * below one voxel size.
 */
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- folders ----------------------------------------------------------- */

/* A new empty folder under $TMPDIR (or /tmp). Returns a malloc'ed path or NULL. */
static char *make_temp_dir(const char *cmd)
{
    const char *base = getenv("TMPDIR");
    if (!base || !*base)
        base = "/tmp";
    size_t n = strlen(base) + sizeof "/voxtrack-demo-XXXXXX";
    char *path = malloc(n);
    if (!path) {
        cli_error(cmd, "out of memory");
        return NULL;
    }
    snprintf(path, n, "%s/voxtrack-demo-XXXXXX", base);
    if (!mkdtemp(path)) {
        cli_error(cmd, "cannot create a temporary folder in '%s': %s", base, strerror(errno));
        free(path);
        return NULL;
    }
    return path;
}

/* Removes a folder of plain files (what the demo writes into it), then the folder. */
static void remove_flat_dir(const char *cmd, const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            size_t n = strlen(dir) + strlen(e->d_name) + 2;
            char *p = malloc(n);
            if (!p)
                break;
            snprintf(p, n, "%s/%s", dir, e->d_name);
            unlink(p);
            free(p);
        }
        closedir(d);
    }
    if (rmdir(dir) != 0)
        cli_error(cmd, "warning: could not remove temporary folder '%s': %s", dir, strerror(errno));
}

static char *join_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* ---- geometry ---------------------------------------------------------- */

/* Distance from p to the segment [a, b]. */
static double segment_distance(vt_vec3 p, vt_vec3 a, vt_vec3 b)
{
    vt_vec3 ab = vt_v3_sub(b, a);
    double len2 = vt_v3_dot(ab, ab);
    double t = len2 > 0.0 ? vt_v3_dot(vt_v3_sub(p, a), ab) / len2 : 0.0;
    t = t < 0.0 ? 0.0 : (t > 1.0 ? 1.0 : t);
    return vt_v3_norm(vt_v3_sub(p, vt_v3_add(a, vt_v3_scale(ab, t))));
}

/*
 * The grid of the demo: the default voxel size, centred where the cameras
 * look, and half as wide as the camera ring so that no camera is inside it.
 * A camera inside the grid would win: every ray it casts starts in its own
 * voxel, so that voxel collects all of its votes (as in the original
 * projector, whose default 500^3 x 6 m grid contains this ring).
 */
static vt_grid_opts demo_grid(const vt_dotscene_opts *ds)
{
    vt_grid_opts g = vt_grid_opts_default();
    int n = (int)(ds->ring_radius / g.voxel_size);
    if (n > g.nx)
        n = g.nx;
    if (n < 1)
        n = 1;
    g.nx = g.ny = g.nz = n;
    g.center = ds->look_at;
    return g;
}

/* ---- output ------------------------------------------------------------ */

typedef struct demo_flags {
    const char *out;
    bool no_run, quiet, json;
    int cameras, frames, width, height;
} demo_flags;

static void print_vec_json(vt_vec3 v)
{
    printf("[%.17g, %.17g, %.17g]", v.x, v.y, v.z);
}

static void print_dataset_json(const char *dir, bool temporary, const vt_dotscene_opts *ds,
                               vt_vec3 p0, vt_vec3 p1)
{
    printf("\"dataset\": {\"dir\": ");
    cli_json_string(stdout, dir);
    printf(", \"temporary\": %s, \"cameras\": %d, \"frames\": %d, \"width\": %d, \"height\": %d, "
           "\"path_start\": ",
           temporary ? "true" : "false", ds->cameras, ds->frames, ds->width, ds->height);
    print_vec_json(p0);
    printf(", \"path_end\": ");
    print_vec_json(p1);
    printf("}");
}

static void print_dataset_text(const char *dir, bool temporary, const vt_dotscene_opts *ds,
                               vt_vec3 p0, vt_vec3 p1)
{
    printf("dataset          %d cameras x %d frames of %dx%d in %s%s\n", ds->cameras, ds->frames,
           ds->width, ds->height, dir, temporary ? " (temporary)" : "");
    printf("true path        (%.1f, %.1f, %.1f) to (%.1f, %.1f, %.1f) m\n", p0.x, p0.y, p0.z, p1.x,
           p1.y, p1.z);
}

/* ---- the command ------------------------------------------------------- */

static void usage(const vt_dotscene_opts *d)
{
    printf("Usage: voxtrack demo-project [options]\n"
           "\n"
           "Renders the built-in dataset (a ring of cameras watching one dot that moves\n"
           "in a straight line), runs the projector on it (default options; a grid of\n"
           "the default voxel size around the watched volume, inside the camera ring)\n"
           "and prints where the moving object is and how far that is from its true\n"
           "path.\n"
           "\n"
           "Options:\n"
           "  --out DIR           write the dataset (metadata.json, PNG frames) and\n"
           "                      voxel_grid.bin into DIR (created if missing); by\n"
           "                      default a temporary folder, removed afterwards\n"
           "  --no-run            only write the dataset (needs --out)\n");
    printf("  --cameras N         cameras on the ring (default %d)\n", d->cameras);
    printf("  --frames N          frames per camera, at least 2 (default %d)\n", d->frames);
    printf("  --width W           image width in pixels (default %d)\n", d->width);
    printf("  --height H          image height in pixels (default %d)\n", d->height);
    printf("  --quiet             no progress line; print only the result line\n"
           "  --json              print the result as one JSON object\n"
           "  -h, --help          show this help\n"
           "\n"
           "Exit status: 0 success, 1 failure (including: no voxel got votes),\n"
           "2 bad command line.\n");
}

static bool validate(const char *cmd, const demo_flags *f)
{
    if (f->cameras < 1 || f->cameras > 64) {
        cli_usage_error(cmd, "--cameras: %d is out of range (1..64)", f->cameras);
        return false;
    }
    if (f->frames < 2 || f->frames > 10000) {
        cli_usage_error(cmd, "--frames: %d is out of range (2..10000)", f->frames);
        return false;
    }
    if (f->width < 8 || f->width > 16384 || f->height < 8 || f->height > 16384) {
        cli_usage_error(cmd, "--width/--height: %dx%d is out of range (8..16384)", f->width,
                        f->height);
        return false;
    }
    if (f->no_run && !f->out) {
        cli_usage_error(cmd, "--no-run needs --out DIR");
        return false;
    }
    return true;
}

/* Projects the dataset in `dir` and prints the answer. Returns the exit status. */
static int run_projection(const char *cmd, const demo_flags *f, const char *dir, bool temporary,
                          const vt_dotscene_opts *ds, vt_vec3 p0, vt_vec3 p1)
{
    char *meta = join_path(dir, "metadata.json");
    char *out = join_path(dir, "voxel_grid.bin");
    int rc = CLI_EXIT_FAIL;
    if (!meta || !out) {
        cli_error(cmd, "out of memory");
        goto done;
    }
    cli_project_job job = {
        .cmd = cmd,
        .metadata_path = meta,
        .image_dir = dir,
        .out_path = out,
        .grid = demo_grid(ds),
        .opts = vt_project_opts_default(),
        .quiet = f->quiet,
    };
    cli_project_result res;
    if ((rc = cli_project_execute(&job, &res)) != CLI_EXIT_OK)
        goto done;
    double dist = res.has_max ? segment_distance(res.max_center, p0, p1) : 0.0;
    if (f->json) {
        printf("{");
        print_dataset_json(dir, temporary, ds, p0, p1);
        printf(", \"project\": {");
        cli_project_print_json_members(&res);
        printf("}, \"object\": ");
        if (res.has_max) {
            printf("{\"position\": ");
            print_vec_json(res.max_center);
            printf(", \"distance_to_path\": %.17g, \"voxel_size\": %.17g}", dist,
                   res.grid.voxel_size);
        } else {
            printf("null");
        }
        printf("}\n");
    } else {
        if (!f->quiet) {
            print_dataset_text(dir, temporary, ds, p0, p1);
            cli_project_print_text(&res);
        }
        if (res.has_max)
            printf("moving object at (%.1f, %.1f, %.1f) m; true path passes %.1f m away "
                   "(voxel size %g m)\n",
                   res.max_center.x, res.max_center.y, res.max_center.z, dist, res.grid.voxel_size);
    }
    if (!res.has_max) {
        cli_error(cmd, "no voxel got votes: the moving object was not found");
        rc = CLI_EXIT_FAIL;
    }
done:
    free(meta);
    free(out);
    return rc;
}

int cmd_demo_project(int argc, char **argv)
{
    const char *cmd = "demo-project";
    vt_dotscene_opts ds = vt_dotscene_opts_default();
    demo_flags f = {
        .cameras = ds.cameras,
        .frames = ds.frames,
        .width = ds.width,
        .height = ds.height,
    };
    const cli_option opts[] = {
        {"--out", CLI_STRING, &f.out},      {"--no-run", CLI_BOOL, &f.no_run},
        {"--cameras", CLI_INT, &f.cameras}, {"--frames", CLI_INT, &f.frames},
        {"--width", CLI_INT, &f.width},     {"--height", CLI_INT, &f.height},
        {"--quiet", CLI_BOOL, &f.quiet},    {"--json", CLI_BOOL, &f.json},
    };
    cli_args args;
    int rc = cli_parse_args(cmd, argc, argv, opts, sizeof opts / sizeof opts[0], 0, &args);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (args.help) {
        usage(&ds);
        return CLI_EXIT_OK;
    }
    if (!validate(cmd, &f))
        return CLI_EXIT_USAGE;
    ds.cameras = f.cameras;
    ds.frames = f.frames;
    ds.width = f.width;
    ds.height = f.height;

    char *temp = NULL;
    const char *dir = f.out;
    if (dir) {
        if (!cli_ensure_dir(cmd, dir))
            return CLI_EXIT_FAIL;
    } else {
        if (!(temp = make_temp_dir(cmd)))
            return CLI_EXIT_FAIL;
        dir = temp;
    }

    vt_vec3 p0 = vt_dotscene_position(&ds, 0);
    vt_vec3 p1 = vt_dotscene_position(&ds, ds.frames - 1);
    vt_clear_error();
    vt_status s = vt_dotscene_write(&ds, dir);
    if (s != VT_OK) {
        cli_lib_error(cmd, s);
        rc = CLI_EXIT_FAIL;
    } else if (f.no_run) {
        if (f.json) {
            printf("{");
            print_dataset_json(dir, false, &ds, p0, p1);
            printf("}\n");
        } else if (!f.quiet) {
            print_dataset_text(dir, false, &ds, p0, p1);
        }
        rc = CLI_EXIT_OK;
    } else {
        rc = run_projection(cmd, &f, dir, temp != NULL, &ds, p0, p1);
    }

    if (temp) {
        remove_flat_dir(cmd, temp);
        free(temp);
    }
    if (fflush(stdout) != 0 && rc == CLI_EXIT_OK)
        rc = CLI_EXIT_FAIL;
    return rc;
}
