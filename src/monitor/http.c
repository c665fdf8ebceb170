/*
 * src/monitor/http.c - the monitor's HTTP server on libmicrohttpd: the
 * embedded dashboard, the JSON endpoints, Server-Sent Events and /metrics.
 *
 * One thread per connection (MHD_USE_THREAD_PER_CONNECTION) with a limit on
 * connections: an event stream is then a reader callback that may block on
 * the monitor's condition variable until the next frame set (or a keep-alive
 * after a second), which keeps /events simple and costs the pipeline only a
 * broadcast. The listening socket is bound here, not by MHD, so that a bad
 * address or a port in use is reported with its reason.
 *
 * Hardening: a fixed table of routes (anything else is 404; a path with
 * "..", "//", "\", "%" or control characters after MHD's percent-decoding is
 * 400, which also covers double encoding); GET and HEAD only (405); the
 * request line and headers must fit MHD_OPTION_CONNECTION_MEMORY_LIMIT
 * (else MHD answers 431/414); with a token, every route needs it (401), and
 * the comparison takes the same time wherever the strings differ. Every
 * response carries Content-Security-Policy default-src 'self',
 * X-Content-Type-Options nosniff, X-Frame-Options DENY and Referrer-Policy
 * no-referrer.
 */
#include "monitor/monitor_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct vt_monitor_server {
    vt_monitor *m;
    vt_monitor_server_opts opts;
    char token[256];
    size_t token_len;
    char addr[64];
    int port;
    struct MHD_Daemon *d;
};

vt_monitor_server_opts vt_monitor_server_opts_default(void)
{
    return (vt_monitor_server_opts){.listen = "127.0.0.1:8080",
                                    .token = NULL,
                                    .max_connections = 256,
                                    .header_limit = 16384,
                                    .event_interval_s = 0.05};
}

/* ---- listening socket ---- */

/* "ADDR:PORT", ":PORT" or "PORT" -> an IPv4 address (names resolved) and a port. */
static vt_status parse_listen(const char *spec, struct sockaddr_in *sa)
{
    char host[256] = "127.0.0.1";
    const char *colon = strrchr(spec, ':');
    const char *port_s = colon ? colon + 1 : spec;
    if (colon && colon > spec) {
        size_t n = (size_t)(colon - spec);
        if (n >= sizeof host)
            return vt__error(VT_EINVAL, "listen address '%s': the host is too long", spec);
        memcpy(host, spec, n);
        host[n] = '\0';
    }
    char *end;
    errno = 0;
    long port = strtol(port_s, &end, 10);
    if (!*port_s || *end || errno || port < 0 || port > 65535)
        return vt__error(VT_EINVAL, "listen address '%s': the port must be a number in [0, 65535]",
                         spec);
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &sa->sin_addr) == 1)
        return VT_OK;
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res = NULL;
    int rc = getaddrinfo(host, NULL, &hints, &res);
    if (rc != 0 || !res)
        return vt__error(VT_EINVAL, "listen address '%s': cannot resolve '%s': %s", spec, host,
                         gai_strerror(rc));
    sa->sin_addr = ((struct sockaddr_in *)res->ai_addr)->sin_addr;
    freeaddrinfo(res);
    return VT_OK;
}

static vt_status open_listener(const char *spec, int backlog, int *fd_out, char *addr,
                               size_t addr_size, int *port)
{
    struct sockaddr_in sa;
    vt_status st = parse_listen(spec, &sa);
    if (st)
        return st;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return vt__error(VT_EIO, "listen address '%s': socket: %s", spec, strerror(errno));
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, backlog) != 0) {
        int e = errno;
        close(fd);
        return vt__error(VT_EIO, "listen address '%s': %s", spec, strerror(e));
    }
    socklen_t len = sizeof sa;
    getsockname(fd, (struct sockaddr *)&sa, &len);
    inet_ntop(AF_INET, &sa.sin_addr, addr, (socklen_t)addr_size);
    *port = ntohs(sa.sin_port);
    *fd_out = fd;
    return VT_OK;
}

/* ---- responses ---- */

static enum MHD_Result send_response(struct MHD_Connection *c, unsigned status,
                                     struct MHD_Response *r, const char *type, bool no_store)
{
    if (!r)
        return MHD_NO;
    if (type)
        MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Content-Security-Policy", "default-src 'self'");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    if (no_store)
        MHD_add_response_header(r, "Cache-Control", "no-store");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result send_text(struct MHD_Connection *c, unsigned status, const char *text)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
    return send_response(c, status, r, "text/plain; charset=utf-8", true);
}

static enum MHD_Result send_doc(vt_monitor_server *s, struct MHD_Connection *c, const char *doc,
                                const char *type)
{
    char *text;
    size_t len;
    if (vt_monitor_render(s->m, doc, &text, &len) != VT_OK)
        return send_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
    struct MHD_Response *r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (!r)
        free(text);
    return send_response(c, MHD_HTTP_OK, r, type, true);
}

static const char *content_type(const char *path)
{
    const char *dot = strrchr(path, '.');
    if (!dot)
        return "application/octet-stream";
    if (strcmp(dot, ".html") == 0)
        return "text/html; charset=utf-8";
    if (strcmp(dot, ".js") == 0)
        return "text/javascript; charset=utf-8";
    if (strcmp(dot, ".css") == 0)
        return "text/css; charset=utf-8";
    if (strcmp(dot, ".svg") == 0)
        return "image/svg+xml";
    return "application/octet-stream";
}

static const vt__asset *find_asset(const char *path)
{
    for (size_t i = 0; i < vt__web_asset_count; i++)
        if (strcmp(vt__web_assets[i].path, path) == 0)
            return &vt__web_assets[i];
    return NULL;
}

/* ---- Server-Sent Events ---- */

typedef struct sse {
    vt_monitor_server *s;
    uint64_t version, alert_seq;
    double last_send;
    vt__buf out; /* the event being sent */
    size_t off;
} sse;

static void sleep_s(double s)
{
    if (s <= 0)
        return;
    struct timespec ts = {.tv_sec = (time_t)s, .tv_nsec = (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

/*
 * Waits (m->mu held) until the monitor changed, the server stops, or
 * `timeout` seconds passed. Returns true when something changed.
 */
static bool wait_change(vt_monitor *m, uint64_t version, double timeout)
{
    struct timespec dl;
    clock_gettime(CLOCK_MONOTONIC, &dl);
    double t = (double)dl.tv_sec + 1e-9 * (double)dl.tv_nsec + timeout;
    dl.tv_sec = (time_t)t;
    dl.tv_nsec = (long)((t - (double)dl.tv_sec) * 1e9);
    while (!m->closing && m->version == version)
        if (pthread_cond_timedwait(&m->changed, &m->mu, &dl) == ETIMEDOUT)
            break;
    return m->version != version;
}

/* Fills e->out with the next events: new alerts, then the state; or a keep-alive. */
static bool sse_next(sse *e)
{
    vt_monitor *m = e->s->m;
    sleep_s(e->last_send + e->s->opts.event_interval_s - vt__now());
    e->out.len = 0;
    e->off = 0;
    pthread_mutex_lock(&m->mu);
    bool changed = wait_change(m, e->version, 1.0);
    bool closing = m->closing;
    if (changed && m->alert_seq > e->alert_seq) {
        vt__buf_add(&e->out, "event: alerts\ndata: ", 20);
        vt__monitor_alerts_json(m, e->alert_seq, &e->out);
        vt__buf_add(&e->out, "\n\n", 2);
        e->alert_seq = m->alert_seq;
    }
    e->version = m->version;
    pthread_mutex_unlock(&m->mu);
    if (closing)
        return false;
    if (changed) {
        char *text;
        size_t len;
        if (vt_monitor_render(m, "state", &text, &len) != VT_OK)
            return false;
        vt__buf_add(&e->out, "event: state\ndata: ", 19);
        vt__buf_add(&e->out, text, len);
        vt__buf_add(&e->out, "\n\n", 2);
        free(text);
    } else {
        vt__buf_add(&e->out, ": keep-alive\n\n", 14);
    }
    e->last_send = vt__now();
    return !e->out.err;
}

static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    sse *e = cls;
    if (e->off == e->out.len && !sse_next(e))
        return MHD_CONTENT_READER_END_OF_STREAM;
    size_t n = e->out.len - e->off < max ? e->out.len - e->off : max;
    memcpy(buf, e->out.s + e->off, n);
    e->off += n;
    return (ssize_t)n;
}

static void sse_free(void *cls)
{
    sse *e = cls;
    pthread_mutex_lock(&e->s->m->mu);
    e->s->m->sse_clients--;
    pthread_mutex_unlock(&e->s->m->mu);
    free(e->out.s);
    free(e);
}

static enum MHD_Result send_events(vt_monitor_server *s, struct MHD_Connection *c)
{
    sse *e = calloc(1, sizeof *e);
    if (!e)
        return send_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "out of memory\n");
    e->s = s;
    e->version = UINT64_MAX; /* the first call sends the state at once */
    struct MHD_Response *r =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, sse_read, e, sse_free);
    if (!r) {
        free(e);
        return MHD_NO;
    }
    pthread_mutex_lock(&s->m->mu);
    s->m->sse_clients++;
    pthread_mutex_unlock(&s->m->mu);
    MHD_add_response_header(r, "X-Accel-Buffering", "no");
    return send_response(c, MHD_HTTP_OK, r, "text/event-stream", true);
}

/* ---- authentication ---- */

/* Equal strings? Time depends on the lengths only, not on where they differ. */
static bool same_secret(const char *a, size_t alen, const char *b, size_t blen)
{
    volatile unsigned char diff = (unsigned char)(alen != blen);
    for (size_t i = 0; i < blen; i++)
        diff |= (unsigned char)(b[i] ^ (alen ? a[i % alen] : 0));
    return diff == 0;
}

typedef enum auth { AUTH_NO, AUTH_YES, AUTH_QUERY } auth;

static auth check_token(vt_monitor_server *s, struct MHD_Connection *c)
{
    if (!s->token_len)
        return AUTH_YES;
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    if (h && strncmp(h, "Bearer ", 7) == 0 &&
        same_secret(s->token, s->token_len, h + 7, strlen(h + 7)))
        return AUTH_YES;
    const char *k = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, "vt_token");
    if (k && same_secret(s->token, s->token_len, k, strlen(k)))
        return AUTH_YES;
    const char *q = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "token");
    if (q && same_secret(s->token, s->token_len, q, strlen(q)))
        return AUTH_QUERY;
    return AUTH_NO;
}

static enum MHD_Result send_unauthorized(struct MHD_Connection *c)
{
    const char *text = "401 unauthorized: this server needs 'Authorization: Bearer TOKEN' "
                       "(or open /?token=TOKEN once in a browser)\n";
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
    if (r)
        MHD_add_response_header(r, "WWW-Authenticate", "Bearer realm=\"voxtrack\"");
    return send_response(c, MHD_HTTP_UNAUTHORIZED, r, "text/plain; charset=utf-8", true);
}

/* The browser's first visit with ?token=: keep it in a cookie and drop it from the address. */
static enum MHD_Result send_token_cookie(vt_monitor_server *s, struct MHD_Connection *c)
{
    char cookie[400];
    snprintf(cookie, sizeof cookie, "vt_token=%s; Path=/; HttpOnly; SameSite=Strict", s->token);
    struct MHD_Response *r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (r) {
        MHD_add_response_header(r, "Set-Cookie", cookie);
        MHD_add_response_header(r, "Location", "/");
    }
    return send_response(c, MHD_HTTP_SEE_OTHER, r, NULL, true);
}

/* ---- routing ---- */

static bool safe_path(const char *url)
{
    if (url[0] != '/')
        return false;
    for (const char *p = url; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch < 0x20 || ch >= 0x7f || ch == '\\' || ch == '%')
            return false;
    }
    return !strstr(url, "..") && !strstr(url, "//");
}

static int hex_digit(char ch)
{
    return ch >= '0' && ch <= '9'   ? ch - '0'
           : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
           : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                    : -1;
}

/*
 * MHD's percent-decoding, except that an encoded NUL becomes 0x01: MHD's
 * own would cut "/app.js%00.html" to "/app.js"; this way safe_path sees a
 * control character and refuses the request.
 */
static size_t unescape(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls;
    (void)c;
    char *w = s;
    for (const char *r = s; *r; r++) {
        int hi, lo;
        if (*r == '%' && (hi = hex_digit(r[1])) >= 0 && (lo = hex_digit(r[2])) >= 0) {
            int v = hi * 16 + lo;
            *w++ = (char)(v ? v : 1);
            r += 2;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
    return (size_t)(w - s);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **con_cls)
{
    (void)version;
    (void)upload_data;
    (void)con_cls;
    vt_monitor_server *s = cls;
    vt__monitor_count_request(s->m);
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        *upload_data_size = 0;
        struct MHD_Response *r = MHD_create_response_from_buffer(
            strlen("405 method not allowed: GET or HEAD only\n"),
            (void *)"405 method not allowed: GET or HEAD only\n", MHD_RESPMEM_PERSISTENT);
        if (r)
            MHD_add_response_header(r, "Allow", "GET, HEAD");
        return send_response(c, MHD_HTTP_METHOD_NOT_ALLOWED, r, "text/plain; charset=utf-8", true);
    }
    if (!safe_path(url))
        return send_text(c, MHD_HTTP_BAD_REQUEST, "400 bad request: malformed path\n");
    auth a = check_token(s, c);
    if (a == AUTH_NO)
        return send_unauthorized(c);
    if (a == AUTH_QUERY && (strcmp(url, "/") == 0 || strcmp(url, "/index.html") == 0))
        return send_token_cookie(s, c);

    if (strcmp(url, "/") == 0)
        url = "/index.html";
    if (strcmp(url, "/api/tracks") == 0)
        return send_doc(s, c, "tracks", "application/json");
    if (strcmp(url, "/api/cameras") == 0)
        return send_doc(s, c, "cameras", "application/json");
    if (strcmp(url, "/api/health") == 0)
        return send_doc(s, c, "health", "application/json");
    if (strcmp(url, "/api/alerts") == 0)
        return send_doc(s, c, "alerts", "application/json");
    if (strcmp(url, "/api/state") == 0)
        return send_doc(s, c, "state", "application/json");
    if (strcmp(url, "/metrics") == 0)
        return send_doc(s, c, "metrics", "text/plain; version=0.0.4; charset=utf-8");
    if (strcmp(url, "/events") == 0)
        return send_events(s, c);
    const vt__asset *as = find_asset(url);
    if (as) {
        struct MHD_Response *r =
            MHD_create_response_from_buffer(as->size, (void *)as->data, MHD_RESPMEM_PERSISTENT);
        return send_response(c, MHD_HTTP_OK, r, content_type(as->path), false);
    }
    return send_text(c, MHD_HTTP_NOT_FOUND, "404 not found\n");
}

/* ---- start and stop ---- */

vt_status vt_monitor_server_start(vt_monitor *m, const vt_monitor_server_opts *opts,
                                  vt_monitor_server **out)
{
    *out = NULL;
    vt_monitor_server_opts o = opts ? *opts : vt_monitor_server_opts_default();
    if (!o.listen || !*o.listen)
        o.listen = "127.0.0.1:8080";
    if (o.max_connections < 1 || o.header_limit < 1024 || !(o.event_interval_s >= 0))
        return vt__error(VT_EINVAL, "monitor server: max_connections must be >= 1, "
                                    "header_limit >= 1024 bytes, event_interval_s >= 0");
    size_t tlen = o.token ? strlen(o.token) : 0;
    vt_monitor_server *s = calloc(1, sizeof *s);
    if (!s)
        return vt__error(VT_ENOMEM, "monitor server: out of memory");
    if (tlen >= sizeof s->token) {
        free(s);
        return vt__error(VT_EINVAL, "monitor server: the token is longer than %zu characters",
                         sizeof s->token - 1);
    }
    for (size_t i = 0; i < tlen; i++) {
        unsigned char ch = (unsigned char)o.token[i];
        if (ch <= 0x20 || ch >= 0x7f || ch == ';' || ch == ',' || ch == '"' || ch == '\\') {
            free(s);
            return vt__error(VT_EINVAL, "monitor server: the token must be printable ASCII "
                                        "without spaces, ';', ',', '\"' or '\\'");
        }
    }
    memcpy(s->token, o.token ? o.token : "", tlen + 1);
    s->token_len = tlen;
    s->m = m;
    s->opts = o;
    int fd = -1;
    vt_status st = open_listener(o.listen, 128, &fd, s->addr, sizeof s->addr, &s->port);
    if (st) {
        free(s);
        return st;
    }
    pthread_mutex_lock(&m->mu);
    m->closing = false;
    pthread_mutex_unlock(&m->mu);
    s->d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL, 0, NULL,
        NULL, handle, s, MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned int)o.max_connections, MHD_OPTION_CONNECTION_MEMORY_LIMIT, o.header_limit,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30, MHD_OPTION_THREAD_STACK_SIZE,
        (size_t)(512 * 1024), MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL, MHD_OPTION_END);
    if (!s->d) {
        close(fd);
        free(s);
        return vt__error(VT_EIO, "monitor server: libmicrohttpd did not start on '%s'", o.listen);
    }
    *out = s;
    return VT_OK;
}

int vt_monitor_server_port(const vt_monitor_server *s)
{
    return s->port;
}

const char *vt_monitor_server_addr(const vt_monitor_server *s)
{
    return s->addr;
}

void vt_monitor_server_stop(vt_monitor_server *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->m->mu);
    s->m->closing = true;
    pthread_cond_broadcast(&s->m->changed);
    pthread_mutex_unlock(&s->m->mu);
    MHD_stop_daemon(s->d);
    free(s);
}
