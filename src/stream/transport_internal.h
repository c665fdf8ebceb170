/*
 * src/stream/transport_internal.h - what the transports (udp.c, tcp.c,
 * shm.c, filelog.c) share with transport.c: the sender and receiver objects
 * with their backend tables, URL parsing, the frame header, CRC-32, the
 * sequence-number bookkeeping of receivers, and a buffer that cuts a byte
 * stream into length-prefixed records (TCP and the file log).
 */
#ifndef VOXTRACK_TRANSPORT_INTERNAL_H
#define VOXTRACK_TRANSPORT_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/bytes.h"
#include "stream/lz4frame_internal.h"
#include "voxtrack/transport.h"

/* ---- URLs --------------------------------------------------------------- */

enum { VT__URL_MAX_PARAMS = 8 };

typedef struct vt__url {
    const char *text; /* the whole URL, for messages */
    char scheme[8];   /* "udp", "tcp", "shm", "file" */
    char host[256];   /* udp/tcp */
    int port;         /* udp/tcp: 0..65535 */
    char path[4096];  /* file: the path; shm: the name without '/' */
    int nparams;
    struct {
        char key[32];
        char value[256];
        bool used;
    } params[VT__URL_MAX_PARAMS];
} vt__url;

/* Splits "scheme://host:port?k=v&..." (or "scheme://path"); errors name the URL. */
vt_status vt__url_parse(const char *text, vt__url *u);

/* An integer parameter in [lo, hi], `def` when absent. */
vt_status vt__url_param_u64(vt__url *u, const char *key, uint64_t lo, uint64_t hi, uint64_t def,
                            uint64_t *out);
/* A string parameter, NULL when absent. */
const char *vt__url_param_str(vt__url *u, const char *key);
/* VT_EINVAL naming the first parameter no backend asked for. */
vt_status vt__url_check_params(const vt__url *u);

/* host:port of a URL as an IPv4 address (getaddrinfo: names work too); `addr` is a
   struct sockaddr_in. */
vt_status vt__url_resolve(const vt__url *u, void *addr);

/* ---- the frame header (docs/TRANSPORTS.md) ------------------------------ */

#define VT__FRAME_MAGIC "VXT1"
enum { VT__FRAME_HEADER = 40, VT__FRAME_VERSION = 1 };

/*
 * Flags ride in the high 4 bits of the version byte (byte 4), so that a
 * receiver that predates them sees another version and skips the frame
 * rather than misread it. VT__FRAME_LZ4: the message is one LZ4 frame of the
 * real message (msg_len and the fragments count the compressed bytes).
 */
enum { VT__FRAME_VERSION_MASK = 0x0F, VT__FRAME_LZ4 = 0x80, VT__FRAME_KNOWN_FLAGS = 0x80 };

typedef struct vt__frame {
    uint8_t type;
    uint8_t flags;      /* VT__FRAME_LZ4 or 0 */
    uint32_t stream_id; /* random per sender */
    uint32_t msg_len;   /* the whole message */
    uint64_t seq;
    uint32_t frag_off, frag_len; /* this fragment: offset in the message, bytes after the header */
    uint16_t frag_index, frag_count;
} vt__frame;

/* Writes the 40-byte header for `f` (CRC over the header and `payload`, f->frag_len bytes). */
void vt__frame_write(uint8_t *out, const vt__frame *f, const uint8_t *payload);

typedef enum vt__frame_check {
    VT__FRAME_OK = 0,
    VT__FRAME_GARBAGE,  /* not a frame: magic, version, CRC or fields wrong */
    VT__FRAME_TRUNCATED /* shorter than the header says */
} vt__frame_check;

/* Reads and checks the frame in buf[0..n): header, fields, CRC; n must be exactly the frame. */
vt__frame_check vt__frame_read(const uint8_t *buf, size_t n, vt__frame *f);


/* A random 32-bit stream id (never 0). */
uint32_t vt__stream_id(void);

/* ---- length-prefixed records (TCP, file log) ---------------------------- */

/* A record: 4-byte little-endian length N, then N bytes: a frame (header + whole message). */
enum { VT__RECORD_PREFIX = 4 };

/* Fills out[0..4+40) for a whole message (flags: VT__FRAME_LZ4 or 0); the payload follows. */
void vt__record_header(uint8_t *out, uint8_t type, uint8_t flags, uint32_t stream_id, uint64_t seq,
                       const uint8_t *msg, size_t len);

/* Bytes of a stream, cut into records. */
typedef struct vt__recbuf {
    uint8_t *data;
    size_t cap, start, end; /* valid bytes: data[start..end) */
} vt__recbuf;

typedef enum vt__rec_result {
    VT__REC_NEED,     /* no whole record yet: read more */
    VT__REC_OK,       /* *f and *payload describe a record (valid until the next call) */
    VT__REC_GARBAGE,  /* a record whose frame is bad (skipped; framing kept) */
    VT__REC_BADLENGTH /* a length prefix out of range: the stream is out of step */
} vt__rec_result;

/* Takes the next record from the buffer. */
vt__rec_result vt__recbuf_next(vt__recbuf *b, vt__frame *f, const uint8_t **payload);
/* Makes room for at least `want` more bytes at data[end..) (moves, grows). */
vt_status vt__recbuf_reserve(vt__recbuf *b, size_t want);
void vt__recbuf_free(vt__recbuf *b);

/* ---- senders and receivers ---------------------------------------------- */

typedef struct vt__sender_ops {
    vt_status (*send)(vt_sender *s, uint8_t type, uint64_t seq, const uint8_t *msg, size_t len);
    void (*free)(vt_sender *s);
    int (*port)(const vt_sender *s);
} vt__sender_ops;

struct vt_sender {
    const vt__sender_ops *ops;
    void *impl;
    char *url;
    uint32_t stream_id;
    uint64_t seq; /* of the next message */
    atomic_uint_fast64_t sent, bytes, dropped, clients, accepted;
    /* ?lz4=1: whole messages go as LZ4 frames when that makes them smaller. The backend
       writes frame_flags (VT__FRAME_LZ4 or 0) into the header of the message it sends. */
    bool lz4;
    uint8_t frame_flags;
    vt__lz4 z;
};

typedef struct vt__receiver_ops {
    /* Same contract as vt_receiver_next, without the sequence bookkeeping: the backend
       calls vt__receiver_accept for each message before returning it. */
    vt_status (*next)(vt_receiver *r, int timeout_ms, uint8_t *type, const uint8_t **msg,
                      size_t *len, bool *end);
    void (*free)(vt_receiver *r);
    int (*port)(const vt_receiver *r);
} vt__receiver_ops;

enum { VT__SEQ_WINDOW = 1024 }; /* sequence numbers remembered below the newest */

struct vt_receiver {
    const vt__receiver_ops *ops;
    void *impl;
    char *url;
    vt_receiver_stats stats;
    /* sequence numbers of the current stream id */
    bool started;
    uint32_t stream_id;
    uint64_t next_seq; /* newest seen + 1 */
    uint64_t last_seq; /* of the message returned last */
    uint64_t seen[VT__SEQ_WINDOW / 64];
    /* The backend sets frame_flags to the flags of the message it returns; an LZ4 one is
       decompressed into z by vt_receiver_next. */
    uint8_t frame_flags;
    vt__lz4 z;
};

/* The backends' constructors (url parsed, params checked by them). */
vt_status vt__udp_sender_open(vt__url *u, vt_sender *s);
vt_status vt__udp_receiver_open(vt__url *u, vt_receiver *r);
vt_status vt__tcp_sender_open(vt__url *u, vt_sender *s);
vt_status vt__tcp_receiver_open(vt__url *u, vt_receiver *r);
vt_status vt__shm_sender_open(vt__url *u, vt_sender *s);
vt_status vt__shm_receiver_open(vt__url *u, vt_receiver *r);
vt_status vt__file_sender_open(vt__url *u, vt_sender *s);
vt_status vt__file_receiver_open(vt__url *u, vt_receiver *r);

/*
 * Sequence bookkeeping for one arriving message: counts lost (gaps),
 * reordered (late ones, which had been counted lost) and restarts (a new
 * stream id). Returns false for a duplicate (counted; do not deliver).
 */
bool vt__receiver_accept(vt_receiver *r, uint32_t stream_id, uint64_t seq);
/* True when this message was delivered already (a duplicate). */
bool vt__receiver_seen(const vt_receiver *r, uint32_t stream_id, uint64_t seq);

/* Milliseconds left until `deadline` (vt__now() seconds; < 0 deadline = for ever): -1 for ever. */
int vt__ms_left(double deadline);
/* The deadline of a timeout in ms (< 0: for ever, returned as -1). */
double vt__deadline(int timeout_ms);

#endif
