/*
 * bench/bench_project.c - `voxtrack project` end to end, against the original
 * ray_voxel program when one is given.
 *
 * Writes a dataset in the original's format (4 cameras x 8 frames of
 * 1280x720: the built-in dot scene with an 18 m dot, about 14,000 changed
 * pixels), runs each program as a child process, and reports its wall time
 * and peak memory (the child's maximum resident set size from wait4). When
 * the original is given, the two voxel_grid.bin files are compared voxel by
 * voxel.
 *
 * Usage: bench_project VOXTRACK_BINARY WORK_DIR [ORIGINAL_RAY_VOXEL_BINARY]
 * The original must be built without its per-pixel noise for the comparison
 * to be exact (see docs/PERFORMANCE.md).
 */
#define _DEFAULT_SOURCE
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/internal.h"
#include "voxtrack/voxtrack.h"

typedef struct result {
    double seconds;
    double max_rss_mib;
    int status;
} result;

/*
 * Runs a program; the output file is removed first and dirty pages written
 * back, so that no run pays for the previous run's 500 MB of writeback.
 */
static result run(char *const argv[], const char *output)
{
    result r = {0, 0, -1};
    unlink(output);
    sync();
    double t0 = vt__now();
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        execv(argv[0], argv);
        _exit(127);
    }
    int st;
    struct rusage ru;
    if (pid < 0 || wait4(pid, &st, 0, &ru) < 0)
        return r;
    r.seconds = vt__now() - t0;
    r.max_rss_mib = ru.ru_maxrss / 1024.0;
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return r;
}

/* Best wall time of three runs; exits on a failed run. */
static result best_of_3(char *const argv[], const char *output, const char *name)
{
    result best = {1e30, 0, 0};
    for (int rep = 0; rep < 3; rep++) {
        result r = run(argv, output);
        if (r.status != 0) {
            fprintf(stderr, "bench_project: %s exited with %d\n", name, r.status);
            exit(1);
        }
        if (r.seconds < best.seconds)
            best = r;
    }
    return best;
}

static const float *map_bin(const char *path, size_t *bytes)
{
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0)
        return NULL;
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    *bytes = (size_t)st.st_size;
    return p == MAP_FAILED ? NULL : p;
}

/* Voxel-by-voxel comparison: exact matches, near matches (float rounding), others. */
static void compare(const char *a_path, const char *b_path)
{
    size_t na, nb;
    const float *a = map_bin(a_path, &na), *b = map_bin(b_path, &nb);
    if (!a || !b || na != nb || na < 8) {
        printf("  compare: cannot compare %s and %s (sizes %zu, %zu)\n", a_path, b_path, na, nb);
        return;
    }
    size_t n = (na - 8) / 4, exact = 0, near = 0, other = 0, nonzero = 0;
    double max_rel = 0.0, max_abs = 0.0;
    for (size_t i = 2; i < n + 2; i++) {
        float x = a[i], y = b[i];
        nonzero += x != 0.0f || y != 0.0f;
        if (x == y) {
            exact++;
            continue;
        }
        double d = fabs((double)x - y), rel = d / fmax(fabs((double)x), fabs((double)y));
        max_abs = fmax(max_abs, d);
        max_rel = fmax(max_rel, rel);
        if (rel <= 1e-6)
            near++;
        else
            other++;
    }
    printf("  compare: %zu voxels, %zu non-zero in either; %zu equal, %zu within float rounding "
           "(rel <= 1e-6), %zu differ (max abs diff %.3g, max rel %.3g)\n",
           n, nonzero, exact, near, other, max_abs, max_rel);
    printf("  header: voxtrack N=%d voxel=%g, original N=%d voxel=%g\n", ((const int *)a)[0], a[1],
           ((const int *)b)[0], b[1]);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_project VOXTRACK_BINARY WORK_DIR [ORIGINAL_BINARY]\n");
        return 2;
    }
    const char *vox = argv[1], *dir = argv[2], *orig = argc > 3 ? argv[3] : NULL;
    mkdir(dir, 0777);
    vt_dotscene_opts so = vt_dotscene_opts_default();
    so.width = 1280;
    so.height = 720;
    so.dot_radius = 18.0;
    if (vt_dotscene_write(&so, dir)) {
        fprintf(stderr, "bench_project: %s\n", vt_last_error());
        return 1;
    }
    char meta[1024], out_v[1024], out_o[1024];
    snprintf(meta, sizeof meta, "%s/metadata.json", dir);
    snprintf(out_v, sizeof out_v, "%s/voxtrack.bin", dir);
    snprintf(out_o, sizeof out_o, "%s/original.bin", dir);
    printf("bench_project: %d cameras x %d frames of %dx%d, default grid (500^3, 6 m)\n",
           so.cameras, so.frames, so.width, so.height);
    const char *threads[] = {"1", "0"};
    for (int i = 0; i < 2; i++) {
        char *args[] = {(char *)vox, "project",          meta, (char *)dir, out_v, "--quiet",
                        "--threads", (char *)threads[i], NULL};
        result best = best_of_3(args, out_v, "voxtrack");
        printf("  voxtrack project, %s thread(s): %.3f s wall (best of 3), %.1f MiB peak RSS\n",
               i == 0 ? "1" : "all", best.seconds, best.max_rss_mib);
    }
    if (!orig)
        return 0;
    char *args[] = {(char *)orig, meta, (char *)dir, out_o, NULL};
    result best = best_of_3(args, out_o, "the original");
    printf("  original ray_voxel:              %.3f s wall (best of 3), %.1f MiB peak RSS\n",
           best.seconds, best.max_rss_mib);
    compare(out_v, out_o);
    return 0;
}
