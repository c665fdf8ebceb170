/*
 * src/source/video_read.c - reading video files and network streams through
 * FFmpeg for the frame sources (see source_internal.h, docs/SOURCES.md).
 *
 * libavformat demuxes (files in MKV, MP4, MPEG-TS, ...; rtsp://, tcp://,
 * udp://, http:// URLs), libavcodec decodes with the send/receive API, on
 * the CPU with as many threads as asked (frame and slice threading) or on a
 * GPU through FFmpeg's hwaccel (NVDEC, AV_HWDEVICE_TYPE_CUDA).
 *
 * The idea is to do as little per frame as possible: a mono camera needs
 * only the luma plane, so gray frames and the Y plane of YUV frames are
 * copied row by row (MSB-aligned to the camera's depth), with no colour
 * conversion; a GPU frame is brought to memory into one frame whose buffers
 * are kept from frame to frame. Only RGB and packed formats go through
 * libswscale.
 *
 * Damaged input must not stop a run: a packet the demuxer cannot read, a
 * packet or frame the decoder refuses, and a frame the decoder flags as
 * corrupt are skipped and counted (vt_source_stats.corrupt); a file cut in
 * the middle of a packet ends where it is cut. A live stream, on the other
 * hand, must not hang: every blocking call of libavformat is bounded by an
 * interrupt callback that fires when no packet came for timeout_s, which is
 * a disconnect error naming the URL.
 *
 * A live stream that disconnects (nothing received for timeout_s, a read
 * error, or the sender closing a tcp://, udp:// or rtsp:// stream: a live
 * camera has no end) is opened again with exponential backoff, 0.1 s
 * doubling to 2 s, up to reconnect_max attempts (as the GigE source does),
 * with one line on stderr per disconnect and per reconnect; after the last
 * attempt it fails naming the URL. An http:// resource that ends has ended
 * (opening it again would play it again). reconnect_max 0: no reconnection,
 * a closed stream ends and a disconnect is an error.
 *
 * Times are the frames' presentation times (best effort) in seconds since
 * the stream's start, unwrapped when a 33-bit MPEG-TS clock wraps. A stream
 * opened again starts a clock of its own, so its times are offset to carry
 * on from the last frame's time plus the wall-clock time the stream was
 * away (at least one frame period): times keep increasing, and the gap says
 * how long the camera was gone.
 */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/hwcontext.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "core/internal.h"
#include "source/source_internal.h"

/* Consecutive unreadable packets or frames after which a file is given up. */
enum { MAX_BAD_IN_A_ROW = 256 };

/* Reconnection backoff: the first wait, doubling up to the longest (seconds). */
static const double BACKOFF_MIN_S = 0.1, BACKOFF_MAX_S = 2.0;

struct vt__video_reader {
    AVFormatContext *fmt;
    AVCodecContext *dec;
    AVPacket *pkt;
    AVFrame *frame;               /* as decoded (on the GPU with hwaccel) */
    AVFrame *sw;                  /* a GPU frame in memory; its buffers are kept */
    AVBufferRef *hw_device;       /* the CUDA device, or NULL */
    enum AVPixelFormat hw_format; /* AV_PIX_FMT_CUDA when hwaccel is on */
    struct SwsContext *sws;
    int stream;
    bool live; /* a network URL: blocking calls time out */
    double timeout_s;
    double deadline; /* vt__now() after which the interrupt callback fires; 0: none */
    bool timed_out;
    bool hw_frames; /* the last frame came from the GPU */
    int bad_in_a_row;
    int64_t count;   /* frames delivered */
    int64_t packets; /* packets the decoder took */
    int64_t decoded; /* frames it gave back, good or not */
    int64_t corrupt; /* packets and frames skipped */
    int64_t disconnects, reconnects;
    vt_source_opts opts; /* to open the decoder again */
    bool closed_is_gone; /* the sender closing the stream is a disconnect */
    int attempts;        /* reconnection attempts since the last frame delivered */
    /* Presentation times: unwrapped, relative to start_pts, plus t_offset. */
    int64_t start_pts, last_pts, wrap_offset;
    int wrap_bits;
    double period;    /* the stream's frame period, s (0.04 when it has no rate) */
    double t_offset;  /* added to the times since the last (re)connection */
    bool rebase;      /* reconnected: t_offset is set by the next frame */
    bool delivered;   /* a frame was delivered: last_t, last_wall are valid */
    double last_t;    /* its time */
    double last_wall; /* vt__now() when it was delivered */
    char path[];
};

/* ------------------------------------------------------------------------ */
/* Opening                                                                   */

static bool is_network_url(const char *path)
{
    const char *sep = strstr(path, "://");
    return sep && !(sep - path == 4 && strncmp(path, "file", 4) == 0);
}

/* libavformat asks this while it blocks; non-zero makes it give up. */
static int interrupted(void *opaque)
{
    vt__video_reader *r = opaque;
    if (r->deadline > 0 && vt__now() > r->deadline) {
        r->timed_out = true;
        return 1;
    }
    return 0;
}

/* Gives the next blocking call timeout_s more (live streams only). */
static void arm(vt__video_reader *r)
{
    r->timed_out = false;
    r->deadline = r->live ? vt__now() + r->timeout_s : 0;
}

static vt_status disconnected(vt__video_reader *r, const char *when)
{
    r->disconnects++;
    return vt__error(VT_EIO, "%s: %s: nothing received for %.1f s (disconnected)", r->path, when,
                     r->timeout_s);
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - floor(s)) * 1e9)};
    nanosleep(&ts, NULL);
}

/*
 * Opens the input. A live stream may not be there yet (a server that starts
 * with us), so refused connections are retried until `patience` seconds
 * have passed (0: one try, as a reconnection attempt makes).
 */
static vt_status open_input(vt__video_reader *r, double patience)
{
    double give_up = vt__now() + patience;
    for (;;) {
        r->fmt = avformat_alloc_context();
        if (!r->fmt)
            return vt__error(VT_ENOMEM, "%s: out of memory for the demuxer", r->path);
        r->fmt->interrupt_callback = (AVIOInterruptCB){interrupted, r};
        AVDictionary *o = NULL;
        /*
         * rtsp:// lets FFmpeg negotiate (RTP over UDP, then interleaved in
         * the TCP connection when the server refuses UDP); rtsp+tcp://
         * insists on TCP, which crosses firewalls and lossy links better.
         */
        const char *url = r->path;
        char *tcp_url = NULL;
        if (strncmp(r->path, "rtsp+tcp://", 11) == 0) {
            size_t n = strlen(r->path);
            if (!(tcp_url = malloc(n))) {
                avformat_free_context(r->fmt);
                r->fmt = NULL;
                return vt__error(VT_ENOMEM, "%s: out of memory", r->path);
            }
            snprintf(tcp_url, n, "rtsp://%s", r->path + 11); /* 4 characters shorter */
            url = tcp_url;
            av_dict_set(&o, "rtsp_transport", "tcp", 0);
        }
        if (strncmp(r->path, "udp://", 6) == 0)
            av_dict_set(&o, "overrun_nonfatal", "1", 0);
        arm(r);
        int err = avformat_open_input(&r->fmt, url, NULL, &o); /* frees fmt on failure */
        av_dict_free(&o);
        free(tcp_url);
        if (err >= 0)
            return VT_OK;
        if (r->timed_out || (r->live && vt__now() > give_up))
            return disconnected(r, "cannot open");
        if (!r->live || err == AVERROR_PROTOCOL_NOT_FOUND || err == AVERROR_INVALIDDATA)
            return vt__av_error(VT_EFORMAT, r->path, "cannot open", err);
        sleep_s(0.1);
    }
}

/* The decoder's get_format: the GPU's format when it offers it. */
static enum AVPixelFormat pick_format(AVCodecContext *ctx, const enum AVPixelFormat *fmts)
{
    const vt__video_reader *r = ctx->opaque;
    for (const enum AVPixelFormat *p = fmts; *p != AV_PIX_FMT_NONE; p++)
        if (*p == r->hw_format)
            return *p;
    return avcodec_default_get_format(ctx, fmts);
}

/* Says once per process why `auto` decodes in software. */
static void log_fallback(const char *path, const char *why)
{
    static atomic_flag said = ATOMIC_FLAG_INIT;
    if (!atomic_flag_test_and_set(&said))
        vt__log(2, "%s: hwaccel auto: %s; decoding in software", path, why);
}

/* Sets up NVDEC through FFmpeg's CUDA hwaccel when asked and possible. */
static vt_status setup_hwaccel(vt__video_reader *r, const AVCodec *codec, vt_hwaccel mode)
{
    if (mode == VT_HWACCEL_NONE)
        return VT_OK;
    char why[160] = "";
    enum AVPixelFormat pf = AV_PIX_FMT_NONE;
    for (int i = 0; pf == AV_PIX_FMT_NONE; i++) {
        const AVCodecHWConfig *c = avcodec_get_hw_config(codec, i);
        if (!c)
            break;
        if ((c->methods & AV_CODEC_HW_CONFIG_METHOD_HW_DEVICE_CTX) &&
            c->device_type == AV_HWDEVICE_TYPE_CUDA)
            pf = c->pix_fmt;
    }
    int err = 0;
    if (pf == AV_PIX_FMT_NONE)
        snprintf(why, sizeof why, "FFmpeg's %s decoder has no CUDA hwaccel", codec->name);
    else if ((err = av_hwdevice_ctx_create(&r->hw_device, AV_HWDEVICE_TYPE_CUDA, NULL, NULL, 0)) <
             0) {
        char msg[AV_ERROR_MAX_STRING_SIZE];
        av_strerror(err, msg, sizeof msg);
        snprintf(why, sizeof why, "no CUDA device (%s)", msg);
    }
    if (why[0] && mode == VT_HWACCEL_CUDA)
        return vt__error(VT_EUNSUPPORTED, "%s: hwaccel cuda: %s", r->path, why);
    if (why[0]) {
        log_fallback(r->path, why);
        return VT_OK;
    }
    r->dec->hw_device_ctx = av_buffer_ref(r->hw_device);
    if (!r->dec->hw_device_ctx)
        return vt__error(VT_ENOMEM, "%s: out of memory for the CUDA device", r->path);
    r->hw_format = pf;
    r->dec->opaque = r;
    r->dec->get_format = pick_format;
    return VT_OK;
}

static vt_status open_decoder(vt__video_reader *r, const vt_source_opts *o)
{
    arm(r);
    int err = avformat_find_stream_info(r->fmt, NULL);
    if (err < 0)
        return r->timed_out ? disconnected(r, "reading the stream's header")
                            : vt__av_error(VT_EFORMAT, r->path, "cannot read the stream", err);
    const AVCodec *codec = NULL;
    r->stream = av_find_best_stream(r->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    if (r->stream < 0)
        return vt__av_error(VT_EFORMAT, r->path, "no video stream", r->stream);
    AVStream *st = r->fmt->streams[r->stream];
    r->wrap_bits = st->pts_wrap_bits > 0 && st->pts_wrap_bits < 63 ? st->pts_wrap_bits : 63;
    r->start_pts = st->start_time;
    AVRational rate = st->avg_frame_rate.num > 0 ? st->avg_frame_rate : st->r_frame_rate;
    r->period = rate.num > 0 && rate.den > 0 ? av_q2d(av_inv_q(rate)) : 0.04;
    r->dec = avcodec_alloc_context3(codec);
    r->pkt = av_packet_alloc();
    r->frame = av_frame_alloc();
    r->sw = av_frame_alloc();
    if (!r->dec || !r->pkt || !r->frame || !r->sw)
        return vt__error(VT_ENOMEM, "%s: out of memory for the decoder", r->path);
    if ((err = avcodec_parameters_to_context(r->dec, st->codecpar)) < 0)
        return vt__av_error(VT_EFORMAT, r->path, "cannot start the decoder", err);
    r->dec->pkt_timebase = st->time_base;
    r->dec->thread_count = o->decode_threads; /* 0: as many as FFmpeg sees fit */
    r->dec->thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE;
    /*
     * A damaged frame is dropped rather than concealed: a concealed block
     * is motion that never was, a false detection for the tracker.
     */
    r->dec->err_recognition = AV_EF_CAREFUL | AV_EF_EXPLODE;
    r->dec->flags2 &= ~AV_CODEC_FLAG2_SHOW_ALL; /* no frames before the first keyframe */
    vt_status s = setup_hwaccel(r, codec, o->hwaccel);
    if (s)
        return s;
    if ((err = avcodec_open2(r->dec, codec, NULL)) < 0)
        return vt__av_error(VT_EFORMAT, r->path, "cannot start the decoder", err);
    return VT_OK;
}

/* Closes the stream and its decoder (not the reader): before opening it again. */
static void close_stream(vt__video_reader *r)
{
    av_frame_free(&r->frame);
    av_frame_free(&r->sw);
    av_packet_free(&r->pkt);
    avcodec_free_context(&r->dec);
    avformat_close_input(&r->fmt);
    av_buffer_unref(&r->hw_device);
    r->hw_format = AV_PIX_FMT_NONE;
}

void vt__video_reader_free(vt__video_reader *r)
{
    if (!r)
        return;
    sws_freeContext(r->sws);
    close_stream(r);
    free(r);
}

vt_status vt__video_reader_open(const char *path, const vt_source_opts *opts,
                                vt__video_reader **out)
{
    *out = NULL;
    vt_source_opts o = opts ? *opts : vt_source_opts_default();
    vt__quiet_ffmpeg_log();
    vt__video_reader *r = calloc(1, sizeof *r + strlen(path) + 1);
    if (!r)
        return vt__error(VT_ENOMEM, "%s: out of memory", path);
    memcpy(r->path, path, strlen(path) + 1);
    r->live = is_network_url(path);
    r->closed_is_gone = r->live && strncmp(path, "http", 4) != 0;
    r->timeout_s = o.timeout_s;
    r->opts = o;
    r->hw_format = AV_PIX_FMT_NONE;
    r->start_pts = r->last_pts = AV_NOPTS_VALUE;
    vt_status s = open_input(r, r->timeout_s);
    if (!s)
        s = open_decoder(r, &o);
    if (s) {
        vt__video_reader_free(r);
        return s;
    }
    *out = r;
    return VT_OK;
}

/* ------------------------------------------------------------------------ */
/* Decoding                                                                  */

/* One more damaged packet or frame; an error when too many come in a row. */
static int skip_bad(vt__video_reader *r, int err)
{
    r->corrupt++;
    if (err == AVERROR(ENOMEM) || ++r->bad_in_a_row > MAX_BAD_IN_A_ROW)
        return err;
    return 0;
}

/*
 * The next packet of our stream to the decoder, or the flush signal at the
 * end. Unreadable and refused packets are skipped; 0 or an FFmpeg error.
 */
static int feed(vt__video_reader *r)
{
    for (;;) {
        arm(r);
        int err = av_read_frame(r->fmt, r->pkt);
        if (err == AVERROR(EAGAIN))
            continue;
        if (err < 0 && err != AVERROR_EOF && r->live &&
            (r->timed_out || err != AVERROR_INVALIDDATA))
            return err; /* the connection is gone */
        /* A file cut in the middle of a packet may fail at its end again and again. */
        bool at_end = !r->live && r->fmt->pb && avio_feof(r->fmt->pb);
        if (err < 0 && err != AVERROR_EOF && !(at_end && r->bad_in_a_row >= 4)) {
            if ((err = skip_bad(r, err)) < 0)
                return err;
            continue;
        }
        if (err < 0) {
            err = avcodec_send_packet(r->dec, NULL);
            return err == AVERROR_EOF ? 0 : err;
        }
        if (r->pkt->stream_index != r->stream) {
            av_packet_unref(r->pkt);
            continue;
        }
        if (r->pkt->flags & AV_PKT_FLAG_CORRUPT) {
            av_packet_unref(r->pkt);
            if ((err = skip_bad(r, AVERROR_INVALIDDATA)) < 0)
                return err;
            continue;
        }
        err = avcodec_send_packet(r->dec, r->pkt);
        av_packet_unref(r->pkt);
        r->packets += err >= 0;
        if (err >= 0 || err == AVERROR_EOF) /* EOF: already flushed; receive says so */
            return 0;
        if ((err = skip_bad(r, err)) < 0)
            return err;
    }
}

static vt_status decode_failed(vt__video_reader *r, int err)
{
    if (r->timed_out)
        return disconnected(r, "reading");
    char what[64];
    snprintf(what, sizeof what, "frame %lld: cannot decode", (long long)r->count);
    if (r->live) {
        r->disconnects++;
        return vt__av_error(VT_EIO, r->path, what, err);
    }
    return vt__av_error(VT_EFORMAT, r->path, what, err);
}

/*
 * At the end: the packets that gave no frame (the decoder drops what it
 * cannot reconstruct, such as frames that refer to a damaged one) count as
 * damaged. A file cut at a packet boundary reads like a shorter one, but
 * its header still says how long it was (Matroska and MP4 write the
 * duration; MPEG-TS has only an estimate from the size, not taken): ending
 * more than a frame and a half early counts as one damaged packet. So does
 * an MPEG-TS file whose size is not a whole number of TS packets.
 */
static void count_at_end(vt__video_reader *r)
{
    AVStream *st = r->fmt->streams[r->stream];
    if (r->packets > r->decoded)
        r->corrupt += r->packets - r->decoded;
    r->packets = r->decoded = 0;
    if (r->live)
        return;
    int64_t size = r->fmt->pb ? avio_size(r->fmt->pb) : -1;
    if (strcmp(r->fmt->iformat->name, "mpegts") == 0 && size > 0 && size % 188 && size % 192 &&
        size % 204)
        r->corrupt++;
    if (r->fmt->duration <= 0 || r->last_pts == AV_NOPTS_VALUE ||
        r->fmt->duration_estimation_method == AVFMT_DURATION_FROM_BITRATE)
        return;
    AVRational rate = st->avg_frame_rate.num > 0 ? st->avg_frame_rate : st->r_frame_rate;
    double period = rate.num > 0 ? av_q2d(av_inv_q(rate)) : 0.04;
    double end = (double)(r->last_pts - r->start_pts) * av_q2d(st->time_base) + period;
    if ((double)r->fmt->duration / AV_TIME_BASE - end > 1.5 * period)
        r->corrupt++;
}

/* The next good frame into r->frame, or *end. */
static vt_status receive(vt__video_reader *r, bool *end)
{
    for (;;) {
        int err = avcodec_receive_frame(r->dec, r->frame);
        r->decoded += err == 0;
        if (err == 0 &&
            ((r->frame->flags & AV_FRAME_FLAG_CORRUPT) || r->frame->decode_error_flags)) {
            av_frame_unref(r->frame);
            err = skip_bad(r, AVERROR_INVALIDDATA);
            if (err == 0)
                continue;
        }
        if (err == 0) {
            r->bad_in_a_row = 0;
            return VT_OK;
        }
        if (err == AVERROR_EOF) {
            *end = true;
            count_at_end(r);
            return VT_OK;
        }
        if (err == AVERROR(EAGAIN))
            err = feed(r);
        else
            err = skip_bad(r, err); /* a decoding error: that frame is lost */
        if (err < 0)
            return decode_failed(r, err);
    }
}

/* Gray, or the luma plane of planar or semi-planar YUV. *depth: bits as stored. */
static bool luma_is_plane0(const AVPixFmtDescriptor *d, int *depth)
{
    const AVComponentDescriptor *c = &d->comp[0];
    bool gray = d->nb_components <= 2 || (d->flags & AV_PIX_FMT_FLAG_PLANAR);
    if (!gray || (d->flags & (AV_PIX_FMT_FLAG_RGB | AV_PIX_FMT_FLAG_PAL | AV_PIX_FMT_FLAG_HWACCEL |
                              AV_PIX_FMT_FLAG_FLOAT | AV_PIX_FMT_FLAG_BITSTREAM)))
        return false;
    if (c->plane != 0 || c->offset != 0 || c->depth > 16 || c->step != (c->depth > 8 ? 2 : 1))
        return false;
    /* P010 and P016 (NVDEC's deep output) keep samples MSB-aligned in 16 bits. */
    if (c->shift != 0 && c->shift + c->depth != 16)
        return false;
    *depth = c->shift ? 16 : c->depth;
    return true;
}

static vt_status convert(vt__video_reader *r, const AVFrame *f, vt_image *img)
{
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get((enum AVPixelFormat)f->format);
    if (!d)
        return vt__error(VT_EFORMAT, "%s: frame %lld: unknown pixel format", r->path,
                         (long long)r->count);
    int depth;
    if (luma_is_plane0(d, &depth)) {
        bool be = (d->flags & AV_PIX_FMT_FLAG_BE) != 0;
        for (int y = 0; y < img->height; y++)
            vt__store_gray_row(f->data[0] + (ptrdiff_t)y * f->linesize[0], depth, be, img, y);
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

/* A GPU frame in memory: into r->sw, whose buffers serve every later frame. */
static vt_status download(vt__video_reader *r, const AVFrame **f)
{
    r->hw_frames = (*f)->format == r->hw_format;
    if (!r->hw_frames)
        return VT_OK;
    if (r->sw->buf[0] && (r->sw->width != (*f)->width || r->sw->height != (*f)->height))
        av_frame_unref(r->sw);
    int err = av_hwframe_transfer_data(r->sw, *f, 0);
    if (err < 0)
        return vt__av_error(VT_EIO, r->path, "cannot copy a frame from the GPU", err);
    *f = r->sw;
    return VT_OK;
}

/* The frame's presentation time in seconds since the stream's start. */
static bool frame_time(vt__video_reader *r, const AVFrame *f, double *t)
{
    int64_t pts = f->best_effort_timestamp;
    if (pts == AV_NOPTS_VALUE)
        return false;
    pts += r->wrap_offset;
    if (r->wrap_bits < 63 && r->last_pts != AV_NOPTS_VALUE &&
        pts < r->last_pts - (INT64_C(1) << (r->wrap_bits - 1))) {
        r->wrap_offset += INT64_C(1) << r->wrap_bits;
        pts += INT64_C(1) << r->wrap_bits;
    }
    r->last_pts = pts;
    if (r->start_pts == AV_NOPTS_VALUE || r->start_pts > pts)
        r->start_pts = pts;
    double since_start =
        (double)(pts - r->start_pts) * av_q2d(r->fmt->streams[r->stream]->time_base);
    if (r->rebase) { /* the first frame of a stream opened again */
        double away = vt__now() - r->last_wall;
        r->t_offset = r->last_t + (away > r->period ? away : r->period) - since_start;
        r->rebase = false;
    }
    *t = since_start + r->t_offset;
    return true;
}

/* ------------------------------------------------------------------------ */
/* Reconnection                                                              */

/* Opens the stream again after a disconnect: VT_OK, or the attempt's error. */
static vt_status reopen(vt__video_reader *r)
{
    close_stream(r);
    r->packets = r->decoded = 0;
    r->bad_in_a_row = 0;
    r->start_pts = r->last_pts = AV_NOPTS_VALUE;
    r->wrap_offset = 0;
    int64_t disconnects = r->disconnects; /* a failed attempt is not one more disconnect */
    vt_status s = open_input(r, 0.0);
    if (!s)
        s = open_decoder(r, &r->opts);
    r->disconnects = disconnects;
    return s;
}

/*
 * The stream went away: `why` is VT_OK when the sender closed it, else the
 * error (with its message as the last error). Tries reconnect_max times
 * with backoff; VT_OK when it is back, the error naming the URL when not.
 * reconnect_max 0 gives back what happened (a closed stream ends).
 */
static vt_status reconnect(vt__video_reader *r, vt_status why, bool *end)
{
    int max = r->opts.reconnect_max;
    if (max == 0)
        return why;
    char what[512];
    if (why) {
        snprintf(what, sizeof what, "%s", vt_last_error());
    } else {
        r->disconnects++;
        snprintf(what, sizeof what, "%s: the sender closed the stream (disconnected)", r->path);
    }
    vt__log(1, "%s; reconnecting", what);
    char last[512] = "no frame since the last reconnection";
    /*
     * The attempts count from the last frame delivered, not from the last
     * connection: a server that takes the connection and sends nothing
     * must not be reconnected forever.
     */
    for (; max < 0 || r->attempts < max; r->attempts++) {
        int attempt = r->attempts;
        double wait = BACKOFF_MIN_S * pow(2.0, attempt < 10 ? attempt : 10);
        sleep_s(wait < BACKOFF_MAX_S ? wait : BACKOFF_MAX_S);
        vt_status s = reopen(r);
        if (!s) {
            r->reconnects++;
            r->rebase = r->delivered;
            r->attempts++;
            *end = false;
            vt__log(1, "%s: reconnected (attempt %d)", r->path, attempt + 1);
            return VT_OK;
        }
        snprintf(last, sizeof last, "%s", vt_last_error());
        if (s == VT_ENOMEM || s == VT_EUNSUPPORTED)
            return s;
    }
    *end = false;
    close_stream(r);
    return vt__error(VT_EIO, "%s: gone: no reconnection in %d attempts after %s (last: %s)",
                     r->path, max, why ? "a disconnect" : "the sender closed the stream", last);
}

/* The next frame into r->frame: through disconnects when the stream is live. */
static vt_status receive_live(vt__video_reader *r, bool *end)
{
    for (;;) {
        if (!r->dec) /* reconnecting failed before: nothing left to read */
            return vt__error(VT_EIO, "%s: gone (no reconnection)", r->path);
        vt_status s = receive(r, end);
        bool gone = r->live && (s || (*end && r->closed_is_gone));
        if (!gone)
            return s;
        s = reconnect(r, s, end);
        if (s || *end)
            return s;
    }
}

vt_status vt__video_reader_read(vt__video_reader *r, vt_image *img, double *t, bool *has_t,
                                bool *end)
{
    *end = false;
    *has_t = false;
    vt_status s = receive_live(r, end);
    if (s || *end)
        return s;
    const AVFrame *f = r->frame;
    if (f->width != img->width || f->height != img->height)
        s = vt__error(VT_EMISMATCH, "%s: frame %lld is %dx%d, the camera's frames are %dx%d",
                      r->path, (long long)r->count, f->width, f->height, img->width, img->height);
    if (!s)
        s = download(r, &f);
    if (!s)
        s = convert(r, f, img);
    if (!s)
        *has_t = frame_time(r, r->frame, t);
    if (!s)
        r->attempts = 0;
    if (!s && *has_t) {
        r->delivered = true;
        r->last_t = *t;
        r->last_wall = vt__now();
    }
    av_frame_unref(r->frame);
    r->count++;
    return s;
}

int64_t vt__video_reader_corrupt(const vt__video_reader *r)
{
    return r->corrupt;
}

void vt__video_reader_stats(const vt__video_reader *r, vt_source_stats *st)
{
    st->corrupt = r->corrupt;
    st->disconnects = r->disconnects;
    st->reconnects = r->reconnects;
    st->hw = r->hw_frames;
}
