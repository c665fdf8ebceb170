/*
 * src/source/video.c - writing gray video through FFmpeg: HEVC (libx265) in
 * Matroska for the frame writers (see source_internal.h). Reading videos and
 * streams is in video_read.c.
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
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>

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

vt_status vt__av_error(vt_status s, const char *path, const char *what, int err)
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
        return vt__av_error(VT_EFORMAT, w->path, "cannot start the HEVC encoder", err);
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
        return vt__av_error(VT_EFORMAT, w->path, "cannot set up the stream", err);
    w->stream->time_base = w->enc->time_base;
    w->frame->format = w->enc->pix_fmt;
    w->frame->width = w->enc->width;
    w->frame->height = w->enc->height;
    if ((err = av_frame_get_buffer(w->frame, 0)) < 0)
        return vt__av_error(VT_ENOMEM, w->path, "cannot allocate a frame", err);
    if ((err = avio_open(&w->fmt->pb, w->path, AVIO_FLAG_WRITE)) < 0)
        return vt__av_error(VT_EIO, w->path, "cannot create", err);
    if ((err = avformat_write_header(w->fmt, NULL)) < 0)
        return vt__av_error(VT_EIO, w->path, "cannot write the header", err);
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
        s = vt__av_error(VT_EUNSUPPORTED, path, "cannot start a Matroska file", err);
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
            return vt__av_error(VT_EFORMAT, w->path, "HEVC encoding failed", err);
        av_packet_rescale_ts(w->pkt, w->enc->time_base, w->stream->time_base);
        w->pkt->stream_index = w->stream->index;
        err = av_interleaved_write_frame(w->fmt, w->pkt);
        av_packet_unref(w->pkt);
        if (err < 0)
            return vt__av_error(VT_EIO, w->path, "cannot write", err);
    }
}

vt_status vt__video_writer_write(vt__video_writer *w, const vt_image *img, int64_t frame)
{
    int err = av_frame_make_writable(w->frame);
    if (err < 0)
        return vt__av_error(VT_ENOMEM, w->path, "cannot allocate a frame", err);
    fill_frame(w->frame, img, w->shift);
    w->frame->pts = frame;
    if ((err = avcodec_send_frame(w->enc, w->frame)) < 0)
        return vt__av_error(VT_EFORMAT, w->path, "HEVC encoding failed", err);
    return drain(w);
}

vt_status vt__video_writer_close(vt__video_writer *w)
{
    if (!w)
        return VT_OK;
    vt_status s = VT_OK;
    if (w->header_written) {
        int err = avcodec_send_frame(w->enc, NULL);
        s = err < 0 ? vt__av_error(VT_EFORMAT, w->path, "HEVC encoding failed", err) : drain(w);
        if ((err = av_write_trailer(w->fmt)) < 0 && !s)
            s = vt__av_error(VT_EIO, w->path, "cannot finish the file", err);
        /* avio_closep reports the last write error, e.g. a full disk. */
        if ((err = avio_closep(&w->fmt->pb)) < 0 && !s)
            s = vt__av_error(VT_EIO, w->path, "cannot write", err);
    }
    free_writer(w);
    return s;
}
