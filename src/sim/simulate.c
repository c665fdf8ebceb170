/*
 * src/sim/simulate.c - a scenario rendered to disk (see voxtrack/simulate.h):
 * every camera's frames through the renderer and a frame writer, the rig
 * file that points at them, the ground truth in 3D and in pixels, and the
 * run configuration for `voxtrack run`.
 *
 * Each camera is an independent stream: its frames are captured at its own
 * (offset, jittered) times, from its pose at those times, and some are
 * dropped. So the work of a frame is split by camera: with at least as many
 * cameras as threads, each thread renders and writes whole camera frames
 * (OpenMP, dynamic schedule, one renderer shared: draws of different cameras
 * may run concurrently); with fewer cameras than threads, the cameras go one
 * after the other and the renderer spreads each frame over the threads. The
 * renderer is counter-based, so the bytes do not depend on the split.
 *
 * Frames are drawn in frame order, the cameras of a frame in parallel, so
 * that truth_pixels.jsonl (at each camera's own capture time and pose: what
 * a detector in that frame should find, with the matched-filter SNR the
 * renderer measured for each target as it drew it) is written as the frames
 * are drawn, holding one frame's SNRs at a time. truth.jsonl (at the nominal
 * frame times: what a tracker reporting per frame set is scored against) is
 * written afterwards from the scenario alone.
 */
#include <dirent.h>
#include <errno.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/buf.h"
#include "core/internal.h"
#include "sim/sim_internal.h"
#include "voxtrack/simulate.h"

enum { PATH_LEN = 4096 };

vt_simulate_opts vt_simulate_opts_default(void)
{
    vt_simulate_opts o;
    memset(&o, 0, sizeof o);
    o.format = VT_FORMAT_PNG;
    return o;
}

/* ---- files -------------------------------------------------------------- */

static vt_status ensure_dir(const char *dir)
{
    struct stat st;
    if (stat(dir, &st) == 0)
        return S_ISDIR(st.st_mode) ? VT_OK
                                   : vt__error(VT_EINVAL, "%s: exists and is not a folder", dir);
    if (mkdir(dir, 0777) != 0)
        return vt__error(VT_EIO, "%s: cannot create folder: %s", dir, strerror(errno));
    return VT_OK;
}

static vt_status join(char *buf, const char *dir, const char *name)
{
    int n = snprintf(buf, PATH_LEN, "%s/%s", dir, name);
    if (n < 0 || n >= PATH_LEN)
        return vt__error(VT_ERANGE, "%s/%s: path too long", dir, name);
    return VT_OK;
}

static vt_status open_out(const char *dir, const char *name, char *path, FILE **f)
{
    vt_status st = join(path, dir, name);
    if (st)
        return st;
    *f = fopen(path, "w");
    if (!*f)
        return vt__error(VT_EIO, "%s: cannot create: %s", path, strerror(errno));
    return VT_OK;
}

/* Closes f and reports a failed write naming the file. */
static vt_status close_out(FILE *f, const char *path)
{
    bool bad = ferror(f) != 0;
    if (fclose(f) != 0 || bad)
        return vt__error(VT_EIO, "%s: write failed: %s", path, strerror(errno));
    return VT_OK;
}

/* The size of dir/name, plus the files directly inside it when it is a folder. */
static uint64_t entry_size(const char *dir, const char *name)
{
    char path[PATH_LEN];
    struct stat st;
    if (join(path, dir, name) || stat(path, &st) != 0)
        return 0;
    if (!S_ISDIR(st.st_mode))
        return (uint64_t)st.st_size;
    uint64_t total = 0;
    DIR *d = opendir(path);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            total += entry_size(path, e->d_name);
    if (d)
        closedir(d);
    return total;
}

/* What a run wrote: the fixed files, each camera's folder and file, the logs. */
static uint64_t output_size(const vt_scenario *s, const char *dir)
{
    static const char *const fixed[] = {"rig.json", "truth.jsonl", "truth_pixels.jsonl",
                                        "config.json"};
    static const char *const ext[] = {"", ".raw", ".mkv"};
    uint64_t total = 0;
    char name[96];
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        total += entry_size(dir, fixed[i]);
    const vt_rig *rig = vt_scenario_rig(s);
    for (int c = 0; c < rig->count; c++)
        for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++) {
            snprintf(name, sizeof name, "%s%s", rig->cameras[c].id, ext[i]);
            total += entry_size(dir, name);
        }
    for (int p = 0; p < s->spec.pair_count; p++) {
        snprintf(name, sizeof name, "imu_%d.csv", p);
        total += entry_size(dir, name);
        snprintf(name, sizeof name, "gps_%d.csv", p);
        total += entry_size(dir, name);
    }
    return total;
}

/* ---- truth -------------------------------------------------------------- */

static const char *kind_name(vt_target_kind k)
{
    return k == VT_TARGET_DRONE   ? "drone"
           : k == VT_TARGET_BIRD  ? "bird"
           : k == VT_TARGET_GLINT ? "glint"
                                  : "beacon";
}

static vt_status write_truth(const vt_scenario *s, int64_t frames, const char *dir)
{
    char path[PATH_LEN];
    FILE *f;
    vt_status st = open_out(dir, "truth.jsonl", path, &f);
    if (st)
        return st;
    size_t n = vt_scenario_target_count(s);
    vt_target_truth *tr = calloc(n ? n : 1, sizeof *tr);
    if (!tr) {
        fclose(f);
        return vt__error(VT_ENOMEM, "%s: out of memory", path);
    }
    for (int64_t fr = 0; fr < frames; fr++) {
        double t = (double)fr / vt_scenario_fps(s);
        vt_scenario_targets(s, t, NULL, tr);
        for (size_t i = 0; i < n; i++) {
            const vt_target_truth *x = &tr[i];
            if (x->kind == VT_TARGET_GLINT || x->kind == VT_TARGET_BEACON)
                continue; /* clutter, not a target: truth_pixels.jsonl has its flashes */
            fprintf(f,
                    "{\"t\": %.6f, \"frame\": %lld, \"id\": %d, \"kind\": \"%s\", "
                    "\"pos\": [%.4f, %.4f, %.4f], \"vel\": [%.4f, %.4f, %.4f], \"size\": %.3f}\n",
                    t, (long long)fr, x->id, kind_name(x->kind), x->pos.x, x->pos.y, x->pos.z,
                    x->vel.x, x->vel.y, x->vel.z, x->size);
        }
    }
    free(tr);
    return close_out(f, path);
}

/*
 * One line: the targets in front of camera c in frame fr, with their true
 * pixels and their matched-filter SNR in that frame (vt_renderer_snr; snr
 * holds one value per scenario target).
 */
static vt_status pixels_line(const vt_scenario *s, int c, int64_t fr, double t, const float *snr,
                             vt_target_truth *tr, FILE *f)
{
    vt_camera cam;
    vt_status st = vt_scenario_camera_at(s, c, t, &cam);
    if (st)
        return st;
    vt_scenario_targets(s, t, NULL, tr);
    /* The id through core's JSON writer: rig.json allows a quote or UTF-8 in it. */
    vt__buf id = {0};
    if (vt__buf_json_str(&id, vt_scenario_rig(s)->cameras[c].id))
        return id.err;
    fprintf(f, "{\"frame\": %lld, \"camera\": %s, \"t\": %.9f, \"targets\": [", (long long)fr, id.s,
            t);
    vt__buf_free(&id);
    bool first = true;
    for (size_t i = 0; i < vt_scenario_target_count(s); i++) {
        double u, v;
        if (tr[i].size <= 0.0 || !vt_camera_world_to_pixel(&cam, tr[i].pos, &u, &v))
            continue; /* an idle glint, or behind the camera */
        fprintf(f, "%s[%d, %.4f, %.4f, %d, %.4g]", first ? "" : ", ", tr[i].id, u, v,
                vt_camera_in_image(&cam, u, v) ? 1 : 0, (double)snr[i]);
        first = false;
    }
    fprintf(f, "]}\n");
    return VT_OK;
}

vt_status vt_simulate_pixels_line(const vt_scenario *s, int camera, int64_t frame, double t,
                                  const float *snr, FILE *f)
{
    if (!s || !snr || !f)
        return vt__error(VT_EINVAL, "simulate: pixels line: NULL argument");
    if (camera < 0 || camera >= vt_scenario_rig(s)->count)
        return vt__error(VT_EINVAL, "simulate: pixels line: no camera %d", camera);
    size_t n = vt_scenario_target_count(s);
    vt_target_truth *tr = calloc(n ? n : 1, sizeof *tr);
    if (!tr)
        return vt__error(VT_ENOMEM, "simulate: out of memory");
    vt_status st = pixels_line(s, camera, frame, t, snr, tr, f);
    free(tr);
    if (!st && ferror(f))
        st = vt__error(VT_EIO, "simulate: pixels line: write failed");
    return st;
}

static vt_status write_config(const vt_scenario *s, const char *dir)
{
    char path[PATH_LEN];
    FILE *f;
    vt_status st = open_out(dir, "config.json", path, &f);
    if (st)
        return st;
    vt_vec3 lo, hi;
    vt_scenario_volume(s, &lo, &hi);
    fprintf(f,
            "{\n  \"rig\": \"rig.json\",\n  \"truth\": \"truth.jsonl\",\n"
            "  \"volume\": {\"min\": [%.17g, %.17g, %.17g], \"max\": [%.17g, %.17g, %.17g]}\n}\n",
            lo.x, lo.y, lo.z, hi.x, hi.y, hi.z);
    return close_out(f, path);
}

/* ---- frames ------------------------------------------------------------- */

typedef struct job {
    const vt_scenario *s;
    const vt_simulate_opts *o;
    vt_renderer *r;
    vt_frame_writer **writers;
    FILE *pixels; /* truth_pixels.jsonl */
    const char *pixels_path;
    float *snr;             /* cameras x targets: the SNRs of the frame being drawn */
    bool *delivered;        /* per camera: it delivered the frame being drawn */
    double *times;          /* per camera: its capture time of that frame */
    vt_target_truth *truth; /* targets: scratch of the pixels lines */
    int64_t frames, total;
    int64_t done, dropped; /* updated under the critical section */
    vt_status status;      /* the first failure */
    char message[1024];
} job;

static void report(job *j, int64_t dropped_now)
{
#pragma omp critical(vt_simulate_progress)
    {
        j->done++;
        j->dropped += dropped_now;
        if (j->o->progress)
            j->o->progress(j->o->progress_user, j->done, j->total);
    }
}

static void fail(job *j, vt_status st)
{
#pragma omp critical(vt_simulate_fail)
    if (!j->status) {
        j->status = st;
        snprintf(j->message, sizeof j->message, "%s", vt_last_error());
    }
}

/* A camera on a moving platform: the renderer is given its pose at the capture time. */
static vt_status follow_platform(job *j, int c, double t)
{
    vt_camera cam;
    vt_status st = vt_scenario_camera_at(j->s, c, t, &cam);
    if (!st)
        st = vt_renderer_set_pose(j->r, c, cam.position, cam.q);
    return st;
}

/* Draws frame f of camera c into img and writes it; keeps its SNRs for truth_pixels.jsonl. */
static void render_one(job *j, int c, int64_t f, vt_render_target *targets, vt_image *img)
{
    size_t n = vt_scenario_target_count(j->s);
    bool failed;
#pragma omp atomic read
    failed = j->status;
    j->delivered[c] = false;
    if (failed)
        return;
    double t;
    if (!vt_scenario_frame_time(j->s, c, f, &t)) {
        report(j, 1);
        return;
    }
    vt_status st = vt_scenario_has_platforms(j->s) ? follow_platform(j, c, t) : VT_OK;
    vt_scenario_targets(j->s, t, targets, NULL);
    if (!st)
        st = vt_renderer_draw(j->r, c, f, t, targets, n, img);
    if (!st)
        st = vt_frame_writer_write(j->writers[c], img, f, t);
    if (st) {
        fail(j, st);
        return;
    }
    size_t m = 0;
    const float *snr = vt_renderer_snr(j->r, c, &m);
    memcpy(j->snr + (size_t)c * n, snr, (m < n ? m : n) * sizeof *snr);
    j->delivered[c] = true;
    j->times[c] = t;
    report(j, 0);
}

/* The truth_pixels.jsonl lines of frame f, camera by camera, after all were drawn. */
static void pixels_lines(job *j, int64_t f)
{
    size_t n = vt_scenario_target_count(j->s);
    int cams = vt_scenario_rig(j->s)->count;
    for (int c = 0; c < cams && !j->status; c++)
        if (j->delivered[c]) {
            vt_status st =
                pixels_line(j->s, c, f, j->times[c], j->snr + (size_t)c * n, j->truth, j->pixels);
            if (st)
                fail(j, vt__error_prefix(st, "%s", j->pixels_path));
        }
}

/*
 * Frame by frame; within a frame the cameras are shared among the threads
 * (or, with fewer cameras than threads, drawn one after the other with the
 * renderer's own threads). Each thread keeps an image per modality, so that
 * mono and thermal frames of different sizes do not reallocate.
 */
static vt_status render_all(job *j, int threads)
{
    const vt_rig *rig = vt_scenario_rig(j->s);
    int cams = rig->count;
    size_t n = vt_scenario_target_count(j->s);
    bool per_camera = cams >= threads;
#pragma omp parallel num_threads(per_camera ? threads : 1)
    {
        vt_render_target *targets = malloc((n ? n : 1) * sizeof *targets);
        vt_image img[2] = {{0}, {0}};
        if (!targets)
            fail(j, vt__error(VT_ENOMEM, "simulate: out of memory for %zu targets", n));
        for (int64_t f = 0; f < j->frames; f++) {
#pragma omp for schedule(dynamic, 1)
            for (int c = 0; c < cams; c++)
                if (targets)
                    render_one(j, c, f, targets,
                               &img[rig->cameras[c].modality == VT_MODALITY_THERMAL]);
#pragma omp single
            pixels_lines(j, f);
        }
        vt_image_free(&img[0]);
        vt_image_free(&img[1]);
        free(targets);
    }
    if (j->status)
        return vt__error(j->status, "%s", j->message);
    return VT_OK;
}

/* ---- the run ------------------------------------------------------------ */

/* The scenario to render: s itself, or a copy with the overrides applied (*owned). */
static vt_status effective_scenario(const vt_scenario *s, const vt_simulate_opts *o,
                                    vt_scenario **owned)
{
    *owned = NULL;
    if (o->frames <= 0 && !o->override_seed)
        return VT_OK;
    vt_status st = vt__scenario_clone(s, owned);
    if (!st && o->override_seed)
        st = vt_scenario_set_seed(*owned, o->seed);
    if (!st && o->frames > 0)
        st = vt_scenario_set_frames(*owned, o->frames);
    if (st) {
        vt_scenario_free(*owned);
        *owned = NULL;
    }
    return st;
}

/* Frame writers for every camera of rig (a copy of the scenario's: they set its paths). */
static vt_status open_writers(const vt_simulate_opts *o, vt_rig *rig, vt_frame_writer **w)
{
    for (int c = 0; c < rig->count; c++) {
        vt_status st =
            vt_frame_writer_open(o->out_dir, &rig->cameras[c], o->format, rig->fps, &w[c]);
        if (st)
            return st;
    }
    return VT_OK;
}

static vt_status close_writers(vt_rig *rig, vt_frame_writer **w, vt_status st)
{
    for (int c = 0; w && c < rig->count; c++) {
        vt_status cs = vt_frame_writer_close(w[c]);
        if (!st)
            st = cs;
    }
    return st;
}

static vt_status copy_rig(const vt_rig *from, vt_rig *to)
{
    vt_rig_init(to);
    to->has_origin = from->has_origin;
    to->lat_deg = from->lat_deg;
    to->lon_deg = from->lon_deg;
    to->height_m = from->height_m;
    to->fps = from->fps;
    for (int c = 0; c < from->count; c++) {
        vt_status st = vt_rig_add(to, &from->cameras[c]);
        if (st)
            return st;
    }
    return VT_OK;
}

/* The per-frame scratch of the truth_pixels.jsonl lines, and the file. */
static vt_status open_pixels(const vt_simulate_opts *o, job *j, char *path)
{
    size_t n = vt_scenario_target_count(j->s), cams = (size_t)vt_scenario_rig(j->s)->count;
    j->snr = calloc((n ? n : 1) * (cams ? cams : 1), sizeof *j->snr);
    j->delivered = calloc(cams ? cams : 1, sizeof *j->delivered);
    j->times = calloc(cams ? cams : 1, sizeof *j->times);
    j->truth = calloc(n ? n : 1, sizeof *j->truth);
    if (!j->snr || !j->delivered || !j->times || !j->truth)
        return vt__error(VT_ENOMEM, "simulate: out of memory");
    j->pixels_path = path;
    return open_out(o->out_dir, "truth_pixels.jsonl", path, &j->pixels);
}

static vt_status close_pixels(job *j, vt_status st)
{
    if (j->pixels) {
        vt_status cs = close_out(j->pixels, j->pixels_path);
        if (!st)
            st = cs;
    }
    j->pixels = NULL;
    free(j->snr);
    free(j->delivered);
    free(j->times);
    free(j->truth);
    return st;
}

/*
 * Frames and truth_pixels.jsonl (written as the frames are drawn, since it
 * holds each target's SNR in each frame), then rig.json: the rig names the
 * files its writers made.
 */
static vt_status write_frames(const vt_scenario *s, const vt_simulate_opts *o, job *j)
{
    vt_rig rig;
    char pixels_path[PATH_LEN];
    vt_status st = copy_rig(vt_scenario_rig(s), &rig);
    if (!st)
        st = open_pixels(o, j, pixels_path);
    vt_frame_writer **w = calloc((size_t)rig.count + 1, sizeof *w);
    vt_render_opts ro = vt_scenario_render_opts(s);
    int threads = o->threads > 0 ? o->threads : omp_get_max_threads();
    ro.threads = rig.count >= threads ? 1 : threads;
    if (!st && !w)
        st = vt__error(VT_ENOMEM, "simulate: out of memory");
    if (!st)
        st = vt_renderer_new(&ro, vt_scenario_rig(s), &j->r);
    if (!st)
        st = open_writers(o, &rig, w);
    j->writers = w;
    if (!st)
        st = render_all(j, threads);
    st = close_writers(&rig, w, st);
    st = close_pixels(j, st);
    vt_renderer_free(j->r);
    j->r = NULL;
    char path[PATH_LEN];
    if (!st)
        st = vt__scenario_rig_poses(s, &rig, o->true_poses);
    if (!st && !(st = join(path, o->out_dir, "rig.json")))
        st = vt_rig_save(&rig, path);
    free(w);
    vt_rig_free(&rig);
    return st;
}

vt_status vt_simulate_run(const vt_scenario *s, const vt_simulate_opts *opts,
                          vt_simulate_stats *stats)
{
    if (!s || !opts || !opts->out_dir || !opts->out_dir[0])
        return vt__error(VT_EINVAL, "simulate: scenario, options and output folder are required");
    double start = vt__now();
    vt_scenario *owned;
    vt_status st = effective_scenario(s, opts, &owned);
    if (st)
        return st;
    if (owned)
        s = owned;
    job j = {.s = s, .o = opts, .frames = vt_scenario_frames(s)};
    j.total = j.frames * vt_scenario_rig(s)->count;
    if (!(st = ensure_dir(opts->out_dir)) && !(st = write_frames(s, opts, &j)) &&
        !(st = write_truth(s, j.frames, opts->out_dir)) && !(st = write_config(s, opts->out_dir)))
        st = vt_scenario_write_platform_logs(s, opts->out_dir);
    if (stats) {
        memset(stats, 0, sizeof *stats);
        stats->frames = j.frames;
        stats->cameras = vt_scenario_rig(s)->count;
        stats->images = j.done - j.dropped;
        stats->dropped = j.dropped;
        stats->bytes_written = output_size(s, opts->out_dir);
        stats->seconds = vt__now() - start;
    }
    vt_scenario_free(owned);
    return st;
}
