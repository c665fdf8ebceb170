/*
 * src/cluster/cluster_internal.h - what the files of the distributed mode
 * share (never installed): the binary messages that cross NATS (msg.c) and
 * the connection, stream and consumer helpers (conn.c).
 *
 * Every message is a 16-byte header and a payload:
 *
 *   "VTC1"  kind:u8  0:u8[3]  payload length:u32  CRC-32 of the payload:u32
 *
 * numbers little-endian, floats and doubles as their exact bits (core/bytes.h),
 * so a frame set voted on another machine gives the same bits as at home.
 */
#ifndef VOXTRACK_CLUSTER_INTERNAL_H
#define VOXTRACK_CLUSTER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "voxtrack/cluster.h"
#include "voxtrack/pipeline.h"

/* ---- messages (msg.c) ------------------------------------------------------ */

enum {
    VT__CL_HEADER = 16,
    VT__CL_RAYS = 1, /* one camera's rays of one frame set (vt.rays.<camera>) */
    VT__CL_WORK = 2, /* a frame set to vote: where its cameras' rays are (vt.work) */
    VT__CL_DETS = 3, /* a frame set's detections (vt.dets) */
    VT__CL_END = 4   /* the input ended after nsets frame sets (rays and dets) */
};

/* The cameras of a rig at most (the pipeline's limit). */
enum { VT__CL_MAX_CAMERAS = 64 };

/* One camera's part of a frame set, as the capture node made it. */
typedef struct vt__cl_rays {
    int64_t set;        /* frame set index: 0, 1, 2, ... in the capture's order */
    int64_t frame;      /* the frame set's frame number */
    double t;           /* its time, seconds */
    int camera;         /* rig camera index */
    int ncams;          /* the rig's camera count (a check between nodes) */
    double sync_error;  /* its frame's capture time minus t (0 when absent) */
    double seconds;     /* the capture's motion+blobs+rays wall time for this set */
    vt_camera_rays cam; /* rays, area and raw point into the arrays below */
    vt_ray *rays;       /* owned by the decoder's struct, reused */
    int32_t *area;
    float *raw; /* per ray: its blob's unfiltered sum (vt_camera_rays.raw) */
    size_t cap;
} vt__cl_rays;

/* A frame set to vote: the stream sequence of each camera's rays message (0: none). */
typedef struct vt__cl_work {
    int64_t set, frame;
    double t;
    int ncams;
    uint64_t seq[VT__CL_MAX_CAMERAS];
} vt__cl_work;

/* What a camera contributed, carried to the coordinator for its results. */
typedef struct vt__cl_camstat {
    bool present;
    double sync_error;
    uint64_t changes, blobs, rays;
} vt__cl_camstat;

/* A voted frame set. The arrays are owned by the struct (decoder side) or borrowed (encoder). */
typedef struct vt__cl_dets {
    int64_t set, frame;
    double t;
    uint64_t rays_cast, clusters;
    double seconds[3];   /* motion+blobs+rays (capture), voting, detection */
    uint32_t deliveries; /* the work item's deliveries when it was voted (1: the first) */
    int ncams;
    vt__cl_camstat cams[VT__CL_MAX_CAMERAS];
    vt_detection *dets;
    size_t ndets, dets_cap;
    vt_detection_ray *rays;
    size_t nrays, rays_cap;
} vt__cl_dets;

/* The end of the input: nsets frame sets were captured. camera: which (-1: all). */
typedef struct vt__cl_end {
    int64_t nsets;
    int camera;
} vt__cl_end;

/*
 * Encoders: *out (malloc'ed, the caller frees) and *len. VT_ENOMEM, or
 * VT_EINVAL for a message that cannot be written (a count out of range).
 */
vt_status vt__cl_rays_encode(const vt__cl_rays *m, uint8_t **out, size_t *len);
vt_status vt__cl_work_encode(const vt__cl_work *m, uint8_t **out, size_t *len);
vt_status vt__cl_dets_encode(const vt__cl_dets *m, uint8_t **out, size_t *len);
vt_status vt__cl_end_encode(const vt__cl_end *m, uint8_t **out, size_t *len);

/*
 * The kind of a message whose header and CRC check out (its payload is then
 * what the sender wrote), or VT_EFORMAT with a message saying what is wrong
 * (short, bad magic, length, CRC). Decoders call it first.
 */
vt_status vt__cl_kind(const void *data, size_t len, int *kind);

/*
 * Decoders: VT_EFORMAT naming the field for anything that is not a well-formed
 * message of that kind (wrong kind, truncated, trailing bytes, counts or
 * cameras out of range, a ray of another camera). The decoded struct's arrays
 * are grown as needed and kept for the next call; free them with the _free
 * functions.
 */
vt_status vt__cl_rays_decode(const void *data, size_t len, vt__cl_rays *m);
vt_status vt__cl_work_decode(const void *data, size_t len, vt__cl_work *m);
vt_status vt__cl_dets_decode(const void *data, size_t len, vt__cl_dets *m);
vt_status vt__cl_end_decode(const void *data, size_t len, vt__cl_end *m);
void vt__cl_rays_free(vt__cl_rays *m);
void vt__cl_dets_free(vt__cl_dets *m);

/* ---- NATS (conn.c) --------------------------------------------------------- */

/* Stream and consumer names, and the subjects. */
#define VT__CL_STREAM_RAYS "VT_RAYS"
#define VT__CL_STREAM_WORK "VT_WORK"
#define VT__CL_STREAM_DETS "VT_DETS"
#define VT__CL_SUBJ_RAYS "vt.rays" /* + ".<camera index>" */
#define VT__CL_SUBJ_WORK "vt.work"
#define VT__CL_SUBJ_DETS "vt.dets"
#define VT__CL_CONSUMER_ASSEMBLER "assembler"
#define VT__CL_CONSUMER_WORKERS "workers"
#define VT__CL_CONSUMER_TRACKER "tracker"

typedef struct vt__cl_conn vt__cl_conn;

/*
 * Connects to o->url as `role` and checks that the server has JetStream;
 * makes the three streams when they are not there. Errors name the URL.
 */
vt_status vt__cl_connect(const vt_cluster_opts *o, const char *role, vt__cl_conn **out);
void vt__cl_close(vt__cl_conn *c);
/* Only connects (and checks JetStream): makes no stream (for onlookers such as
   `cluster status`). */
vt_status vt__cl_connect_only(const vt_cluster_opts *o, const char *role, vt__cl_conn **out);

/* A durable consumer's state (server's view): VT_ENOENT when it or its stream is absent. */
typedef struct vt__cl_consumer {
    int64_t pending;     /* messages of its stream not yet delivered to it */
    int64_t unacked;     /* delivered, not acked yet */
    int64_t redelivered; /* of the unacked, those delivered more than once */
    int64_t waiting;     /* pull requests waiting (idle fetchers) */
} vt__cl_consumer;
vt_status vt__cl_consumer_state(vt__cl_conn *c, const char *stream, const char *consumer,
                                vt__cl_consumer *out);
/* The messages a stream holds now; VT_ENOENT when it is absent. */
vt_status vt__cl_stream_count(vt__cl_conn *c, const char *stream, int64_t *msgs);

/* The time of day, seconds since 1970 (CLOCK_REALTIME; the KV timestamps' clock). */
double vt__cl_wall_clock(void);

/* The largest message the server takes, bytes. */
int64_t vt__cl_max_payload(const vt__cl_conn *c);

/* Publishes to a stream and waits for its ack; msg_id de-duplicates (NULL: none). */
vt_status vt__cl_publish(vt__cl_conn *c, const char *subject, const void *data, size_t len,
                         const char *msg_id, uint64_t *seq);

/* A durable pull consumer (made when absent: explicit ack) and a subscription bound to it. */
typedef struct vt__cl_pull vt__cl_pull;
typedef struct vt__cl_pull_opts {
    const char *stream, *consumer, *filter;
    double ack_wait; /* seconds */
    int max_deliver; /* -1: no limit */
    bool fresh;      /* delete a consumer of that name first: start from the stream's start,
                        removed by the server a minute after its last fetch */
} vt__cl_pull_opts;
vt_status vt__cl_pull_open(vt__cl_conn *c, const vt__cl_pull_opts *o, vt__cl_pull **out);
void vt__cl_pull_close(vt__cl_pull *p);

/* One fetched message (data borrowed until vt__cl_msg_done). */
typedef struct vt__cl_msg {
    const void *data;
    size_t len;
    uint64_t stream_seq;
    uint64_t delivered; /* how many times the server delivered it (1: first) */
    void *nats;         /* the natsMsg */
} vt__cl_msg;

/*
 * Fetches up to `max` messages waiting at most `timeout` seconds; *n = 0 on a
 * timeout (not an error). A lost connection is not an error either: the
 * client reconnects and the next fetch goes on.
 */
vt_status vt__cl_fetch(vt__cl_pull *p, vt__cl_msg *msgs, int max, double timeout, int *n);

/* Acks (sync: waits for the server's confirmation), naks or terms, and frees the message. */
vt_status vt__cl_ack(vt__cl_msg *m, bool sync);
void vt__cl_term(vt__cl_msg *m);
void vt__cl_msg_done(vt__cl_msg *m);
/* Tells the server the message is still being worked on (resets its AckWait). */
void vt__cl_in_progress(vt__cl_msg *m);

/* Reads message `seq` of a stream (a copy into *data, malloc'ed; the caller frees). */
vt_status vt__cl_get(vt__cl_conn *c, const char *stream, uint64_t seq, uint8_t **data, size_t *len);

/* VT_EUNSUPPORTED for what the distributed mode does not take yet (moving cameras, 2D
   detections), VT_EINVAL for a rig of no or too many cameras (capture.c). */
vt_status vt__cl_check_rig(const vt_rig *rig);

/* ---- KV (conn.c): the coordinators' lease ------------------------------------ */

#define VT__CL_KV_LEASE "vt_lease"
#define VT__CL_KEY_COORDINATOR "coordinator"

typedef struct vt__cl_kv vt__cl_kv;

/* The bucket, made when absent (history 1: only the latest value). */
vt_status vt__cl_kv_open(vt__cl_conn *c, const char *bucket, vt__cl_kv **out);
void vt__cl_kv_close(vt__cl_kv *kv);

/* The bucket if it is there (VT_ENOENT when not): makes nothing. */
vt_status vt__cl_kv_find(vt__cl_conn *c, const char *bucket, vt__cl_kv **out);

/* The key's value (into buf, NUL-terminated) and revision; VT_ENOENT when there is none. */
vt_status vt__cl_kv_get(vt__cl_kv *kv, const char *key, char *buf, size_t size, uint64_t *rev);
/* The same, and when the server stored it (seconds since 1970, the server's clock; may
   be NULL). */
vt_status vt__cl_kv_entry(vt__cl_kv *kv, const char *key, char *buf, size_t size, uint64_t *rev,
                          double *written);

/* Creates the key (VT_EMISMATCH when it exists), or replaces it if its revision is still
   `last` (compare-and-swap; VT_EMISMATCH when another wrote it since). *rev: the new one. */
vt_status vt__cl_kv_create(vt__cl_kv *kv, const char *key, const char *value, uint64_t *rev);
vt_status vt__cl_kv_update(vt__cl_kv *kv, const char *key, const char *value, uint64_t last,
                           uint64_t *rev);

/* Writes the key whatever is there (*rev: its new revision; may be NULL). */
vt_status vt__cl_kv_put(vt__cl_kv *kv, const char *key, const char *value, uint64_t *rev);
/* Deletes the key (nothing when it is not there; errors are not reported: best effort). */
void vt__cl_kv_delete(vt__cl_kv *kv, const char *key);
/* The bucket's keys (*n of them; none for an empty bucket); free with vt__cl_kv_keys_free. */
vt_status vt__cl_kv_keys(vt__cl_kv *kv, char ***keys, int *n);
void vt__cl_kv_keys_free(char **keys, int n);

/* The last message on `subject` of a stream (a malloc'ed copy); VT_ENOENT when none. */
vt_status vt__cl_last(vt__cl_conn *c, const char *stream, const char *subject, uint8_t **data,
                      size_t *len);

/* prefix + name with everything but letters, digits, '-' and '_' made '_' (a consumer
   name, a KV key). */
void vt__cl_safe_name(char *out, size_t size, const char *prefix, const char *name);

/* ---- membership (membership.c) ------------------------------------------------ */

#define VT__CL_KV_MEMBERS "vt_members" /* node.<name> = its role, written every second */
#define VT__CL_KV_CAMERAS "vt_cameras" /* camera.<index> = the capture node that owns it */

/* Every BEAT seconds a node writes its key; one whose key has not changed for DEAD
   seconds on the coordinator's own clock is dead. */
#define VT__CL_BEAT 1.0
#define VT__CL_DEAD 5.0

/* A thread that writes node.<name> = "ROLE[ sets=N redelivered=M]" every VT__CL_BEAT
   seconds, on its own connection's KV handle; stopping it deletes the key (a node that
   leaves is not waited for). The role is the value's first word. */
typedef struct vt__cl_beat vt__cl_beat;
vt_status vt__cl_beat_start(vt__cl_conn *c, const char *role, const char *name, vt__cl_beat **out);
/* What the next heartbeats say the node has done (any thread; b NULL: nothing). */
void vt__cl_beat_info(vt__cl_beat *b, int64_t sets, int64_t redelivered);
void vt__cl_beat_stop(vt__cl_beat *b);

/* The KV key of camera i, of node `name`. */
void vt__cl_camera_key(char *out, size_t size, int camera);
void vt__cl_node_key(char *out, size_t size, const char *name);

/*
 * The leader's watch over the capture nodes: who is alive (their keys' revisions
 * changing, on this clock), and the cameras of a dead one reassigned by
 * compare-and-swap to the live capture node with the fewest cameras.
 */
typedef struct vt__cl_watch vt__cl_watch;
vt_status vt__cl_watch_new(vt__cl_conn *c, int ncams, vt__cl_watch **out);
void vt__cl_watch_free(vt__cl_watch *w);
/*
 * One look (at most every 0.25 s; sooner calls return at once). `ended`: the
 * cameras whose input has ended (never reassigned); last_set[i]: the last frame
 * set of camera i that came in (-1: none), for the gap reported. Counts
 * reassignments in st (reassigned, reassign_seconds). Server errors are not
 * fatal: the next look tries again.
 */
void vt__cl_watch_tick(vt__cl_watch *w, uint64_t ended, const int64_t *last_set,
                       vt_cluster_stats *st);

/* Sleeps that long (seconds). */
void vt__cl_sleep(double seconds);

/* True once o->stop is set. */
bool vt__cl_stopped(const vt_cluster_opts *o);

#endif
