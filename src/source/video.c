/*
 * src/source/video.c - gray video through FFmpeg: HEVC (libx265) in Matroska
 * for the frame writers, and any file or stream URL FFmpeg reads for the
 * frame sources (see source_internal.h).
 *
 * Encoding: libavcodec's libx265 wrapper with a constant rate factor
 * (VT__CRF) on the "ultrafast" preset. HEVC's range extensions (Rext
 * profiles, ITU-T H.265 annex A.3.5) code monochrome (4:0:0) pictures of up
 * to 16 bits; libx265 builds take 8, 10 and 12 of them, so a 16-bit thermal
 * frame is stored as 12-bit gray (sample >> 4), the deepest the encoder
 * accepts. The constant rate factor keeps a sky with small dark targets
 * within a few grey levels (tests/test_source.c asserts the bound); a lower
 * CRF costs size, not accuracy we need. Presentation times count frames in
 * units of 1 / fps, so a dropped frame leaves a gap in the timeline.
 *
 * Decoding: libavformat demuxes, libavcodec decodes with the send/receive
 * API. Gray frames, and the luma plane of planar YUV, are copied straight
 * (MSB-aligned to the camera's depth); anything else (RGB, packed formats)
 * goes through libswscale.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "core/internal.h"
#include "source/source_internal.h"

#define VT__CRF "12"
#define VT__PRESET "ultrafast"

static pthread_once_t quiet_once = PTHREAD_ONCE_INIT;

static void quiet(void)
{
    av_log_set_level(AV_LOG_QUIET);
}

void vt__quiet_ffmpeg_log(void)
{
    pthread_once(&quiet_once, quiet);
}

static vt_status av_fail(vt_status s, const char *path, const char *what, int err)
{
    char msg[AV_ERROR_MAX_STRING_SIZE];
    av_strerror(err, msg, sizeof msg);
    if (err == AVERROR(ENOENT))
        return vt__error(VT_ENOENT, "%s: no such file", path);
    if (err == AVERROR(ENOMEM))
        s = VT_ENOMEM;
    return vt__error(s, "%s: %s: %s", path, what, msg);
}

/* ------------------------------------------------------------------------ */
/* Writing                                                                   */

struct vt__video_writer {
    AVFormatContext *fmt;
    AVCodecContext *enc;
    AVStream *stream;
    AVFrame *frame;
    AVPacket *pkt;
    int shift; /* image sample >> shift = coded sample */
    bool header_written;
    char path[];
};

/* The deepest gray format the encoder takes that holds `bits`. */
static enum AVPixelFormat pick_format(const AVCodec *codec, int bits)
{
    static const enum AVPixelFormat deep[] = {AV_PIX_FMT_GRAY12LE, AV_PIX_FMT_GRAY10LE,
                                              AV_PIX_FMT_GRAY8};
    int first = bits == 16 ? 0 : 2;
    for (int i = first; i < 3; i++)
        for (const enum AVPixelFormat *p = codec->pix_fmts; p && *p != AV_PIX_FMT_NONE; p++)
            if (*p == deep[i])
                return *p;
    return AV_PIX_FMT_NONE;
}

static vt_status open_encoder(vt__video_writer *w, int width, int height, int bits, double fps)
{
    const AVCodec *codec = avcodec_find_encoder_by_name("libx265");
    if (!codec)
        return vt__error(VT_EUNSUPPORTED, "%s: this FFmpeg has no libx265 encoder", w->path);
    enum AVPixelFormat pf = pick_format(codec, bits);
    if (pf == AV_PIX_FMT_NONE)
        return vt__error(VT_EUNSUPPORTED, "%s: libx265 takes no gray format here", w->path);
    w->enc = avcodec_alloc_context3(codec);
    if (!w->enc)
        return vt__error(VT_ENOMEM, "%s: out of memory for the encoder", w->path);
    AVRational rate = av_d2q(fps, 1000000);
    w->enc->width = width;
    w->enc->height = height;
    w->enc->pix_fmt = pf;
    w->enc->framerate = rate;
    w->enc->time_base = av_inv_q(rate);
    if (w->fmt->oformat->flags & AVFMT_GLOBALHEADER)
        w->enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    w->shift = bits - av_pix_fmt_desc_get(pf)->comp[0].depth;
    AVDictionary *opts = NULL;
    av_dict_set(&opts, "crf", VT__CRF, 0);
    av_dict_set(&opts, "preset", VT__PRESET, 0);
    av_dict_set(&opts, "x265-params", "log-level=none", 0);
    int err = avcodec_open2(w->enc, codec, &opts);
    av_dict_free(&opts);
    if (err < 0)
        return av_fail(VT_EFORMAT, w->path, "cannot start the HEVC encoder", err);
    return VT_OK;
}

static vt_status open_output(vt__video_writer *w)
{
    w->stream = avformat_new_stream(w->fmt, NULL);
    w->frame = av_frame_alloc();
    w->pkt = av_packet_alloc();
    if (!w->stream || !w->frame || !w->pkt)
        return vt__error(VT_ENOMEM, "%s: out of memory for the muxer", w->path);
    int err = avcodec_parameters_from_context(w->stream->codecpar, w->enc);
    if (err < 0)
        return av_fail(VT_EFORMAT, w->path, "cannot set up the stream", err);
    w->stream->time_base = w->enc->time_base;
    w->frame->format = w->enc->pix_fmt;
    w->frame->width = w->enc->width;
    w->frame->height = w->enc->height;
    if ((err = av_frame_get_buffer(w->frame, 0)) < 0)
        return av_fail(VT_ENOMEM, w->path, "cannot allocate a frame", err);
    if ((err = avio_open(&w->fmt->pb, w->path, AVIO_FLAG_WRITE)) < 0)
        return av_fail(VT_EIO, w->path, "cannot create", err);
    if ((err = avformat_write_header(w->fmt, NULL)) < 0)
        return av_fail(VT_EIO, w->path, "cannot write the header", err);
    w->header_written = true;
    return VT_OK;
}

static void free_writer(vt__video_writer *w)
{
    if (w->fmt && w->fmt->pb)
        avio_closep(&w->fmt->pb);
    avformat_free_context(w->fmt);
    avcodec_free_context(&w->enc);
    av_frame_free(&w->frame);
    av_packet_free(&w->pkt);
    free(w);
}

vt_status vt__video_writer_open(const char *path, int width, int height, int bits, double fps,
                                vt__video_writer **out)
{
    *out = NULL;
    vt__quiet_ffmpeg_log();
    vt__video_writer *w = calloc(1, sizeof *w + strlen(path) + 1);
    if (!w)
        return vt__error(VT_ENOMEM, "%s: out of memory", path);
    memcpy(w->path, path, strlen(path) + 1);
    vt_status s = VT_OK;
    int err = avformat_alloc_output_context2(&w->fmt, NULL, "matroska", path);
    if (err < 0)
        s = av_fail(VT_EUNSUPPORTED, path, "cannot start a Matroska file", err);
    if (!s)
        s = open_encoder(w, width, height, bits, fps);
    if (!s)
        s = open_output(w);
    if (s) {
        free_writer(w);
        return s;
    }
    *out = w;
    return VT_OK;
}

/* Image rows into the encoder's frame, little-endian for the deep formats. */
static void fill_frame(AVFrame *f, const vt_image *img, int shift)
{
    for (int y = 0; y < img->height; y++) {
        uint8_t *d = f->data[0] + (ptrdiff_t)y * f->linesize[0];
        if (img->bits == 8) {
            memcpy(d, vt_image_row8(img, y), (size_t)img->width);
        } else if (f->format == AV_PIX_FMT_GRAY8) {
            const uint16_t *s = vt_image_row16(img, y);
            for (int x = 0; x < img->width; x++)
                d[x] = (uint8_t)(s[x] >> 8);
        } else {
            const uint16_t *s = vt_image_row16(img, y);
            for (int x = 0; x < img->width; x++) {
                unsigned v = s[x] >> shift;
                d[2 * x] = (uint8_t)(v & 0xff);
                d[2 * x + 1] = (uint8_t)(v >> 8);
            }
        }
    }
}

/* Moves every packet the encoder has ready into the file. */
static vt_status drain(vt__video_writer *w)
{
    for (;;) {
        int err = avcodec_receive_packet(w->enc, w->pkt);
        if (err == AVERROR(EAGAIN) || err == AVERROR_EOF)
            return VT_OK;
        if (err < 0)
            return av_fail(VT_EFORMAT, w->path, "HEVC encoding failed", err);
        av_packet_rescale_ts(w->pkt, w->enc->time_base, w->stream->time_base);
        w->pkt->stream_index = w->stream->index;
        err = av_interleaved_write_frame(w->fmt, w->pkt);
        av_packet_unref(w->pkt);
        if (err < 0)
            return av_fail(VT_EIO, w->path, "cannot write", err);
    }
}

vt_status vt__video_writer_write(vt__video_writer *w, const vt_image *img, int64_t frame)
{
    int err = av_frame_make_writable(w->frame);
    if (err < 0)
        return av_fail(VT_ENOMEM, w->path, "cannot allocate a frame", err);
    fill_frame(w->frame, img, w->shift);
    w->frame->pts = frame;
    if ((err = avcodec_send_frame(w->enc, w->frame)) < 0)
        return av_fail(VT_EFORMAT, w->path, "HEVC encoding failed", err);
    return drain(w);
}

vt_status vt__video_writer_close(vt__video_writer *w)
{
    if (!w)
        return VT_OK;
    vt_status s = VT_OK;
    if (w->header_written) {
        int err = avcodec_send_frame(w->enc, NULL);
        s = err < 0 ? av_fail(VT_EFORMAT, w->path, "HEVC encoding failed", err) : drain(w);
        if ((err = av_write_trailer(w->fmt)) < 0 && !s)
            s = av_fail(VT_EIO, w->path, "cannot finish the file", err);
        /* avio_closep reports the last write error, e.g. a full disk. */
        if ((err = avio_closep(&w->fmt->pb)) < 0 && !s)
            s = av_fail(VT_EIO, w->path, "cannot write", err);
    }
    free_writer(w);
    return s;
}

/* ------------------------------------------------------------------------ */
/* Reading                                                                   */

struct vt__video_reader {
    AVFormatContext *fmt;
    AVCodecContext *dec;
    AVPacket *pkt;
    AVFrame *frame;
    struct SwsContext *sws;
    int stream;
    int64_t count; /* frames decoded so far */
    char path[];
};

void vt__video_reader_free(vt__video_reader *r)
{
    if (!r)
        return;
    sws_freeContext(r->sws);
    av_frame_free(&r->frame);
    av_packet_free(&r->pkt);
    avcodec_free_context(&r->dec);
    avformat_close_input(&r->fmt);
    free(r);
}

static vt_status open_decoder(vt__video_reader *r)
{
    int err = avformat_open_input(&r->fmt, r->path, NULL, NULL);
    if (err < 0)
        return av_fail(VT_EFORMAT, r->path, "cannot open", err);
    if ((err = avformat_find_stream_info(r->fmt, NULL)) < 0)
        return av_fail(VT_EFORMAT, r->path, "cannot read the stream", err);
    const AVCodec *codec = NULL;
    r->stream = av_find_best_stream(r->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    if (r->stream < 0)
        return av_fail(VT_EFORMAT, r->path, "no video stream", r->stream);
    r->dec = avcodec_alloc_context3(codec);
    r->pkt = av_packet_alloc();
    r->frame = av_frame_alloc();
    if (!r->dec || !r->pkt || !r->frame)
        return vt__error(VT_ENOMEM, "%s: out of memory for the decoder", r->path);
    err = avcodec_parameters_to_context(r->dec, r->fmt->streams[r->stream]->codecpar);
    if (err >= 0) {
        r->dec->thread_count = 0; /* as many as FFmpeg sees fit */
        err = avcodec_open2(r->dec, codec, NULL);
    }
    if (err < 0)
        return av_fail(VT_EFORMAT, r->path, "cannot start the decoder", err);
    return VT_OK;
}

vt_status vt__video_reader_open(const char *path, vt__video_reader **out)
{
    *out = NULL;
    vt__quiet_ffmpeg_log();
    vt__video_reader *r = calloc(1, sizeof *r + strlen(path) + 1);
    if (!r)
        return vt__error(VT_ENOMEM, "%s: out of memory", path);
    memcpy(r->path, path, strlen(path) + 1);
    vt_status s = open_decoder(r);
    if (s) {
        vt__video_reader_free(r);
        return s;
    }
    *out = r;
    return VT_OK;
}

/* The next packet of our stream to the decoder, or the flush signal at the end. */
static int feed(vt__video_reader *r)
{
    for (;;) {
        int err = av_read_frame(r->fmt, r->pkt);
        if (err == AVERROR_EOF)
            return avcodec_send_packet(r->dec, NULL);
        if (err < 0)
            return err;
        if (r->pkt->stream_index == r->stream) {
            err = avcodec_send_packet(r->dec, r->pkt);
            av_packet_unref(r->pkt);
            /* EOF here: the decoder was already flushed; receive says so. */
            return err == AVERROR_EOF ? 0 : err;
        }
        av_packet_unref(r->pkt);
    }
}

/* Gray, or the luma plane of planar YUV, at one or two bytes per sample. */
static bool luma_is_plane0(const AVPixFmtDescriptor *d)
{
    const AVComponentDescriptor *c = &d->comp[0];
    bool gray = d->nb_components <= 2 || (d->flags & AV_PIX_FMT_FLAG_PLANAR);
    return gray &&
           !(d->flags & (AV_PIX_FMT_FLAG_RGB | AV_PIX_FMT_FLAG_PAL | AV_PIX_FMT_FLAG_HWACCEL |
                         AV_PIX_FMT_FLAG_FLOAT | AV_PIX_FMT_FLAG_BITSTREAM)) &&
           c->plane == 0 && c->shift == 0 && c->offset == 0 && c->depth <= 16 &&
           c->step == (c->depth > 8 ? 2 : 1);
}

static vt_status convert(vt__video_reader *r, const AVFrame *f, vt_image *img)
{
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get((enum AVPixelFormat)f->format);
    if (!d)
        return vt__error(VT_EFORMAT, "%s: frame %lld: unknown pixel format", r->path,
                         (long long)r->count);
    if (luma_is_plane0(d)) {
        bool be = (d->flags & AV_PIX_FMT_FLAG_BE) != 0;
        for (int y = 0; y < img->height; y++)
            vt__store_gray_row(f->data[0] + (ptrdiff_t)y * f->linesize[0], d->comp[0].depth, be,
                               img, y);
        return VT_OK;
    }
    enum AVPixelFormat dst = img->bits == 16 ? AV_PIX_FMT_GRAY16 : AV_PIX_FMT_GRAY8;
    r->sws = sws_getCachedContext(r->sws, f->width, f->height, (enum AVPixelFormat)f->format,
                                  img->width, img->height, dst, SWS_POINT, NULL, NULL, NULL);
    if (!r->sws)
        return vt__error(VT_EFORMAT, "%s: frame %lld: cannot convert %s to gray", r->path,
                         (long long)r->count, d->name);
    uint8_t *planes[4] = {img->data, NULL, NULL, NULL};
    int strides[4] = {(int)img->stride, 0, 0, 0};
    sws_scale(r->sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, planes, strides);
    return VT_OK;
}

static vt_status receive(vt__video_reader *r, bool *end)
{
    for (;;) {
        int err = avcodec_receive_frame(r->dec, r->frame);
        if (err == 0)
            return VT_OK;
        if (err == AVERROR_EOF) {
            *end = true;
            return VT_OK;
        }
        if (err == AVERROR(EAGAIN))
            err = feed(r);
        if (err < 0) {
            char what[64];
            snprintf(what, sizeof what, "frame %lld: cannot decode", (long long)r->count);
            return av_fail(VT_EFORMAT, r->path, what, err);
        }
    }
}

vt_status vt__video_reader_read(vt__video_reader *r, vt_image *img, double *t, bool *has_t,
                                bool *end)
{
    *end = false;
    *has_t = false;
    vt_status s = receive(r, end);
    if (s || *end)
        return s;
    const AVFrame *f = r->frame;
    if (f->width != img->width || f->height != img->height)
        s = vt__error(VT_EMISMATCH, "%s: frame %lld is %dx%d, the camera's frames are %dx%d",
                      r->path, (long long)r->count, f->width, f->height, img->width, img->height);
    else if (f->flags & AV_FRAME_FLAG_CORRUPT)
        s = vt__error(VT_EFORMAT, "%s: frame %lld is corrupt", r->path, (long long)r->count);
    else
        s = convert(r, f, img);
    if (!s && f->best_effort_timestamp != AV_NOPTS_VALUE) {
        *t = (double)f->best_effort_timestamp * av_q2d(r->fmt->streams[r->stream]->time_base);
        *has_t = true;
    }
    av_frame_unref(r->frame);
    r->count++;
    return s;
}
