/*
 * apps/voxtrack/cmd_demo.c - `voxtrack demo`: a built-in scene (the
 * `default` preset: 20 cameras, 200 drones, 20 birds) rendered in memory and
 * tracked end to end, then scored against its ground truth.
 *
 * Every camera is a simulator source (vt_source_open_sim: each frame at the
 * camera's own capture time, with the scene's clock offsets and jitter, and
 * its dropped frames never delivered), and the frame sets come from the sync
 * over them, as `voxtrack run` gets them from real cameras: the demo
 * exercises the sync with the scene's timing faults and prints its
 * statistics. The producer thread renders each frame set (the sync reads
 * the cameras in parallel) while the pipeline processes the previous one;
 * nothing touches the disk unless --out asks for the tracks and the truth.
 * The accuracy is scored against the truth at each set's nominal time,
 * frame / fps. Each sim source also tells the demo every target's
 * matched-filter SNR in each frame it draws (on the sync's reading threads,
 * into a ring of recent frames per camera): the evaluator takes each
 * drone's SNRs in the cameras of its frame set for the detectability
 * ceiling, and --out writes them to truth_pixels.jsonl.
 */
#include "cli.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

static const char *const CMD = "demo";

static void usage(FILE *f)
{
    fputs("Usage: voxtrack demo [options]\n"
          "\n"
          "Renders a built-in scene in memory (default: 10 mono/thermal camera pairs\n"
          "around a 2 km x 2 km area, 200 drones and 20 birds, 30 fps, 10 s), tracks it\n"
          "end to end and prints the tracks' accuracy against the ground truth.\n"
          "\n"
          "Options:\n"
          "  --preset NAME       default, small, 8k, moving or glint (default: default)\n"
          "  --frames N          frame sets to run (default: the preset's)\n"
          "  --seed S            the scene's random seed (default: the preset's)\n"
          "  --tracker gnn|mht   the association (default gnn)\n"
          "  --no-fusion         no thermal confirmation between detection and tracking\n"
          "                      (docs/FUSION.md)\n"
          "  --bird-ratio R      with fusion: a track whose thermal/mono SNR ratio stays\n"
          "                      below R is a bird (default 0: not used)\n"
          "  --psf-sigma S       the cameras' matched filter, pixels (0: none; default:\n"
          "                      the pipeline's, background.*.psf_sigma in docs/RUN.md)\n"
          "  --k-sigma K         the cameras' threshold in noise sigmas (default 4)\n"
          "  --bird-flicker F    a track whose brightness flicker exceeds F is a bird\n"
          "                      (0: never; default: the pipeline's, bird_flicker in\n"
          "                      docs/RUN.md)\n"
          "  --threads N         worker threads, and cameras rendered at once (default: all\n"
          "                      cores)\n"
          "  --no-overlap        run the camera stages and voting one after the other\n"
          "                      (default: the next set's camera stages run while this\n"
          "                      one votes; the tracks are the same)\n"
          "  --out DIR           also write DIR/tracks.jsonl, DIR/detections.jsonl (with\n"
          "                      fusion's record of each, dropped ones too), DIR/truth.jsonl\n"
          "                      and DIR/truth_pixels.jsonl (each target's SNR per camera frame)\n",
          f);
    fputs(CLI_DEVICE_HELP, f);
    fputs(CLI_OUTPUT_OPTIONS_HELP, f);
    fputs("  --quiet             no progress line, no alert lines\n"
          "  --json              print the summary as one JSON object\n"
          "  -h, --help          this text\n"
          "\n"
          "Exit status: 0 success, 1 failure, 2 bad command line.\n",
          f);
}

/*
 * Each camera's SNRs of its last SNR_RING frames drawn: the sync reads a few
 * frames ahead of the frame set being scored, never this many.
 */
enum { SNR_RING = 32 };

typedef struct snr_ring {
    pthread_mutex_t lock;
    int ncams;
    size_t n;       /* targets */
    int64_t *frame; /* ncams x SNR_RING: the frame a slot holds, -1: none */
    double *t;      /* ... its capture time */
    float *snr;     /* ncams x SNR_RING x n */
} snr_ring;

/* The scene and what the producer thread keeps. */
typedef struct scene {
    vt_scenario *sc;
    vt_sync *sync; /* over one sim source per camera */
    const vt_rig *rig;
    int64_t frames;
    size_t ntargets;
    vt_target_truth *truth; /* ntargets, for the consumer */
    vt_eval_truth *eval_truth;
    vt_eval_track *eval_tracks;
    size_t eval_tracks_cap;
    vt_eval *eval;
    FILE *truth_file;
    FILE *pixels_file;
    cli_track_job *job;
    snr_ring ring;
    float *cam_snr;  /* ncams x ntargets: this set's SNRs, camera by camera */
    bool *cam_has;   /* ncams: the camera's SNRs of this set are there */
    float *snr_list; /* ntargets x ncams: per target, its SNRs in the set's cameras */
} scene;

static void on_snr(void *user, int camera, int64_t frame, double t, const float *snr, size_t n)
{
    snr_ring *r = user;
    size_t slot = (size_t)camera * SNR_RING + (size_t)(frame % SNR_RING);
    pthread_mutex_lock(&r->lock);
    r->frame[slot] = frame;
    r->t[slot] = t;
    memcpy(r->snr + slot * r->n, snr, (n < r->n ? n : r->n) * sizeof *snr);
    pthread_mutex_unlock(&r->lock);
}

static bool ring_init(snr_ring *r, int ncams, size_t n)
{
    size_t slots = (size_t)ncams * SNR_RING;
    r->ncams = ncams;
    r->n = n;
    r->frame = malloc(slots * sizeof *r->frame);
    r->t = malloc(slots * sizeof *r->t);
    r->snr = calloc(slots * (n ? n : 1), sizeof *r->snr);
    if (!r->frame || !r->t || !r->snr)
        return false;
    for (size_t i = 0; i < slots; i++)
        r->frame[i] = -1;
    return pthread_mutex_init(&r->lock, NULL) == 0;
}

static void ring_free(snr_ring *r)
{
    if (r->frame)
        pthread_mutex_destroy(&r->lock);
    free(r->frame);
    free(r->t);
    free(r->snr);
}

/*
 * The SNRs of the set's cameras for frame `frame` into s->cam_snr (and the
 * truth_pixels.jsonl lines with --out). false when a ring slot was already
 * overwritten by a later frame (it cannot be, with the sync's lookahead).
 */
static bool take_snr(scene *s, const vt_pipeline_result *res)
{
    snr_ring *r = &s->ring;
    bool ok = true;
    pthread_mutex_lock(&r->lock);
    for (int c = 0; c < r->ncams; c++) {
        size_t slot = (size_t)c * SNR_RING + (size_t)(res->frame % SNR_RING);
        s->cam_has[c] = res->cameras[c].present && r->frame[slot] == res->frame;
        ok = ok && r->frame[slot] <= res->frame;
        if (s->cam_has[c]) {
            memcpy(s->cam_snr + (size_t)c * r->n, r->snr + slot * r->n, r->n * sizeof *r->snr);
            if (s->pixels_file)
                ok = ok && vt_simulate_pixels_line(s->sc, c, res->frame, r->t[slot],
                                                   s->cam_snr + (size_t)c * r->n,
                                                   s->pixels_file) == VT_OK;
        }
    }
    pthread_mutex_unlock(&r->lock);
    return ok;
}

static vt_status produce(void *user, vt_frame_slot *slot, bool *end)
{
    scene *s = user;
    return vt_sync_next(s->sync, slot->images, slot->present, slot->times, &slot->frame, &slot->t,
                        end);
}

/* One sim source per camera, synced at the scene's frame rate. */
static vt_status open_sync(scene *s, int threads)
{
    int n = s->rig->count;
    vt_source **src = calloc((size_t)n, sizeof *src);
    if (!src)
        return VT_ENOMEM;
    vt_status st = VT_OK;
    for (int c = 0; c < n && !st; c++)
        st = vt_source_open_sim_snr(s->sc, c, on_snr, &s->ring, &src[c]);
    if (st) {
        for (int c = 0; c < n; c++)
            vt_source_free(src[c]);
        free(src);
        return st;
    }
    vt_sync_opts so = vt_sync_opts_default();
    so.read_threads = threads; /* 0: the cameras capped at the cores */
    st = vt_sync_new(&so, src, n, vt_scenario_fps(s->sc), &s->sync);
    free(src);
    return st;
}

static const char *kind_name(vt_target_kind k)
{
    return k == VT_TARGET_DRONE ? "drone" : k == VT_TARGET_BIRD ? "bird" : "glint";
}

static vt_status consume(void *user, const vt_pipeline_result *res)
{
    scene *s = user;
    vt_status st = cli_track_job_consume(s->job, res);
    if (st)
        return st;
    if (!take_snr(s, res)) {
        cli_error(CMD, "frame %lld: the SNRs of a camera were lost (overwritten, or not written)",
                  (long long)res->frame);
        return VT_EIO;
    }
    double t = (double)res->frame / vt_scenario_fps(s->sc); /* the set's nominal time */
    vt_scenario_targets(s->sc, t, NULL, s->truth);
    int ncams = s->rig->count;
    for (size_t i = 0; i < s->ntargets; i++) {
        const vt_target_truth *g = &s->truth[i];
        float *list = s->snr_list + i * (size_t)ncams;
        int nsnr = 0;
        for (int c = 0; c < ncams; c++)
            if (s->cam_has[c])
                list[nsnr++] = s->cam_snr[(size_t)c * s->ntargets + i];
        s->eval_truth[i] = (vt_eval_truth){.id = g->id,
                                           .kind = g->kind == VT_TARGET_DRONE  ? VT_EVAL_DRONE
                                                   : g->kind == VT_TARGET_BIRD ? VT_EVAL_BIRD
                                                                               : VT_EVAL_GLINT,
                                           .pos = g->pos,
                                           .size = g->size,
                                           .snr = list,
                                           .nsnr = nsnr};
        if (s->truth_file)
            fprintf(s->truth_file,
                    "{\"t\": %.6f, \"frame\": %lld, \"id\": %d, \"kind\": \"%s\", "
                    "\"pos\": [%.4f, %.4f, %.4f], \"vel\": [%.4f, %.4f, %.4f], \"size\": %.3f}\n",
                    t, (long long)res->frame, g->id, kind_name(g->kind), g->pos.x, g->pos.y,
                    g->pos.z, g->vel.x, g->vel.y, g->vel.z, g->size);
    }
    if (res->ntracks > s->eval_tracks_cap) {
        size_t cap = res->ntracks * 2;
        vt_eval_track *k = realloc(s->eval_tracks, cap * sizeof *k);
        if (!k)
            return VT_ENOMEM;
        s->eval_tracks = k;
        s->eval_tracks_cap = cap;
    }
    for (size_t i = 0; i < res->ntracks; i++)
        s->eval_tracks[i] = (vt_eval_track){
            .id = res->tracks[i].id,
            .status = (int)res->tracks[i].status,
            .cls = res->classes[i] == VT_CLASS_BIRD ? VT_EVAL_CLASS_BIRD : VT_EVAL_CLASS_DRONE,
            .pos = res->tracks[i].pos};
    return vt_eval_frame(s->eval, res->frame, s->eval_truth, s->ntargets, s->eval_tracks,
                         res->ntracks);
}

/* The pipeline's options for a scene: its volume, and its cameras' pixel angle. */
static vt_pipeline_opts scene_opts(const vt_scenario *sc)
{
    vt_pipeline_opts o = vt_pipeline_opts_default();
    vt_scenario_volume(sc, &o.volume_min, &o.volume_max);
    return o;
}

static FILE *open_in(const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (!cli_check_output_path(CMD, "output", path))
        return NULL;
    FILE *f = fopen(path, "w");
    if (!f)
        cli_error(CMD, "cannot write '%s'", path);
    return f;
}

int cmd_demo(int argc, char **argv)
{
    const char *preset = "default", *tracker = NULL, *out = NULL, *device = NULL;
    int frames = 0, threads = 0;
    double psf_sigma = -1.0, k_sigma = -1.0, bird_flicker = -1.0;
    uint64_t seed = 0;
    bool quiet = false, json = false, have_seed = false, no_overlap = false, no_fusion = false;
    double bird_ratio = 0.0;
    cli_list streams = {0};
    cli_monitor_opts mon = {0};
    const cli_option opts[] = {
        {"--preset", CLI_STRING, &preset},
        {"--frames", CLI_INT, &frames},
        {"--seed", CLI_U64, &seed},
        {"--tracker", CLI_STRING, &tracker},
        {"--threads", CLI_INT, &threads},
        {"--out", CLI_STRING, &out},
        {"--quiet", CLI_BOOL, &quiet},
        {"--json", CLI_BOOL, &json},
        {"--device", CLI_STRING, &device},
        {"--no-overlap", CLI_BOOL, &no_overlap},
        {"--no-fusion", CLI_BOOL, &no_fusion},
        {"--bird-ratio", CLI_DOUBLE, &bird_ratio},
        {"--psf-sigma", CLI_DOUBLE, &psf_sigma},
        {"--k-sigma", CLI_DOUBLE, &k_sigma},
        {"--bird-flicker", CLI_DOUBLE, &bird_flicker},
        CLI_OUTPUT_OPTIONS(streams, mon),
    };
    cli_args args;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--seed") == 0 || strncmp(argv[i], "--seed=", 7) == 0)
            have_seed = true;
    int rc = cli_parse_args(CMD, argc, argv, opts, sizeof opts / sizeof opts[0], 0, &args);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (args.help) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    if (frames < 0 || threads < 0) {
        cli_usage_error(CMD, "--frames and --threads must be >= 0");
        return CLI_EXIT_USAGE;
    }
    if ((psf_sigma != -1.0 && !(psf_sigma >= 0.0 && psf_sigma <= 10.0)) ||
        (k_sigma != -1.0 && !(k_sigma >= 0.1 && k_sigma <= 100.0))) {
        cli_usage_error(CMD, "--psf-sigma must lie in [0, 10] and --k-sigma in [0.1, 100]");
        return CLI_EXIT_USAGE;
    }
    if (bird_flicker != -1.0 && !(bird_flicker >= 0.0 && bird_flicker <= 1e3)) {
        cli_usage_error(CMD, "--bird-flicker must lie in [0, 1000], not %g", bird_flicker);
        return CLI_EXIT_USAGE;
    }
    vt_tracker_kind kind = VT_TRACKER_GNN;
    if (tracker && vt_tracker_kind_parse(tracker, &kind) != VT_OK) {
        cli_usage_error(CMD, "--tracker must be gnn or mht, not '%s'", tracker);
        return CLI_EXIT_USAGE;
    }
    vt_device_kind dev;
    if ((rc = cli_open_device(CMD, device, quiet, &dev)) != CLI_EXIT_OK)
        return rc;

    scene s = {0};
    vt_pipeline *pipe = NULL;
    cli_track_job job;
    bool job_ok = false;
    FILE *tracks_file = NULL, *detections_file = NULL;
    rc = CLI_EXIT_FAIL;
    vt_status st = vt_scenario_preset(preset, &s.sc);
    if (st == VT_ENOENT) {
        cli_usage_error(CMD, "--preset: no preset '%s' (default, small, 8k, moving or glint)",
                        preset);
        return CLI_EXIT_USAGE;
    }
    if (!st && frames)
        st = vt_scenario_set_frames(s.sc, frames);
    if (!st && have_seed)
        st = vt_scenario_set_seed(s.sc, seed);
    if (st) {
        cli_lib_error(CMD, st);
        goto done;
    }
    s.rig = vt_scenario_rig(s.sc);
    s.frames = vt_scenario_frames(s.sc);
    s.ntargets = vt_scenario_target_count(s.sc);
    size_t nt1 = s.ntargets ? s.ntargets : 1, nc = (size_t)s.rig->count;
    s.cam_snr = malloc(nc * nt1 * sizeof *s.cam_snr);
    s.cam_has = calloc(nc ? nc : 1, sizeof *s.cam_has);
    s.snr_list = malloc(nc * nt1 * sizeof *s.snr_list);
    if (!s.cam_snr || !s.cam_has || !s.snr_list || !ring_init(&s.ring, s.rig->count, s.ntargets)) {
        cli_error(CMD, "out of memory");
        goto done;
    }
    st = open_sync(&s, threads);
    vt_pipeline_opts po = scene_opts(s.sc);
    if (psf_sigma >= 0.0)
        po.mono.psf_sigma = po.thermal.psf_sigma = (float)psf_sigma;
    if (k_sigma > 0.0)
        po.mono.k_sigma = po.thermal.k_sigma = (float)k_sigma;
    if (bird_flicker >= 0.0)
        po.bird_flicker = bird_flicker;
    if (tracker)
        po.tracker.kind = kind;
    po.threads = threads;
    po.device = dev;
    po.overlap = !no_overlap;
    po.fuse = !no_fusion;
    po.fusion.bird_ratio = bird_ratio;
    if (threads)
        omp_set_num_threads(threads);
    if (!st)
        st = vt_pipeline_new(&po, s.rig, &pipe);
    vt_eval_opts eo = vt_eval_opts_default();
    if (!st)
        st = vt_eval_new(&eo, &s.eval);
    if (st) {
        cli_lib_error(CMD, st);
        goto done;
    }
    s.truth = malloc((s.ntargets ? s.ntargets : 1) * sizeof *s.truth);
    s.eval_truth = malloc((s.ntargets ? s.ntargets : 1) * sizeof *s.eval_truth);
    if (!s.truth || !s.eval_truth) {
        cli_error(CMD, "out of memory");
        goto done;
    }
    job_ok = cli_track_job_init(&job, CMD, quiet);
    if (!job_ok)
        goto done;
    job.total_sets = s.frames;
    s.job = &job;
    mon.quiet = quiet;
    if (!cli_streams_open(CMD, s.rig, &streams, &job, &mon.streamer) ||
        !cli_monitor_open(CMD, s.rig, &mon, &job))
        goto done;
    if (out) {
        if (!cli_ensure_dir(CMD, out) || !(tracks_file = open_in(out, "tracks.jsonl")) ||
            !(detections_file = open_in(out, "detections.jsonl")) ||
            !(s.truth_file = open_in(out, "truth.jsonl")) ||
            !(s.pixels_file = open_in(out, "truth_pixels.jsonl")))
            goto done;
        job.tracks_file = tracks_file;
        job.detections_file = detections_file;
    }
    if (!quiet && !json)
        fprintf(stderr, "voxtrack demo: preset '%s': %d cameras, %zu targets, %lld frame sets\n",
                preset, s.rig->count, s.ntargets, (long long)s.frames);

    st = vt_pipeline_run(pipe, 2, produce, &s, consume, &s);
    cli_track_summary sum = cli_track_job_summary(&job, vt_pipeline_grid_peak_bytes(pipe));
    if (st) {
        cli_lib_error(CMD, st);
        goto done;
    }
    vt_eval_result ev;
    st = vt_eval_result_get(s.eval, &ev);
    if (st) {
        cli_lib_error(CMD, st);
        goto done;
    }
    if (json) {
        printf("{\"preset\": ");
        cli_json_string(stdout, preset);
        printf(", \"cameras\": %d, \"targets\": %zu, ", s.rig->count, s.ntargets);
        cli_track_summary_json_members(&sum, stdout);
        /* "cameras" is the count here: the sync's per-camera list goes under "sync". */
        printf(", \"sync\": {\"tolerance_ms\": %.4f, \"read_threads\": %d",
               1e3 * vt_sync_tolerance(s.sync), vt_sync_read_threads(s.sync));
        cli_sync_print_json(s.rig, s.sync);
        printf("}");
        printf(", \"accuracy\": ");
        cli_eval_print_json(&ev, stdout);
        printf("}\n");
    } else {
        cli_track_summary_print(&sum, stdout);
        cli_sync_print_text(s.rig, s.sync);
        cli_eval_print_text(&ev, stdout);
    }
    rc = CLI_EXIT_OK;
done:
    if (tracks_file && fclose(tracks_file) != 0 && rc == CLI_EXIT_OK)
        rc = CLI_EXIT_FAIL;
    if (detections_file && fclose(detections_file) != 0 && rc == CLI_EXIT_OK)
        rc = CLI_EXIT_FAIL;
    if (s.truth_file && fclose(s.truth_file) != 0 && rc == CLI_EXIT_OK)
        rc = CLI_EXIT_FAIL;
    if (s.pixels_file && fclose(s.pixels_file) != 0 && rc == CLI_EXIT_OK)
        rc = CLI_EXIT_FAIL;
    if (job_ok)
        cli_track_job_free(&job);
    vt_eval_free(s.eval);
    vt_pipeline_free(pipe);
    vt_sync_free(s.sync);
    ring_free(&s.ring);
    free(s.cam_snr);
    free(s.cam_has);
    free(s.snr_list);
    vt_scenario_free(s.sc);
    free(s.truth);
    free(s.eval_truth);
    free(s.eval_tracks);
    return rc;
}
