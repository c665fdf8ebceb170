/*
 * src/stream/sapient_internal.h - what the parts of the SAPIENT sensor node
 * share (never installed):
 *
 *   sapient.c       the public API: URL and options, publishing frame sets
 *                   and alerts, stats, open and close
 *   sapient_msg.c   building and encoding each message kind into the queue;
 *                   ULIDs and UUIDs
 *   sapient_task.c  Tasks from the fusion node: checking, applying, the
 *                   region filter
 *   sapient_net.c   the connection thread: connect, register, read, write,
 *                   reconnect with backoff
 *
 * One mutex (mu) guards the queue, the task, the status state and the
 * counters; whoever holds it may encode into the shared message struct.
 * Messages are queued in the order their state was read under the lock,
 * so a TaskAck is on the wire after every report made before the task took
 * effect and before every report made after.
 */
#ifndef VOXTRACK_SAPIENT_INTERNAL_H
#define VOXTRACK_SAPIENT_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sapient.pb.h"
#include "voxtrack/geodetic.h"
#include "voxtrack/sapient.h"

/* Largest message accepted from the fusion node (a length prefix above it: out of step). */
#define VT__SAPIENT_MAX_IN ((size_t)1 << 20)

enum {
    VT__SAPIENT_MAX_REGIONS = 4,  /* regions per task (sapient.options: Task.region) */
    VT__SAPIENT_MAX_POINTS = 64,  /* corners per region (LocationList.locations) */
    VT__SAPIENT_MAX_ALERTS = 256, /* active alerts whose ids are remembered */
    VT__SAPIENT_ID = 65           /* ids received (task ids): up to 64 characters */
};

/* A region of a task: a polygon in WGS84 degrees. */
typedef struct vt__sapient_region {
    int type; /* sapient_Task_RegionType: AREA_OF_INTEREST or IGNORE */
    int n;
    double lon[VT__SAPIENT_MAX_POINTS], lat[VT__SAPIENT_MAX_POINTS];
} vt__sapient_region;

/* The task in effect (the node runs one at a time). */
typedef struct vt__sapient_task {
    bool active;
    char id[VT__SAPIENT_ID];
    bool reporting;  /* false after a Stop request */
    double end_unix; /* task_end_time, Unix seconds; 0: none */
    int nregions;
    vt__sapient_region regions[VT__SAPIENT_MAX_REGIONS];
} vt__sapient_task;

/* An encoded message waiting for the connection (4-byte length prefix included). */
typedef struct vt__sapient_slot {
    uint8_t *buf;
    size_t cap, len;
} vt__sapient_slot;

/* The id kept for an alert while it is active, so that its clear carries it too. */
typedef struct vt__sapient_alert_id {
    char key[128]; /* rule + track + camera */
    char id[27];
} vt__sapient_alert_id;

struct vt_sapient {
    /* ---- fixed at open ---- */
    char url[512];
    char host[256], port[16];
    char node_id[37];
    char name[64];
    vt_sapient_opts o;
    uint64_t node_hash;  /* of the node id: the random part of its ULIDs */
    uint64_t session_ms; /* Unix ms at open: the time part of its object ids */
    double lat0, lon0, h0;
    int ncams;
    char (*cam_ids)[32];

    /* ---- the publisher's own ---- */
    vt_geodetic *geo;

    /* ---- under mu ---- */
    pthread_mutex_t mu;
    pthread_cond_t changed; /* registered, rejected, queue drained, thread ended */
    vt__sapient_slot *q;
    size_t qcap, qhead, qcount;
    sapient_SapientMessage *msg; /* the struct that encoding fills */
    uint8_t *enc;                /* encoding buffer */
    size_t enc_cap;
    uint64_t id_counter;
    vt__sapient_task task;
    vt_geodetic *geo_alerts; /* alerts may come from another thread than frame sets */
    vt__sapient_alert_id alert_ids[VT__SAPIENT_MAX_ALERTS];
    int nalert_ids;
    bool have_frame;    /* a frame set has been published */
    uint64_t live_mask; /* cameras that delivered in the last frame set (first 64) */
    int cameras_live;
    bool have_coverage;
    double cov_lon[4], cov_lat[4];
    bool connected, registered, rejected, busy_writing, goodbye_sent;
    bool status_due;    /* a StatusReport with info NEW is wanted at once */
    double next_status; /* vt__now() of the next periodic StatusReport */
    vt_sapient_stats st;

    /* ---- the thread ---- */
    pthread_t thread;
    bool thread_started;
    atomic_bool stop;
    int wake[2];                /* a pipe: a byte wakes the thread's poll */
    atomic_bool asleep;         /* the thread is (about to be) in poll: wake it on enqueue */
    sapient_SapientMessage *in; /* the struct that decoding fills (thread only) */
};

/* ---- sapient_msg.c: ids ---- */

/* A ULID (26 Crockford base32 characters + NUL) of Unix time ms and 80 bits. */
void vt__sapient_ulid(uint64_t ms, uint64_t rand_hi16, uint64_t rand_lo64, char out[27]);
/* A new ULID for a message of s (unique within the node). Call locked. */
void vt__sapient_new_id(vt_sapient *s, char out[27]);
/* The object id of track `id`: the same for every report of it in this session. */
void vt__sapient_object_id(const vt_sapient *s, uint64_t track, char out[27]);
/* True when text is a UUID (8-4-4-4-12 hex digits); copies it lowercased into out. */
bool vt__sapient_uuid_check(const char *text, char out[37]);
/* A UUID (version 8, RFC 9562) from a 64-bit FNV-1a hash of the text, two seeds. */
void vt__sapient_uuid_from(const char *text, char out[37]);
/* 64-bit FNV-1a. */
uint64_t vt__sapient_hash(const char *text, uint64_t seed);
/* Copies src into dst of `size` bytes, cut to fit; always NUL-terminated. */
void vt__sapient_copy(char *dst, size_t size, const char *src);
/* Unix seconds now (CLOCK_REALTIME). */
double vt__sapient_unix_now(void);

/* ---- sapient_msg.c: messages (all called locked) ---- */

/* Starts s->msg as a message of content `tag` with the header (time, node id). */
void vt__sapient_begin(vt_sapient *s, pb_size_t tag, double unix_time);
/* Encodes s->msg with its length prefix into s->enc; *len is the whole size. */
vt_status vt__sapient_encode(vt_sapient *s, size_t *len);
/* Encodes s->msg and appends it to the queue (a full queue drops its oldest). */
vt_status vt__sapient_queue(vt_sapient *s);
/* Fills s->msg with the Registration. */
void vt__sapient_build_registration(vt_sapient *s);
/* Queues a StatusReport (system from the cameras unless goodbye; info NEW or UNCHANGED). */
vt_status vt__sapient_queue_status(vt_sapient *s, bool is_new, bool goodbye);
/* Queues a TaskAck. */
vt_status vt__sapient_queue_task_ack(vt_sapient *s, const char *task_id, int status,
                                     const char reasons[][256], int nreasons);
/* Queues an Error naming what was wrong with a received packet. */
vt_status vt__sapient_queue_error(vt_sapient *s, const uint8_t *packet, size_t len,
                                  const char *what);
/* Drops every queued message (counted as dropped). */
void vt__sapient_queue_clear(vt_sapient *s);
/* A WGS84 Location (degrees, metres, ellipsoid) with 1-sigma errors (NAN: none). */
void vt__sapient_location(sapient_Location *l, double lat, double lon, double h, double lat_err,
                          double lon_err, double h_err);

/* ---- sapient_task.c (called locked) ---- */

/* Handles a received Task: applies it or not, and queues the TaskAck (and what it asks for). */
void vt__sapient_task_handle(vt_sapient *s, const sapient_Task *t);
/* Ends the active task when its end time has passed (TaskAck COMPLETED). */
void vt__sapient_task_expire(vt_sapient *s, double unix_now);
/* Whether a track at lat/lon is reported under the active task's regions. */
bool vt__sapient_task_allows(const vt__sapient_task *t, double lat, double lon);

/* ---- sapient_net.c ---- */

/* Reconnection backoff, seconds: from MIN doubling to MAX; REFUSED after a refusal. */
#define VT__SAPIENT_BACKOFF_MIN 0.1
#define VT__SAPIENT_BACKOFF_MAX 5.0
#define VT__SAPIENT_BACKOFF_REFUSED 1.0

/* What receiving keeps from message to message on one connection. */
typedef struct vt__sapient_rx {
    double backoff;    /* before the next connection after this one fails */
    bool warned_error; /* an Error from the fusion node was logged (once per connection) */
} vt__sapient_rx;

/*
 * Handles one message from the fusion node (p, n: without its length prefix):
 * decodes it, acts on it (registration, task, ...) and queues the answers.
 * Returns false when the connection must be dropped (a refused registration).
 * Call locked; the connection thread does, and the fuzz target (fuzz/fuzz_sapient.c).
 */
bool vt__sapient_receive_locked(vt_sapient *s, vt__sapient_rx *rx, const uint8_t *p, size_t n);

/* Starts the connection thread. */
vt_status vt__sapient_net_start(vt_sapient *s);
/* Wakes the thread (something was queued). Any thread, locked or not. */
void vt__sapient_net_wake(vt_sapient *s);
/* Stops and joins the thread, closes the connection. */
void vt__sapient_net_stop(vt_sapient *s);

#endif
