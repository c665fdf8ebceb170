/*
 * voxtrack/alert.h - alert rules evaluated on every frame set, and the
 * channels that carry the alerts out (webhook, e-mail over SMTP, SMS through
 * a webhook-style gateway).
 *
 * Rules (JSON, docs/ALERTS.md): a confirmed track inside a zone (polygon in
 * ENU metres plus an altitude band), a camera offline, the frame rate under a
 * floor, the processing latency over a ceiling. Each rule raises an alert
 * once its condition has held for `raise_after` seconds of pipeline time and
 * clears it once the condition has been false for `clear_after` seconds
 * (hysteresis); while an alert is active it is not sent again, except every
 * `repeat_s` seconds when that is set (de-duplication). A zone alert is per
 * track, a camera alert per camera.
 *
 * Every event reaches the listener (vt_alerts_on_event, called on the
 * pipeline's thread), the log (one line on stderr unless quiet) and, through
 * a bounded queue (full: the oldest event is dropped and counted), a
 * notification thread of its own that delivers it to every channel with
 * libcurl: timeouts and retries with exponential backoff never block
 * vt_alerts_update.
 */
#ifndef VOXTRACK_ALERT_H
#define VOXTRACK_ALERT_H

#include <stdbool.h>
#include <stdint.h>

#include "voxtrack/export.h"
#include "voxtrack/math3d.h"
#include "voxtrack/pipeline.h"
#include "voxtrack/rig.h"
#include "voxtrack/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum vt_alert_kind {
    VT_ALERT_ZONE = 0,
    VT_ALERT_CAMERA_OFFLINE = 1,
    VT_ALERT_FPS = 2,
    VT_ALERT_LATENCY = 3
} vt_alert_kind;

/* The rule kind's name as written in the rules ("zone", "camera_offline", "fps", "latency"). */
VT_API const char *vt_alert_kind_name(vt_alert_kind kind);

typedef struct vt_alert_event {
    uint64_t seq; /* from 1, in the order the events were made */
    double t;     /* pipeline time of the frame set, seconds */
    double wall;  /* wall clock (CLOCK_REALTIME) seconds */
    vt_alert_kind kind;
    bool raised;       /* true: raised (or repeated); false: cleared */
    char rule[64];     /* the rule's name from the config */
    uint64_t track;    /* zone alerts: the track id; else 0 */
    char camera[32];   /* camera alerts: its id; else "" */
    double value;      /* zone: altitude m; camera: seconds offline; fps; latency ms */
    vt_vec3 pos;       /* zone alerts: track position (ENU metres); else zero */
    char message[256]; /* a human sentence */
    bool repeat;       /* a reminder of an alert still active (repeat_s), not a new one */
} vt_alert_event;

/*
 * Receives every event, on the thread that calls vt_alerts_update, inside
 * that call: it must not block. `e` is valid during the call only.
 */
typedef void (*vt_alert_fn)(void *user, const vt_alert_event *e);

typedef struct vt_alerts vt_alerts;

/*
 * Parses the rules (JSON text, docs/ALERTS.md) and starts the notification
 * thread when there are channels. `origin` names the text in errors
 * ("alerts.json", "config.json: alerts"); errors name the origin, the rule
 * (index and name) or channel and the field, and unknown fields are refused.
 * Camera ids of camera_offline rules are checked against the rig, and
 * "polygon_wgs84" corners are converted with its geodetic origin; `rig` may
 * be NULL when there is neither. Nothing of the rig is kept but its camera
 * ids and origin.
 */
VT_API vt_status vt_alerts_new(const char *json, const char *origin, const vt_rig *rig,
                               vt_alerts **out);

/* Sets (or, with fn NULL, removes) the listener. Call before the first update. */
VT_API void vt_alerts_on_event(vt_alerts *a, vt_alert_fn fn, void *user);

/* Quiet: no line on stderr per event (default: one line per event). */
VT_API void vt_alerts_set_quiet(vt_alerts *a, bool quiet);

/*
 * Evaluates every rule on one frame set (times non-decreasing; an older set
 * is VT_EINVAL); events go to the listener, the log and, through a bounded
 * queue, to the notification thread (webhook/SMTP/SMS). Never blocks on the
 * network. Not thread-safe: one caller thread.
 */
VT_API vt_status vt_alerts_update(vt_alerts *a, const vt_pipeline_result *r);

/*
 * Counters: alerts raised and cleared (repeats are counted in `repeated`),
 * deliveries sent and failed (one per event and channel), retries made,
 * events dropped (queue full, or abandoned at shutdown). Safe from any thread.
 */
typedef struct vt_alerts_stats {
    int64_t raised, cleared, sent, failed, retries, dropped, repeated;
} vt_alerts_stats;
VT_API vt_alerts_stats vt_alerts_stats_get(const vt_alerts *a);

/*
 * Stops the notifier and frees. Deliveries still queued get at most
 * "shutdown_s" seconds (default 2) to go out; then transfers in flight are
 * abandoned and the events left are counted as dropped. Accepts NULL.
 */
VT_API void vt_alerts_free(vt_alerts *a);

#ifdef __cplusplus
}
#endif

#endif
