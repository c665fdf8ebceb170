/*
 * src/source/gige.c - GigE Vision cameras as frame sources, through Aravis 0.8
 * (GVCP control on UDP port 3956, GVSP streaming; GigE Vision 2.x, GenICam
 * SFNC feature names). See docs/GIGE.md for the user's side.
 *
 * Opening: arv_camera_new takes an IP address or a device id (serial, or
 * "vendor-serial"); we must be the camera's controller (one application at a
 * time). The rig's settings are applied in an order that keeps them: pixel
 * format, size check, exposure, gain, frame rate, trigger (Aravis' frame
 * rate setter turns the trigger off on some cameras), PTP, packet size.
 *
 * Frames: a pool of a handful of buffers (together about 256 MB, so four
 * 8K Mono16 frames or sixteen small ones) is queued on the stream; a popped
 * buffer is copied once into the caller's image and queued again at once.
 * Buffers with a status other than SUCCESS (missing packets, timeouts) are
 * counted as corrupt and skipped. Frame numbers come from the GVSP block id
 * (16 bits in GigE Vision 1.x, counting 1..65535 and wrapping to 1), gaps
 * are counted as lost.
 *
 * Time: the camera's own timestamps, anchored to the host clock at the first
 * frame of a connection: t = host time of that frame + (camera time - its
 * camera time) - origin, where the origin (t = 0) is the host time of the
 * first frame any GigE source of the process saw. With PTP on, all cameras
 * share one anchor, so their times differ exactly as their PTP clocks do.
 *
 * Disconnects: no good frame within opts.timeout_s, or Aravis' heartbeat
 * thread reporting "control-lost". The dead connection is released on a
 * thread of its own, because Aravis' GVCP retries make releasing an absent
 * camera take about ten seconds; the reader meanwhile reconnects with
 * exponential backoff (0.1 s doubling to 2 s) up to opts.reconnect_max
 * attempts. A camera that answers while the old connection still holds it
 * refuses us as controller; that attempt fails and the next one, after the
 * release, succeeds. Every wait is bounded: pops by the timeout, GVCP
 * requests by Aravis' retries, the backoff by reconnect_max.
 */
#include <arv.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/internal.h"
#include "source/gige_internal.h"
#include "source/source_internal.h"

#define GIGE_POOL_BYTES ((size_t)256 << 20) /* the buffers together, about */
#define GIGE_POOL_MIN 3
#define GIGE_POOL_MAX 16
#define GIGE_SLICE_US 100000 /* pops are cut into slices to notice a lost control channel */
#define GIGE_BACKOFF_MIN_S 0.1
#define GIGE_BACKOFF_MAX_S 2.0

/* ------------------------------------------------------------------------ */
/* The process-wide timebase                                                 */

static pthread_mutex_t clock_lock = PTHREAD_MUTEX_INITIALIZER;
static bool have_origin, have_ptp_anchor;
static int64_t origin_ns;                /* host time of t = 0 */
static int64_t ptp_cam0_ns, ptp_sys0_ns; /* the anchor all PTP cameras share */

/* ------------------------------------------------------------------------ */
/* State                                                                     */

/* One connection to the camera: what a reaper thread releases. */
typedef struct conn {
    ArvCamera *camera;
    ArvStream *stream;
    atomic_int lost; /* set by Aravis' heartbeat thread ("control-lost") */
} conn;

typedef struct reaper {
    pthread_t thread;
    atomic_bool done;
    conn *c;
} reaper;

typedef struct gige {
    char label[64]; /* "camera 3 ('g3')" */
    char *id;       /* the camera's address or device id */
    vt_rig_gige set;
    int width, height, bits;
    double rig_fps;
    vt_source_opts opts;
    conn *c;   /* NULL between a disconnect and a reconnect */
    int depth; /* bits per sample in the buffers: 8, 10, 12, 14, 16 */
    ArvPixelFormat format;
    bool ptp_on, ptp_warned;
    /* Frame numbers and time */
    bool have_id, anchored, delivered;
    uint64_t last_id;
    int64_t last_frame, cam0_ns, sys0_ns, last_cam_ns;
    /* Counters (resent: of streams already released) */
    int64_t corrupt, lost, resent, disconnects, reconnects;
    /* A source that gave up keeps saying why */
    vt_status failed;
    char fail_msg[512];
    reaper **reapers;
    int n_reapers;
} gige;

static const char *gerr(const GError *e)
{
    return e && e->message ? e->message : "unknown Aravis error";
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - floor(s)) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* ------------------------------------------------------------------------ */
/* Releasing connections                                                     */

static void release_conn(conn *c, bool stop)
{
    if (!c)
        return;
    if (stop && c->camera)
        arv_camera_stop_acquisition(c->camera, NULL);
    /* Finalising the device joins its heartbeat thread: no "control-lost" after this. */
    if (c->stream)
        g_object_unref(c->stream);
    if (c->camera)
        g_object_unref(c->camera);
    free(c);
}

static void *reap(void *arg)
{
    reaper *r = arg;
    release_conn(r->c, false);
    atomic_store(&r->done, true);
    return NULL;
}

/* Joins the reapers that are done (all of them when `all`). */
static void join_reapers(gige *g, bool all)
{
    int kept = 0;
    for (int i = 0; i < g->n_reapers; i++) {
        reaper *r = g->reapers[i];
        if (all || atomic_load(&r->done)) {
            pthread_join(r->thread, NULL);
            free(r);
        } else {
            g->reapers[kept++] = r;
        }
    }
    g->n_reapers = kept;
}

/* Releases a dead connection in the background (synchronously if no thread can start). */
static void reap_later(gige *g, conn *c)
{
    join_reapers(g, false);
    reaper **grown = realloc(g->reapers, (size_t)(g->n_reapers + 1) * sizeof *grown);
    reaper *r = grown ? calloc(1, sizeof *r) : NULL;
    if (grown)
        g->reapers = grown;
    if (r) {
        r->c = c;
        atomic_init(&r->done, false);
        if (pthread_create(&r->thread, NULL, reap, r) == 0) {
            g->reapers[g->n_reapers++] = r;
            return;
        }
        free(r);
    }
    release_conn(c, false);
}

/* ------------------------------------------------------------------------ */
/* Connecting and configuring                                                */

static void on_control_lost(ArvDevice *device, gpointer data)
{
    (void)device;
    atomic_store(&((conn *)data)->lost, 1);
}

/* Bits per sample of the unpacked monochrome formats; 0 for any other. */
static int mono_depth(ArvPixelFormat f)
{
    switch (f) {
    case ARV_PIXEL_FORMAT_MONO_8:
        return 8;
    case ARV_PIXEL_FORMAT_MONO_10:
        return 10;
    case ARV_PIXEL_FORMAT_MONO_12:
        return 12;
    case ARV_PIXEL_FORMAT_MONO_14:
        return 14;
    case ARV_PIXEL_FORMAT_MONO_16:
        return 16;
    default:
        return 0;
    }
}

static vt_status set_format_and_check_size(gige *g, ArvCamera *cam)
{
    GError *e = NULL;
    const char *name = g->set.pixel_format[0] ? g->set.pixel_format
                       : g->bits == 16        ? "Mono16"
                                              : "Mono8";
    arv_camera_set_pixel_format_from_string(cam, name, &e);
    if (e) {
        vt_status st =
            vt__error(VT_EUNSUPPORTED, "GigE camera '%s': cannot set pixel format %s: %s", g->id,
                      name, gerr(e));
        g_clear_error(&e);
        return st;
    }
    gint x, y, w = 0, h = 0;
    g->format = arv_camera_get_pixel_format(cam, &e);
    if (!e)
        arv_camera_get_region(cam, &x, &y, &w, &h, &e);
    if (e) {
        vt_status st = vt__error(
            VT_EIO, "GigE camera '%s': cannot read its pixel format or size: %s", g->id, gerr(e));
        g_clear_error(&e);
        return st;
    }
    if ((g->depth = mono_depth(g->format)) == 0)
        return vt__error(VT_EUNSUPPORTED, "GigE camera '%s': pixel format %s is not Mono8..Mono16",
                         g->id, name);
    if (w != g->width || h != g->height)
        return vt__error(VT_EMISMATCH, "GigE camera '%s' sends %dx%d frames, the rig says %dx%d",
                         g->id, w, h, g->width, g->height);
    return VT_OK;
}

/* A setting the camera refused, named by its rig field (the GError is consumed). */
static vt_status refused(const gige *g, const char *field, GError **e)
{
    vt_status st = vt__error(VT_EUNSUPPORTED, "GigE camera '%s': cannot set gige.%s: %s", g->id,
                             field, gerr(*e));
    g_clear_error(e);
    return st;
}

/* Exposure, gain, frame rate and trigger: each only when the rig asks (see the top). */
static vt_status apply_settings(gige *g, ArvCamera *cam)
{
    GError *e = NULL;
    bool trigger = g->set.trigger_source[0] != '\0';
    double fps = g->set.fps > 0 ? g->set.fps : trigger ? 0 : g->rig_fps;
    if (g->set.exposure_us > 0 && (arv_camera_set_exposure_time(cam, g->set.exposure_us, &e), e))
        return refused(g, "exposure_us", &e);
    if (isfinite(g->set.gain_db) && (arv_camera_set_gain(cam, g->set.gain_db, &e), e))
        return refused(g, "gain_db", &e);
    if (fps > 0 && (arv_camera_set_frame_rate(cam, fps, &e), e)) {
        if (g->set.fps > 0)
            return refused(g, "fps", &e);
        /* A rate only inherited from the rig is a wish, not an order. */
        vt__log(1, "%s: GigE camera '%s' keeps its own frame rate (%s)", g->label, g->id, gerr(e));
        g_clear_error(&e);
    }
    if (trigger && (arv_camera_set_trigger(cam, g->set.trigger_source, &e), e))
        return refused(g, "trigger_source", &e);
    if (!trigger) {
        arv_camera_clear_triggers(cam, &e); /* free running; cameras without triggers fail */
        g_clear_error(&e);
    }
    return VT_OK;
}

/* IEEE 1588 where the camera has it (SFNC PtpEnable, or the older GevIEEE1588). */
static void enable_ptp(gige *g, ArvCamera *cam)
{
    static const char *const features[] = {"PtpEnable", "GevIEEE1588"};
    ArvDevice *dev = arv_camera_get_device(cam);
    GError *e = NULL;
    g->ptp_on = false;
    for (int i = 0; i < 2 && !g->ptp_on; i++) {
        if (!arv_device_get_feature(dev, features[i]))
            continue;
        arv_device_set_boolean_feature_value(dev, features[i], TRUE, &e);
        if (!e)
            g->ptp_on = true;
        else if (!g->ptp_warned)
            vt__log(1, "%s: GigE camera '%s': cannot enable %s: %s", g->label, g->id, features[i],
                    gerr(e));
        g_clear_error(&e);
    }
    if (!g->ptp_on && !g->ptp_warned)
        vt__log(1,
                "%s: GigE camera '%s' has no PTP (no PtpEnable or GevIEEE1588 feature); its "
                "timestamps stay on its own clock",
                g->label, g->id);
    g->ptp_warned = true;
}

static vt_status start_stream(gige *g, conn *c)
{
    GError *e = NULL;
    vt_status st = VT_OK;
    if (g->set.packet_size > 0)
        arv_camera_gv_set_packet_size(c->camera, g->set.packet_size, &e);
    else
        arv_camera_gv_auto_packet_size(c->camera, NULL); /* best effort: keep the camera's */
    if (e) {
        st = vt__error(VT_EUNSUPPORTED, "GigE camera '%s': cannot set gige.packet_size %d: %s",
                       g->id, g->set.packet_size, gerr(e));
        g_clear_error(&e);
        return st;
    }
    guint payload = arv_camera_get_payload(c->camera, &e);
    if (!e)
        c->stream = arv_camera_create_stream(c->camera, NULL, NULL, &e);
    if (e || !c->stream || payload == 0) {
        st = vt__error(VT_EIO, "GigE camera '%s': cannot open its stream: %s", g->id, gerr(e));
        g_clear_error(&e);
        return st;
    }
    g_object_set(c->stream, "socket-buffer", ARV_GV_STREAM_SOCKET_BUFFER_AUTO, "packet-resend",
                 ARV_GV_STREAM_PACKET_RESEND_ALWAYS, NULL);
    size_t n = GIGE_POOL_BYTES / payload;
    n = n < GIGE_POOL_MIN ? GIGE_POOL_MIN : n > GIGE_POOL_MAX ? GIGE_POOL_MAX : n;
    for (size_t i = 0; i < n; i++)
        arv_stream_push_buffer(c->stream, arv_buffer_new_allocate(payload));
    g_signal_connect(arv_camera_get_device(c->camera), "control-lost", G_CALLBACK(on_control_lost),
                     c);
    arv_camera_start_acquisition(c->camera, &e);
    if (e) {
        st = vt__error(VT_EIO, "GigE camera '%s': cannot start acquisition: %s", g->id, gerr(e));
        g_clear_error(&e);
    }
    return st;
}

/* Opens, configures and starts the camera; g->c on success. */
static vt_status connect_camera(gige *g)
{
    GError *e = NULL;
    ArvCamera *cam = arv_camera_new(g->id, &e);
    if (!cam) {
        vt_status st =
            vt__error(VT_ENOENT, "no GigE Vision camera answers to '%s' (%s)", g->id, gerr(e));
        g_clear_error(&e);
        return st;
    }
    conn *c = calloc(1, sizeof *c);
    if (!c) {
        g_object_unref(cam);
        return vt__error(VT_ENOMEM, "GigE camera '%s': out of memory", g->id);
    }
    c->camera = cam;
    atomic_init(&c->lost, 0);
    vt_status st = VT_OK;
    if (!arv_camera_is_gv_device(cam))
        st = vt__error(VT_EUNSUPPORTED, "'%s' is not a GigE Vision camera", g->id);
    else if (!arv_gv_device_is_controller(ARV_GV_DEVICE(arv_camera_get_device(cam))))
        st = vt__error(VT_EIO, "GigE camera '%s' is controlled by another application", g->id);
    if (!st && !(st = set_format_and_check_size(g, cam)) && !(st = apply_settings(g, cam))) {
        if (g->set.ptp)
            enable_ptp(g, cam);
        st = start_stream(g, c);
    }
    if (st) {
        release_conn(c, c->stream != NULL);
        return st;
    }
    g->c = c;
    g->have_id = false;
    g->anchored = false;
    return VT_OK;
}

/* ------------------------------------------------------------------------ */
/* Disconnects and reconnects                                                */

static vt_status fail(gige *g, vt_status st)
{
    g->failed = st;
    snprintf(g->fail_msg, sizeof g->fail_msg, "%s", vt_last_error());
    return st;
}

static void add_resent(gige *g, const conn *c)
{
    guint64 resent = 0, missing = 0;
    if (c && c->stream)
        arv_gv_stream_get_statistics(ARV_GV_STREAM(c->stream), &resent, &missing);
    g->resent += (int64_t)resent;
}

static void disconnect(gige *g, const char *why)
{
    g->disconnects++;
    vt__log(1, "%s: GigE camera '%s' disconnected (%s); reconnecting", g->label, g->id, why);
    add_resent(g, g->c);
    reap_later(g, g->c);
    g->c = NULL;
}

static vt_status reconnect(gige *g)
{
    char last[512] = "";
    int max = g->opts.reconnect_max;
    for (int attempt = 0; max < 0 || attempt < max; attempt++) {
        double wait = GIGE_BACKOFF_MIN_S * pow(2.0, attempt < 10 ? attempt : 10);
        sleep_s(wait < GIGE_BACKOFF_MAX_S ? wait : GIGE_BACKOFF_MAX_S);
        vt_status st = connect_camera(g);
        if (!st) {
            g->reconnects++;
            vt__log(1, "%s: GigE camera '%s' reconnected (attempt %d)", g->label, g->id,
                    attempt + 1);
            return VT_OK;
        }
        snprintf(last, sizeof last, "%s", vt_last_error());
        if (st == VT_EMISMATCH || st == VT_EUNSUPPORTED) /* it came back, but not as the rig says */
            return fail(g, vt__error_prefix(st, "%s", g->label));
    }
    return fail(g, vt__error(VT_EIO,
                             "%s: GigE camera '%s' is gone: no reconnection in %d attempts "
                             "(last: %s)",
                             g->label, g->id, max, last));
}

/*
 * The next good buffer, or NULL with `why` when the camera is gone: no good
 * buffer within the timeout, or its control channel lost.
 */
static ArvBuffer *next_buffer(gige *g, char *why, size_t size)
{
    double deadline = vt__now() + g->opts.timeout_s;
    for (;;) {
        if (atomic_load(&g->c->lost)) {
            snprintf(why, size, "control channel lost");
            return NULL;
        }
        double left = deadline - vt__now();
        if (left <= 0) {
            snprintf(why, size, "no frame for %g s", g->opts.timeout_s);
            return NULL;
        }
        guint64 slice = left * 1e6 < GIGE_SLICE_US ? (guint64)(left * 1e6) + 1 : GIGE_SLICE_US;
        ArvBuffer *b = arv_stream_timeout_pop_buffer(g->c->stream, slice);
        if (!b)
            continue;
        if (arv_buffer_get_status(b) == ARV_BUFFER_STATUS_SUCCESS)
            return b;
        g->corrupt++;
        arv_stream_push_buffer(g->c->stream, b);
    }
}

/* ------------------------------------------------------------------------ */
/* Frames                                                                    */

static double frame_time(gige *g, int64_t cam, int64_t sys)
{
    /* A camera clock that went back (the camera restarted within the timeout) is anchored again. */
    if (g->anchored && !g->ptp_on && cam && cam < g->last_cam_ns)
        g->anchored = false;
    g->last_cam_ns = cam;
    pthread_mutex_lock(&clock_lock);
    if (!have_origin) {
        origin_ns = sys;
        have_origin = true;
    }
    if (!g->anchored && cam) {
        if (g->ptp_on && !have_ptp_anchor) {
            ptp_cam0_ns = cam;
            ptp_sys0_ns = sys;
            have_ptp_anchor = true;
        }
        g->cam0_ns = g->ptp_on ? ptp_cam0_ns : cam;
        g->sys0_ns = g->ptp_on ? ptp_sys0_ns : sys;
        g->anchored = true;
    }
    int64_t origin = origin_ns;
    pthread_mutex_unlock(&clock_lock);
    /* A camera that gives no timestamps (0) is timed by the host. */
    int64_t host = cam && g->anchored ? g->sys0_ns + (cam - g->cam0_ns) : sys;
    return (double)(host - origin) * 1e-9;
}

/* GVSP sends 16-bit samples little-endian; a little-endian host copies them as they are. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define GIGE_LE_HOST true
#else
#define GIGE_LE_HOST false
#endif

/* Copies the buffer's pixels into img, once (MSB-aligned when the depths differ). */
static vt_status copy_pixels(gige *g, ArvBuffer *b, vt_image *img)
{
    size_t size = 0;
    const uint8_t *data = arv_buffer_get_image_data(b, &size);
    int w = arv_buffer_get_image_width(b), h = arv_buffer_get_image_height(b);
    size_t row = (size_t)g->width * (g->depth > 8 ? 2 : 1);
    if (w != g->width || h != g->height)
        return vt__error(VT_EMISMATCH,
                         "%s: GigE camera '%s' sent a %dx%d frame, the rig says %dx%d", g->label,
                         g->id, w, h, g->width, g->height);
    if (!data || arv_buffer_get_image_pixel_format(b) != g->format || size < row * (size_t)h)
        return vt__error(VT_EFORMAT,
                         "%s: GigE camera '%s' sent a frame of another format or size (%zu bytes)",
                         g->label, g->id, size);
    bool same = g->depth == img->bits && (g->depth == 8 || GIGE_LE_HOST);
    if (same && img->stride == row) {
        memcpy(img->data, data, row * (size_t)h);
        return VT_OK;
    }
    for (int y = 0; y < h; y++) {
        if (same)
            memcpy(vt_image_row8(img, y), data + (size_t)y * row, row);
        else
            vt__store_gray_row(data + (size_t)y * row, g->depth, false, img, y);
    }
    return VT_OK;
}

static vt_status deliver(gige *g, ArvBuffer *b, vt_image *img, int64_t *frame, double *t)
{
    vt_status st = copy_pixels(g, b, img);
    uint64_t id = arv_buffer_get_frame_id(b);
    int64_t cam = (int64_t)arv_buffer_get_timestamp(b);
    int64_t sys = (int64_t)arv_buffer_get_system_timestamp(b);
    arv_stream_push_buffer(g->c->stream, b);
    if (st)
        return fail(g, st); /* the camera was reconfigured under us */
    int64_t step = g->have_id ? vt__gige_id_step(g->last_id, id) : 1;
    g->lost += step - 1;
    g->last_frame = g->delivered ? g->last_frame + step : 0;
    g->have_id = g->delivered = true;
    g->last_id = id;
    *frame = g->last_frame;
    *t = frame_time(g, cam, sys);
    return VT_OK;
}

static vt_status gige_read(void *state, vt_image *img, int64_t *frame, double *t, bool *end)
{
    gige *g = state;
    *end = false; /* a live camera has no end */
    if (g->failed)
        return vt__error(g->failed, "%s", g->fail_msg);
    vt_status st = vt__image_reshape(img, g->width, g->height, g->bits);
    if (st)
        return vt__error_prefix(st, "%s", g->label);
    for (;;) {
        if (!g->c && (st = reconnect(g)))
            return st;
        char why[128];
        ArvBuffer *b = next_buffer(g, why, sizeof why);
        if (b)
            return deliver(g, b, img, frame, t);
        disconnect(g, why);
    }
}

static void gige_stats(const void *state, vt_source_stats *st)
{
    const gige *g = state;
    guint64 resent = 0, missing = 0;
    if (g->c && g->c->stream)
        arv_gv_stream_get_statistics(ARV_GV_STREAM(g->c->stream), &resent, &missing);
    st->corrupt = g->corrupt;
    st->lost = g->lost;
    st->resent = g->resent + (int64_t)resent;
    st->disconnects = g->disconnects;
    st->reconnects = g->reconnects;
}

static void gige_free(void *state)
{
    gige *g = state;
    if (!g)
        return;
    release_conn(g->c, true);
    join_reapers(g, true);
    free(g->reapers);
    free(g->id);
    free(g);
}

static const vt__source_backend gige_backend = {"gige", gige_read, gige_stats, gige_free};

vt_status vt__gige_open(const vt_rig *rig, int camera, const vt_source_opts *opts, vt_source **out)
{
    *out = NULL;
    const vt_rig_camera *c = &rig->cameras[camera];
    char label[64];
    snprintf(label, sizeof label, "camera %d ('%s')", camera, c->id);
    vt_source_opts o = opts ? *opts : vt_source_opts_default();
    if (!(o.timeout_s > 0) || !isfinite(o.timeout_s))
        return vt__error(VT_EINVAL, "%s: source option timeout_s must be > 0 (got %g)", label,
                         o.timeout_s);
    if (!c->path || !c->path[0])
        return vt__error(VT_EINVAL, "%s: gige: no camera id or address", label);
    if (c->bits != 8 && c->bits != 16)
        return vt__error(VT_EINVAL, "%s: bits must be 8 or 16 (got %d)", label, c->bits);
    gige *g = calloc(1, sizeof *g);
    if (!g || !(g->id = strdup(c->path))) {
        free(g);
        return vt__error(VT_ENOMEM, "%s: out of memory", label);
    }
    memcpy(g->label, label, sizeof label);
    g->set = c->gige;
    g->width = c->cam.width;
    g->height = c->cam.height;
    g->bits = c->bits;
    g->rig_fps = rig->fps;
    g->opts = o;
    vt_status st = connect_camera(g);
    if (st) {
        vt__error_prefix(st, "%s", label);
        gige_free(g);
        return st;
    }
    return vt__source_wrap(&gige_backend, g, label, out);
}
