/*
 * src/stream/filelog.c - file:// transport: a binary log of length-prefixed
 * records, the same records as on a TCP stream (a 4-byte little-endian
 * length, the 40-byte frame header, the message; docs/TRANSPORTS.md), and
 * its replay.
 *
 * The sender writes through stdio and flushes at most every 200 ms (and at
 * the end), so a log is readable while it grows. The reader replays records
 * in order; a damaged record is counted as garbage and the reader scans
 * forward, byte by byte, to the next place where a record parses; a record
 * cut short by the end of the file is counted as truncated. The end of the
 * file is the end of the stream (*end).
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "stream/transport_internal.h"

/* ---- writer --------------------------------------------------------------- */

typedef struct file_sender {
    FILE *f;
    char *path;
    double last_flush;
} file_sender;

static vt_status file_send(vt_sender *s, uint8_t type, uint64_t seq, const uint8_t *msg, size_t len)
{
    file_sender *w = s->impl;
    uint8_t head[VT__RECORD_PREFIX + VT__FRAME_HEADER];
    vt__record_header(head, type, s->frame_flags, s->stream_id, seq, msg, len);
    if (fwrite(head, 1, sizeof head, w->f) != sizeof head ||
        (len && fwrite(msg, 1, len, w->f) != len))
        return vt__error(VT_EIO, "%s: writing: %s", s->url, strerror(errno));
    double now = vt__now();
    if (now - w->last_flush > 0.2) {
        w->last_flush = now;
        if (fflush(w->f) != 0)
            return vt__error(VT_EIO, "%s: writing: %s", s->url, strerror(errno));
    }
    return VT_OK;
}

static void file_sender_free(vt_sender *s)
{
    file_sender *w = s->impl;
    if (!w)
        return;
    if (w->f && fclose(w->f) != 0)
        vt__log(0, "%s: closing: %s", s->url, strerror(errno));
    free(w->path);
    free(w);
}

static const vt__sender_ops file_sender_ops = {file_send, file_sender_free, NULL};

vt_status vt__file_sender_open(vt__url *u, vt_sender *s)
{
    file_sender *w = calloc(1, sizeof *w);
    if (!w)
        return vt__error(VT_ENOMEM, "%s: out of memory", u->text);
    s->ops = &file_sender_ops;
    s->impl = w;
    if (!(w->f = fopen(u->path, "wb"))) {
        vt_status st = vt__error(errno == ENOENT ? VT_ENOENT : VT_EIO, "%s: cannot create %s: %s",
                                 u->text, u->path, strerror(errno));
        file_sender_free(s);
        s->impl = NULL;
        return st;
    }
    w->last_flush = vt__now();
    return VT_OK;
}

/* ---- replay --------------------------------------------------------------- */

typedef struct file_reader {
    FILE *f;
    vt__recbuf buf;
    bool eof;
    bool in_garbage; /* scanning past damaged bytes (counted once per stretch) */
} file_reader;

static vt_status file_next(vt_receiver *r, int timeout_ms, uint8_t *type, const uint8_t **msg,
                           size_t *len, bool *end)
{
    file_reader *fr = r->impl;
    (void)timeout_ms; /* a file never makes anyone wait */
    for (;;) {
        vt__frame f;
        const uint8_t *payload;
        vt__rec_result rr = vt__recbuf_next(&fr->buf, &f, &payload);
        if (rr == VT__REC_OK) {
            fr->in_garbage = false;
            if (!vt__receiver_accept(r, f.stream_id, f.seq))
                continue;
            *type = f.type;
            r->frame_flags = f.flags;
            *msg = payload;
            *len = f.msg_len;
            return VT_OK;
        }
        if (rr == VT__REC_GARBAGE || rr == VT__REC_BADLENGTH) {
            if (!fr->in_garbage)
                r->stats.garbage++;
            fr->in_garbage = rr == VT__REC_BADLENGTH;
            if (rr == VT__REC_BADLENGTH)
                fr->buf.start++; /* scan forward for the next record */
            continue;
        }
        /* VT__REC_NEED */
        if (fr->eof) {
            size_t left = fr->buf.end - fr->buf.start;
            if (left > 0 && !fr->in_garbage) {
                r->stats.garbage++;
                r->stats.truncated++;
            }
            fr->buf.start = fr->buf.end;
            *end = true;
            return VT_OK;
        }
        vt_status st = vt__recbuf_reserve(&fr->buf, 1 << 16);
        if (st != VT_OK)
            return st;
        size_t n = fread(fr->buf.data + fr->buf.end, 1, fr->buf.cap - fr->buf.end, fr->f);
        fr->buf.end += n;
        if (n == 0) {
            if (ferror(fr->f))
                return vt__error(VT_EIO, "%s: reading: %s", r->url, strerror(errno));
            fr->eof = true;
        }
    }
}

static void file_reader_free(vt_receiver *r)
{
    file_reader *fr = r->impl;
    if (!fr)
        return;
    if (fr->f)
        fclose(fr->f);
    vt__recbuf_free(&fr->buf);
    free(fr);
}

static const vt__receiver_ops file_receiver_ops = {file_next, file_reader_free, NULL};

vt_status vt__file_receiver_open(vt__url *u, vt_receiver *r)
{
    file_reader *fr = calloc(1, sizeof *fr);
    if (!fr)
        return vt__error(VT_ENOMEM, "%s: out of memory", u->text);
    r->ops = &file_receiver_ops;
    r->impl = fr;
    if (!(fr->f = fopen(u->path, "rb"))) {
        vt_status st = vt__error(errno == ENOENT ? VT_ENOENT : VT_EIO, "%s: cannot open %s: %s",
                                 u->text, u->path, strerror(errno));
        file_reader_free(r);
        r->impl = NULL;
        return st;
    }
    return VT_OK;
}
