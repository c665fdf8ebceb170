/*
 * voxtrack/stream.h - the streamer behind `--stream URL`: every frame set's
 * result encoded once (wire.h) and sent to every URL.
 *
 * URLs:
 *   udp://HOST:PORT, tcp://ADDR:PORT, shm://NAME, file://PATH
 *                       Protocol Buffers messages through a transport
 *                       (transport.h: datagrams, length-prefixed TCP,
 *                       a shared-memory ring, a binary log to replay)
 *   file://PATH.jsonl   JSON Lines: one JSON object per message
 *   (or PATH.jsonl)     (vt_wire_to_json), flushed per frame set
 *   cot+udp://GROUP:PORT, cot+tcp://HOST:PORT
 *                       Cursor-on-Target events for TAK (cot.h); the rig
 *                       must have a geodetic origin
 *   sapient+tcp://HOST:PORT
 *                       a SAPIENT (BSI Flex 335 v2.0) sensor node reporting
 *                       to the fusion node at HOST:PORT (sapient.h); the rig
 *                       must have a geodetic origin
 *
 * Each frame set sends a TrackBatch, a DetectionBatch and a FrameSetStats;
 * a Health message goes out about once a second (wall clock). A URL with
 * ?voxels=N (and optionally voxel_cameras=K, voxel_blocks=M; taken off the
 * URL before the transport sees it) also gets a VoxelChunk of the result's
 * vote grid every Nth frame set: the coarse blocks with a cell of >= K
 * cameras (default: the voting's K), at most M of them (default 1024). See
 * docs/STREAMING.md. Publishing
 * never blocks (the transports drop and count instead), and a URL that fails
 * to send is counted and reported once on stderr, never fatal. Opening is
 * where bad URLs fail.
 */
#ifndef VOXTRACK_STREAM_H
#define VOXTRACK_STREAM_H

#include <stdint.h>

#include "voxtrack/alert.h"
#include "voxtrack/export.h"
#include "voxtrack/pipeline.h"
#include "voxtrack/rig.h"
#include "voxtrack/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vt_streamer vt_streamer;

/*
 * Opens every URL (n >= 1; the rig is copied where needed: camera ids,
 * origin). A URL that cannot be opened fails the whole call: VT_EINVAL for a
 * malformed or unknown URL, VT_EUNSUPPORTED for a kind of stream this build
 * lacks, or the transport's error; the message names the URL.
 */
VT_API vt_status vt_streamer_new(const vt_rig *rig, const char *const *urls, int n,
                                 vt_streamer **out);

/*
 * Publishes one frame set: TrackBatch, DetectionBatch, FrameSetStats (and
 * Health every second) to every URL, CoT events to cot+ URLs. Never blocks;
 * a failing URL is counted and reported once, not fatal. Returns an error
 * only when a message cannot be encoded (VT_ENOMEM) or r is NULL.
 * Not thread-safe: one publisher.
 */
VT_API vt_status vt_streamer_publish(vt_streamer *s, const vt_pipeline_result *r);

typedef struct vt_streamer_stats {
    uint64_t frame_sets; /* publish calls */
    uint64_t messages;   /* messages handed to a URL without error, all URLs */
    uint64_t errors;     /* sends that failed, all URLs */
    int urls;            /* URLs open */
} vt_streamer_stats;

VT_API void vt_streamer_get_stats(const vt_streamer *s, vt_streamer_stats *out);

/* The failed sends of URL i (in the order given to vt_streamer_new), 0 for bad i. */
VT_API uint64_t vt_streamer_url_errors(const vt_streamer *s, int i);

/*
 * Hands one event of the alert rules to the URLs that carry alerts (SAPIENT:
 * an Alert message); the others ignore it. Any thread (a vt_alert_fn may
 * call it); never blocks. NULL s or e: nothing.
 */
VT_API void vt_streamer_alert(vt_streamer *s, const vt_alert_event *e);

/* Flushes and closes every URL, frees. Accepts NULL. */
VT_API void vt_streamer_free(vt_streamer *s);

#ifdef __cplusplus
}
#endif

#endif
