/*
 * voxtrack/sapient.h - voxtrack as a SAPIENT sensor node (BSI Flex 335 v2.0).
 *
 * SAPIENT is how the sensors of a counter-drone system report to its fusion
 * node: each sensor (an ASM, autonomous sensor module) holds a TCP connection
 * to the fusion node (the DMM, decision-making module) and sends Protocol
 * Buffers messages (proto/sapient/sapient.proto), each preceded by its length
 * as a 4-byte little-endian integer. A vt_sapient is that sensor node:
 *
 *   on connect     Registration (node type camera, capabilities, the classes
 *                  it reports: drone, bird, unknown; its status interval,
 *                  location and task definitions); nothing else goes out
 *                  until the fusion node accepts it with a RegistrationAck
 *   every interval StatusReport (system state, cameras live, the rig's origin
 *                  as the node's location, the watched volume as coverage),
 *                  and at once when the cameras change (lost, back)
 *   per frame set  one DetectionReport per confirmed track (coasting ones
 *                  too, optionally birds): object_id a ULID made from the
 *                  track id, WGS84 location with 1-sigma errors, ENU velocity,
 *                  classification with a confidence, track and object info
 *   per alert      an Alert for each event of the alert rules (alert.h)
 *   on close       StatusReport with system GOODBYE
 *
 * and it obeys the Tasks it receives (answering each with a TaskAck): the
 * requests Start, Stop (detection reports on and off), Heartbeat (a status
 * report now) and Registration (register again), and regions: areas of
 * interest (only tracks inside one are reported) and areas to ignore (tracks
 * inside are not), polygons in WGS84. docs/SAPIENT.md has every field and
 * what the standard has that this does not.
 *
 * Everything network happens on a thread of the sender's own: it connects,
 * reconnects with exponential backoff (0.1 s doubling to 5 s) whenever the
 * connection fails, registers again on every new connection, reads what the
 * fusion node sends and writes a bounded queue of messages. Publishing only
 * encodes into the queue: it never blocks on the network; a full queue drops
 * its oldest message (counted).
 *
 * URL: sapient+tcp://HOST:PORT[?KEY=VALUE&...], keys:
 *   node_id=UUID    this node's id (default: a UUID derived from the host
 *                   name and the rig's origin, the same on every start)
 *   status=S        status report interval, seconds (default 5; 0.05..3600)
 *   wait=S          vt_sapient_open waits up to S seconds for the fusion node
 *                   to accept the registration (default 0: do not wait);
 *                   reports made before that are not sent (counted)
 *   linger=S        vt_sapient_free waits up to S seconds for the queue to
 *                   go out (default 2)
 *   utc_offset=S    report time = the frame set's time t + S (Unix seconds;
 *                   for replays and tests); default: the wall clock at publish
 *   coasting=0|1    report coasting tracks (default 1)
 *   birds=0|1       report tracks classified as birds (default 1)
 *   queue=N         messages held while the network is slow (default 4096)
 *
 * Thread safety: vt_sapient_publish from one thread at a time; vt_sapient_alert
 * and vt_sapient_get_stats from any thread.
 */
#ifndef VOXTRACK_SAPIENT_H
#define VOXTRACK_SAPIENT_H

#include <stdbool.h>
#include <stdint.h>

#include "voxtrack/alert.h"
#include "voxtrack/export.h"
#include "voxtrack/pipeline.h"
#include "voxtrack/rig.h"
#include "voxtrack/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vt_sapient_opts {
    const char *node_id;      /* UUID (8-4-4-4-12 hex digits); NULL: derived (see above) */
    const char *name;         /* the node's name in its registration (default "voxtrack") */
    double status_interval_s; /* default 5 */
    double wait_s;            /* default 0 */
    double linger_s;          /* default 2 */
    double utc_offset_s;      /* NAN (default): the wall clock */
    bool coasting;            /* default true */
    bool birds;               /* default true */
    int queue;                /* default 4096 */
    /* The classifier's thresholds, for the confidence of a classification: the
       pipeline's (vt_pipeline_opts bird_accel, bird_flicker, bird_min_age); tracks
       younger than min_age are "unknown". Defaults: those of vt_pipeline_opts_default. */
    double bird_accel, bird_flicker;
    int bird_min_age;
} vt_sapient_opts;

VT_API vt_sapient_opts vt_sapient_opts_default(void);

typedef struct vt_sapient vt_sapient;

/*
 * Opens a sensor node for url (see above; the URL's keys win over *o, which
 * may be NULL for the defaults) and starts its thread. The rig must have a
 * geodetic origin (VT_EINVAL otherwise); its camera ids and origin are
 * copied. Bad URLs and options are VT_EINVAL naming the URL and the key.
 * With wait > 0 it returns once the fusion node accepted the registration,
 * or after wait seconds with VT_OK all the same (the thread keeps trying;
 * vt_sapient_get_stats says whether it is registered).
 */
VT_API vt_status vt_sapient_open(const char *url, const vt_rig *rig, const vt_sapient_opts *o,
                                 vt_sapient **out);

/*
 * One frame set: a DetectionReport per reportable track (confirmed, coasting
 * unless off, birds unless off; inside the task's regions), a StatusReport
 * when the cameras live changed. Does nothing but count while the node is
 * not registered or the fusion node asked it to stop. Never blocks on the
 * network. VT_EINVAL for NULL arguments; a track whose position PROJ cannot
 * convert is skipped and counted as an error.
 */
VT_API vt_status vt_sapient_publish(vt_sapient *s, const vt_pipeline_result *r);

/*
 * One event of the alert rules (a vt_alert_fn may call this directly): an
 * Alert, ACTIVE when raised, CLEAR when cleared; zone alerts carry the
 * track's position and its object id. Any thread; never blocks.
 */
VT_API vt_status vt_sapient_alert(vt_sapient *s, const vt_alert_event *e);

typedef struct vt_sapient_stats {
    bool connected, registered;
    uint64_t connections;   /* TCP connections made */
    uint64_t registrations; /* RegistrationAcks that accepted the node */
    uint64_t rejections;    /* RegistrationAcks that refused it */
    uint64_t sent;          /* messages written in full */
    uint64_t detections;    /* DetectionReports queued */
    uint64_t statuses;      /* StatusReports queued */
    uint64_t alerts;        /* Alerts queued */
    uint64_t tasks;         /* Tasks received */
    uint64_t tasks_rejected;
    uint64_t filtered;     /* track reports left out by the task (regions, Stop) */
    uint64_t unregistered; /* reports not made because the node was not registered */
    uint64_t dropped;      /* messages lost: queue full, or connection lost with them queued */
    uint64_t received;     /* messages received */
    uint64_t bad_messages; /* received messages that did not decode (answered with Error) */
    uint64_t errors;       /* tracks PROJ could not convert, encoding failures */
} vt_sapient_stats;

VT_API void vt_sapient_get_stats(vt_sapient *s, vt_sapient_stats *st);

/* The node id in use (a UUID string owned by s). */
VT_API const char *vt_sapient_node_id(const vt_sapient *s);

/*
 * Sends the GOODBYE status report, waits up to linger seconds for the queue
 * to go out, stops the thread and frees. Accepts NULL.
 */
VT_API void vt_sapient_free(vt_sapient *s);

#ifdef __cplusplus
}
#endif

#endif
