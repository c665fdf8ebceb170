/*
 * apps/voxtrack/out_monitor.c - `--serve`, `--token`, `--alerts` and
 * `--linger` of `run` and `demo`: the dashboard and /metrics (vt_monitor and
 * its server) and the alert rules (vt_alerts), fed by one sink on the
 * pipeline's thread. Publishing only copies into the monitor's snapshot and
 * evaluates the rules; clients and notifications live on their own threads.
 * Alerts reach the dashboard through a listener that copies them into the
 * monitor's alert log. The alerts' watchdog (a thread of vt_alerts, 4 Hz)
 * raises the stall alerts when frame sets stop; it stops before --linger,
 * so the end of a run is not taken for a stall. --quiet silences the alert
 * lines on stderr; failed deliveries are then summed up once at the end.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* How often the alerts' watchdog looks for a stall: alerts come at most this late. */
#define WATCHDOG_PERIOD_S 0.25

typedef struct monitor_sink {
    const char *cmd;
    vt_streamer *streamer; /* alert events also go to its SAPIENT streams, or NULL */
    vt_monitor *mon;
    vt_monitor_server *srv;
    vt_alerts *alerts;
    double linger;
} monitor_sink;

static vt_status monitor_publish(void *ctx, const vt_pipeline_result *r)
{
    monitor_sink *s = ctx;
    vt_status st = VT_OK;
    if (s->mon)
        st = vt_monitor_publish(s->mon, r);
    if (!st && s->alerts)
        st = vt_alerts_update(s->alerts, r);
    return st;
}

static void monitor_restart(void *ctx, double t)
{
    monitor_sink *s = ctx;
    if (s->alerts)
        vt_alerts_restart(s->alerts, t);
}

static void sleep_seconds(double s)
{
    struct timespec ts = {.tv_sec = (time_t)s, .tv_nsec = (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static void monitor_close(void *ctx)
{
    monitor_sink *s = ctx;
    if (s->alerts)
        vt_alerts_watchdog(s->alerts, 0); /* the frame sets ended on purpose */
    if (s->srv && s->linger > 0) {
        fprintf(stderr, "dashboard: still serving for %g s after the last frame set\n", s->linger);
        sleep_seconds(s->linger);
    }
    vt_monitor_server_stop(s->srv);
    vt_alerts_free(s->alerts); /* before the monitor: its listener writes there */
    vt_monitor_free(s->mon);
    free(s);
}

/*
 * vt_alert_fn: the event into the dashboard's alert log and to the streams
 * that carry alerts (copies, never blocks for long).
 */
static void on_alert(void *user, const vt_alert_event *e)
{
    monitor_sink *s = user;
    if (s->streamer)
        vt_streamer_alert(s->streamer, e);
    if (!s->mon)
        return;
    vt_monitor_alert a = {.t = e->t,
                          .wall = e->wall,
                          .kind = vt_alert_kind_name(e->kind),
                          .raised = e->raised,
                          .rule = e->rule,
                          .track = e->track,
                          .camera = e->camera,
                          .value = e->value,
                          .pos = e->pos,
                          .message = e->message};
    vt_monitor_add_alert(s->mon, &a);
}

/* The whole file as a string, or NULL after a message. */
static char *read_text(const char *cmd, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        cli_error(cmd, "--alerts: cannot read '%s'", path);
        return NULL;
    }
    size_t cap = 4096, len = 0;
    char *s = malloc(cap);
    while (s) {
        len += fread(s + len, 1, cap - len - 1, f);
        if (len < cap - 1)
            break;
        char *t = realloc(s, cap *= 2);
        if (!t) {
            free(s);
            s = NULL;
        } else {
            s = t;
        }
    }
    bool bad = ferror(f);
    fclose(f);
    if (!s || bad) {
        free(s);
        cli_error(cmd, "--alerts: cannot read '%s'", path);
        return NULL;
    }
    s[len] = '\0';
    return s;
}

static bool open_alerts(const char *cmd, const vt_rig *rig, const cli_monitor_opts *o,
                        monitor_sink *s)
{
    char *text = NULL;
    const char *json = o->alerts_json, *origin = "configuration: alerts";
    if (o->alerts_file) { /* the file replaces the configuration's rules */
        text = read_text(cmd, o->alerts_file);
        if (!text)
            return false;
        json = text;
        origin = o->alerts_file;
    }
    vt_status st = vt_alerts_new(json, origin, rig, &s->alerts);
    free(text);
    if (st) {
        cli_lib_error(cmd, st);
        return false;
    }
    if (s->mon || s->streamer)
        vt_alerts_on_event(s->alerts, on_alert, s);
    vt_alerts_set_quiet(s->alerts, o->quiet);
    if (!o->no_watchdog && (st = vt_alerts_watchdog(s->alerts, WATCHDOG_PERIOD_S))) {
        cli_lib_error(cmd, st);
        return false;
    }
    return true;
}

bool cli_monitor_open(const char *cmd, const vt_rig *rig, const cli_monitor_opts *o,
                      cli_track_job *job)
{
    if (!(o->linger >= 0 && o->linger <= 86400)) {
        cli_usage_error(cmd, "--linger must be in [0, 86400] seconds");
        return false;
    }
    if (o->token && !o->serve) {
        cli_usage_error(cmd, "--token needs --serve");
        return false;
    }
    if (!o->serve && !o->alerts_file && !o->alerts_json)
        return true;
    monitor_sink *s = calloc(1, sizeof *s);
    if (!s) {
        cli_error(cmd, "out of memory");
        return false;
    }
    s->cmd = cmd;
    s->streamer = o->streamer;
    s->linger = o->linger;
    vt_status st = VT_OK;
    if (o->serve) {
        vt_monitor_opts mo = vt_monitor_opts_default();
        vt_monitor_server_opts so = vt_monitor_server_opts_default();
        so.listen = o->serve;
        so.token = o->token;
        st = vt_monitor_new(&mo, rig, &s->mon);
        if (!st)
            st = vt_monitor_server_start(s->mon, &so, &s->srv);
        if (st) {
            cli_error(cmd, "--serve: %s", vt_last_error()[0] ? vt_last_error() : vt_strerror(st));
            monitor_close(s);
            return false;
        }
    }
    if ((o->alerts_file || o->alerts_json) && !open_alerts(cmd, rig, o, s)) {
        s->linger = 0;
        monitor_close(s);
        return false;
    }
    if (s->srv)
        fprintf(stderr, "dashboard: http://%s:%d/%s\n", vt_monitor_server_addr(s->srv),
                vt_monitor_server_port(s->srv), o->token ? " (token required)" : "");
    if (!cli_track_job_add_sink(job,
                                (cli_sink){s, monitor_publish, monitor_close, monitor_restart})) {
        s->linger = 0;
        monitor_close(s);
        return false;
    }
    return true;
}
