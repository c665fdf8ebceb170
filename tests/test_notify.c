/*
 * tests/test_notify.c - alert channels end to end on loopback: a webhook
 * receiver (tests/cli/alert_webhook.py, python3 http.server) gets the zone
 * alert with the right track as JSON, retried through HTTP 500s; an SMTP
 * sink (tests/cli/alert_smtp.py, python3-aiosmtpd) gets an RFC 5322 e-mail;
 * an SMS gateway gets one POST per number. Dead endpoints (a port nobody
 * listens on, one that accepts but never answers) never slow
 * vt_alerts_update, and vt_alerts_free returns within its bound. The message
 * formats (event JSON, e-mail, SMS template) are checked on their own too.
 *
 * The helpers need python3 (the SMTP sink: python3 with aiosmtpd; set
 * VT_PYTHON to choose the interpreter; /usr/bin/python3 is preferred, since
 * Debian's packages install there). They fail loudly when missing.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "core/internal.h"
#include "monitor/alert_internal.h"
#include "voxtrack/alert.h"
#include "vt_test.h"
#define VT_TEST_NAME "test_notify"
#include "vt_test_tmp.h"

extern char **environ;

/* ---- helper processes ------------------------------------------------------ */

typedef struct helper {
    pid_t pid;
    int port;
    char out[1100]; /* the JSON-lines file it writes */
} helper;

static const char *python(void)
{
    const char *env = getenv("VT_PYTHON");
    if (env && *env)
        return env;
    return access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
}

/* Starts tests/cli/<script> OUT [extra] and reads the port it prints. */
static void helper_start(helper *h, const char *script, const char *name, const char *extra)
{
    char dir[512], path[600];
    snprintf(dir, sizeof dir, "%s", VT_TEST_SOURCE_DIR "/test_notify.c");
    char *slash = strrchr(dir, '/');
    snprintf(path, sizeof path, "%.*s/cli/%s", slash ? (int)(slash - dir) : 1, slash ? dir : ".",
             script);
    snprintf(h->out, sizeof h->out, "%s", vt_test_tmp_path(name));
    remove(h->out);
    int fd[2];
    assert_int_equal(pipe(fd), 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fd[1], 1);
    posix_spawn_file_actions_addclose(&fa, fd[0]);
    char *argv[] = {(char *)python(), path, h->out, (char *)extra, NULL};
    int rc = posix_spawnp(&h->pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fd[1]);
    if (rc != 0) {
        print_error("cannot run %s %s (set VT_PYTHON)\n", argv[0], path);
        fail();
    }
    FILE *fp = fdopen(fd[0], "r");
    char line[64] = "";
    if (!fgets(line, sizeof line, fp) || atoi(line) <= 0) {
        print_error("%s %s printed no port: is python3 (and python3-aiosmtpd) installed?\n",
                    argv[0], path);
        fail();
    }
    fclose(fp);
    h->port = atoi(line);
}

static void helper_stop(helper *h)
{
    kill(h->pid, SIGTERM);
    waitpid(h->pid, NULL, 0);
}

/* The n-th JSON line the helper wrote, or NULL. */
static json_t *helper_record(const helper *h, int n)
{
    FILE *fp = fopen(h->out, "r");
    if (!fp)
        return NULL;
    static char line[65536];
    json_t *rec = NULL;
    for (int i = 0; fgets(line, sizeof line, fp); i++)
        if (i == n) {
            rec = json_loads(line, 0, NULL);
            break;
        }
    fclose(fp);
    return rec;
}

static int helper_count(const helper *h)
{
    int n = 0;
    json_t *r;
    while ((r = helper_record(h, n))) {
        json_decref(r);
        n++;
    }
    return n;
}

/* A port that refuses connections: bound, read back, closed. */
static int dead_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
    close(s);
    return ntohs(a.sin_port);
}

/* A socket that listens (the kernel completes handshakes) but never answers. */
static int silent_listener(int *port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(s, 64), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return s;
}

/* ---- frame sets ---------------------------------------------------------------- */

static vt_track track;

/* One frame set with one confirmed track at (x, 5, 10). */
static void update_with_track(vt_alerts *a, uint64_t id, double x, double t)
{
    memset(&track, 0, sizeof track);
    track.id = id;
    track.status = VT_TRACK_CONFIRMED;
    track.pos = (vt_vec3){x, 5, 10};
    vt_pipeline_result r;
    memset(&r, 0, sizeof r);
    r.t = t;
    r.tracks = &track;
    r.ntracks = 1;
    assert_int_equal(vt_alerts_update(a, &r), VT_OK);
}

static vt_alerts *make(const char *fmt, ...) VT__PRINTF(1, 2);
static vt_alerts *make(const char *fmt, ...)
{
    char json[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(json, sizeof json, fmt, ap);
    va_end(ap);
    vt_alerts *a = NULL;
    if (vt_alerts_new(json, "test", NULL, &a) != VT_OK) {
        print_error("vt_alerts_new: %s\n", vt_last_error());
        fail();
    }
    vt_alerts_set_quiet(a, true);
    return a;
}

#define ZONE_RULE                                                                                  \
    "\"rules\": [{\"name\": \"airfield\", \"kind\": \"zone\", "                                    \
    "\"polygon\": [[0, 0], [10, 0], [10, 10], [0, 10]]}]"

/* ---- formats ------------------------------------------------------------------------ */

static vt_alert_event sample_event(void)
{
    vt_alert_event e;
    memset(&e, 0, sizeof e);
    e.seq = 3;
    e.t = 12.5;
    e.wall = 1714564800.25; /* 2024-05-01T12:00:00.250Z */
    e.kind = VT_ALERT_ZONE;
    e.raised = true;
    snprintf(e.rule, sizeof e.rule, "airfield");
    e.track = 42;
    e.value = 80;
    e.pos = (vt_vec3){1.5, 2.5, 80};
    snprintf(e.message, sizeof e.message, "track 42 entered zone 'airfield'");
    return e;
}

static void event_json_holds_every_field(void **state)
{
    (void)state;
    vt_alert_event e = sample_event();
    char *text = vt__alert_event_json(&e);
    json_t *o = json_loads(text, 0, NULL);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "rule")), "airfield");
    assert_string_equal(json_string_value(json_object_get(o, "kind")), "zone");
    assert_true(json_is_true(json_object_get(o, "raised")));
    assert_int_equal(json_integer_value(json_object_get(o, "track")), 42);
    assert_true(json_is_null(json_object_get(o, "camera")));
    assert_near(json_real_value(json_array_get(json_object_get(o, "position"), 1)), 2.5, 1e-9);
    assert_string_equal(json_string_value(json_object_get(o, "time")), "2024-05-01T12:00:00.250Z");
    assert_near(json_real_value(json_object_get(o, "t")), 12.5, 1e-9);
    assert_true(json_is_real(json_object_get(o, "stalled_s"))); /* 0: made by a frame set */
    assert_near(json_real_value(json_object_get(o, "stalled_s")), 0, 0);
    assert_string_equal(json_string_value(json_object_get(o, "message")),
                        "track 42 entered zone 'airfield'");
    json_decref(o);
    free(text);
}

static void email_is_an_rfc5322_message(void **state)
{
    (void)state;
    vt_alert_event e = sample_event();
    char *to[] = {"ops@example.org", "duty@example.org"};
    vt__channel c = {
        .kind = VT__CHANNEL_EMAIL, .from = "voxtrack@site.example", .to = to, .nto = 2};
    char msg[4096];
    size_t n = vt__alert_email(&e, &c, msg, sizeof msg);
    assert_int_equal(n, strlen(msg));
    assert_non_null(strstr(msg, "Date: Wed, 01 May 2024 12:00:00 +0000\r\n"));
    assert_non_null(strstr(msg, "From: voxtrack <voxtrack@site.example>\r\n"));
    assert_non_null(strstr(msg, "To: <ops@example.org>, <duty@example.org>\r\n"));
    assert_non_null(strstr(msg, "Subject: [voxtrack] RAISED airfield: track 42 entered"));
    assert_non_null(strstr(msg, "Message-ID: <voxtrack.3."));
    assert_non_null(strstr(msg, "@site.example>\r\n"));
    assert_non_null(strstr(msg, "\r\n\r\ntrack 42 entered zone 'airfield'\r\n"));
    for (const char *p = strchr(msg, '\n'); p; p = strchr(p + 1, '\n'))
        assert_int_equal(p[-1], '\r'); /* CRLF only */
}

static void sms_template_expands_known_names(void **state)
{
    (void)state;
    vt_alert_event e = sample_event();
    char buf[256];
    vt__alert_template("{state} {rule} #{track} at {time}: {message} {nope} {", &e, buf,
                       sizeof buf);
    assert_string_equal(buf, "RAISED airfield #42 at 2024-05-01T12:00:00.250Z: track 42 entered "
                             "zone 'airfield' {nope} {");
    vt__alert_template("{message}{message}{message}", &e, buf, 40); /* cut, never overrun */
    assert_int_equal(strlen(buf), 39);
}

/* ---- channels on loopback -------------------------------------------------------------- */

static void webhook_receives_the_zone_alert_with_the_track_id(void **state)
{
    (void)state;
    helper h;
    helper_start(&h, "alert_webhook.py", "webhook.jsonl", "0");
    vt_alerts *a = make("{" ZONE_RULE ", \"channels\": [{\"kind\": \"webhook\", "
                        "\"url\": \"http://127.0.0.1:%d/hook\", \"headers\": {\"X-Token\": "
                        "\"s3cret\"}}]}",
                        h.port);
    update_with_track(a, 41, 50, 0.0); /* outside */
    update_with_track(a, 42, 5, 0.1);  /* inside */
    vt_alerts_free(a);                 /* waits for the delivery (at most 2 s) */
    json_t *rec = helper_record(&h, 0);
    helper_stop(&h);
    assert_non_null(rec);
    assert_string_equal(json_string_value(json_object_get(rec, "path")), "/hook");
    json_t *hdr = json_object_get(rec, "headers");
    assert_string_equal(json_string_value(json_object_get(hdr, "Content-Type")),
                        "application/json");
    assert_string_equal(json_string_value(json_object_get(hdr, "X-Token")), "s3cret");
    json_t *body = json_loads(json_string_value(json_object_get(rec, "body")), 0, NULL);
    assert_non_null(body);
    assert_int_equal(json_integer_value(json_object_get(body, "track")), 42);
    assert_string_equal(json_string_value(json_object_get(body, "rule")), "airfield");
    assert_true(json_is_true(json_object_get(body, "raised")));
    json_decref(body);
    json_decref(rec);
}

static void webhook_retries_through_server_errors(void **state)
{
    (void)state;
    helper h;
    helper_start(&h, "alert_webhook.py", "retry.jsonl", "2"); /* two 500s, then 200 */
    vt_alerts *a = make("{" ZONE_RULE ", \"channels\": [{\"kind\": \"webhook\", \"url\": "
                        "\"http://127.0.0.1:%d/\", \"retries\": 3, \"backoff_s\": 0.05}]}",
                        h.port);
    update_with_track(a, 7, 5, 0);
    double t0 = vt__now();
    while (vt_alerts_stats_get(a).sent < 1 && vt__now() - t0 < 60) /* a hang, not speed */
        nanosleep(&(struct timespec){0, 10000000}, NULL);
    vt_alerts_stats st = vt_alerts_stats_get(a);
    vt_alerts_free(a);
    int requests = helper_count(&h);
    helper_stop(&h);
    assert_int_equal(st.sent, 1);
    assert_int_equal(st.retries, 2);
    assert_int_equal(st.failed, 0);
    assert_int_equal(requests, 3);
}

static void smtp_sink_receives_the_email(void **state)
{
    (void)state;
    helper h;
    helper_start(&h, "alert_smtp.py", "smtp.jsonl", NULL);
    vt_alerts *a = make("{" ZONE_RULE ", \"channels\": [{\"kind\": \"email\", \"url\": "
                        "\"smtp://127.0.0.1:%d\", \"from\": \"voxtrack@site.example\", "
                        "\"to\": [\"ops@example.org\", \"duty@example.org\"]}]}",
                        h.port);
    update_with_track(a, 42, 5, 0);
    vt_alerts_free(a);
    json_t *rec = helper_record(&h, 0);
    helper_stop(&h);
    assert_non_null(rec);
    assert_string_equal(json_string_value(json_object_get(rec, "mail_from")),
                        "voxtrack@site.example");
    json_t *rcpt = json_object_get(rec, "rcpt_tos");
    assert_int_equal(json_array_size(rcpt), 2);
    assert_string_equal(json_string_value(json_array_get(rcpt, 1)), "duty@example.org");
    const char *data = json_string_value(json_object_get(rec, "data"));
    assert_non_null(strstr(data, "To: <ops@example.org>, <duty@example.org>"));
    assert_non_null(strstr(data, "Subject: [voxtrack] RAISED airfield: track 42 entered zone"));
    assert_non_null(strstr(data, "Message-ID: <voxtrack.1."));
    assert_non_null(strstr(data, "track: 42"));
    json_decref(rec);
}

static void sms_gateway_gets_one_post_per_number(void **state)
{
    (void)state;
    helper h;
    helper_start(&h, "alert_webhook.py", "sms.jsonl", "0");
    vt_alerts *a =
        make("{" ZONE_RULE ", \"channels\": [{\"kind\": \"sms\", \"url\": "
             "\"http://127.0.0.1:%d/sms\", \"to\": [\"+441234\", \"+449876\"], "
             "\"template\": \"{rule}: track {track}\"}, {\"kind\": \"sms\", \"url\": "
             "\"http://127.0.0.1:%d/form\", \"to\": [\"+44 1\"], \"format\": \"form\"}]}",
             h.port, h.port);
    update_with_track(a, 9, 5, 0);
    vt_alerts_free(a);
    json_t *r0 = helper_record(&h, 0), *r1 = helper_record(&h, 1), *r2 = helper_record(&h, 2);
    helper_stop(&h);
    assert_non_null(r0);
    assert_non_null(r1);
    assert_non_null(r2);
    json_t *b1 = json_loads(json_string_value(json_object_get(r1, "body")), 0, NULL);
    assert_string_equal(json_string_value(json_object_get(b1, "to")), "+449876");
    assert_string_equal(json_string_value(json_object_get(b1, "text")), "airfield: track 9");
    const char *form = json_string_value(json_object_get(r2, "body"));
    assert_non_null(strstr(form, "to=%2B44%201&text=voxtrack%20RAISED%20airfield"));
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(r2, "headers"), "Content-Type")),
        "application/x-www-form-urlencoded");
    json_decref(b1);
    json_decref(r0);
    json_decref(r1);
    json_decref(r2);
}

static void dead_endpoints_never_slow_updates_and_free_is_bounded(void **state)
{
    (void)state;
    int silent_port;
    int silent = silent_listener(&silent_port);
    vt_alerts *a = make("{\"hysteresis\": {\"clear_after\": 0}, \"queue\": 64, \"shutdown_s\": "
                        "0.5, " ZONE_RULE ", \"channels\": ["
                        "{\"kind\": \"webhook\", \"url\": \"http://127.0.0.1:%d/\", "
                        "\"timeout_s\": 60, \"retries\": 3},"
                        "{\"kind\": \"webhook\", \"url\": \"http://127.0.0.1:%d/\", "
                        "\"timeout_s\": 60, \"retries\": 3}]}",
                        dead_port(), silent_port);
    /* In, out, in, out ...: an event on every one of 1000 frame sets. */
    double t0 = vt__now();
    for (int i = 0; i < 1000; i++)
        update_with_track(a, 5, i % 2 ? 50 : 5, i * 0.01);
    double updates = vt__now() - t0;
    vt_alerts_stats st = vt_alerts_stats_get(a);
    t0 = vt__now();
    vt_alerts_free(a);
    double freeing = vt__now() - t0;
    close(silent);
    print_message("1000 updates: %.1f ms; vt_alerts_free: %.0f ms\n", updates * 1e3, freeing * 1e3);
    assert_int_equal(st.raised + st.cleared, 1000);
    assert_true(st.dropped >= 1000 - 64 - 1); /* the queue held 64 */
    /* The bounds catch waiting for a delivery, not a slow machine: an update that waited
       would wait for a 60 s transfer (~1 ms for all 1000 here), and free would wait for the
       two transfers instead of shutdown_s (0.5 s) and the abandon. */
    assert_true(updates < 20);
    assert_true(freeing >= 0.4 && freeing < 20);
}

static void free_abandons_a_transfer_that_hangs(void **state)
{
    (void)state;
    int port;
    int silent = silent_listener(&port);
    vt_alerts *a = make("{\"shutdown_s\": 0.2, " ZONE_RULE ", \"channels\": [{\"kind\": "
                        "\"webhook\", \"url\": \"http://127.0.0.1:%d/\", \"timeout_s\": 120}]}",
                        port);
    update_with_track(a, 5, 5, 0);
    nanosleep(&(struct timespec){0, 100000000}, NULL); /* the POST is in flight */
    double t0 = vt__now();
    vt_alerts_stats st = vt_alerts_stats_get(a);
    vt_alerts_free(a);
    double freeing = vt__now() - t0;
    close(silent);
    assert_int_equal(st.sent + st.failed, 0);
    /* shutdown_s (0.2 s), then the abandon; waiting for the transfer would take 120 s. */
    assert_true(freeing >= 0.15 && freeing < 20);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(event_json_holds_every_field),
        cmocka_unit_test(email_is_an_rfc5322_message),
        cmocka_unit_test(sms_template_expands_known_names),
        cmocka_unit_test(webhook_receives_the_zone_alert_with_the_track_id),
        cmocka_unit_test(webhook_retries_through_server_errors),
        cmocka_unit_test(smtp_sink_receives_the_email),
        cmocka_unit_test(sms_gateway_gets_one_post_per_number),
        cmocka_unit_test(dead_endpoints_never_slow_updates_and_free_is_bounded),
        cmocka_unit_test(free_abandons_a_transfer_that_hangs),
    };
    return cmocka_run_group_tests(tests, vt_test_make_tmpdir, vt_test_remove_tmpdir);
}
