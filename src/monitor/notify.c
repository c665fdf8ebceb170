/*
 * src/monitor/notify.c - the notification thread: alert events out to
 * webhooks (JSON POST), e-mail (SMTP, RFC 5322 messages) and SMS gateways
 * (JSON or form POST), all through libcurl.
 *
 * The pipeline's thread only copies an event into a bounded ring under a
 * mutex that the notification thread never holds across network I/O, so
 * vt_alerts_update never waits for the network; a full ring drops its
 * oldest event (counted). Each delivery has a timeout per attempt and is
 * retried with exponential backoff on network errors, HTTP 5xx and 429.
 * Transfers run on a curl multi handle polled in short slices, so that
 * shutdown can abandon one at once (curl_multi_wakeup) instead of waiting
 * for its timeout: vt__notifier_free waits a bounded time for the queue to
 * drain, then abandons and counts what is left as dropped. When quiet, a
 * failed delivery is not logged as it fails; one line at the end sums the
 * failures up.
 */
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "core/internal.h"
#include "monitor/alert_internal.h"

struct vt__notifier {
    const vt__channel *ch;
    int nch;
    vt__notify_counts *counts;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* events queued, stopping, abandon, done (CLOCK_MONOTONIC) */
    vt_alert_event *q;
    int cap, head, count;
    bool stopping, done;
    atomic_bool abandon;
    atomic_bool quiet;      /* failures are summed up at the end, not logged one by one */
    char last_failure[512]; /* the last failed delivery (notification thread; read after join) */
    CURLM *multi;
    pthread_t thread;
};

typedef enum outcome { SENT = 0, FAILED, RETRY, ABANDONED } outcome;

/* ---- message formats --------------------------------------------------------- */

void vt__iso8601(double wall, char *buf, size_t size)
{
    time_t sec = (time_t)floor(wall);
    int ms = (int)((wall - floor(wall)) * 1000.0);
    struct tm tm;
    gmtime_r(&sec, &tm);
    char base[32];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, size, "%s.%03dZ", base, ms > 999 ? 999 : ms);
}

char *vt__alert_event_json(const vt_alert_event *e)
{
    char when[40];
    vt__iso8601(e->wall, when, sizeof when);
    json_t *o =
        json_pack("{sI ss ss sb sb ss sf sf ss}", "seq", (json_int_t)e->seq, "rule", e->rule,
                  "kind", vt_alert_kind_name(e->kind), "raised", e->raised, "repeat", e->repeat,
                  "time", when, "t", e->t, "value", e->value, "message", e->message);
    if (!o)
        return NULL;
    bool zone = e->kind == VT_ALERT_ZONE;
    json_object_set_new(o, "track", zone ? json_integer((json_int_t)e->track) : json_null());
    json_object_set_new(o, "camera", *e->camera ? json_string(e->camera) : json_null());
    json_object_set_new(o, "position",
                        zone ? json_pack("[fff]", e->pos.x, e->pos.y, e->pos.z) : json_null());
    json_object_set_new(o, "stalled_s", json_real(e->stalled));
    char *text = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(10));
    json_decref(o);
    return text;
}

static const char *state_name(const vt_alert_event *e)
{
    return !e->raised ? "CLEARED" : e->repeat ? "STILL ACTIVE" : "RAISED";
}

size_t vt__alert_email(const vt_alert_event *e, const vt__channel *c, char *buf, size_t size)
{
    char date[64], when[40], to[1024] = "";
    time_t sec = (time_t)floor(e->wall);
    struct tm tm;
    gmtime_r(&sec, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
    vt__iso8601(e->wall, when, sizeof when);
    for (int i = 0; i < c->nto; i++) {
        size_t len = strlen(to);
        snprintf(to + len, sizeof to - len, "%s<%s>", i ? ", " : "", c->to[i]);
    }
    int n = snprintf(
        buf, size,
        "Date: %s\r\nFrom: voxtrack <%s>\r\nTo: %s\r\nSubject: [voxtrack] %s %s: %.180s\r\n"
        "Message-ID: <voxtrack.%" PRIu64 ".%lld.%ld@%s>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        "%s\r\n\r\nrule: %s\r\nkind: %s\r\nstate: %s\r\ntrack: %" PRIu64
        "\r\ncamera: %s\r\nvalue: %.3f\r\nposition: %.2f %.2f %.2f (ENU metres)\r\n"
        "time: %s\r\npipeline time: %.3f s\r\n",
        date, c->from, to, state_name(e), e->rule, e->message, e->seq, (long long)(e->wall * 1e3),
        (long)getpid(), strchr(c->from, '@') ? strchr(c->from, '@') + 1 : "localhost", e->message,
        e->rule, vt_alert_kind_name(e->kind), state_name(e), e->track, *e->camera ? e->camera : "-",
        e->value, e->pos.x, e->pos.y, e->pos.z, when, e->t);
    return n < 0 ? 0 : (size_t)n < size ? (size_t)n : size - 1;
}

void vt__alert_template(const char *tmpl, const vt_alert_event *e, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = '\0';
    for (const char *p = tmpl; *p && n + 1 < size;) {
        char val[300];
        const char *end = *p == '{' ? strchr(p, '}') : NULL;
        size_t len = end ? (size_t)(end - p - 1) : 0;
        val[0] = '\0';
#define VT__IS(name) (len == strlen(name) && strncmp(p + 1, name, len) == 0)
        if (!end)
            val[0] = '\0';
        else if (VT__IS("rule"))
            snprintf(val, sizeof val, "%s", e->rule);
        else if (VT__IS("kind"))
            snprintf(val, sizeof val, "%s", vt_alert_kind_name(e->kind));
        else if (VT__IS("state"))
            snprintf(val, sizeof val, "%s", state_name(e));
        else if (VT__IS("track"))
            snprintf(val, sizeof val, "%" PRIu64, e->track);
        else if (VT__IS("camera"))
            snprintf(val, sizeof val, "%s", e->camera);
        else if (VT__IS("value"))
            snprintf(val, sizeof val, "%.1f", e->value);
        else if (VT__IS("time"))
            vt__iso8601(e->wall, val, sizeof val);
        else if (VT__IS("message"))
            snprintf(val, sizeof val, "%s", e->message);
        else
            end = NULL;
#undef VT__IS
        if (!end) { /* a plain character, or a name we do not know: copied */
            buf[n++] = *p++;
            buf[n] = '\0';
            continue;
        }
        n += (size_t)snprintf(buf + n, size - n, "%s", val);
        if (n >= size)
            n = size - 1;
        p = end + 1;
    }
}

/* ---- transfers ----------------------------------------------------------------- */

static size_t discard(char *p, size_t size, size_t nmemb, void *user)
{
    (void)p;
    (void)user;
    return size * nmemb;
}

typedef struct upload {
    const char *p;
    size_t left;
} upload;

static size_t read_upload(char *dst, size_t size, size_t nmemb, void *user)
{
    upload *u = user;
    size_t n = size * nmemb < u->left ? size * nmemb : u->left;
    memcpy(dst, u->p, n);
    u->p += n;
    u->left -= n;
    return n;
}

/* Runs one transfer on the multi handle; gives up at once when abandoned. */
static CURLcode perform(vt__notifier *n, CURL *h)
{
    CURLcode res = CURLE_OK;
    if (curl_multi_add_handle(n->multi, h) != CURLM_OK)
        return CURLE_FAILED_INIT;
    int running = 1;
    while (running) {
        if (atomic_load(&n->abandon)) {
            res = CURLE_ABORTED_BY_CALLBACK;
            break;
        }
        if (curl_multi_perform(n->multi, &running) != CURLM_OK) {
            res = CURLE_FAILED_INIT;
            break;
        }
        if (running)
            curl_multi_poll(n->multi, NULL, 0, 100, NULL);
    }
    int left;
    CURLMsg *m;
    while ((m = curl_multi_info_read(n->multi, &left)))
        if (m->msg == CURLMSG_DONE && m->easy_handle == h && res == CURLE_OK)
            res = m->data.result;
    curl_multi_remove_handle(n->multi, h);
    return res;
}

static void common_opts(CURL *h, const vt__channel *c)
{
    curl_easy_setopt(h, CURLOPT_URL, c->url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(c->timeout_s * 1e3));
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)(c->timeout_s * 1e3));
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "voxtrack-alerts");
}

/* One HTTP POST; RETRY for network errors, 5xx and 429, FAILED for other refusals. */
static outcome http_post(vt__notifier *n, const vt__channel *c, const char *body,
                         const char *content_type, char *err, size_t errsize)
{
    CURL *h = curl_easy_init();
    if (!h)
        return snprintf(err, errsize, "curl_easy_init failed"), RETRY;
    struct curl_slist *hdr = NULL, *tmp;
    char ct[96];
    snprintf(ct, sizeof ct, "Content-Type: %s", content_type);
    hdr = curl_slist_append(hdr, ct);
    for (int i = 0; hdr && i < c->nheaders; i++)
        if ((tmp = curl_slist_append(hdr, c->headers[i])))
            hdr = tmp;
    common_opts(h, c);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    CURLcode res = perform(n, h);
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(h);
    curl_slist_free_all(hdr);
    if (res == CURLE_ABORTED_BY_CALLBACK && atomic_load(&n->abandon))
        return ABANDONED;
    if (res != CURLE_OK)
        return snprintf(err, errsize, "%s", curl_easy_strerror(res)), RETRY;
    if (code >= 200 && code < 300)
        return SENT;
    snprintf(err, errsize, "HTTP status %ld", code);
    return code >= 500 || code == 429 ? RETRY : FAILED;
}

static outcome send_webhook(vt__notifier *n, const vt__channel *c, const vt_alert_event *e,
                            char *err, size_t errsize)
{
    char *body = vt__alert_event_json(e);
    if (!body)
        return snprintf(err, errsize, "out of memory"), RETRY;
    outcome o = http_post(n, c, body, "application/json", err, errsize);
    free(body);
    return o;
}

static outcome send_email(vt__notifier *n, const vt__channel *c, const vt_alert_event *e, char *err,
                          size_t errsize)
{
    char msg[4096], from[300];
    upload u = {msg, vt__alert_email(e, c, msg, sizeof msg)};
    CURL *h = curl_easy_init();
    if (!h)
        return snprintf(err, errsize, "curl_easy_init failed"), RETRY;
    struct curl_slist *rcpt = NULL, *tmp;
    for (int i = 0; i < c->nto; i++) {
        char to[300];
        snprintf(to, sizeof to, "<%s>", c->to[i]);
        if ((tmp = curl_slist_append(rcpt, to)))
            rcpt = tmp;
    }
    snprintf(from, sizeof from, "<%s>", c->from);
    common_opts(h, c);
    curl_easy_setopt(h, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, read_upload);
    curl_easy_setopt(h, CURLOPT_READDATA, &u);
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    /* smtp:// upgrades with STARTTLS when the server offers it (or must); smtps:// is TLS. */
    curl_easy_setopt(h, CURLOPT_USE_SSL,
                     c->starttls == 2   ? (long)CURLUSESSL_ALL
                     : c->starttls == 1 ? (long)CURLUSESSL_TRY
                                        : (long)CURLUSESSL_NONE);
    if (c->username)
        curl_easy_setopt(h, CURLOPT_USERNAME, c->username);
    if (c->password)
        curl_easy_setopt(h, CURLOPT_PASSWORD, c->password);
    CURLcode res = perform(n, h);
    curl_easy_cleanup(h);
    curl_slist_free_all(rcpt);
    if (res == CURLE_ABORTED_BY_CALLBACK && atomic_load(&n->abandon))
        return ABANDONED;
    if (res == CURLE_OK)
        return SENT;
    snprintf(err, errsize, "%s", curl_easy_strerror(res));
    /* A refused recipient or sender will be refused again. */
    return res == CURLE_LOGIN_DENIED || res == CURLE_SEND_FAIL_REWIND ? FAILED : RETRY;
}

/* One POST per recipient not yet reached (done[i]). */
static outcome send_sms(vt__notifier *n, const vt__channel *c, const vt_alert_event *e, bool *done,
                        char *err, size_t errsize)
{
    char text[1024];
    vt__alert_template(c->tmpl, e, text, sizeof text);
    outcome worst = SENT;
    for (int i = 0; i < c->nto; i++) {
        if (done[i])
            continue;
        char *body = NULL;
        if (c->form) {
            char *to = curl_easy_escape(NULL, c->to[i], 0), *tx = curl_easy_escape(NULL, text, 0);
            size_t len = (to ? strlen(to) : 0) + (tx ? strlen(tx) : 0) + 16;
            if (to && tx && (body = malloc(len)))
                snprintf(body, len, "to=%s&text=%s", to, tx);
            curl_free(to);
            curl_free(tx);
        } else {
            json_t *o = json_pack("{ss ss}", "to", c->to[i], "text", text);
            body = o ? json_dumps(o, JSON_COMPACT) : NULL;
            json_decref(o);
        }
        if (!body)
            return snprintf(err, errsize, "out of memory"), RETRY;
        outcome o = http_post(n, c, body,
                              c->form ? "application/x-www-form-urlencoded" : "application/json",
                              err, errsize);
        free(body);
        if (o == SENT)
            done[i] = true;
        else if (o == ABANDONED)
            return ABANDONED;
        else if (worst == SENT || o == RETRY)
            worst = o;
    }
    return worst;
}

/* ---- the thread ------------------------------------------------------------------ */

/* Sleeps until `until` (monotonic seconds) or abandonment; false when abandoned. */
static bool backoff_wait(vt__notifier *n, double until)
{
    struct timespec ts;
    double whole = floor(until);
    ts.tv_sec = (time_t)whole;
    ts.tv_nsec = (long)((until - whole) * 1e9);
    pthread_mutex_lock(&n->mu);
    while (!atomic_load(&n->abandon) && vt__now() < until)
        pthread_cond_timedwait(&n->cv, &n->mu, &ts);
    pthread_mutex_unlock(&n->mu);
    return !atomic_load(&n->abandon);
}

/* Delivers one event to one channel with retries; false when abandoned. */
static bool deliver(vt__notifier *n, const vt__channel *c, const vt_alert_event *e)
{
    bool done[100] = {false};
    char err[256] = "";
    double wait = c->backoff_s;
    for (int attempt = 0;; attempt++) {
        outcome o = c->kind == VT__CHANNEL_WEBHOOK ? send_webhook(n, c, e, err, sizeof err)
                    : c->kind == VT__CHANNEL_EMAIL ? send_email(n, c, e, err, sizeof err)
                                                   : send_sms(n, c, e, done, err, sizeof err);
        if (o == ABANDONED)
            return false;
        if (o == SENT) {
            atomic_fetch_add(&n->counts->sent, 1);
            return true;
        }
        if (o == FAILED || attempt >= c->retries) {
            atomic_fetch_add(&n->counts->failed, 1);
            snprintf(n->last_failure, sizeof n->last_failure,
                     "alert %" PRIu64 " ('%s') not delivered to %s after %d attempt%s: %s", e->seq,
                     e->rule, c->url, attempt + 1, attempt ? "s" : "", err);
            if (!atomic_load(&n->quiet))
                vt__log(1, "%s", n->last_failure);
            return true;
        }
        atomic_fetch_add(&n->counts->retries, 1);
        if (!backoff_wait(n, vt__now() + wait))
            return false;
        wait = fmin(wait * 2, 30.0);
    }
}

static void *notify_main(void *arg)
{
    vt__notifier *n = arg;
    pthread_mutex_lock(&n->mu);
    for (;;) {
        while (!n->count && !n->stopping)
            pthread_cond_wait(&n->cv, &n->mu);
        if (!n->count || atomic_load(&n->abandon))
            break;
        vt_alert_event e = n->q[n->head];
        n->head = (n->head + 1) % n->cap;
        n->count--;
        pthread_mutex_unlock(&n->mu);
        bool ok = true;
        for (int i = 0; i < n->nch && ok; i++)
            ok = deliver(n, &n->ch[i], &e);
        if (!ok)
            atomic_fetch_add(&n->counts->dropped, 1);
        pthread_mutex_lock(&n->mu);
    }
    n->done = true;
    pthread_cond_broadcast(&n->cv);
    pthread_mutex_unlock(&n->mu);
    return NULL;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;

static void curl_init(void)
{
    curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

vt_status vt__notifier_new(const vt__channel *channels, int count, int capacity,
                           vt__notify_counts *counts, vt__notifier **out)
{
    *out = NULL;
    pthread_once(&curl_once, curl_init);
    if (curl_init_result != CURLE_OK)
        return vt__error(VT_EIO, "alerts: libcurl: %s", curl_easy_strerror(curl_init_result));
    vt__notifier *n = calloc(1, sizeof *n);
    if (!n || !(n->q = calloc((size_t)capacity, sizeof *n->q)) || !(n->multi = curl_multi_init())) {
        if (n)
            free(n->q);
        free(n);
        return vt__error(VT_ENOMEM, "alerts: out of memory for the notification queue");
    }
    n->ch = channels;
    n->nch = count;
    n->cap = capacity;
    n->counts = counts;
    atomic_init(&n->abandon, false);
    atomic_init(&n->quiet, false);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&n->mu, NULL);
    pthread_cond_init(&n->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&n->thread, NULL, notify_main, n) != 0) {
        pthread_cond_destroy(&n->cv);
        pthread_mutex_destroy(&n->mu);
        curl_multi_cleanup(n->multi);
        free(n->q);
        free(n);
        return vt__error(VT_EIO, "alerts: cannot start the notification thread");
    }
    *out = n;
    return VT_OK;
}

void vt__notifier_set_quiet(vt__notifier *n, bool quiet)
{
    atomic_store(&n->quiet, quiet);
}

void vt__notifier_push(vt__notifier *n, const vt_alert_event *e)
{
    pthread_mutex_lock(&n->mu);
    if (n->count == n->cap) { /* full: the oldest goes */
        n->head = (n->head + 1) % n->cap;
        n->count--;
        atomic_fetch_add(&n->counts->dropped, 1);
    }
    n->q[(n->head + n->count++) % n->cap] = *e;
    pthread_cond_broadcast(&n->cv);
    pthread_mutex_unlock(&n->mu);
}

void vt__notifier_free(vt__notifier *n, double wait_s)
{
    if (!n)
        return;
    double until = vt__now() + wait_s;
    struct timespec ts = {(time_t)floor(until), (long)((until - floor(until)) * 1e9)};
    pthread_mutex_lock(&n->mu);
    n->stopping = true;
    pthread_cond_broadcast(&n->cv);
    while (!n->done && vt__now() < until)
        pthread_cond_timedwait(&n->cv, &n->mu, &ts);
    if (!n->done) {
        atomic_store(&n->abandon, true);
        pthread_cond_broadcast(&n->cv);
        curl_multi_wakeup(n->multi);
    }
    pthread_mutex_unlock(&n->mu);
    pthread_join(n->thread, NULL);
    long long failed = atomic_load(&n->counts->failed);
    if (atomic_load(&n->quiet) && failed > 0)
        vt__log(1, "alerts: %lld deliver%s failed; the last: %s", failed, failed > 1 ? "ies" : "y",
                n->last_failure);
    if (n->count) {
        atomic_fetch_add(&n->counts->dropped, n->count);
        vt__log(1, "alerts: %d notification%s abandoned at shutdown", n->count,
                n->count > 1 ? "s" : "");
    }
    curl_multi_cleanup(n->multi);
    pthread_cond_destroy(&n->cv);
    pthread_mutex_destroy(&n->mu);
    free(n->q);
    free(n);
}
