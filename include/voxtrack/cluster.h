/*
 * voxtrack/cluster.h - the tracker spread over processes and machines, on
 * NATS JetStream (docs/CLUSTER.md).
 *
 *   capture node   owns cameras: motion -> blobs -> rays (the camera stage of
 *                  pipeline.h), one message per camera per frame set on
 *                  vt.rays.<camera> (stream VT_RAYS, de-duplicated by
 *                  Nats-Msg-Id, CRC-checked)
 *   coordinator    assembles a work item per frame set once every camera's
 *                  rays are in (WorkQueue stream VT_WORK), then tracks the
 *                  voted frame sets (stream VT_DETS) in strict order. Of
 *                  several, the holder of a KV lease leads (assembles); the
 *                  others track every frame set too (hot standbys) and one
 *                  takes the lease ~1.5 s after the leader stops renewing it
 *   voting worker  pulls work items from one durable consumer shared by all
 *                  workers (explicit ack, a bounded number of deliveries),
 *                  votes and detects (the vote stage), publishes detections
 *                  de-duplicated by frame set, then acks
 *
 * Run on the same inputs, the roles give exactly the tracks that
 * vt_pipeline_process() gives: the same stages on the same numbers (every
 * number crosses as its bits), the tracker in the same order.
 *
 * Each role is one call that returns when its work is done (the
 * coordinator), when *opts.stop becomes non-zero, or on an error. The
 * streams and consumers are made by whichever role comes first. One run at
 * a time per server (its streams hold one run's frame sets).
 *
 * Membership: every node heartbeats into a KV bucket (vt_cluster_view_read
 * shows them); the leading coordinator declares a node dead after 5 s
 * without a heartbeat (on its own clock) and hands a dead capture node's
 * cameras to live capture nodes by compare-and-swap.
 *
 * Not yet: moving cameras and cameras with 2D detections (refused with
 * VT_EUNSUPPORTED).
 */
#ifndef VOXTRACK_CLUSTER_H
#define VOXTRACK_CLUSTER_H

#include <stdint.h>

#include "voxtrack/export.h"
#include "voxtrack/pipeline.h"
#include "voxtrack/rig.h"
#include "voxtrack/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vt_cluster_opts {
    const char *url;  /* the NATS server (default "nats://127.0.0.1:4222") */
    const char *name; /* this node's name in the server's connection list (NULL: the role) */
    double timeout;   /* seconds to wait for the server: connecting, each request (default 5) */
    double ack_wait;  /* a worker's work item comes back to the queue after this long
                         without an ack, seconds (default 10) */
    int max_deliver;  /* deliveries of a work item before it is given up (default 4: the
                         first and 3 retries) */
    const volatile int *stop; /* when non-NULL and *stop != 0, the role returns VT_ECANCELED
                                 soon (a signal handler may set it) */
    uint64_t cameras;         /* capture node: the cameras it takes at its start (bit i: rig camera
                                 i; 0, the default: every camera no other node owns) */
} vt_cluster_opts;

VT_API vt_cluster_opts vt_cluster_opts_default(void);

/* What a role counted; the call fills it on return (may be NULL). */
typedef struct vt_cluster_stats {
    int64_t sets;            /* frame sets captured, voted or tracked */
    int64_t messages;        /* messages published */
    int64_t bytes;           /* their payload bytes */
    int64_t max_message;     /* the largest, bytes */
    int64_t redelivered;     /* work items that came again (a worker died, an ack was lost):
                                a worker's own count; the coordinator's is over the frame
                                sets it tracked (the deliveries their detections came from) */
    int64_t duplicates;      /* messages dropped as already seen */
    int64_t bad_messages;    /* messages that failed their checks (CRC, format), dropped */
    int64_t takeovers;       /* coordinator: times it took the lease from a silent leader */
    double takeover_seconds; /* the last takeover: how long the lease had been silent */
    int64_t reassigned;      /* coordinator: cameras moved from a dead capture node to a live
                                one; capture node: cameras it took over */
    double reassign_seconds; /* coordinator, the last reassignment: how long the dead node's
                                heartbeat had been silent when its camera moved */
} vt_cluster_stats;

/*
 * A capture node's input: the frame sets of the whole rig (as for
 * vt_pipeline_run), and a way to read them again from the first one.
 * `reopen` opens a second reader (*again, read with `produce` and closed
 * with `close`): a node that takes over a dead node's camera reads that
 * camera's frames from the start through a camera stage of its own, so its
 * background model is the one the dead node had, and publishes from the
 * frame set after the last one the dead node published. reopen NULL: the
 * node never takes cameras over.
 */
typedef struct vt_cluster_input {
    vt_produce_fn produce;
    void *user;
    vt_status (*reopen)(void *user, void **again);
    void (*close)(void *again);
} vt_cluster_input;

/*
 * A capture node: takes the cameras o->cameras names (those nobody owns
 * when 0) in the KV bucket vt_cameras and heartbeats into vt_members every
 * second. Every frame set goes through the camera stage of each camera it
 * owns, and each of their rays is published; the rest of a frame set is
 * read and dropped. When the coordinator hands it a camera of a dead node,
 * it takes it over (see vt_cluster_input). At the end of its input it
 * publishes an end-of-input message per camera it owns and stays (to take
 * cameras over) until every camera of the rig has ended. VT_EUNSUPPORTED
 * for a rig with moving cameras or 2D detections; VT_ERANGE naming the
 * camera when a camera's rays do not fit the server's largest message
 * (lower max_rays).
 */
VT_API vt_status vt_cluster_capture_run(const vt_cluster_opts *o, const vt_pipeline_opts *po,
                                        const vt_rig *rig, const vt_cluster_input *in,
                                        vt_cluster_stats *stats);

/*
 * A voting worker: pulls frame sets, votes them (vt_vote_stage), publishes
 * their detections and acks, until *o->stop. Any number may run at once.
 */
VT_API vt_status vt_cluster_worker_run(const vt_cluster_opts *o, const vt_pipeline_opts *po,
                                       const vt_rig *rig, vt_cluster_stats *stats);

/*
 * A coordinator: tracks the voted frame sets in order (all of them, from the
 * stream's start, on a consumer named after o->name: give each coordinator
 * its own name) and, while it holds the lease, assembles the work items (on
 * a thread of its own), handing each result to `consume`
 * (on the calling thread; a non-zero return stops the run) until the last
 * frame set of the input. The results' cameras, rays and timing come from
 * the other nodes; .vote is NULL and .seconds the sum of the stages.
 */
VT_API vt_status vt_cluster_coordinator_run(const vt_cluster_opts *o, const vt_pipeline_opts *po,
                                            const vt_rig *rig, vt_consume_fn consume, void *user,
                                            vt_cluster_stats *stats);

/* One node as its last heartbeat in the KV bucket vt_members tells it. */
typedef struct vt_cluster_member {
    char name[80];
    char role[16];       /* "capture", "worker" or "coordinator" */
    double age;          /* seconds since its last heartbeat: the server's time of the key
                            against this machine's clock (their difference is in it) */
    int64_t sets;        /* frame sets it captured, voted or tracked, as of that heartbeat */
    int64_t redelivered; /* worker: items it got again; coordinator: over the sets it tracked */
    int cameras;         /* capture node: cameras it owns now */
    int leader;          /* coordinator: 1 when it holds the lease */
} vt_cluster_member;

/* What `voxtrack cluster status` shows: the server's view of a running cluster. */
typedef struct vt_cluster_view {
    vt_cluster_member *members; /* nmembers, sorted by role then name */
    int nmembers;
    char leader[80];        /* the coordinator holding the lease ("" when none) */
    int ncameras;           /* the cameras that have an owner */
    int camera[64];         /* their rig indices, ascending */
    char owner[64][80];     /* and who owns each */
    int64_t rays_waiting;   /* rays messages the assembler has not taken yet */
    int64_t rays_held;      /* taken by the assembler, waiting for the rest of their frame set */
    int64_t work_waiting;   /* work items no worker has yet */
    int64_t work_running;   /* given to a worker, not acked yet */
    int64_t work_again;     /* of those, delivered more than once */
    int64_t idle_workers;   /* workers waiting for an item (pull requests at the server) */
    int64_t dets;           /* voted frame sets in the detections stream */
    int64_t redelivered;    /* work items delivered again over the run (the leader's count;
                               without a leader, the most any coordinator counted) */
} vt_cluster_view;

/*
 * Reads the cluster's state from the server at o->url (o->timeout bounds each
 * request): members, lease, camera owners, queues. Makes nothing on the
 * server: a server that never saw a cluster gives an empty view. Errors name
 * the URL (unreachable, no JetStream). Free with vt_cluster_view_free.
 */
VT_API vt_status vt_cluster_view_read(const vt_cluster_opts *o, vt_cluster_view *out);
VT_API void vt_cluster_view_free(vt_cluster_view *v);

#ifdef __cplusplus
}
#endif

#endif
