/*
 * voxtrack/monitor.h - live monitoring: the latest frame set's state kept for
 * readers on other threads, a built-in HTTP server with the dashboard (HTML,
 * CSS and JavaScript embedded in the library), JSON endpoints, Server-Sent
 * Events and Prometheus metrics.
 *
 *   pipeline thread --vt_monitor_publish--> vt_monitor (a snapshot under a
 *   mutex, counters, histograms, a latency history, the alert log)
 *   HTTP threads    <--copies of the snapshot-- /api/..., /events, /metrics
 *
 * Publishing copies what the snapshot needs and never waits for a client;
 * the JSON is built on the reading side, once per new frame set, and shared
 * by every client. Routes, authentication and the JSON shapes are described
 * in docs/MONITOR.md.
 */
#ifndef VOXTRACK_MONITOR_H
#define VOXTRACK_MONITOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "voxtrack/export.h"
#include "voxtrack/math3d.h"
#include "voxtrack/pipeline.h"
#include "voxtrack/rig.h"
#include "voxtrack/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vt_monitor_opts {
    double history_s; /* stage latency history kept, seconds of wall time (default 600) */
    int alerts_max;   /* alert log length (default 256) */
    int tracks_max;   /* tracks kept per snapshot; more are counted, not shown (default 4096) */
} vt_monitor_opts;

VT_API vt_monitor_opts vt_monitor_opts_default(void);

typedef struct vt_monitor vt_monitor;

/*
 * Creates the monitor state. `rig` (may be NULL, e.g. for a stream without
 * one) gives the cameras' ids, positions and fields of view; it is copied.
 */
VT_API vt_status vt_monitor_new(const vt_monitor_opts *opts, const vt_rig *rig, vt_monitor **out);
/* Frees the state. Stop any server on it first. Accepts NULL. */
VT_API void vt_monitor_free(vt_monitor *m);

/*
 * Takes one frame set's result: copies the tracks (with their class) and the
 * per-camera figures into the snapshot, updates counters, histograms and the
 * latency history, and wakes the event streams. Called on the pipeline's
 * thread; holds a mutex only for the copy, never waits for a client. A
 * result with more cameras than the rig is refused (VT_EMISMATCH).
 */
VT_API vt_status vt_monitor_publish(vt_monitor *m, const vt_pipeline_result *r);

/* An entry of the alert log (see alert.h: vt_alert_event carries the same fields). */
typedef struct vt_monitor_alert {
    double t;           /* pipeline time, seconds */
    double wall;        /* wall clock, seconds since the epoch */
    const char *kind;   /* "zone", "camera_offline", "fps", "latency" */
    bool raised;        /* false: cleared */
    const char *rule;   /* the rule's name */
    uint64_t track;     /* zone alerts: the track; else 0 */
    const char *camera; /* camera alerts: its id; else "" or NULL */
    double value;       /* what triggered it */
    vt_vec3 pos;        /* zone alerts: the track's position */
    const char *message;
} vt_monitor_alert;

/*
 * Appends an alert to the log (strings are copied and cut to fit; the oldest
 * entry goes when the log is full), counts it and wakes the event streams.
 * Thread-safe; never blocks for long.
 */
VT_API void vt_monitor_add_alert(vt_monitor *m, const vt_monitor_alert *a);

/* Counters since creation, for tests and summaries. */
typedef struct vt_monitor_counts {
    int64_t frame_sets, detections, tracks_confirmed, alerts;
    int64_t sse_clients, requests;
} vt_monitor_counts;
VT_API vt_monitor_counts vt_monitor_counts_get(vt_monitor *m);

/*
 * The JSON documents the server serves, as malloc'ed strings (the caller
 * frees them): "tracks" (/api/tracks), "cameras" (/api/cameras), "health"
 * (/api/health), "alerts" (/api/alerts), "state" (what /events sends: tracks,
 * cameras and health in one object), and the Prometheus text of /metrics as
 * "metrics". VT_EINVAL for another name. Thread-safe.
 */
VT_API vt_status vt_monitor_render(vt_monitor *m, const char *what, char **text, size_t *len);

/* ---- the HTTP server ---- */

typedef struct vt_monitor_server_opts {
    const char *listen;      /* "ADDR:PORT", ":PORT" or "PORT" (address 127.0.0.1); port 0
                                picks a free one (default "127.0.0.1:8080") */
    const char *token;       /* NULL or "": no authentication; else every route needs
                                "Authorization: Bearer TOKEN" (or the cookie that
                                "?token=TOKEN" sets, see docs/MONITOR.md) */
    int max_connections;     /* concurrent connections, one thread each (default 256) */
    size_t header_limit;     /* memory per connection for the request line and headers,
                                bytes; larger requests are refused (default 16384) */
    double event_interval_s; /* the shortest time between two /events updates (default 0.05) */
} vt_monitor_server_opts;

VT_API vt_monitor_server_opts vt_monitor_server_opts_default(void);

typedef struct vt_monitor_server vt_monitor_server;

/*
 * Starts serving `m` on its own threads: the dashboard (/, /app.js,
 * /style.css), /api/tracks, /api/cameras, /api/health, /api/alerts, /events
 * (Server-Sent Events) and /metrics. GET and HEAD only. The monitor must
 * outlive the server. Errors name the address (bad syntax, port in use).
 */
VT_API vt_status vt_monitor_server_start(vt_monitor *m, const vt_monitor_server_opts *opts,
                                         vt_monitor_server **out);

/* The port the server listens on (useful with port 0). */
VT_API int vt_monitor_server_port(const vt_monitor_server *s);

/* The address it listens on, as text ("127.0.0.1"). */
VT_API const char *vt_monitor_server_addr(const vt_monitor_server *s);

/* Ends the event streams, closes every connection and frees. Accepts NULL. */
VT_API void vt_monitor_server_stop(vt_monitor_server *s);

#ifdef __cplusplus
}
#endif

#endif
