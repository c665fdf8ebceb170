/*
 * apps/voxtrack/cmd_run.c - `voxtrack run CONFIG`: the tracker over the
 * frames of a rig, as `voxtrack simulate` writes them (or real cameras'
 * recordings in the same layout), to tracks.jsonl.
 *
 * Frames are read and decoded on a thread of their own while the pipeline
 * processes the previous frame set. When the configuration names a ground
 * truth file, the tracks are scored against it at the end (as `voxtrack
 * eval` would).
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static const char *const CMD = "run";

static void usage(FILE *f)
{
    fputs("Usage: voxtrack run CONFIG [options]\n"
          "\n"
          "Tracks the moving objects that the cameras of a rig see: motion, blobs, rays,\n"
          "sparse coarse-to-fine voting, 3D detections, multi-target tracking.\n"
          "CONFIG is a JSON run configuration (docs/RUN.md); `voxtrack simulate` writes one\n"
          "as OUT/config.json.\n"
          "\n"
          "Options:\n"
          "  --tracks FILE       write the tracks here (default: the configuration's, or\n"
          "                      tracks.jsonl next to it)\n"
          "  --detections FILE   also write every 3D detection\n"
          "  --frames N          stop after N frame sets\n"
          "  --poses DIR         write the pose of each moving camera at its frames as\n"
          "                      DIR/ID.csv pose logs (docs/POSE.md)\n"
          "  --tracker gnn|mht   the association (default: the configuration's, gnn)\n"
          "  --threads N         worker threads (default: all cores)\n"
          "  --no-overlap        run the camera stages and voting one after the other\n"
          "                      (default: overlapped; the tracks are the same)\n"
          "  --hwaccel MODE      video decoding: auto (CUDA when a GPU opens, else\n"
          "                      software, said once), none, cuda (docs/SOURCES.md)\n"
          "  --decode-threads N  software video decoding threads per camera (default 0:\n"
          "                      FFmpeg's choice)\n",
          f);
    fputs(CLI_DEVICE_HELP, f);
    fputs(CLI_OUTPUT_OPTIONS_HELP, f);
    fputs("  --no-eval           do not score against the configuration's truth\n"
          "  --quiet             no progress line, no alert lines\n"
          "  --json              print the summary as one JSON object\n"
          "  -h, --help          this text\n"
          "\n"
          "Exit status: 0 success, 1 failure, 2 bad command line.\n",
          f);
}

static vt_status consume(void *user, const vt_pipeline_result *res)
{
    return cli_track_job_consume(user, res);
}

static FILE *open_output(const char *path)
{
    if (!cli_check_output_path(CMD, "output", path))
        return NULL;
    FILE *f = fopen(path, "w");
    if (!f)
        cli_error(CMD, "cannot write '%s'", path);
    return f;
}

/* Prints what each camera delivered when some camera fell short. */
static void report_cameras(const vt_rig *rig, const vt_sync *sync, int64_t sets, bool json)
{
    bool short_ = false;
    for (int i = 0; i < rig->count; i++) {
        vt_sync_camera_stats st = vt_sync_camera_stats_get(sync, i);
        if (st.failed || st.frames < sets)
            short_ = true;
    }
    if (!short_ || json)
        return;
    fprintf(stderr, "cameras that did not deliver every frame set:\n");
    for (int i = 0; i < rig->count; i++) {
        vt_sync_camera_stats st = vt_sync_camera_stats_get(sync, i);
        if (!st.failed && st.frames >= sets)
            continue;
        fprintf(stderr, "  %-8s %lld of %lld frame sets (frames %lld..%lld)%s%s\n",
                rig->cameras[i].id, (long long)st.frames, (long long)sets, (long long)st.first,
                (long long)st.last, st.failed ? ": " : "", st.failed ? st.error : "");
    }
}

/* The cameras that fell short, as a JSON member ("cameras_short": [...]). */
static void print_cameras_json(const vt_rig *rig, const vt_sync *sync, int64_t sets)
{
    printf(", \"cameras_short\": [");
    bool first = true;
    for (int i = 0; i < rig->count; i++) {
        vt_sync_camera_stats st = vt_sync_camera_stats_get(sync, i);
        if (!st.failed && st.frames >= sets)
            continue;
        printf("%s{\"id\": ", first ? "" : ", ");
        cli_json_string(stdout, rig->cameras[i].id);
        printf(", \"frame_sets\": %lld, \"first\": %lld, \"last\": %lld, \"error\": ",
               (long long)st.frames, (long long)st.first, (long long)st.last);
        if (st.failed)
            cli_json_string(stdout, st.error);
        else
            printf("null");
        printf("}");
        first = false;
    }
    printf("]");
}

int cmd_run(int argc, char **argv)
{
    const char *tracks = NULL, *detections = NULL, *tracker = NULL, *hwaccel = NULL;
    const char *poses = NULL, *device = NULL;
    int frames = 0, threads = 0, decode_threads = 0;
    bool quiet = false, json = false, no_eval = false, no_overlap = false;
    cli_list streams = {0};
    cli_monitor_opts mon = {0};
    const cli_option opts[] = {
        {"--tracks", CLI_STRING, &tracks},   {"--detections", CLI_STRING, &detections},
        {"--frames", CLI_INT, &frames},      {"--poses", CLI_STRING, &poses},
        {"--tracker", CLI_STRING, &tracker}, {"--threads", CLI_INT, &threads},
        {"--no-eval", CLI_BOOL, &no_eval},   {"--quiet", CLI_BOOL, &quiet},
        {"--json", CLI_BOOL, &json},         CLI_OUTPUT_OPTIONS(streams, mon),
        {"--hwaccel", CLI_STRING, &hwaccel}, {"--decode-threads", CLI_INT, &decode_threads},
        {"--device", CLI_STRING, &device},   {"--no-overlap", CLI_BOOL, &no_overlap},
    };
    cli_args args;
    int rc = cli_parse_args(CMD, argc, argv, opts, sizeof opts / sizeof opts[0], 1, &args);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (args.help) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    if (args.count != 1) {
        cli_usage_error(CMD, "expected one CONFIG file");
        return CLI_EXIT_USAGE;
    }
    if (frames < 0 || threads < 0 || decode_threads < 0) {
        cli_usage_error(CMD, "--frames, --threads and --decode-threads must be >= 0");
        return CLI_EXIT_USAGE;
    }
    vt_source_opts source_opts = vt_source_opts_default();
    source_opts.decode_threads = decode_threads;
    if (hwaccel && vt_hwaccel_parse(hwaccel, &source_opts.hwaccel) != VT_OK) {
        cli_usage_error(CMD, "--hwaccel must be auto, none or cuda, not '%s'", hwaccel);
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

    vt_run_config cfg;
    vt_status s = vt_run_config_load(args.positional[0], &cfg);
    if (s) {
        cli_lib_error(CMD, s);
        return CLI_EXIT_FAIL;
    }
    if (tracker)
        cfg.opts.tracker.kind = kind;
    if (threads)
        cfg.opts.threads = threads;
    if (frames)
        cfg.max_frames = frames;
    if (no_overlap)
        cfg.opts.overlap = false;
    cfg.opts.device = dev;

    vt_rig rig;
    memset(&rig, 0, sizeof rig); /* vt_rig_load fills it whole (vt_rig_init's "." would leak) */
    vt_pipeline *pipe = NULL;
    vt_det2d_list *dets = NULL;
    cli_sync_input in = {.max = cfg.max_frames};
    vt_sync_opts sync_opts = vt_sync_opts_default();
    sync_opts.source = &source_opts;
    cli_track_job job;
    bool job_ok = false;
    rc = CLI_EXIT_FAIL;
    s = vt_rig_load(cfg.rig, &rig);
    if (!s)
        s = vt_pipeline_new(&cfg.opts, &rig, &pipe);
    /* Cameras with 2D detections: their rays come from the detections (docs/DETECTIONS.md). */
    dets = s ? NULL : calloc((size_t)rig.count, sizeof *dets);
    if (!s && !dets)
        s = VT_ENOMEM;
    for (int i = 0; !s && i < rig.count; i++)
        if (rig.cameras[i].media == VT_MEDIA_DETECTIONS &&
            !(s = vt_det2d_load(&rig, i, NULL, &dets[i])))
            s = vt_pipeline_set_detections(pipe, i, &dets[i]);
    if (!s)
        s = vt_sync_open(&rig, &sync_opts, &in.sync);
    if (s) {
        cli_lib_error(CMD, s);
        goto done;
    }
    job_ok = cli_track_job_init(&job, CMD, quiet);
    if (!job_ok)
        goto done;
    job.total_sets = cfg.max_frames;
    mon.alerts_json = cfg.alerts_json;
    mon.quiet = quiet;
    if (!cli_streams_open(CMD, &rig, &streams, &job, &mon.streamer) ||
        !cli_monitor_open(CMD, &rig, &mon, &job) || !cli_poses_open(CMD, &rig, poses, &job))
        goto done;
    job.tracks_file = open_output(tracks ? tracks : cfg.tracks);
    if (!job.tracks_file)
        goto done;
    const char *det_path = detections ? detections : cfg.detections;
    if (det_path && !(job.detections_file = open_output(det_path)))
        goto done;

    s = vt_pipeline_run(pipe, 2, cli_sync_produce, &in, consume, &job);
    cli_track_summary sum = cli_track_job_summary(&job, vt_pipeline_grid_peak_bytes(pipe));
    if (s) {
        cli_lib_error(CMD, s);
        goto done;
    }
    if (fflush(job.tracks_file) != 0 || (job.detections_file && fflush(job.detections_file))) {
        cli_error(CMD, "writing the outputs failed");
        goto done;
    }
    report_cameras(&rig, in.sync, sum.sets, json);
    vt_eval_result ev;
    bool scored = false;
    bool cut_short = cfg.max_frames > 0 && in.produced >= cfg.max_frames;
    if (cfg.truth && !no_eval && cut_short && !quiet)
        fprintf(stderr,
                "voxtrack run: not scored: the run stopped after %lld frame sets and the "
                "truth covers more (score with voxtrack eval)\n",
                (long long)sum.sets);
    if (cfg.truth && !no_eval && !cut_short) {
        fclose(job.tracks_file);
        job.tracks_file = NULL;
        scored = cli_eval_files(CMD, tracks ? tracks : cfg.tracks, cfg.truth, &ev);
        if (!scored)
            goto done;
    }
    if (json) {
        printf("{");
        cli_track_summary_json_members(&sum, stdout);
        print_cameras_json(&rig, in.sync, sum.sets);
        cli_sync_print_json(&rig, in.sync);
        if (scored) {
            printf(", \"accuracy\": ");
            cli_eval_print_json(&ev, stdout);
        }
        printf("}\n");
    } else {
        cli_track_summary_print(&sum, stdout);
        cli_sync_print_text(&rig, in.sync);
        if (scored)
            cli_eval_print_text(&ev, stdout);
    }
    rc = CLI_EXIT_OK;
done:
    if (job_ok) {
        if (job.tracks_file)
            fclose(job.tracks_file);
        if (job.detections_file)
            fclose(job.detections_file);
        cli_track_job_free(&job);
    }
    vt_sync_free(in.sync);
    vt_pipeline_free(pipe);
    for (int i = 0; dets && i < rig.count; i++)
        vt_det2d_list_free(&dets[i]);
    free(dets);
    vt_rig_free(&rig);
    vt_run_config_free(&cfg);
    return rc;
}
