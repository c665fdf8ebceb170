/*
 * src/stream/streamer.c - `--stream URL...`: one frame set's result encoded
 * once and fanned out to every URL (see voxtrack/stream.h).
 *
 * The URL's scheme picks the output: a byte transport (transport.h) for
 * udp/tcp/shm/file, the JSON Lines writer (jsonl.c) for *.jsonl files, a
 * Cursor-on-Target sender (cot.h) for cot+udp/cot+tcp, a SAPIENT sensor
 * node (sapient.h) for sapient+tcp. The messages are
 * encoded once per frame set into the encoder's reused buffers and the same
 * bytes go to every transport. Transports and CoT senders never block (they
 * drop and count); a send that fails is counted for its URL and reported on
 * stderr the first time only, so one dead receiver cannot flood the log or
 * stop the pipeline. The transports and CoT come from colleagues' modules;
 * where a build lacks one, opening such a URL says so (VT_EUNSUPPORTED).
 *
 * VoxelChunks are asked for per URL (?voxels=N&voxel_cameras=K&voxel_blocks=M,
 * taken off the URL before the transport sees it): every Nth frame set, the
 * coarse blocks of the result's vote grid that hold a cell seen by >= K
 * cameras, at most M of them, so a chunk stays small (M blocks are M * 2 KiB
 * before LZ4) however busy the scene. They are encoded for the URLs that want
 * them only, on the frame sets that want them only.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "stream/jsonl_internal.h"
#include "voxtrack/stream.h"
#include "voxtrack/wire.h"

#include "voxtrack/cot.h"
#include "voxtrack/sapient.h"
#include "voxtrack/transport.h"

typedef enum out_kind { OUT_TRANSPORT, OUT_JSONL, OUT_COT, OUT_SAPIENT } out_kind;

typedef struct out {
    char *url;
    out_kind kind;
    void *h; /* vt_sender, vt__jsonl, vt_cot_sender or vt_sapient */
    uint64_t errors;
    uint64_t voxel_every;   /* VoxelChunk every this many frame sets; 0: none */
    uint64_t voxel_cameras; /* blocks with a cell of >= this many cameras; 0: the grid's K */
    uint64_t voxel_blocks;  /* at most this many blocks per chunk */
} out;

enum { VOXEL_BLOCKS_DEFAULT = 1024 };

struct vt_streamer {
    vt_wire_encoder *enc;
    out *outs;
    int n;
    int cameras_total;
    double start, last_health;
    uint64_t sets, sets_at_health, messages, errors;
};

static bool has_prefix(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

static bool has_suffix(const char *s, const char *x)
{
    size_t n = strlen(s), m = strlen(x);
    return n >= m && strcmp(s + n - m, x) == 0;
}

static vt_status open_kind(const vt_rig *rig, const char *url, out *o)
{
    if (has_suffix(url, ".jsonl") && (has_prefix(url, "file://") || !strstr(url, "://"))) {
        o->kind = OUT_JSONL;
        const char *path = has_prefix(url, "file://") ? url + 7 : url;
        return vt__jsonl_open(path, (vt__jsonl **)&o->h);
    }
    if (has_prefix(url, "cot+udp://") || has_prefix(url, "cot+tcp://")) {
        o->kind = OUT_COT;
        return vt_cot_sender_open(url, rig, NULL, (vt_cot_sender **)&o->h);
    }
    if (has_prefix(url, "sapient+tcp://")) {
        o->kind = OUT_SAPIENT;
        if (!rig)
            return vt__error(VT_EINVAL, "SAPIENT needs the rig (its origin and cameras)");
        return vt_sapient_open(url, rig, NULL, (vt_sapient **)&o->h);
    }
    if (has_prefix(url, "udp://") || has_prefix(url, "tcp://") || has_prefix(url, "shm://") ||
        has_prefix(url, "file://")) {
        o->kind = OUT_TRANSPORT;
        return vt_sender_open(url, (vt_sender **)&o->h);
    }
    return vt__error(VT_EINVAL, "unknown kind of stream (expected udp://, tcp://, shm://, file://, "
                                "file://PATH.jsonl, cot+udp://, cot+tcp:// or sapient+tcp://)");
}

/* Reads NAME=VALUE (a whole number in lo..hi) when name is one of the streamer's own. */
static vt_status take_voxel_param(const char *url, const char *p, size_t n, out *o, bool *mine)
{
    static const char *const names[] = {"voxels", "voxel_cameras", "voxel_blocks"};
    uint64_t *const dst[] = {&o->voxel_every, &o->voxel_cameras, &o->voxel_blocks};
    static const uint64_t hi[] = {1000000, 64, 1 << 16};
    *mine = false;
    for (int i = 0; i < 3; i++) {
        size_t k = strlen(names[i]);
        if (n <= k || strncmp(p, names[i], k) != 0 || p[k] != '=')
            continue;
        *mine = true;
        char v[32] = "";
        size_t vn = n - k - 1;
        if (vn == 0 || vn >= sizeof v)
            return vt__error(VT_EINVAL, "%s: %s= needs a whole number", url, names[i]);
        memcpy(v, p + k + 1, vn);
        char *end;
        errno = 0;
        unsigned long long x = strtoull(v, &end, 10);
        if (*end || errno || v[0] == '-' || x > hi[i] || (i > 0 && x == 0))
            return vt__error(VT_EINVAL, "%s: %s=%s is not a whole number in %d..%llu", url,
                             names[i], v, i > 0, (unsigned long long)hi[i]);
        *dst[i] = x;
    }
    return VT_OK;
}

/*
 * Takes the streamer's own parameters (voxels, voxel_cameras, voxel_blocks)
 * off the URL's query into o, leaving the rest for the transport in *rest
 * (malloc'ed). A file:// path may hold '?': its query is after the last one.
 */
static vt_status split_url(const char *url, out *o, char **rest)
{
    o->voxel_blocks = VOXEL_BLOCKS_DEFAULT;
    *rest = NULL;
    const char *q = has_prefix(url, "file://") ? strrchr(url, '?') : strchr(url, '?');
    char *r = malloc(strlen(url) + 1);
    if (!r)
        return vt__error(VT_ENOMEM, "vt_streamer_new: out of memory");
    size_t len = q ? (size_t)(q - url) : strlen(url);
    memcpy(r, url, len);
    r[len] = '\0';
    bool first = true;
    for (const char *p = q ? q + 1 : NULL; p && *p;) {
        const char *amp = strchr(p, '&');
        size_t n = amp ? (size_t)(amp - p) : strlen(p);
        bool mine;
        vt_status st = take_voxel_param(url, p, n, o, &mine);
        if (st != VT_OK) {
            free(r);
            return st;
        }
        if (!mine) {
            r[len++] = first ? '?' : '&';
            memcpy(r + len, p, n);
            len += n;
            r[len] = '\0';
            first = false;
        }
        p = amp ? amp + 1 : NULL;
    }
    *rest = r;
    return VT_OK;
}

static vt_status open_out(const vt_rig *rig, const char *full, out *o)
{
    char *url;
    vt_status st = split_url(full, o, &url);
    if (st != VT_OK)
        return st;
    if (o->voxel_every && (has_prefix(url, "cot+udp://") || has_prefix(url, "cot+tcp://") ||
                           has_prefix(url, "sapient+tcp://")))
        st = vt__error(VT_EINVAL, "voxels= is for udp://, tcp://, shm:// and file:// streams");
    if (st == VT_OK)
        st = open_kind(rig, url, o);
    free(url);
    return st;
}

static void close_out(out *o)
{
    if (!o->h)
        return;
    switch (o->kind) {
    case OUT_JSONL:
        vt__jsonl_close(o->h);
        break;
    case OUT_COT:
        vt_cot_sender_free(o->h);
        break;
    case OUT_TRANSPORT:
        vt_sender_free(o->h);
        break;
    case OUT_SAPIENT:
        vt_sapient_free(o->h);
        break;
    }
    o->h = NULL;
}

vt_status vt_streamer_new(const vt_rig *rig, const char *const *urls, int n, vt_streamer **out_)
{
    if (!out_ || (n > 0 && !urls) || n < 1)
        return vt__error(VT_EINVAL, "vt_streamer_new: no URL given");
    *out_ = NULL;
    vt_streamer *s = calloc(1, sizeof *s);
    if (!s || !(s->outs = calloc((size_t)n, sizeof *s->outs))) {
        free(s);
        return vt__error(VT_ENOMEM, "vt_streamer_new: out of memory");
    }
    vt_status st = vt_wire_encoder_new(rig, &s->enc);
    for (int i = 0; st == VT_OK && i < n; i++) {
        if (!urls[i] || !*urls[i]) {
            st = vt__error(VT_EINVAL, "stream %d: empty URL", i + 1);
            break;
        }
        if (!(s->outs[i].url = strdup(urls[i]))) {
            st = vt__error(VT_ENOMEM, "vt_streamer_new: out of memory");
            break;
        }
        s->n = i + 1;
        st = open_out(rig, urls[i], &s->outs[i]);
        if (st != VT_OK)
            vt__error_prefix(st, "--stream %s", urls[i]);
    }
    if (st != VT_OK) {
        vt_streamer_free(s);
        return st;
    }
    s->cameras_total = rig ? rig->count : 0;
    s->start = vt__now();
    s->last_health = s->start;
    *out_ = s;
    return VT_OK;
}

/* Counts one send's outcome for its URL; the first failure is reported. */
static void account(vt_streamer *s, out *o, vt_status st)
{
    if (st == VT_OK) {
        s->messages++;
        return;
    }
    if (o->errors++ == 0)
        vt__log(1, "--stream %s: %s (further errors of this stream are only counted)", o->url,
                vt_last_error()[0] ? vt_last_error() : vt_strerror(st));
    s->errors++;
}

static void send_one(vt_streamer *s, out *o, vt_msg_type type, const uint8_t *msg, size_t len)
{
    if (o->kind == OUT_JSONL)
        account(s, o, vt__jsonl_write(o->h, type, msg, len));
    else if (o->kind == OUT_TRANSPORT)
        account(s, o, vt_sender_send(o->h, type, msg, len));
}

static void send_all(vt_streamer *s, vt_msg_type type, const uint8_t *msg, size_t len)
{
    for (int i = 0; i < s->n; i++)
        send_one(s, &s->outs[i], type, msg, len);
}

/* VoxelChunks for the URLs whose turn it is (none without a vote grid). */
static vt_status send_voxels(vt_streamer *s, const vt_pipeline_result *r)
{
    if (!r->vote)
        return VT_OK;
    int k = vt_vote_get_opts(r->vote).min_cameras;
    for (int i = 0; i < s->n; i++) {
        out *o = &s->outs[i];
        if (!o->voxel_every || (s->sets - 1) % o->voxel_every != 0)
            continue;
        const uint8_t *msg;
        size_t len;
        vt_status st =
            vt_wire_encode_vote_chunk(s->enc, r->vote, o->voxel_cameras ? (int)o->voxel_cameras : k,
                                      (size_t)o->voxel_blocks, r->frame, r->t, &msg, &len, NULL);
        if (st != VT_OK)
            return st;
        send_one(s, o, VT_MSG_VOXEL_CHUNK, msg, len);
    }
    return VT_OK;
}

static vt_status send_health(vt_streamer *s, const vt_pipeline_result *r, double now)
{
    vt_wire_health h = {0};
    double dt = now - s->last_health;
    h.uptime_s = now - s->start;
    h.frame_sets = s->sets;
    h.frame_sets_per_s = dt > 0 ? (double)(s->sets - s->sets_at_health) / dt : 0;
    h.cameras_live = r->cameras_live;
    h.cameras_total = s->cameras_total;
    h.tracks = (int)r->ntracks;
    for (size_t i = 0; i < r->ntracks; i++)
        h.confirmed_tracks += r->tracks[i].status != VT_TRACK_TENTATIVE;
    h.stream_errors = s->errors;
    const uint8_t *msg;
    size_t len;
    vt_status st = vt_wire_encode_health(s->enc, &h, &msg, &len);
    if (st != VT_OK)
        return st;
    send_all(s, VT_MSG_HEALTH, msg, len);
    s->last_health = now;
    s->sets_at_health = s->sets;
    return VT_OK;
}

vt_status vt_streamer_publish(vt_streamer *s, const vt_pipeline_result *r)
{
    if (!s || !r)
        return vt__error(VT_EINVAL, "vt_streamer_publish: NULL argument");
    s->sets++;
    const uint8_t *msg;
    size_t len;
    vt_status st = vt_wire_encode_tracks(s->enc, r, &msg, &len);
    if (st == VT_OK)
        send_all(s, VT_MSG_TRACK_BATCH, msg, len);
    if (st == VT_OK && (st = vt_wire_encode_detections(s->enc, r, &msg, &len)) == VT_OK)
        send_all(s, VT_MSG_DETECTION_BATCH, msg, len);
    if (st == VT_OK && (st = vt_wire_encode_stats(s->enc, r, &msg, &len)) == VT_OK)
        send_all(s, VT_MSG_FRAME_SET_STATS, msg, len);
    if (st == VT_OK)
        st = send_voxels(s, r);
    double now = vt__now();
    if (st == VT_OK && (s->sets == 1 || now - s->last_health >= 1.0))
        st = send_health(s, r, now);
    if (st != VT_OK)
        return st;
    for (int i = 0; i < s->n; i++) {
        out *o = &s->outs[i];
        vt_status fs;
        if (o->kind == OUT_JSONL && (fs = vt__jsonl_flush(o->h)) != VT_OK)
            account(s, o, fs);
        else if (o->kind == OUT_COT)
            account(s, o, vt_cot_publish(o->h, r));
        else if (o->kind == OUT_SAPIENT)
            account(s, o, vt_sapient_publish(o->h, r));
    }
    return VT_OK;
}

void vt_streamer_alert(vt_streamer *s, const vt_alert_event *e)
{
    if (!s || !e)
        return;
    for (int i = 0; i < s->n; i++)
        if (s->outs[i].kind == OUT_SAPIENT)
            vt_sapient_alert(s->outs[i].h, e);
}

void vt_streamer_get_stats(const vt_streamer *s, vt_streamer_stats *out_)
{
    if (!out_)
        return;
    memset(out_, 0, sizeof *out_);
    if (!s)
        return;
    out_->frame_sets = s->sets;
    out_->messages = s->messages;
    out_->errors = s->errors;
    out_->urls = s->n;
}

uint64_t vt_streamer_url_errors(const vt_streamer *s, int i)
{
    return s && i >= 0 && i < s->n ? s->outs[i].errors : 0;
}

void vt_streamer_free(vt_streamer *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->n; i++) {
        close_out(&s->outs[i]);
        free(s->outs[i].url);
    }
    free(s->outs);
    vt_wire_encoder_free(s->enc);
    free(s);
}
