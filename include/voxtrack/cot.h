/*
 * voxtrack/cot.h - Cursor-on-Target (CoT) events for TAK (ATAK, WinTAK,
 * iTAK, TAK Server) and their senders.
 *
 * Every publish call turns each confirmed track of a frame set into one CoT
 * 2.0 XML event:
 *
 *   <event version="2.0" uid="voxtrack-1a2b3c4d-12" type="a-u-A-M-H-Q" how="m-f"
 *          time="..." start="..." stale="...">
 *     <point lat="..." lon="..." hae="..." ce="..." le="..."/>
 *     <detail><track course="..." speed="..."/><remarks>...</remarks></detail>
 *   </event>
 *
 * lat/lon/hae are WGS84 (hae: metres above the ellipsoid) from the rig's
 * geodetic origin through PROJ (voxtrack/geodetic.h); ce is the circular
 * 1-sigma error (the square root of the larger eigenvalue of the track's
 * east/north position covariance) and le the vertical 1-sigma error, both
 * metres; course is degrees clockwise from true north at the track and
 * speed the horizontal speed in m/s. Times are ISO 8601 UTC with
 * milliseconds. docs/COT.md says how each field is made and how to set up
 * TAK.
 *
 * Senders: UDP (a multicast group, 239.2.3.1:6969 by default, the SA
 * multicast address TAK clients listen to, or a unicast address), one event
 * per datagram; or TCP to a TAK server's streaming input, events back to
 * back, from a thread of its own with a bounded queue, reconnecting with
 * backoff. Publishing never blocks.
 */
#ifndef VOXTRACK_COT_H
#define VOXTRACK_COT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "voxtrack/export.h"
#include "voxtrack/pipeline.h"
#include "voxtrack/rig.h"
#include "voxtrack/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vt_cot_opts {
    const char *type;       /* CoT type of a drone, default "a-u-A-M-H-Q" (air, unknown
                               affiliation, UAV rotary wing) */
    const char *how;        /* default "m-f" (machine, fused) */
    double min_interval_s;  /* per-track rate limit: at most one event per track per this
                               many seconds of event time (default 1; 0: every publish) */
    double stale_s;         /* stale = time + this (default 5) */
    const char *uid_prefix; /* default "voxtrack-" */
    /* --- additions to the agreed API --- */
    bool uid_origin;       /* uid = prefix + 8 hex digits of a hash of the rig's origin + "-" +
                              track id, so that two rigs never share a uid (default true);
                              false: prefix + track id */
    const char *bird_type; /* CoT type of tracks classified as birds; NULL (default): birds
                              get no event */
    bool coasting;         /* also publish confirmed tracks that missed the last frame set
                              (their predicted position; default true) */
    double utc_offset_s;   /* NAN (default): event time = the wall clock (UTC) at publish;
                              otherwise event time = the result's time t + this, in Unix
                              seconds (0 when t already is Unix time; for tests and replays
                              that want their recorded times) */
    int ttl;               /* UDP multicast TTL (default 1: the local network); a URL's
                              ?ttl=N wins */
    int queue;             /* TCP: events held while the server is slow or away (default
                              1024); the oldest are dropped and counted */
} vt_cot_opts;

VT_API vt_cot_opts vt_cot_opts_default(void);

/* One CoT event, as vt_cot_event_xml writes it. */
typedef struct vt_cot_event {
    const char *uid, *type, *how;
    double time, start, stale; /* Unix seconds, UTC */
    double lat, lon, hae;      /* degrees, degrees, metres above the WGS84 ellipsoid */
    double ce, le;             /* 1-sigma circular and vertical error, metres */
    double course, speed;      /* degrees from true north, m/s; NAN: no <track> element */
    const char *remarks;       /* NULL: no <remarks> element */
} vt_cot_event;

/*
 * Writes the event as one XML document (with its <?xml?> declaration, no
 * trailing newline) into buf of `size` bytes, NUL-terminated; *len (may be
 * NULL) gets its length without the NUL. Attribute and text values are
 * escaped (& < > " '). VT_ERANGE when it does not fit; VT_EINVAL for a NULL
 * uid/type/how or coordinates that are not finite.
 */
VT_API vt_status vt_cot_event_xml(const vt_cot_event *ev, char *buf, size_t size, size_t *len);

/* Formats Unix seconds as ISO 8601 UTC with milliseconds ("2026-11-26T12:00:00.000Z");
 * buf needs 25 bytes. Returns buf. */
VT_API char *vt_cot_time(double unix_s, char buf[25]);

typedef struct vt_cot_sender vt_cot_sender;

/*
 * Opens a sender. url: udp://GROUP:PORT or udp://HOST:PORT (an empty host,
 * "udp://", means 239.2.3.1:6969) with ?ttl=N and ?iface=ADDR (the local
 * address whose interface sends multicast); tcp://HOST:PORT (a TAK server's
 * streaming TCP input, e.g. port 8087; connects in the background and
 * reconnects with backoff from 0.1 s to 5 s). The same with a "cot+" prefix
 * (cot+udp://...) is accepted too. The rig must have a geodetic origin
 * (rig->has_origin): VT_EINVAL otherwise. o may be NULL (defaults). Bad URLs
 * are VT_EINVAL naming the URL and the part that is wrong.
 */
VT_API vt_status vt_cot_sender_open(const char *url, const vt_rig *rig, const vt_cot_opts *o,
                                    vt_cot_sender **out);

/*
 * Sends one event per confirmed track of the result (coasting ones too, see
 * opts; tentative never; birds only with a bird_type) whose last event is at
 * least min_interval_s old. Never blocks: a full UDP socket buffer or a full
 * TCP queue drops events and counts them. Errors: VT_EINVAL for bad
 * arguments; a track whose position PROJ cannot convert is skipped and
 * counted as an error, not fatal. Not thread-safe (one publisher).
 */
VT_API vt_status vt_cot_publish(vt_cot_sender *c, const vt_pipeline_result *r);

typedef struct vt_cot_stats {
    uint64_t events;     /* events made by publish */
    uint64_t sent;       /* events handed to the network in full */
    uint64_t dropped;    /* events lost: UDP buffer full, TCP queue full or connection lost */
    uint64_t limited;    /* track updates skipped by the rate limit */
    uint64_t errors;     /* send or conversion errors */
    uint64_t reconnects; /* TCP: connections made after the first */
    bool connected;      /* TCP: connected now (UDP: always true) */
} vt_cot_stats;

/* The sender's counters so far (thread-safe against the TCP thread). */
VT_API void vt_cot_sender_stats(vt_cot_sender *c, vt_cot_stats *st);

/* Stops the TCP thread (without waiting for a server), closes the socket, frees. Accepts NULL. */
VT_API void vt_cot_sender_free(vt_cot_sender *c);

#ifdef __cplusplus
}
#endif

#endif
