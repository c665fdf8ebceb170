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
 * Rules are evaluated on frame sets, on pipeline time; a watchdog
 * (vt_alerts_tick, vt_alerts_watchdog) raises the camera_offline and fps
 * alerts of a stall, when frame sets stop coming, on the wall clock.
 *
 * Every event reaches the listener (vt_alerts_on_event, called on the
 * pipeline's thread or the watchdog's), the log (one line on stderr unless
 * quiet) and, through a bounded queue (full: the oldest event is dropped and
 * counted), a notification thread of its own that delivers it to every
 * channel with libcurl: timeouts and retries with exponential backoff never
 * block vt_alerts_update.
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
    double stalled;    /* raised by the watchdog (vt_alerts_tick): seconds without a frame
                          set; 0 for an event made by a frame set */
} vt_alert_event;

/*
 * Receives every event, inside the vt_alerts_update or vt_alerts_tick call
 * that made it, on that call's thread (never two at once): it must not block.
 * `e` is valid during the call only.
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

/*
 * Quiet: no line on stderr per event (default: one line per event), and a
 * failed delivery is not logged when it fails: vt_alerts_free logs one line
 * that sums the failures up instead.
 */
VT_API void vt_alerts_set_quiet(vt_alerts *a, bool quiet);

/*
 * Evaluates every rule on one frame set (times non-decreasing; an older set
 * is VT_EINVAL); events go to the listener, the log and, through a bounded
 * queue, to the notification thread (webhook/SMTP/SMS). Never blocks on the
 * network. One caller thread; it may run beside vt_alerts_tick (a mutex
 * makes them take turns, each holding it for one evaluation).
 */
VT_API vt_status vt_alerts_update(vt_alerts *a, const vt_pipeline_result *r);

/*
 * The frame sets' clock starts again at t (the producer of a stream was
 * restarted, so time and track ids begin anew). The timers of the camera,
 * fps and latency rules carry on across the restart as if the new frame set
 * came right after the last one (their stored times are shifted by t minus
 * the last frame set's time); zone alerts raised for the old tracks are
 * cleared at once (those tracks are gone, and their ids will be reused).
 * The next vt_alerts_update may then start at t. Nothing happens before the
 * first frame set.
 */
VT_API void vt_alerts_restart(vt_alerts *a, double t);

/*
 * The watchdog: evaluates the rules that a stall must raise, between frame
 * sets, on the caller's clock `now` (seconds, non-decreasing: use a monotonic
 * clock; VT_EINVAL when it goes back). A frame set counts as arrived at the
 * first tick after its vt_alerts_update, so call it often (4 Hz: alerts come
 * at most a quarter second late). Once no frame set has come for "stall_s"
 * seconds (default 1) after the first one, pipeline time is taken to go on
 * with the clock (the last set's time plus the seconds since it came) and
 * every camera counts as offline: a camera_offline rule raises for each of
 * its cameras once that camera has been missing after_s seconds, an fps rule
 * once the frame sets left in its window fall under the floor and
 * raise_after has passed. Zone and latency rules wait for frame sets. The
 * events carry `stalled`. Nothing is cleared here: alerts clear on frame
 * sets, with their hysteresis, once frame sets come again. No double raise:
 * an alert already active is only reminded (repeat_s). Thread-safe against
 * vt_alerts_update; one ticking thread at a time.
 */
VT_API vt_status vt_alerts_tick(vt_alerts *a, double now);

/*
 * Runs vt_alerts_tick on a thread of its own every period_s seconds (0.25 is
 * a good value) on CLOCK_MONOTONIC; period_s 0 stops and joins that thread
 * (it also stops in vt_alerts_free). Stop it when the frame sets end on
 * purpose (the end of a file), or the end would be reported as a stall.
 * While it runs, do not call vt_alerts_tick yourself. Start and stop it on
 * the thread that owns `a`. VT_EINVAL for a period outside [0, 60]; VT_EIO
 * when the thread cannot start.
 */
VT_API vt_status vt_alerts_watchdog(vt_alerts *a, double period_s);

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
