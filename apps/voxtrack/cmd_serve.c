/*
 * apps/voxtrack/cmd_serve.c - `voxtrack serve --from URL`: the dashboard,
 * /metrics and alerts for a tracker that runs elsewhere and streams its
 * results (udp://, tcp://, shm://, file://: what `--stream` writes).
 *
 * Each TrackBatch becomes the tracks of a vt_pipeline_result; the
 * FrameSetStats of the same frame set (which the streamer sends right after
 * it) adds the per-camera figures and stage latencies before the result is
 * published to the monitor. A batch whose stats do not come is published
 * without them. With --rig the dashboard also shows the cameras' positions
 * and fields of view and the alert rules can name cameras.
 *
 * A live stream (udp://, tcp://, shm://) that goes quiet is a stall: the
 * alerts' watchdog raises camera_offline and fps on the wall clock
 * (docs/ALERTS.md). A file is replayed as fast as it reads and ends on
 * purpose, so it has no watchdog.
 */
#include "cli.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const CMD = "serve";

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: voxtrack serve --from URL [options]\n"
            "\n"
            "Serves the dashboard, /metrics and the JSON API (docs/MONITOR.md) for a stream\n"
            "of tracks that `voxtrack run/demo --stream URL` publishes.\n"
            "\n"
            "Options:\n"
            "  --from URL          the stream: udp://ADDR:PORT, tcp://HOST:PORT, shm://NAME,\n"
            "                      file://PATH (a binary log; replayed as fast as it reads)\n"
            "  --rig FILE          the rig (rig.json): camera positions and ids for the\n"
            "                      dashboard and for alert rules\n"
            "  --serve ADDR:PORT   where to listen (default 127.0.0.1:8080; port 0: any)\n"
            "  --token TOKEN       require 'Authorization: Bearer TOKEN' on every route\n"
            "  --alerts FILE       alert rules (JSON, docs/ALERTS.md); a live stream that\n"
            "                      stops raises their camera_offline and fps alerts\n"
            "  --linger S          after a file's end, keep serving S seconds (default: until\n"
            "                      interrupted)\n"
            "  --duration S        stop after S seconds (default: until interrupted)\n"
            "  --quiet             no progress line, no line per alert (failed alert\n"
            "                      deliveries are summed up at the end)\n"
            "  -h, --help          this text\n"
            "\n"
            "Stops on SIGINT or SIGTERM. Exit status: 0 success, 1 failure, 2 bad command line.\n");
}

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* What one frame set needs until it is published. */
typedef struct feed {
    vt_wire_track_batch batch;
    vt_wire_stats stats; /* the last FrameSetStats, decoded */
    bool pending;
    vt_track *tracks;
    vt_target_class *classes;
    float *flicker;
    vt_track_fusion *fusion; /* per track: its running thermal confirmation as sent */
    size_t cap;
    vt_camera_result *cameras;
    int ncameras;
    vt_pipeline_result res;
    bool published; /* a frame set was published; last_t is its time */
    double last_t;
} feed;

static bool feed_grow(feed *f, size_t n)
{
    if (n <= f->cap)
        return true;
    size_t cap = n * 2;
    vt_track *t = realloc(f->tracks, cap * sizeof *t);
    if (t)
        f->tracks = t;
    vt_target_class *c = realloc(f->classes, cap * sizeof *c);
    if (c)
        f->classes = c;
    float *k = realloc(f->flicker, cap * sizeof *k);
    if (k)
        f->flicker = k;
    vt_track_fusion *u = realloc(f->fusion, cap * sizeof *u);
    if (u)
        f->fusion = u;
    if (!t || !c || !k || !u)
        return false;
    f->cap = cap;
    return true;
}

/* The decoded batch as a result without stats. */
static bool feed_batch(feed *f)
{
    if (!feed_grow(f, f->batch.count + 1))
        return false;
    for (size_t i = 0; i < f->batch.count; i++) {
        f->tracks[i] = f->batch.tracks[i].track;
        f->classes[i] =
            f->batch.tracks[i].cls == VT_WIRE_CLASS_BIRD ? VT_CLASS_BIRD : VT_CLASS_DRONE;
        f->flicker[i] = f->batch.tracks[i].flicker;
        f->fusion[i] = f->batch.tracks[i].fusion;
    }
    memset(f->cameras, 0, (size_t)(f->ncameras ? f->ncameras : 1) * sizeof *f->cameras);
    f->res = (vt_pipeline_result){.frame = f->batch.frame,
                                  .t = f->batch.t,
                                  .tracks = f->tracks,
                                  .classes = f->classes,
                                  .flicker = f->flicker,
                                  .track_fusion = f->fusion,
                                  .ntracks = f->batch.count,
                                  .cameras = f->cameras,
                                  .ncameras = 0};
    f->pending = true;
    return true;
}

/* The decoded FrameSetStats of the pending frame set: cameras and latencies. */
static void feed_stats(feed *f)
{
    const vt_wire_stats *st = &f->stats;
    if (st->frame != f->res.frame)
        return;
    f->res.seconds = st->processing_s;
    f->res.latency = f->res.seconds; /* the stream carries the processing time only */
    f->res.stage_seconds[0] = st->motion_s;
    f->res.stage_seconds[1] = st->voting_s;
    f->res.stage_seconds[2] = st->detect_s;
    f->res.stage_seconds[3] = st->tracking_s;
    f->res.ndetections = st->detections;
    f->res.cameras_live = (int)st->cameras_live;
    f->res.changes = (size_t)st->changes;
    f->res.rays = (size_t)st->rays;
    int n = 0;
    for (size_t i = 0; i < st->count; i++) {
        const vt_wire_camera_stats *c = &st->cameras[i];
        if (c->index >= (uint32_t)f->ncameras)
            continue;
        int k = (int)c->index;
        f->cameras[k] = (vt_camera_result){
            .present = c->present,
            .sync_error = c->sync_error_s,
            .changes = (size_t)c->changes,
            .blobs = c->blobs,
            .rays = c->rays,
        };
        n = k + 1 > n ? k + 1 : n;
    }
    f->res.ncameras = n;
}

/*
 * Publishes the pending frame set. A frame set older than the last one means
 * that the stream's producer started again (a new run: time and track ids
 * begin anew): the outputs are told, and serving goes on.
 */
static vt_status feed_publish(feed *f, cli_track_job *job)
{
    if (!f->pending)
        return VT_OK;
    f->pending = false;
    if (f->published && f->res.t < f->last_t) {
        fprintf(stderr,
                "voxtrack serve: the stream started again (frame set %lld at %.3f s after "
                "%.3f s); alert timers follow the new clock\n",
                (long long)f->res.frame, f->res.t, f->last_t);
        cli_track_job_restart(job, f->res.t);
    }
    f->published = true;
    f->last_t = f->res.t;
    return cli_track_job_consume(job, &f->res);
}

/* Reads the stream until it ends, time is up or a signal comes. */
static int serve_loop(vt_receiver *rx, feed *f, cli_track_job *job, double linger, double duration)
{
    double start = cli_now(), ended = -1;
    while (!stop_requested) {
        double now = cli_now();
        if (duration > 0 && now - start >= duration)
            break;
        if (ended >= 0) {
            if (linger > 0 && now - ended >= linger)
                break;
            struct timespec ts = {0, 100 * 1000 * 1000};
            nanosleep(&ts, NULL);
            continue;
        }
        vt_msg_type type = 0;
        const uint8_t *msg = NULL;
        size_t len = 0;
        bool end = false;
        vt_status st = vt_receiver_next(rx, 200, &type, &msg, &len, &end);
        if (st) {
            cli_lib_error(CMD, st);
            return CLI_EXIT_FAIL;
        }
        if (type == VT_MSG_TRACK_BATCH || end || len == 0) {
            st = feed_publish(f, job);
            if (st) {
                cli_lib_error(CMD, st);
                return CLI_EXIT_FAIL;
            }
        }
        if (end) {
            ended = cli_now();
            fprintf(stderr, "voxtrack serve: the stream ended after %lld frame sets%s\n",
                    (long long)job->sets, linger > 0 ? "" : "; serving until interrupted");
            continue;
        }
        if (type == VT_MSG_TRACK_BATCH) {
            if (vt_wire_decode_tracks(msg, len, &f->batch) != VT_OK)
                continue; /* counted by the decoder's message; the stream goes on */
            if (!feed_batch(f)) {
                cli_error(CMD, "out of memory");
                return CLI_EXIT_FAIL;
            }
        } else if (type == VT_MSG_FRAME_SET_STATS && f->pending) {
            if (vt_wire_decode_stats(msg, len, &f->stats) == VT_OK)
                feed_stats(f);
        }
    }
    return CLI_EXIT_OK;
}

int cmd_serve(int argc, char **argv)
{
    const char *from = NULL, *rig_path = NULL;
    double linger = 0, duration = 0;
    bool quiet = false;
    cli_monitor_opts mon = {.serve = "127.0.0.1:8080"};
    const cli_option opts[] = {
        {"--from", CLI_STRING, &from},
        {"--rig", CLI_STRING, &rig_path},
        {"--serve", CLI_STRING, &mon.serve},
        {"--token", CLI_STRING, &mon.token},
        {"--alerts", CLI_STRING, &mon.alerts_file},
        {"--linger", CLI_DOUBLE, &linger},
        {"--duration", CLI_DOUBLE, &duration},
        {"--quiet", CLI_BOOL, &quiet},
    };
    cli_args args;
    int rc = cli_parse_args(CMD, argc, argv, opts, sizeof opts / sizeof opts[0], 0, &args);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (args.help) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    if (!from) {
        cli_usage_error(CMD, "--from URL is required");
        return CLI_EXIT_USAGE;
    }
    mon.quiet = quiet;
    mon.no_watchdog = strncmp(from, "file://", 7) == 0;
    if (linger < 0 || duration < 0) {
        cli_usage_error(CMD, "--linger and --duration must be >= 0");
        return CLI_EXIT_USAGE;
    }

    vt_rig rig;
    vt_rig_init(&rig);
    vt_receiver *rx = NULL;
    feed f = {0};
    cli_track_job job;
    bool job_ok = false;
    rc = CLI_EXIT_FAIL;
    vt_status st = VT_OK;
    if (rig_path) { /* vt_rig_load starts from nothing: what vt_rig_init holds would leak */
        vt_rig_free(&rig);
        st = vt_rig_load(rig_path, &rig);
    }
    if (!st)
        st = vt_receiver_open(from, &rx);
    if (st) {
        cli_lib_error(CMD, st);
        goto done;
    }
    f.ncameras = rig.count;
    f.cameras = calloc((size_t)(rig.count ? rig.count : 1), sizeof *f.cameras);
    job_ok = f.cameras && cli_track_job_init(&job, CMD, quiet);
    if (!job_ok || !cli_monitor_open(CMD, &rig, &mon, &job))
        goto done;
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    rc = serve_loop(rx, &f, &job, linger, duration);
    cli_track_job_summary(&job, 0);
    if (!quiet)
        fprintf(stderr, "voxtrack serve: %lld frame sets served\n", (long long)job.sets);
done:
    if (job_ok)
        cli_track_job_free(&job);
    vt_receiver_free(rx);
    vt_wire_track_batch_free(&f.batch);
    vt_wire_stats_free(&f.stats);
    free(f.tracks);
    free(f.classes);
    free(f.flicker);
    free(f.fusion);
    free(f.cameras);
    vt_rig_free(&rig);
    return rc;
}
