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
 * Not yet: moving cameras and cameras with 2D detections (refused with
 * VT_EUNSUPPORTED), several capture nodes, membership and camera reassignment.
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
} vt_cluster_opts;

VT_API vt_cluster_opts vt_cluster_opts_default(void);

/* What a role counted; the call fills it on return (may be NULL). */
typedef struct vt_cluster_stats {
    int64_t sets;          /* frame sets captured, voted or tracked */
    int64_t messages;      /* messages published */
    int64_t bytes;         /* their payload bytes */
    int64_t max_message;   /* the largest, bytes */
    int64_t redelivered;   /* work items that came again (a worker died, an ack was lost):
                              a worker's own count; the coordinator's is over the frame
                              sets it tracked (the deliveries their detections came from) */
    int64_t duplicates;    /* messages dropped as already seen */
    int64_t bad_messages;  /* messages that failed their checks (CRC, format), dropped */
    int64_t takeovers;       /* coordinator: times it took the lease from a silent leader */
    double takeover_seconds; /* the last takeover: how long the lease had been silent */
} vt_cluster_stats;

/*
 * The capture node: every frame set that `produce` gives (as for
 * vt_pipeline_run; frame sets of the whole rig) goes through the camera
 * stage of each camera, and each camera's rays are published. At the end,
 * an end-of-input message per camera. VT_EUNSUPPORTED for a rig with moving
 * cameras or 2D detections; VT_ERANGE naming the camera when a camera's
 * rays do not fit the server's largest message (lower max_rays).
 */
VT_API vt_status vt_cluster_capture_run(const vt_cluster_opts *o, const vt_pipeline_opts *po,
                                        const vt_rig *rig, vt_produce_fn produce, void *user,
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

#ifdef __cplusplus
}
#endif

#endif
