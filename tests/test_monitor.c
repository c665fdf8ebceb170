/*
 * tests/test_monitor.c - the monitor's state and its HTTP server, through
 * libcurl in-process on 127.0.0.1 (a free port picked by the kernel): the
 * routes and their JSON shapes, the security headers, the bearer token,
 * path traversal in its encoded forms, oversized headers, methods, Server-Sent
 * Events delivering frame sets and alerts, and the Prometheus text.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <time.h>

#include "monitor/monitor_internal.h"
#include "voxtrack/voxtrack.h"

/* ---- a rig of two cameras and synthetic frame sets ---- */

static vt_rig rig;

static void add_camera(const char *id, vt_modality mod, double x)
{
    vt_rig_camera c;
    memset(&c, 0, sizeof c);
    snprintf(c.id, sizeof c.id, "%s", id);
    c.modality = mod;
    c.bits = 8;
    c.cam.width = 640;
    c.cam.height = 480;
    c.cam.fx = c.cam.fy = 320; /* 90 degrees across */
    c.cam.cx = 320;
    c.cam.cy = 240;
    c.cam.position = vt_v3(x, 0, 2);
    c.cam.q = (vt_quat){1, 0, 0, 0};
    assert_int_equal(vt_camera_init(&c.cam), VT_OK);
    assert_int_equal(vt_rig_add(&rig, &c), VT_OK);
}

static vt_track tracks[3];
static vt_target_class classes[3];
static float flicker[3];
static vt_camera_result cams[2];
/* Thermal fusion's running confirmation: track 1 mostly confirmed, 2 never, 3 not yet seen. */
static const vt_track_fusion fusion[3] = {{8, 7, 0.875f, 2.5f}, {6, 0, 0.0f, 0.2f}, {0, 0, NAN, NAN}};

/* Frame set n: three tracks flying east; camera 1 misses every other set. */
static vt_pipeline_result result(int n)
{
    for (int i = 0; i < 3; i++)
        tracks[i] = (vt_track){.id = (uint64_t)i + 1,
                               .status = i == 2 ? VT_TRACK_TENTATIVE : VT_TRACK_CONFIRMED,
                               .pos = vt_v3(10.0 * i + n, 5, 100 + i),
                               .vel = vt_v3(3, 4, 0),
                               .cams = 4,
                               .thermal_hits = i == 0 ? 2 : 0};
    classes[1] = VT_CLASS_BIRD;
    cams[0] = (vt_camera_result){
        .present = true, .sync_error = 0.001, .changes = 50, .blobs = 3, .rays = 3};
    cams[1] = (vt_camera_result){.present = n % 2 == 0, .changes = 7};
    return (vt_pipeline_result){.frame = n,
                                .t = n / 30.0,
                                .tracks = tracks,
                                .classes = classes,
                                .flicker = flicker,
                                .track_fusion = fusion,
                                .ntracks = 3,
                                .ndetections = 2,
                                .cameras = cams,
                                .ncameras = 2,
                                .cameras_live = 1 + (n % 2 == 0),
                                .seconds = 0.004,
                                .latency = 0.004,
                                .stage_seconds = {0.001, 0.002, 0.0005, 0.0005}};
}

/* ---- HTTP through libcurl ---- */

typedef struct reply {
    long status;
    char *body, *headers;
    size_t body_len, headers_len;
} reply;

typedef struct grow {
    char *s;
    size_t len;
} grow;

static size_t grow_cb(char *p, size_t size, size_t n, void *user)
{
    grow *g = user;
    size_t add = size * n;
    char *s = realloc(g->s, g->len + add + 1);
    if (!s)
        return 0;
    memcpy(s + g->len, p, add);
    g->len += add;
    s[g->len] = '\0';
    g->s = s;
    return add;
}

static vt_monitor *mon;
static vt_monitor_server *srv;

/* GET (or another method) on the test server; `header` may be NULL. */
static reply request(const char *method, const char *path, const char *header)
{
    char url[2048];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", vt_monitor_server_port(srv), path);
    CURL *c = curl_easy_init();
    assert_non_null(c);
    grow body = {0}, head = {0};
    struct curl_slist *h = header ? curl_slist_append(NULL, header) : NULL;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, grow_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, grow_cb);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &head);
    if (h)
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    else if (strcmp(method, "GET") != 0)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    reply r = {0};
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    r.body = body.s ? body.s : strdup("");
    r.body_len = body.len;
    r.headers = head.s ? head.s : strdup("");
    r.headers_len = head.len;
    return r;
}

static reply get(const char *path)
{
    return request("GET", path, NULL);
}

static void reply_free(reply *r)
{
    free(r->body);
    free(r->headers);
}

/* A header line that starts with `line` (names compared without case). */
static bool has_header(const reply *r, const char *line)
{
    size_t n = strlen(line);
    for (const char *s = r->headers; *s; s++)
        if ((s == r->headers || s[-1] == '\n') && strncasecmp(s, line, n) == 0)
            return true;
    return strstr(r->headers, line) != NULL; /* e.g. "HttpOnly" inside a line */
}

static json_t *get_json(const char *path)
{
    reply r = get(path);
    assert_int_equal(r.status, 200);
    assert_true(has_header(&r, "Content-Type: application/json"));
    json_error_t err;
    json_t *j = json_loads(r.body, 0, &err);
    if (!j)
        print_error("%s: bad JSON at %d: %s\n%s\n", path, err.line, err.text, r.body);
    assert_non_null(j);
    reply_free(&r);
    return j;
}

/* ---- fixtures ---- */

static void start(const char *token)
{
    vt_monitor_opts mo = vt_monitor_opts_default();
    assert_int_equal(vt_monitor_new(&mo, &rig, &mon), VT_OK);
    vt_monitor_server_opts so = vt_monitor_server_opts_default();
    so.listen = "127.0.0.1:0";
    so.token = token;
    so.event_interval_s = 0.01;
    assert_int_equal(vt_monitor_server_start(mon, &so, &srv), VT_OK);
    assert_true(vt_monitor_server_port(srv) > 0);
    for (int n = 0; n < 4; n++) {
        vt_pipeline_result r = result(n);
        assert_int_equal(vt_monitor_publish(mon, &r), VT_OK);
    }
}

static void stop(void)
{
    vt_monitor_server_stop(srv);
    vt_monitor_free(mon);
    srv = NULL;
    mon = NULL;
}

static int group_setup(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    vt_rig_init(&rig);
    rig.fps = 30;
    add_camera("m0", VT_MODALITY_MONO, 0);
    add_camera("t0", VT_MODALITY_THERMAL, 1);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    vt_rig_free(&rig);
    curl_global_cleanup();
    return 0;
}

/* ---- tests ---- */

static void dashboard_files_are_served_with_security_headers(void **state)
{
    (void)state;
    start(NULL);
    const char *paths[] = {"/", "/index.html", "/app.js", "/style.css", "/favicon.svg"};
    const char *types[] = {"text/html", "text/html", "text/javascript", "text/css", "image/svg"};
    for (int i = 0; i < 5; i++) {
        reply r = get(paths[i]);
        assert_int_equal(r.status, 200);
        char want[64];
        snprintf(want, sizeof want, "Content-Type: %s", types[i]);
        assert_true(has_header(&r, want));
        assert_true(has_header(&r, "Content-Security-Policy: default-src 'self'"));
        assert_true(has_header(&r, "X-Content-Type-Options: nosniff"));
        assert_true(r.body_len > 100);
        reply_free(&r);
    }
    reply r = get("/");
    assert_non_null(strstr(r.body, "/app.js"));
    assert_null(strstr(r.body, "http://")); /* no CDN */
    assert_null(strstr(r.body, "https://"));
    reply_free(&r);
    r = request("HEAD", "/app.js", NULL);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, 0);
    reply_free(&r);
    stop();
}

static void tracks_json_has_every_field(void **state)
{
    (void)state;
    start(NULL);
    json_t *j = get_json("/api/tracks");
    assert_int_equal(json_integer_value(json_object_get(j, "frame")), 3);
    assert_int_equal(json_integer_value(json_object_get(j, "count")), 3);
    json_t *ts = json_object_get(j, "tracks");
    assert_int_equal(json_array_size(ts), 3);
    json_t *k = json_array_get(ts, 0);
    assert_int_equal(json_integer_value(json_object_get(k, "id")), 1);
    assert_string_equal(json_string_value(json_object_get(k, "status")), "confirmed");
    assert_string_equal(json_string_value(json_object_get(k, "class")), "drone");
    assert_float_equal(json_number_value(json_array_get(json_object_get(k, "pos"), 0)), 3, 1e-9);
    assert_float_equal(json_number_value(json_object_get(k, "altitude")), 100, 1e-9);
    assert_float_equal(json_number_value(json_object_get(k, "speed")), 5, 1e-9);
    assert_float_equal(json_number_value(json_object_get(k, "age")), 3 / 30.0, 0.01);
    assert_int_equal(json_integer_value(json_object_get(k, "cams")), 4);
    assert_true(json_is_true(json_object_get(k, "thermal_confirmed")));
    k = json_array_get(ts, 1);
    assert_string_equal(json_string_value(json_object_get(k, "class")), "bird");
    assert_true(json_is_false(json_object_get(k, "thermal_confirmed")));
    assert_string_equal(json_string_value(json_object_get(json_array_get(ts, 2), "status")),
                        "tentative");
    json_decref(j);
    stop();
}

static void tracks_json_has_the_thermal_confirmation(void **state)
{
    (void)state;
    start(NULL);
    json_t *j = get_json("/api/tracks");
    json_t *ts = json_object_get(j, "tracks");
    json_t *k = json_array_get(ts, 0);
    assert_int_equal(json_integer_value(json_object_get(k, "thermal_observed")), 8);
    assert_int_equal(json_integer_value(json_object_get(k, "thermal_confirmations")), 7);
    assert_float_equal(json_number_value(json_object_get(k, "thermal_rate")), 0.875, 1e-6);
    assert_float_equal(json_number_value(json_object_get(k, "thermal_ratio")), 2.5, 1e-6);
    k = json_array_get(ts, 1);
    assert_int_equal(json_integer_value(json_object_get(k, "thermal_confirmations")), 0);
    assert_float_equal(json_number_value(json_object_get(k, "thermal_rate")), 0.0, 1e-12);
    k = json_array_get(ts, 2); /* nothing observed yet: no rate, no ratio */
    assert_int_equal(json_integer_value(json_object_get(k, "thermal_observed")), 0);
    assert_true(json_is_null(json_object_get(k, "thermal_rate")));
    assert_true(json_is_null(json_object_get(k, "thermal_ratio")));
    json_decref(j);
    stop();
}

static void cameras_and_health_json(void **state)
{
    (void)state;
    start(NULL);
    json_t *j = get_json("/api/cameras");
    json_t *cs = json_object_get(j, "cameras");
    assert_int_equal(json_array_size(cs), 2);
    json_t *c = json_array_get(cs, 1);
    assert_string_equal(json_string_value(json_object_get(c, "id")), "t0");
    assert_string_equal(json_string_value(json_object_get(c, "modality")), "thermal");
    assert_int_equal(json_integer_value(json_object_get(c, "frames")), 2);
    assert_int_equal(json_integer_value(json_object_get(c, "drops")), 2);
    assert_float_equal(json_number_value(json_object_get(c, "hfov_deg")), 90, 1e-6);
    /* the camera looks down its z axis: forward is world (0, 0, 1) for the identity */
    assert_float_equal(json_number_value(json_array_get(json_object_get(c, "fwd"), 2)), 1, 1e-9);
    assert_float_equal(json_number_value(json_object_get(json_array_get(cs, 0), "sync_error_ms")),
                       1, 1e-9);
    json_decref(j);

    j = get_json("/api/health");
    assert_int_equal(json_integer_value(json_object_get(j, "frame_sets")), 4);
    assert_int_equal(json_integer_value(json_object_get(j, "tracks_confirmed_total")), 2);
    assert_true(json_is_true(json_object_get(j, "running")));
    json_t *lat = json_object_get(j, "latency_ms");
    assert_float_equal(json_number_value(json_object_get(lat, "voting")), 2, 1e-9);
    assert_float_equal(json_number_value(json_object_get(lat, "total")), 4, 1e-9);
    assert_true(json_array_size(json_object_get(j, "history")) >= 1);
    json_decref(j);
    stop();
}

static void alerts_reach_the_log(void **state)
{
    (void)state;
    start(NULL);
    vt_monitor_alert a = {.t = 1.5,
                          .kind = "zone",
                          .raised = true,
                          .rule = "airfield",
                          .track = 7,
                          .pos = vt_v3(1, 2, 3),
                          .message = "track 7 entered \"airfield\"\n"};
    vt_monitor_add_alert(mon, &a);
    json_t *j = get_json("/api/alerts");
    json_t *e = json_array_get(json_object_get(j, "alerts"), 0);
    assert_non_null(e);
    assert_string_equal(json_string_value(json_object_get(e, "rule")), "airfield");
    assert_int_equal(json_integer_value(json_object_get(e, "track")), 7);
    assert_string_equal(json_string_value(json_object_get(e, "message")),
                        "track 7 entered \"airfield\"\n");
    json_decref(j);
    assert_int_equal(vt_monitor_counts_get(mon).alerts, 1);
    stop();
}

static void token_is_required_on_every_route(void **state)
{
    (void)state;
    start("s3cret-token");
    const char *paths[] = {"/", "/app.js", "/api/tracks", "/api/health", "/metrics", "/events"};
    for (int i = 0; i < 6; i++) {
        reply r = get(paths[i]);
        assert_int_equal(r.status, 401);
        assert_true(has_header(&r, "WWW-Authenticate: Bearer"));
        reply_free(&r);
    }
    reply r = request("GET", "/api/tracks", "Authorization: Bearer s3cret-tokeX");
    assert_int_equal(r.status, 401);
    reply_free(&r);
    r = request("GET", "/api/tracks", "Authorization: Bearer s3cret-token-longer");
    assert_int_equal(r.status, 401);
    reply_free(&r);
    r = request("GET", "/api/tracks", "Authorization: Bearer s3cret-token");
    assert_int_equal(r.status, 200);
    reply_free(&r);
    /* the browser: ?token= once, then the cookie */
    r = get("/?token=s3cret-token");
    assert_int_equal(r.status, 303);
    assert_true(has_header(&r, "Set-Cookie: vt_token=s3cret-token;"));
    assert_true(has_header(&r, "HttpOnly"));
    assert_true(has_header(&r, "Location: /"));
    reply_free(&r);
    r = request("GET", "/api/tracks", "Cookie: vt_token=s3cret-token");
    assert_int_equal(r.status, 200);
    reply_free(&r);
    r = get("/?token=wrong");
    assert_int_equal(r.status, 401);
    reply_free(&r);
    stop();
}

static void path_traversal_is_refused(void **state)
{
    (void)state;
    start(NULL);
    const char *paths[] = {"/../etc/passwd",
                           "/%2e%2e/etc/passwd",
                           "/%2E%2E/%2E%2E/etc/passwd",
                           "/..%2fetc%2fpasswd",
                           "/%2e%2e%2fetc%2fpasswd",
                           "/%252e%252e/etc/passwd",
                           "/%252e%252e%252fetc%252fpasswd",
                           "/api/../metrics",
                           "/.%2e/app.js",
                           "//etc/passwd",
                           "/app.js%00.html",
                           "/..\\etc\\passwd",
                           "/web/app.js",
                           "/index.html/"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        reply r = get(paths[i]);
        if (r.status != 400 && r.status != 404)
            print_error("%s answered %ld\n", paths[i], r.status);
        assert_true(r.status == 400 || r.status == 404);
        assert_null(strstr(r.body, "root:"));
        reply_free(&r);
    }
    stop();
}

static void oversized_headers_and_other_methods_are_refused(void **state)
{
    (void)state;
    start(NULL);
    size_t n = 64 * 1024;
    char *big = malloc(n + 16);
    strcpy(big, "X-Big: ");
    memset(big + 7, 'a', n);
    big[n + 7] = '\0';
    reply r = request("GET", "/api/tracks", big);
    assert_true(r.status == 431 || r.status == 413 || r.status == 400 || r.status == 0);
    reply_free(&r);
    free(big);
    const char *methods[] = {"POST", "PUT", "DELETE", "OPTIONS", "TRACE"};
    for (int i = 0; i < 5; i++) {
        r = request(methods[i], "/api/tracks", NULL);
        assert_int_equal(r.status, 405);
        assert_true(has_header(&r, "Allow: GET, HEAD"));
        reply_free(&r);
    }
    r = get("/api/tracks"); /* the server lives on */
    assert_int_equal(r.status, 200);
    reply_free(&r);
    stop();
}

/* An /events client on a thread: stops after `want` state events. */
typedef struct sse_client {
    int port, want;
    atomic_int states, alerts; /* written by the client's thread, read by the test's */
    grow text;
} sse_client;

static size_t sse_write(char *p, size_t size, size_t n, void *user)
{
    sse_client *c = user;
    size_t add = grow_cb(p, size, n, &c->text);
    int states = 0, alerts = 0;
    for (const char *s = c->text.s; (s = strstr(s, "event: ")); s++) {
        if (strncmp(s, "event: state\ndata: {", 20) == 0)
            states++;
        if (strncmp(s, "event: alerts\ndata: [", 21) == 0)
            alerts++;
    }
    atomic_store(&c->states, states);
    atomic_store(&c->alerts, alerts);
    return states >= c->want ? 0 : add; /* 0 ends the transfer */
}

static void *sse_run(void *arg)
{
    sse_client *c = arg;
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/events", c->port);
    CURL *h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 120L); /* a hang, not speed */
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sse_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
    curl_easy_perform(h);
    curl_easy_cleanup(h);
    return NULL;
}

static void events_deliver_frame_sets_and_alerts(void **state)
{
    (void)state;
    start(NULL);
    sse_client c = {.port = vt_monitor_server_port(srv), .want = 5};
    pthread_t th;
    pthread_create(&th, NULL, sse_run, &c);
    struct timespec pause = {0, 30 * 1000 * 1000};
    vt_monitor_alert a = {.kind = "fps", .raised = true, .rule = "slow", .message = "slow"};
    /* Frame sets go on until the client has seen enough, however late it connects. */
    for (int n = 4; n < 4000 && atomic_load(&c.states) < c.want; n++) {
        vt_pipeline_result r = result(n);
        assert_int_equal(vt_monitor_publish(mon, &r), VT_OK);
        if (n == 6)
            vt_monitor_add_alert(mon, &a);
        nanosleep(&pause, NULL);
    }
    pthread_join(th, NULL);
    assert_true(c.states >= 5);
    assert_true(c.alerts >= 1);
    assert_non_null(strstr(c.text.s, "\"rule\":\"slow\""));
    free(c.text.s);
    stop();
}

static void events_end_when_the_server_stops(void **state)
{
    (void)state;
    start(NULL);
    sse_client c = {.port = vt_monitor_server_port(srv), .want = 1000};
    pthread_t th;
    pthread_create(&th, NULL, sse_run, &c);
    /* The first state comes on connecting; then the server stops. */
    struct timespec pause = {0, 10 * 1000 * 1000};
    for (int i = 0; i < 6000 && atomic_load(&c.states) < 1; i++) /* a hang: 60 s */
        nanosleep(&pause, NULL);
    stop(); /* ends the stream: the client returns */
    pthread_join(th, NULL);
    assert_true(c.states >= 1);
    free(c.text.s);
}

static void metrics_follow_the_prometheus_format(void **state)
{
    (void)state;
    start(NULL);
    reply r = get("/metrics");
    assert_int_equal(r.status, 200);
    assert_true(has_header(&r, "Content-Type: text/plain; version=0.0.4"));
    const char *want[] = {
        "# TYPE voxtrack_frame_sets_total counter\n",
        "voxtrack_frame_sets_total 4\n",
        "voxtrack_camera_frames_total{camera=\"t0\"} 2\n",
        "voxtrack_camera_drops_total{camera=\"t0\"} 2\n",
        "voxtrack_detections_total 8\n",
        "# TYPE voxtrack_tracks gauge\n",
        "voxtrack_tracks 3\n",
        "voxtrack_tracks_confirmed_total 2\n",
        "# TYPE voxtrack_stage_seconds histogram\n",
        "voxtrack_stage_seconds_bucket{stage=\"voting\",le=\"0.001\"} 0\n",
        "voxtrack_stage_seconds_bucket{stage=\"voting\",le=\"0.0025\"} 4\n",
        "voxtrack_stage_seconds_bucket{stage=\"voting\",le=\"+Inf\"} 4\n",
        "voxtrack_stage_seconds_count{stage=\"voting\"} 4\n",
        "voxtrack_frame_set_seconds_bucket{le=\"+Inf\"} 4\n",
        "voxtrack_frame_set_seconds_sum 0.016\n",
        "# TYPE voxtrack_alerts_total counter\n",
        "# TYPE process_start_time_seconds gauge\n",
        "voxtrack_build_info{version=\"",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        if (!strstr(r.body, want[i]))
            print_error("missing: %s\n%s", want[i], r.body);
        assert_non_null(strstr(r.body, want[i]));
    }
    /* every family has HELP before TYPE */
    for (const char *s = r.body; (s = strstr(s, "# TYPE ")); s++) {
        char name[128];
        sscanf(s + 7, "%127s", name);
        char help[160];
        snprintf(help, sizeof help, "# HELP %s ", name);
        assert_non_null(strstr(r.body, help));
    }
    reply_free(&r);
    stop();
}

static void bad_addresses_are_named(void **state)
{
    (void)state;
    vt_monitor *m;
    assert_int_equal(vt_monitor_new(NULL, &rig, &m), VT_OK);
    vt_monitor_server_opts so = vt_monitor_server_opts_default();
    vt_monitor_server *s = NULL;
    so.listen = "127.0.0.1:99999";
    assert_int_equal(vt_monitor_server_start(m, &so, &s), VT_EINVAL);
    assert_non_null(strstr(vt_last_error(), "127.0.0.1:99999"));
    so.listen = "no.such.host.invalid:80";
    assert_int_equal(vt_monitor_server_start(m, &so, &s), VT_EINVAL);
    so.listen = "127.0.0.1:0";
    so.token = "has space";
    assert_int_equal(vt_monitor_server_start(m, &so, &s), VT_EINVAL);
    so.token = NULL;
    assert_int_equal(vt_monitor_server_start(m, &so, &s), VT_OK);
    char taken[64];
    snprintf(taken, sizeof taken, "127.0.0.1:%d", vt_monitor_server_port(s));
    vt_monitor_server *s2 = NULL;
    so.listen = taken;
    assert_int_equal(vt_monitor_server_start(m, &so, &s2), VT_EIO);
    assert_non_null(strstr(vt_last_error(), "in use"));
    vt_monitor_server_stop(s);
    /* a result with more cameras than the rig */
    vt_pipeline_result r = result(0);
    r.ncameras = 3;
    assert_int_equal(vt_monitor_publish(m, &r), VT_EMISMATCH);
    char *text;
    size_t len;
    assert_int_equal(vt_monitor_render(m, "nothing", &text, &len), VT_EINVAL);
    vt_monitor_free(m);
}

static void numbers_are_formatted_without_printf(void **state)
{
    (void)state;
    struct {
        double v;
        int digits;
        const char *want;
    } cases[] = {{0, 2, "0.00"},          {-0.001, 2, "0.00"},       {1.5, 0, "2"},
                 {-12.3456, 2, "-12.35"}, {123456.7, 1, "123456.7"}, {0.04, 1, "0.0"},
                 {-7, 3, "-7.000"},       {1e13, 2, "1e+13"},        {NAN, 2, "null"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        vt__buf b = {0};
        vt__buf_fixed(&b, cases[i].v, cases[i].digits);
        assert_string_equal(b.s, cases[i].want);
        free(b.s);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dashboard_files_are_served_with_security_headers),
        cmocka_unit_test(tracks_json_has_every_field),
        cmocka_unit_test(tracks_json_has_the_thermal_confirmation),
        cmocka_unit_test(cameras_and_health_json),
        cmocka_unit_test(alerts_reach_the_log),
        cmocka_unit_test(token_is_required_on_every_route),
        cmocka_unit_test(path_traversal_is_refused),
        cmocka_unit_test(oversized_headers_and_other_methods_are_refused),
        cmocka_unit_test(events_deliver_frame_sets_and_alerts),
        cmocka_unit_test(events_end_when_the_server_stops),
        cmocka_unit_test(metrics_follow_the_prometheus_format),
        cmocka_unit_test(bad_addresses_are_named),
        cmocka_unit_test(numbers_are_formatted_without_printf),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
