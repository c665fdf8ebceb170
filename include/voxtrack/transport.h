/*
 * voxtrack/transport.h - byte transports for voxtrack's streams: UDP
 * (unicast and multicast), TCP (many clients), POSIX shared memory and a
 * binary file log.
 *
 * A transport moves opaque messages, each tagged with its vt_msg_type
 * (wire.h), from one sender to any number of receivers. Every message gets a
 * per-sender sequence number, so that receivers can count what they lost,
 * what came twice and what came out of order. A sender never blocks its
 * caller: a datagram the kernel will not take, or a message a slow TCP client
 * has no room for, is dropped and counted. The framing of each transport is
 * documented byte by byte in docs/TRANSPORTS.md.
 *
 * URLs:
 *   udp://HOST:PORT[?ttl=N&mtu=N&iface=ADDR]   sender: datagrams to HOST (a
 *       unicast address or a multicast group 224.0.0.0/4); receiver: binds
 *       HOST:PORT (a group is joined on iface, default any); PORT 0 = any.
 *       mtu: largest datagram, header included (default 1400); longer
 *       messages are split into fragments and reassembled by the receiver.
 *       Receiver option: rcvbuf=BYTES (socket buffer asked for, default 4 MiB).
 *   tcp://ADDR:PORT[?queue=N&queue_bytes=N]    sender: listens (PORT 0 = any,
 *       see vt_sender_port); each client has a queue of at most queue
 *       messages (default 1024) and queue_bytes bytes (default 32 MiB), and
 *       loses its oldest messages when full. Receiver: connects to ADDR:PORT
 *       and reconnects (with backoff) whenever the connection goes away.
 *   shm://NAME[?bytes=N]   a ring of N bytes (a power of two, default 16 MiB)
 *       in POSIX shared memory /NAME: one producer, any number of readers.
 *       A reader starts at the newest data, waits (within its timeout) for a
 *       producer that does not exist yet, and detects and skips the data it
 *       lost when it falls more than a ring behind (an overrun).
 *   file://PATH[?lz4=N]    sender: a length-prefixed binary log (created or
 *       truncated); receiver: replays it, *end set at its end. The path is
 *       taken whole but for a last "?lz4=N".
 *   Any sender: lz4=1 sends each message as one LZ4 frame (flagged in its
 *       header) when that makes it smaller; receivers decompress flagged
 *       messages by themselves (whatever their URL says) and count one that
 *       does not decompress as garbage. docs/TRANSPORTS.md has the bytes.
 *
 * Thread safety: a sender or receiver is used by one thread at a time; the
 * stats functions of a sender may be called from any thread.
 */
#ifndef VOXTRACK_TRANSPORT_H
#define VOXTRACK_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "voxtrack/export.h"
#include "voxtrack/status.h"
#include "voxtrack/wire.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The largest message any transport carries (64 MiB). */
#define VT_TRANSPORT_MAX_MESSAGE ((size_t)64 << 20)

/* ---- sending ------------------------------------------------------------ */

typedef struct vt_sender vt_sender;

typedef struct vt_sender_stats {
    uint64_t sent;     /* messages accepted by vt_sender_send */
    uint64_t bytes;    /* their payload bytes */
    uint64_t dropped;  /* UDP: messages the kernel would not take (EAGAIN); TCP: messages
                          slow clients lost (all clients together) */
    uint64_t clients;  /* TCP: clients connected now; 0 for the others */
    uint64_t accepted; /* TCP: clients accepted so far */
} vt_sender_stats;

/*
 * Opens a sender for a URL (see the top of this file). Errors (VT_EINVAL for a
 * malformed URL or parameter, VT_EIO for a socket, file or shared memory that
 * cannot be set up) name the URL and what is wrong. *out is NULL on failure.
 */
VT_API vt_status vt_sender_open(const char *url, vt_sender **out);

/*
 * Sends one message of `len` bytes (len <= VT_TRANSPORT_MAX_MESSAGE; for shm
 * at most a quarter of the ring) tagged with `type` (1..255). Never blocks:
 * what cannot go now is dropped and counted. Returns VT_OK also when the
 * message was dropped; VT_EINVAL/VT_ERANGE for bad arguments, VT_EIO when the
 * transport failed (a file that cannot be written, a socket error).
 */
VT_API vt_status vt_sender_send(vt_sender *s, vt_msg_type type, const uint8_t *msg, size_t len);

/* The local port of a UDP or TCP sender (the ephemeral one for PORT 0); 0 for the others. */
VT_API int vt_sender_port(const vt_sender *s);

/* The sender's counters so far. Any thread. */
VT_API void vt_sender_get_stats(const vt_sender *s, vt_sender_stats *out);

/* Closes the sender: TCP clients are disconnected, a shm ring is unlinked, a file flushed. NULL ok.
 */
VT_API void vt_sender_free(vt_sender *s);

/* ---- receiving ---------------------------------------------------------- */

typedef struct vt_receiver vt_receiver;

typedef struct vt_receiver_stats {
    uint64_t received;   /* whole messages delivered */
    uint64_t bytes;      /* their payload bytes */
    uint64_t lost;       /* messages missed, from gaps in the sequence numbers (a message
                            with a missing fragment counts here) */
    uint64_t duplicates; /* messages that came again (dropped, not delivered) */
    uint64_t reordered;  /* messages that came after a later one (delivered) */
    uint64_t garbage;    /* datagrams, records or bytes that were not valid frames, truncated
                            ones included (skipped) */
    uint64_t truncated;  /* of those, frames shorter than their header says */
    uint64_t overruns;   /* shm: times the reader fell more than a ring behind */
    uint64_t reconnects; /* TCP: connections made again after one was lost; shm: rings
                            attached again after their producer went away */
    uint64_t restarts;   /* times the sender changed (a new stream id: sequence restarts) */
} vt_receiver_stats;

/*
 * Opens a receiver for a URL (see the top of this file). UDP binds (and joins
 * a group) now; TCP and shm connect or attach inside vt_receiver_next, so a
 * receiver may start before its sender. A file must exist.
 */
VT_API vt_status vt_receiver_open(const char *url, vt_receiver **out);

/*
 * Waits up to timeout_ms (0: do not wait; < 0: for ever) for the next whole
 * message. On VT_OK, *type, *msg and *len describe it, *msg valid until the
 * next call on this receiver; on timeout *type is 0 and *len 0. *end is set
 * (and *len 0) when a file has been read to its end. Garbage, duplicates and
 * lost connections are counted in the stats and never returned as errors;
 * VT_EIO is for a transport that cannot go on (a socket or file error).
 */
VT_API vt_status vt_receiver_next(vt_receiver *r, int timeout_ms, vt_msg_type *type,
                                  const uint8_t **msg, size_t *len, bool *end);

/* The sequence number of the message the last vt_receiver_next returned. */
VT_API uint64_t vt_receiver_seq(const vt_receiver *r);

/* The local port a UDP receiver is bound to (the ephemeral one for PORT 0); 0 for the others. */
VT_API int vt_receiver_port(const vt_receiver *r);

/* The receiver's counters so far (same thread as vt_receiver_next). */
VT_API void vt_receiver_get_stats(const vt_receiver *r, vt_receiver_stats *out);

/* Closes the receiver. NULL ok. */
VT_API void vt_receiver_free(vt_receiver *r);

#ifdef __cplusplus
}
#endif

#endif
