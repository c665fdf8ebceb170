/*
 * src/eval/canvas.c - an RGB canvas, lines, a tiny digit font, and PNG
 * output through FFmpeg's PNG encoder (RGB24), as vt_image_save_png does for
 * gray images (see canvas.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavutil/log.h>

#include "core/internal.h"
#include "eval/canvas.h"

vt_status vt__canvas_new(vt__canvas *c, int w, int h, vt__rgb fill)
{
    c->w = w;
    c->h = h;
    c->px = w > 0 && h > 0 ? malloc((size_t)w * (size_t)h * 3) : NULL;
    if (!c->px)
        return vt__error(VT_ENOMEM, "out of memory for a %dx%d image", w, h);
    for (size_t i = 0; i < (size_t)w * (size_t)h; i++)
        memcpy(c->px + 3 * i, &fill, 3);
    return VT_OK;
}

void vt__canvas_free(vt__canvas *c)
{
    free(c->px);
    c->px = NULL;
}

/* ------------------------------------------------------------------------ */
/* Pixels                                                                    */

void vt__canvas_put(vt__canvas *c, int x, int y, vt__rgb col)
{
    if (x < 0 || y < 0 || x >= c->w || y >= c->h)
        return;
    uint8_t *p = c->px + ((size_t)y * (size_t)c->w + (size_t)x) * 3;
    p[0] = col.r;
    p[1] = col.g;
    p[2] = col.b;
}

void vt__canvas_line(vt__canvas *c, int x0, int y0, int x1, int y1, vt__rgb col)
{
    int dx = abs(x1 - x0), dy = -abs(y1 - y0);
    int sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1, err = dx + dy;
    for (;;) {
        vt__canvas_put(c, x0, y0, col);
        vt__canvas_put(c, x0 + 1, y0, col);
        vt__canvas_put(c, x0, y0 + 1, col);
        vt__canvas_put(c, x0 + 1, y0 + 1, col);
        if (x0 == x1 && y0 == y1)
            break;
        int e2 = 2 * err;
        if (e2 >= dy) {
            err += dy;
            x0 += sx;
        }
        if (e2 <= dx) {
            err += dx;
            y0 += sy;
        }
    }
}

/* 3x5 digits, '-' and '.', one row of three bits per byte (bit 2 = left). */
static const uint8_t GLYPHS[12][5] = {
    {7, 5, 5, 5, 7}, {2, 6, 2, 2, 7}, {7, 1, 7, 4, 7}, {7, 1, 7, 1, 7},
    {5, 5, 7, 1, 1}, {7, 4, 7, 1, 7}, {7, 4, 7, 5, 7}, {7, 1, 1, 1, 1},
    {7, 5, 7, 5, 7}, {7, 5, 7, 1, 7}, {0, 0, 7, 0, 0}, {0, 0, 0, 0, 2},
};

void vt__canvas_text(vt__canvas *c, int x, int y, const char *s, vt__rgb col, int scale)
{
    for (; *s; s++, x += 4 * scale) {
        int g = *s >= '0' && *s <= '9' ? *s - '0' : *s == '-' ? 10 : *s == '.' ? 11 : -1;
        if (g < 0)
            continue;
        for (int r = 0; r < 5 * scale; r++)
            for (int k = 0; k < 3 * scale; k++)
                if (GLYPHS[g][r / scale] & (4 >> (k / scale)))
                    vt__canvas_put(c, x + k, y + r, col);
    }
}

/* ------------------------------------------------------------------------ */
/* PNG                                                                       */

static vt_status write_bytes(const char *path, const uint8_t *data, size_t size)
{
    FILE *fp = fopen(path, "wb");
    if (!fp)
        return vt__error(VT_EIO, "%s: cannot create: %s", path, strerror(errno));
    bool ok = fwrite(data, 1, size, fp) == size;
    int err = errno;
    /* fclose flushes: a full disk may only show here. */
    if (fclose(fp) != 0 && ok) {
        ok = false;
        err = errno;
    }
    return ok ? VT_OK : vt__error(VT_EIO, "%s: cannot write: %s", path, strerror(err));
}

vt_status vt__canvas_save_png(const vt__canvas *c, const char *path)
{
    const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_PNG);
    if (!codec)
        return vt__error(VT_EUNSUPPORTED, "%s: this FFmpeg has no PNG encoder", path);
    av_log_set_level(AV_LOG_QUIET);
    AVCodecContext *ctx = avcodec_alloc_context3(codec);
    AVFrame *f = av_frame_alloc();
    AVPacket *pkt = av_packet_alloc();
    vt_status s = VT_OK;
    int err = 0;
    if (!ctx || !f || !pkt) {
        s = vt__error(VT_ENOMEM, "%s: out of memory for the PNG encoder", path);
        goto done;
    }
    ctx->width = f->width = c->w;
    ctx->height = f->height = c->h;
    ctx->pix_fmt = AV_PIX_FMT_RGB24;
    f->format = AV_PIX_FMT_RGB24;
    ctx->time_base = (AVRational){1, 1}; /* encoders refuse to open without one */
    if ((err = avcodec_open2(ctx, codec, NULL)) < 0 || (err = av_frame_get_buffer(f, 0)) < 0)
        goto fail;
    for (int y = 0; y < c->h; y++)
        memcpy(f->data[0] + (size_t)y * (size_t)f->linesize[0],
               c->px + (size_t)y * (size_t)c->w * 3, (size_t)c->w * 3);
    if ((err = avcodec_send_frame(ctx, f)) < 0 || (err = avcodec_send_frame(ctx, NULL)) < 0 ||
        (err = avcodec_receive_packet(ctx, pkt)) < 0)
        goto fail;
    s = write_bytes(path, pkt->data, (size_t)pkt->size);
    goto done;
fail : {
    char msg[AV_ERROR_MAX_STRING_SIZE];
    av_strerror(err, msg, sizeof msg);
    s = vt__error(VT_EFORMAT, "%s: PNG encoding failed: %s", path, msg);
}
done:
    av_packet_free(&pkt);
    av_frame_free(&f);
    avcodec_free_context(&ctx);
    return s;
}
