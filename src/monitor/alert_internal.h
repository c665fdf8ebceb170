/*
 * src/monitor/alert_internal.h - what the alert sources share: the parsed
 * rules and channels (alert_rules.c), the evaluation (alert.c) and the
 * notification thread with its message formats (notify.c).
 */
#ifndef VOXTRACK_ALERT_INTERNAL_H
#define VOXTRACK_ALERT_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "voxtrack/alert.h"

enum { VT__ALERT_MAX_CAMERAS = 64 };

typedef struct vt__alert_rule {
    char name[64];
    vt_alert_kind kind;
    double raise_after, clear_after; /* hysteresis, seconds of pipeline time */
    double repeat_s;                 /* 0: never re-sent while active */
    /* zone */
    double *poly; /* x0, y0, x1, y1, ... ENU metres; owned */
    int npoly;
    double box[4]; /* the polygon's bounding box: xmin, ymin, xmax, ymax */
    double zmin, zmax;
    unsigned classes; /* bit (1 << vt_target_class) per class that counts */
    bool confirmed_only;
    /* camera_offline */
    uint64_t cameras; /* bit per rig camera */
    /* fps / latency */
    double limit;    /* fps: the floor (sets/s); latency: the ceiling (ms) */
    double window_s; /* seconds of pipeline time */
    bool p99;        /* latency: the 99th percentile (else the mean) */
} vt__alert_rule;

typedef enum vt__channel_kind {
    VT__CHANNEL_WEBHOOK = 0,
    VT__CHANNEL_EMAIL = 1,
    VT__CHANNEL_SMS = 2
} vt__channel_kind;

typedef struct vt__channel {
    vt__channel_kind kind;
    char *url;
    double timeout_s; /* per attempt */
    int retries;      /* attempts after the first */
    double backoff_s; /* wait before the first retry; doubles each time */
    char **headers;   /* "Name: value" (webhook, sms) */
    int nheaders;
    char *from; /* email */
    char **to;  /* email addresses or phone numbers */
    int nto;
    char *username, *password; /* email, optional */
    int starttls;              /* email on smtp://: 0 never, 1 when offered, 2 required */
    char *tmpl;                /* sms text template */
    bool form;                 /* sms: application/x-www-form-urlencoded (else JSON) */
} vt__channel;

typedef struct vt__alert_config {
    vt__alert_rule *rules;
    int nrules;
    vt__channel *channels;
    int nchannels;
    int queue;         /* capacity of the notification queue, events */
    double stall_s;    /* seconds without a frame set before the watchdog speaks */
    double shutdown_s; /* how long vt_alerts_free waits for deliveries */
    char (*camera_ids)[32];
    int ncameras;
    bool has_origin; /* the rig's geodetic origin, for "polygon_wgs84" */
    double lat_deg, lon_deg, height_m;
} vt__alert_config;

/* Parses and validates the rules text; *cfg is zeroed first and freed on failure. */
vt_status vt__alert_config_parse(const char *json, const char *origin, const vt_rig *rig,
                                 vt__alert_config *cfg);
void vt__alert_config_free(vt__alert_config *cfg);

/* Ray casting (crossing number); a point on an edge or a vertex counts as inside. */
bool vt__point_in_polygon(const double *xy, int n, double x, double y);

/* ---- the evaluation state (alert.c, alert_watchdog.c) ------------------ */

typedef enum vt__alert_action {
    VT__ACT_NONE = 0,
    VT__ACT_RAISE,
    VT__ACT_CLEAR,
    VT__ACT_REPEAT
} vt__alert_action;

/* One alert's state machine; times are pipeline seconds. */
typedef struct vt__cond_state {
    bool on;          /* the condition at the last evaluation */
    bool raised;      /* the alert is active */
    double since;     /* pipeline time `on` last changed */
    double last_sent; /* pipeline time of the last raise or reminder */
} vt__cond_state;

typedef struct vt__zone_state {
    uint64_t id;
    vt__cond_state c;
    vt_vec3 pos; /* last seen position */
} vt__zone_state;

typedef struct vt__rule_state {
    vt__zone_state *zones, *next; /* sorted by track id */
    size_t nzones, cap;
    vt__cond_state cams[VT__ALERT_MAX_CAMERAS];
    vt__cond_state global;
    double *times, *values; /* ring of the window's frame sets */
    size_t head, count, ring_cap;
    double *scratch; /* ring_cap values, for the percentile */
    double first_t;  /* time of the first frame set seen */
} vt__rule_state;

typedef struct vt__track_ref {
    uint64_t id;
    size_t index;
} vt__track_ref;

typedef struct vt__notifier vt__notifier;
typedef struct vt__watchdog vt__watchdog;

typedef struct vt__notify_counts {
    atomic_llong sent, failed, retries, dropped;
} vt__notify_counts;

struct vt_alerts {
    vt__alert_config cfg;
    vt__rule_state *rs;
    vt_alert_fn fn;
    void *user;
    bool quiet, started;
    pthread_mutex_t mu; /* one evaluation at a time: vt_alerts_update or vt_alerts_tick */
    double last_t;      /* pipeline time of the last frame set */
    int64_t sets;       /* frame sets evaluated */
    uint64_t seq;
    vt__track_ref *order; /* tracks sorted by id, this frame set */
    size_t order_cap;
    atomic_llong raised, cleared, repeated;
    vt__notify_counts counts;
    vt__notifier *notifier;
    /* the watchdog (alert_watchdog.c), on the caller's clock */
    int64_t wd_sets;   /* `sets` at the last tick */
    double wd_arrival; /* the tick that first saw the last frame set */
    double wd_last;    /* the last tick */
    bool wd_armed;     /* a frame set has been seen by a tick */
    vt__watchdog *watchdog;
};

/*
 * Steps one state machine to pipeline time t with the condition `cond`:
 * raise after raise_after, clear after clear_after, remind every repeat_s.
 */
vt__alert_action vt__alert_step(vt__cond_state *c, bool cond, double t, const vt__alert_rule *r);

/*
 * Makes the event, logs it (unless quiet), gives it to the listener and the
 * notifier. `stalled`: seconds without a frame set when the watchdog raised
 * it (0 on a frame set).
 */
void vt__alert_emit(vt_alerts *a, const vt__alert_rule *r, vt__alert_action act, double t,
                    uint64_t track, const char *camera, double value, vt_vec3 pos, double stalled);

/* Stops and joins the watchdog thread, if one runs (alert_watchdog.c). */
void vt__alert_watchdog_stop(vt_alerts *a);

/* ---- notify.c ---------------------------------------------------------- */

/*
 * Starts the notification thread for these channels (kept by reference:
 * they must outlive the notifier) with a queue of `capacity` events.
 */
vt_status vt__notifier_new(const vt__channel *channels, int count, int capacity,
                           vt__notify_counts *counts, vt__notifier **out);

/*
 * Quiet: a failed delivery is not logged when it happens; vt__notifier_free
 * logs one line that sums the failures up instead.
 */
void vt__notifier_set_quiet(vt__notifier *n, bool quiet);

/* Queues a copy of *e; never blocks (a full queue drops its oldest event). */
void vt__notifier_push(vt__notifier *n, const vt_alert_event *e);

/* Waits at most wait_s seconds for the queue to drain, then abandons and frees. */
void vt__notifier_free(vt__notifier *n, double wait_s);

/* The event as a JSON object (webhook body); malloc'ed, NULL when out of memory. */
char *vt__alert_event_json(const vt_alert_event *e);

/* An RFC 5322 message (CRLF lines) for the e-mail channel; returns its length. */
size_t vt__alert_email(const vt_alert_event *e, const vt__channel *c, char *buf, size_t size);

/*
 * Expands an SMS template: {rule} {kind} {state} {track} {camera} {value}
 * {time} {message}; unknown names are copied as they are.
 */
void vt__alert_template(const char *tmpl, const vt_alert_event *e, char *buf, size_t size);

/* UTC time as ISO 8601 with milliseconds: 2024-05-01T12:00:00.123Z. */
void vt__iso8601(double wall, char *buf, size_t size);

#endif
