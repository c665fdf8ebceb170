/*
 * apps/voxtrack/cli.h - what the subcommands of the voxtrack CLI share.
 *
 * Option parsing from a table (long options only, "--flag VALUE" or
 * "--flag=VALUE"), value parsers whose errors name the flag and the value,
 * the error printer ("voxtrack CMD: message" on stderr), a progress line for
 * terminals, JSON string output, and the projection job that both `project`
 * and `demo` run. The CLI is a client of the public API only.
 *
 * Exit status of every command: 0 success, 1 runtime failure, 2 bad command
 * line (unknown command or option, missing or malformed argument).
 */
#ifndef VOXTRACK_CLI_H
#define VOXTRACK_CLI_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <voxtrack/voxtrack.h>

enum { CLI_EXIT_OK = 0, CLI_EXIT_FAIL = 1, CLI_EXIT_USAGE = 2 };

/* ---- messages ---------------------------------------------------------- */

/* "voxtrack CMD: message\n" on stderr. */
void cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A usage error: the message, then "Try 'voxtrack CMD --help'." on stderr. */
void cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A library failure: vt_last_error() when set, vt_strerror(s) otherwise. */
void cli_lib_error(const char *cmd, vt_status s);

/* ---- values ------------------------------------------------------------ */

/*
 * Parse a whole string as a number or as "X,Y,Z". On failure print
 * "voxtrack CMD: FLAG: 'VALUE' is not ..." and return false.
 */
bool cli_parse_int(const char *cmd, const char *flag, const char *value, int *out);
bool cli_parse_u64(const char *cmd, const char *flag, const char *value, uint64_t *out);
bool cli_parse_double(const char *cmd, const char *flag, const char *value, double *out);
bool cli_parse_vec3(const char *cmd, const char *flag, const char *value, vt_vec3 *out);

/* ---- options ----------------------------------------------------------- */

typedef enum cli_kind {
    CLI_BOOL,   /* a switch: sets *(bool *)target */
    CLI_INT,    /* int */
    CLI_U64,    /* uint64_t */
    CLI_DOUBLE, /* double (finite) */
    CLI_VEC3,   /* vt_vec3 from "X,Y,Z" */
    CLI_STRING, /* const char * (points into argv) */
    CLI_LIST    /* repeatable: each value appended to a cli_list */
} cli_kind;

enum { CLI_LIST_MAX = 16 };

typedef struct cli_list {
    const char *items[CLI_LIST_MAX]; /* point into argv */
    int count;
} cli_list;

typedef struct cli_option {
    const char *name; /* with the dashes: "--grid-size" */
    cli_kind kind;
    void *target;
} cli_option;

typedef struct cli_args {
    const char *positional[8];
    int count;
    bool help;
} cli_args;

/*
 * Parses argv[1..argc) (argv[0] is the command name) against the table.
 * "--help"/"-h" set args->help; "--" ends the options. Returns CLI_EXIT_OK,
 * or CLI_EXIT_USAGE after printing what was wrong and the --help hint.
 */
int cli_parse_args(const char *cmd, int argc, char **argv, const cli_option *opts, size_t nopts,
                   int max_positional, cli_args *args);

/* ---- device ------------------------------------------------------------ */

#define CLI_DEVICE_HELP                                                                            \
    "  --device MODE       auto (a CUDA GPU when one opens, else the CPU), cpu or\n"               \
    "                      cuda: where the stages with a GPU twin run (docs/CUDA.md);\n"           \
    "                      said once on stderr\n"

/*
 * Parses --device's value (NULL: auto), opens that device and says once on
 * stderr which was taken ("voxtrack CMD: device: cpu (no CUDA driver ...)"),
 * unless quiet. Returns CLI_EXIT_OK with *kind set to what was taken (CPU
 * or CUDA), CLI_EXIT_USAGE for a bad value, CLI_EXIT_FAIL when cuda was
 * asked for and none opens (the reason is printed).
 */
int cli_open_device(const char *cmd, const char *value, bool quiet, vt_device_kind *kind);

/* ---- progress ---------------------------------------------------------- */

/*
 * A one-line progress display on stderr: "\r" + text, only when stderr is a
 * terminal and the command is not --quiet, at most ~10 updates a second.
 * Updates may come from any thread: one that finds another mid-update skips.
 */
typedef struct cli_progress {
    bool enabled;
    atomic_flag busy;
    double last;   /* monotonic seconds of the last update shown */
    int shown_len; /* characters on the line now */
} cli_progress;

void cli_progress_init(cli_progress *p, bool quiet);
void cli_progress_update(cli_progress *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Clears the line (no-op when nothing was shown). */
void cli_progress_end(cli_progress *p);

/* Monotonic clock, seconds. */
double cli_now(void);

/* ---- files ------------------------------------------------------------- */

/*
 * Checks that `path` can be created: its folder exists, is a folder and is
 * writable, and `path` itself is not a folder. `what` names the file in the
 * message ("output", "MIP prefix"). Prints the error and returns false.
 */
bool cli_check_output_path(const char *cmd, const char *what, const char *path);

/* Creates `dir` when it does not exist (its parent must); accepts an existing folder. */
bool cli_ensure_dir(const char *cmd, const char *dir);

/* Writes `s` as a JSON string literal (quoted, escaped). */
void cli_json_string(FILE *f, const char *s);

/* ---- the projection job shared by `project` and `demo` ----------------- */

typedef struct cli_project_job {
    const char *cmd;           /* for messages and the progress line */
    const char *metadata_path; /* metadata.json */
    const char *image_dir;
    const char *out_path;   /* voxel_grid.bin */
    const char *mip_prefix; /* NULL: no MIP images */
    vt_grid_opts grid;
    vt_project_opts opts; /* progress/progress_user are set by the job */
    bool quiet;           /* no progress line */
} cli_project_job;

typedef struct cli_project_result {
    vt_project_stats stats;
    vt_grid_opts grid;
    bool has_max;       /* some voxel got votes */
    int ix, iy, iz;     /* the brightest voxel */
    vt_vec3 max_center; /* its centre, world metres */
    double max_value;   /* its votes / VT_VOTE_ONE */
} cli_project_result;

/*
 * Loads the metadata, checks the output paths, casts every frame pair into
 * a new grid, saves it (and the MIP images) and finds the brightest voxel.
 * Prints any error; returns CLI_EXIT_OK or CLI_EXIT_FAIL. Frees everything.
 */
int cli_project_execute(const cli_project_job *job, cli_project_result *res);

/* The result as aligned "name  value" lines on stdout. */
void cli_project_print_text(const cli_project_result *res);

/* The result as JSON members ("cameras": 4, ...) without braces, on stdout. */
void cli_project_print_json_members(const cli_project_result *res);

/* ---- the tracking job shared by `run` and `demo` ------------------------ */

/*
 * An output that receives every frame set's result on the pipeline's
 * thread: streams (--stream), the dashboard and alerts (--serve, --alerts).
 * publish must not block; close flushes and frees (called once).
 */
typedef struct cli_sink {
    void *ctx;
    vt_status (*publish)(void *ctx, const vt_pipeline_result *r);
    void (*close)(void *ctx);
    /* The frame sets' clock starts again at t (a stream's producer restarted); may be NULL. */
    void (*restart)(void *ctx, double t);
} cli_sink;

enum { CLI_SINKS_MAX = 6 };

typedef struct cli_track_job {
    const char *cmd;
    cli_sink sinks[CLI_SINKS_MAX];
    int nsinks;
    FILE *tracks_file;     /* tracks.jsonl, or NULL */
    FILE *detections_file; /* detections.jsonl, or NULL */
    int64_t total_sets;    /* for the progress line; 0 when unknown */
    int64_t sets;
    size_t detections, rays, confirmed_tracks;
    double *latency; /* seconds per frame set */
    size_t latency_cap;
    bool *seen; /* confirmed track ids seen */
    size_t seen_cap;
    double start, process_seconds, stage_seconds[4];
    double fusion_seconds; /* thermal fusion, summed */
    size_t dropped;        /* detections fusion dropped */
    cli_progress progress;
} cli_track_job;

typedef struct cli_track_summary {
    int64_t sets;
    size_t detections, confirmed_tracks;
    double wall_seconds, sets_per_second, latency_p50_ms, latency_p99_ms, stage_ms[4];
    double grid_peak_mb, peak_rss_mb;
    double fusion_ms; /* thermal fusion, mean per set */
    size_t dropped;   /* detections fusion dropped */
} cli_track_summary;

bool cli_track_job_init(cli_track_job *job, const char *cmd, bool quiet);
/* Closes the sinks and frees. */
void cli_track_job_free(cli_track_job *job);
/* --poses DIR: the moving cameras' poses as pose logs DIR/ID.csv (out_poses.c); dir NULL: none. */
bool cli_poses_open(const char *cmd, const vt_rig *rig, const char *dir, cli_track_job *job);
/* Adds an output; false (with a message) when there are CLI_SINKS_MAX already. */
bool cli_track_job_add_sink(cli_track_job *job, cli_sink sink);
/* Tells every output that the frame sets' clock starts again at t. */
void cli_track_job_restart(cli_track_job *job, double t);
/* Writes the set's tracks (and detections), keeps figures, updates the progress line. */
vt_status cli_track_job_consume(cli_track_job *job, const vt_pipeline_result *r);
/* Ends the progress line and computes the figures. */
cli_track_summary cli_track_job_summary(cli_track_job *job, size_t grid_peak_bytes);
void cli_track_summary_print(const cli_track_summary *s, FILE *f);
void cli_track_summary_json_members(const cli_track_summary *s, FILE *f);

/*
 * The sync's statistics (sync_report.c): a line over all cameras (sync error,
 * frames late, duplicate, backwards, outside) and one per camera that lost
 * frames, on stdout; or every camera's statistics and source counters as
 * the JSON member ', "cameras": [...]'.
 */
void cli_sync_print_text(const vt_rig *rig, const vt_sync *sync);
void cli_sync_print_json(const vt_rig *rig, const vt_sync *sync);

/*
 * Frame sets from a sync for vt_pipeline_run and the capture role (sync_report.c):
 * `max` sets at most (0: all of them); `produced` counts what was handed over.
 */
typedef struct cli_sync_input {
    vt_sync *sync;
    int64_t max, produced;
} cli_sync_input;
vt_status cli_sync_produce(void *user, vt_frame_slot *slot, bool *end);

/* Scores a tracks file against a truth file (default matching). Prints any error. */
bool cli_eval_files(const char *cmd, const char *tracks, const char *truth, vt_eval_result *out);
void cli_eval_print_text(const vt_eval_result *r, FILE *f);
void cli_eval_print_json(const vt_eval_result *r, FILE *f);

/*
 * (eval_report.c) The path of truth_pixels.jsonl in the truth file's folder,
 * in buf; false when there is no such file. HOTA, the detectability ceiling
 * and the bins as text lines, or as JSON members (', "hota": ...').
 */
bool cli_eval_pixels_beside(const char *truth, char *buf, size_t size);
void cli_eval_print_extra_text(const vt_eval_result *r, FILE *f);
void cli_eval_print_extra_json(const vt_eval_result *r, FILE *f);

/* ---- outputs of `run` and `demo` ---------------------------------------- */

/*
 * --stream URL (repeatable): opens every stream (udp://, tcp://, shm://,
 * file://, cot+udp://, cot+tcp://, sapient+tcp://) and adds one sink that
 * publishes each frame set's tracks to all of them; *streamer (may be NULL)
 * gets the streamer, for alerts (cli_monitor_opts). Prints any error; false
 * on failure. Nothing is done when urls->count is 0. (out_stream.c)
 */
bool cli_streams_open(const char *cmd, const vt_rig *rig, const cli_list *urls, cli_track_job *job,
                      vt_streamer **streamer);

/* The --help lines of the output options that `run` and `demo` share. */
#define CLI_OUTPUT_OPTIONS_HELP                                                                    \
    "  --stream URL        publish the tracks (repeatable): udp://HOST:PORT,\n"                    \
    "                      tcp://ADDR:PORT, shm://NAME, file://PATH, cot+udp://HOST:PORT,\n"       \
    "                      cot+tcp://HOST:PORT, sapient+tcp://HOST:PORT (docs/STREAMING.md,\n"     \
    "                      docs/SAPIENT.md)\n"                                                     \
    "  --serve ADDR:PORT   serve the dashboard and /metrics (docs/MONITOR.md)\n"                   \
    "  --token TOKEN       require 'Authorization: Bearer TOKEN' on every route\n"                 \
    "  --alerts FILE       alert rules (JSON, docs/ALERTS.md)\n"                                   \
    "  --linger S          keep the dashboard up S seconds after the last frame set\n"

/* The option-table entries of those options: a cli_list and a cli_monitor_opts take them. */
#define CLI_OUTPUT_OPTIONS(streams, mon)                                                           \
    {"--stream", CLI_LIST, &(streams)}, {"--serve", CLI_STRING, &(mon).serve},                     \
        {"--token", CLI_STRING, &(mon).token}, {"--alerts", CLI_STRING, &(mon).alerts_file},       \
    {                                                                                              \
        "--linger", CLI_DOUBLE, &(mon).linger                                                      \
    }

typedef struct cli_monitor_opts {
    const char *serve;       /* --serve ADDR:PORT, or NULL: no dashboard */
    const char *token;       /* --token: bearer token for every route, or NULL */
    const char *alerts_file; /* --alerts FILE: alert rules (JSON), or NULL */
    const char *alerts_json; /* alert rules from the run configuration, or NULL */
    double linger;           /* --linger S: keep the dashboard up S seconds after the run */
    bool quiet;              /* --quiet: no alert log lines; failed deliveries summed up */
    bool no_watchdog;      /* frame sets have no wall-clock pace (a file replay): no stall alerts */
    vt_streamer *streamer; /* alert events also go to its streams (SAPIENT), or NULL */
} cli_monitor_opts;

/*
 * Starts the dashboard and /metrics when o->serve is set and the alert
 * rules when given, and adds one sink that feeds them. Prints any error;
 * false on failure. Nothing is done when neither is asked. (out_monitor.c)
 */
bool cli_monitor_open(const char *cmd, const vt_rig *rig, const cli_monitor_opts *o,
                      cli_track_job *job);

/* ---- the cameras' 2D detections (camera_dets.c) ------------------------ */

typedef struct cli_camera_dets {
    vt_det2d_list dets;
    char path[4096]; /* the file read, absolute when found in --detections */
    bool have;
} cli_camera_dets;

/*
 * Fills in[i] (rig->count entries, zeroed) for every camera with detections:
 * DIR/ID.jsonl, .csv or .txt when dir is given (a camera without a file is
 * left out), else the cameras whose media is detections; clocked by
 * vt_det2d_load. False after printing the error.
 */
bool cli_load_camera_detections(const char *cmd, const vt_rig *rig, const char *dir,
                                cli_camera_dets *in);

/* ---- commands ---------------------------------------------------------- */

int cmd_calibrate(int argc, char **argv);
int cmd_calibrate_pair(int argc, char **argv);
int cmd_project(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_demo_project(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_simulate(int argc, char **argv);
int cmd_listen(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_pose_eval(int argc, char **argv);
int cmd_cluster(int argc, char **argv);
int cmd_cluster_status(int argc, char **argv); /* argv[0]: "status" */
int cmd_capture(int argc, char **argv);
int cmd_worker(int argc, char **argv);
int cmd_coordinator(int argc, char **argv);

#endif
