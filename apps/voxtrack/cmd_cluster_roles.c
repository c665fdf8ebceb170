/*
 * apps/voxtrack/cmd_cluster_roles.c - the roles of the distributed mode, one
 * per process (docs/CLUSTER.md): `voxtrack capture`, `voxtrack worker` and
 * `voxtrack coordinator`, each given the run configuration and the NATS
 * server (--nats URL). `voxtrack cluster up` starts them all on one machine.
 *
 * SIGINT and SIGTERM stop a role cleanly (its connection closed, a worker's
 * item left to be delivered again); a worker stopped so exits 0.
 */
#include "cli.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

static volatile int stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

#define ROLE_HELP                                                                                  \
    "  --nats URL          the NATS server with JetStream (default nats://127.0.0.1:4222)\n"       \
    "  --name NAME         this node's name on the server (default: the role)\n"                   \
    "  --timeout S         seconds to wait for the server per request (default 5)\n"               \
    "  --threads N         threads (default: all cores)\n"                                         \
    "  --quiet             no progress line\n"                                                     \
    "  -h, --help          this text\n"                                                            \
    "\n"                                                                                           \
    "Exit status: 0 success, 1 failure, 2 bad command line.\n"

/* What every role takes: the configuration and the server. */
typedef struct role_args {
    const char *nats, *name;
    double timeout;
    int threads;
    bool quiet;
} role_args;

typedef struct role_setup {
    vt_run_config cfg;
    vt_rig rig;
    vt_cluster_opts co;
    bool cfg_ok, rig_ok;
} role_setup;

static void role_free(role_setup *r)
{
    if (r->rig_ok)
        vt_rig_free(&r->rig);
    if (r->cfg_ok)
        vt_run_config_free(&r->cfg);
}

/* Loads the configuration and the rig and fills the cluster options. */
static int role_open(const char *cmd, const char *config, const role_args *a, role_setup *r)
{
    memset(r, 0, sizeof *r);
    if (a->threads < 0 || (a->timeout != 0 && !(a->timeout > 0))) {
        cli_usage_error(cmd, "--threads must be >= 0 and --timeout > 0");
        return CLI_EXIT_USAGE;
    }
    vt_status s = vt_run_config_load(config, &r->cfg);
    if (s) {
        cli_lib_error(cmd, s);
        return CLI_EXIT_FAIL;
    }
    r->cfg_ok = true;
    if (a->threads)
        r->cfg.opts.threads = a->threads;
    r->cfg.opts.device = VT_DEVICE_CPU;
    if ((s = vt_rig_load(r->cfg.rig, &r->rig))) {
        cli_lib_error(cmd, s);
        role_free(r);
        return CLI_EXIT_FAIL;
    }
    r->rig_ok = true;
    r->co = vt_cluster_opts_default();
    if (a->nats)
        r->co.url = a->nats;
    if (a->timeout > 0)
        r->co.timeout = a->timeout;
    r->co.name = a->name;
    r->co.stop = &stop_flag;
    catch_signals();
    return CLI_EXIT_OK;
}

static int parse_role(const char *cmd, int argc, char **argv, cli_option *extra, size_t nextra,
                      role_args *a, cli_args *args, void (*usage)(FILE *))
{
    cli_option opts[24] = {
        {"--nats", CLI_STRING, &a->nats},       {"--name", CLI_STRING, &a->name},
        {"--timeout", CLI_DOUBLE, &a->timeout}, {"--threads", CLI_INT, &a->threads},
        {"--quiet", CLI_BOOL, &a->quiet},
    };
    size_t n = 5;
    for (size_t i = 0; i < nextra && n < sizeof opts / sizeof opts[0]; i++)
        opts[n++] = extra[i];
    int rc = cli_parse_args(cmd, argc, argv, opts, n, 1, args);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (args->help) {
        usage(stdout);
        return -1;
    }
    if (args->count != 1) {
        cli_usage_error(cmd, "expected one CONFIG file");
        return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
}

/* ---- capture ------------------------------------------------------------- */

static void capture_usage(FILE *f)
{
    fputs("Usage: voxtrack capture CONFIG [options]\n"
          "\n"
          "A capture node: reads the rig's cameras as `voxtrack run` does, finds the motion,\n"
          "blobs and rays of each camera and publishes one message per camera per frame set\n"
          "to the NATS server (docs/CLUSTER.md). Frames stay here; rays travel.\n"
          "\n"
          "Options:\n"
          "  --frames N          stop after N frame sets\n"
          "  --cameras LIST      the cameras this node takes at its start: ids or indices,\n"
          "                      comma-separated (default: every camera no other node owns);\n"
          "                      it takes over more when a capture node dies\n",
          f);
    fputs(ROLE_HELP, f);
}

/* The capture node's input: a sync of the rig, which can be opened again from the start. */
typedef struct capture_input {
    cli_sync_input in;
    const vt_rig *rig;
    vt_source_opts so;
    vt_sync_opts sync_opts;
} capture_input;

static vt_status capture_produce(void *user, vt_frame_slot *slot, bool *end)
{
    return cli_sync_produce(&((capture_input *)user)->in, slot, end);
}

static vt_status capture_open(const vt_rig *rig, int64_t max, capture_input *ci)
{
    memset(ci, 0, sizeof *ci);
    ci->rig = rig;
    ci->in.max = max;
    ci->so = vt_source_opts_default();
    ci->sync_opts = vt_sync_opts_default();
    ci->sync_opts.source = &ci->so;
    return vt_sync_open(rig, &ci->sync_opts, &ci->in.sync);
}

static vt_status capture_reopen(void *user, void **again)
{
    const capture_input *ci = user;
    capture_input *a = malloc(sizeof *a);
    if (!a)
        return VT_ENOMEM;
    vt_status s = capture_open(ci->rig, ci->in.max, a);
    if (s) {
        free(a);
        return s;
    }
    *again = a;
    return VT_OK;
}

static void capture_close(void *again)
{
    capture_input *a = again;
    vt_sync_free(a->in.sync);
    free(a);
}

/* --cameras LIST: camera ids or indices, comma-separated, into a mask. */
static bool parse_cameras(const char *cmd, const char *list, const vt_rig *rig, uint64_t *mask)
{
    *mask = 0;
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        int k = -1;
        for (int i = 0; i < rig->count && k < 0; i++)
            if (!strcmp(rig->cameras[i].id, tok))
                k = i;
        char *endp = NULL;
        long v = strtol(tok, &endp, 10);
        if (k < 0 && endp != tok && !*endp && v >= 0 && v < rig->count)
            k = (int)v;
        if (k < 0) {
            cli_usage_error(cmd,
                            "--cameras: '%s' is neither a camera id of the rig nor an index "
                            "from 0 to %d",
                            tok, rig->count - 1);
            return false;
        }
        *mask |= 1ull << k;
    }
    if (!*mask) {
        cli_usage_error(cmd, "--cameras: no camera given");
        return false;
    }
    return true;
}

int cmd_capture(int argc, char **argv)
{
    static const char *const CMD = "capture";
    role_args a = {0};
    int frames = 0;
    const char *cameras = NULL;
    cli_option extra[] = {{"--frames", CLI_INT, &frames}, {"--cameras", CLI_STRING, &cameras}};
    cli_args args;
    int rc = parse_role(CMD, argc, argv, extra, 2, &a, &args, capture_usage);
    if (rc)
        return rc < 0 ? CLI_EXIT_OK : rc;
    if (frames < 0) {
        cli_usage_error(CMD, "--frames must be >= 0");
        return CLI_EXIT_USAGE;
    }
    role_setup r;
    if ((rc = role_open(CMD, args.positional[0], &a, &r)) != CLI_EXIT_OK)
        return rc;
    if (cameras && !parse_cameras(CMD, cameras, &r.rig, &r.co.cameras)) {
        role_free(&r);
        return CLI_EXIT_USAGE;
    }
    capture_input ci;
    vt_cluster_input in = {
        .produce = capture_produce, .user = &ci, .reopen = capture_reopen, .close = capture_close};
    vt_cluster_stats st;
    vt_status s = capture_open(&r.rig, frames ? frames : r.cfg.max_frames, &ci);
    if (!s)
        s = vt_cluster_capture_run(&r.co, &r.cfg.opts, &r.rig, &in, &st);
    rc = CLI_EXIT_OK;
    if (s) {
        cli_lib_error(CMD, s);
        rc = CLI_EXIT_FAIL;
    } else if (!a.quiet) {
        fprintf(stderr,
                "voxtrack capture: %lld frame sets, %lld messages, %.1f KiB mean, %.1f KiB "
                "largest, %lld cameras taken over\n",
                (long long)st.sets, (long long)st.messages,
                st.messages ? st.bytes / 1024.0 / (double)st.messages : 0.0,
                st.max_message / 1024.0, (long long)st.reassigned);
    }
    vt_sync_free(ci.in.sync);
    role_free(&r);
    return rc;
}

/* ---- worker -------------------------------------------------------------- */

static void worker_usage(FILE *f)
{
    fputs("Usage: voxtrack worker CONFIG [options]\n"
          "\n"
          "A voting worker: takes frame sets from the NATS server's work queue, votes and\n"
          "detects, publishes the detections (docs/CLUSTER.md). Runs until stopped\n"
          "(SIGINT, SIGTERM); any number may run at once.\n"
          "\n"
          "Options:\n"
          "  --ack-wait S        a frame set comes back to the queue after S seconds\n"
          "                      without an ack (default 10; only the first worker's counts)\n",
          f);
    fputs(ROLE_HELP, f);
}

int cmd_worker(int argc, char **argv)
{
    static const char *const CMD = "worker";
    role_args a = {0};
    double ack_wait = 0;
    cli_option extra[] = {{"--ack-wait", CLI_DOUBLE, &ack_wait}};
    cli_args args;
    int rc = parse_role(CMD, argc, argv, extra, 1, &a, &args, worker_usage);
    if (rc)
        return rc < 0 ? CLI_EXIT_OK : rc;
    if (ack_wait < 0) {
        cli_usage_error(CMD, "--ack-wait must be > 0");
        return CLI_EXIT_USAGE;
    }
    role_setup r;
    if ((rc = role_open(CMD, args.positional[0], &a, &r)) != CLI_EXIT_OK)
        return rc;
    if (ack_wait > 0)
        r.co.ack_wait = ack_wait;
    vt_cluster_stats st;
    vt_status s = vt_cluster_worker_run(&r.co, &r.cfg.opts, &r.rig, &st);
    rc = CLI_EXIT_OK;
    if (s && s != VT_ECANCELED) {
        cli_lib_error(CMD, s);
        rc = CLI_EXIT_FAIL;
    }
    if (!a.quiet)
        fprintf(stderr, "voxtrack worker: %lld frame sets voted, %lld delivered again\n",
                (long long)st.sets, (long long)st.redelivered);
    role_free(&r);
    return rc;
}

/* ---- coordinator --------------------------------------------------------- */

static void coordinator_usage(FILE *f)
{
    fputs("Usage: voxtrack coordinator CONFIG [options]\n"
          "\n"
          "The coordinator: assembles each frame set from the cameras' rays into a work\n"
          "item, tracks the voted frame sets in order and writes the tracks as `voxtrack\n"
          "run` does (docs/CLUSTER.md). Returns after the last frame set of the input.\n"
          "Run two or more (each with its own --name and --tracks): one leads (a lease in\n"
          "the server's KV store), the others track too and take over within about 1.5 s\n"
          "when the leader stops renewing its lease.\n"
          "\n"
          "Options:\n"
          "  --tracks FILE       write the tracks here (default: the configuration's)\n"
          "  --detections FILE   also write every 3D detection\n"
          "  --json              print the summary as one JSON object\n",
          f);
    fputs(CLI_OUTPUT_OPTIONS_HELP, f);
    fputs(ROLE_HELP, f);
}

static vt_status coordinator_consume(void *user, const vt_pipeline_result *res)
{
    return cli_track_job_consume(user, res);
}

int cmd_coordinator(int argc, char **argv)
{
    static const char *const CMD = "coordinator";
    role_args a = {0};
    const char *tracks = NULL, *detections = NULL;
    bool json = false;
    cli_list streams = {0};
    cli_monitor_opts mon = {0};
    cli_option extra[] = {
        {"--tracks", CLI_STRING, &tracks},
        {"--detections", CLI_STRING, &detections},
        {"--json", CLI_BOOL, &json},
        CLI_OUTPUT_OPTIONS(streams, mon),
    };
    cli_args args;
    int rc = parse_role(CMD, argc, argv, extra, sizeof extra / sizeof extra[0], &a, &args,
                        coordinator_usage);
    if (rc)
        return rc < 0 ? CLI_EXIT_OK : rc;
    role_setup r;
    if ((rc = role_open(CMD, args.positional[0], &a, &r)) != CLI_EXIT_OK)
        return rc;
    rc = CLI_EXIT_FAIL;
    cli_track_job job;
    bool job_ok = cli_track_job_init(&job, CMD, a.quiet);
    if (!job_ok)
        goto done;
    mon.alerts_json = r.cfg.alerts_json;
    mon.quiet = a.quiet;
    if (!cli_streams_open(CMD, &r.rig, &streams, &job, &mon.streamer) ||
        !cli_monitor_open(CMD, &r.rig, &mon, &job))
        goto done;
    const char *tracks_path = tracks ? tracks : r.cfg.tracks;
    if (!cli_check_output_path(CMD, "output", tracks_path))
        goto done;
    if (!(job.tracks_file = fopen(tracks_path, "w"))) {
        cli_error(CMD, "cannot write '%s'", tracks_path);
        goto done;
    }
    const char *det_path = detections ? detections : r.cfg.detections;
    if (det_path && (!cli_check_output_path(CMD, "output", det_path) ||
                     !(job.detections_file = fopen(det_path, "w")))) {
        cli_error(CMD, "cannot write '%s'", det_path);
        goto done;
    }
    vt_cluster_stats st;
    vt_status s =
        vt_cluster_coordinator_run(&r.co, &r.cfg.opts, &r.rig, coordinator_consume, &job, &st);
    cli_track_summary sum = cli_track_job_summary(&job, 0);
    if (s) {
        cli_lib_error(CMD, s);
        goto done;
    }
    if (fflush(job.tracks_file) != 0 || (job.detections_file && fflush(job.detections_file))) {
        cli_error(CMD, "writing the outputs failed");
        goto done;
    }
    if (json) {
        printf("{");
        cli_track_summary_json_members(&sum, stdout);
        printf(", \"cluster\": {\"duplicates\": %lld, \"redelivered\": %lld, "
               "\"bad_messages\": %lld, \"work_items\": %lld, \"takeovers\": %lld, "
               "\"takeover_seconds\": %.3f, \"reassigned\": %lld, \"reassign_seconds\": "
               "%.3f}}\n",
               (long long)st.duplicates, (long long)st.redelivered, (long long)st.bad_messages,
               (long long)st.messages, (long long)st.takeovers, st.takeover_seconds,
               (long long)st.reassigned, st.reassign_seconds);
    } else {
        cli_track_summary_print(&sum, stdout);
        printf("cluster           %lld work items assembled here, %lld duplicates dropped, %lld "
               "work items delivered again, %lld bad messages dropped\n",
               (long long)st.messages, (long long)st.duplicates, (long long)st.redelivered,
               (long long)st.bad_messages);
        if (st.takeovers)
            printf("takeover          %lld, the last after %.3f s without the leader's renewal\n",
                   (long long)st.takeovers, st.takeover_seconds);
        if (st.reassigned)
            printf("cameras           %lld reassigned from dead capture nodes, the last %.3f s "
                   "after its node's last heartbeat\n",
                   (long long)st.reassigned, st.reassign_seconds);
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
    role_free(&r);
    return rc;
}
