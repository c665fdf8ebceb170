/*
 * src/source/image.c - gray images in memory, loaded and saved through FFmpeg
 * (see voxtrack/image.h).
 *
 * Loading opens the file with libavformat (the image2 and *_pipe demuxers
 * cover PNG, JPEG, PGM/PPM, TIFF, BMP, ...), decodes the first video frame
 * with libavcodec's send/receive API and brings it to 8- or 16-bit gray.
 * Frames that already are gray of the wanted depth are copied row by row
 * (16-bit samples are reassembled when FFmpeg hands out the other byte
 * order, as its PNG decoder does with big-endian GRAY16BE); everything else
 * goes through libswscale, which takes BT.601 luma at full range.
 *
 * Saving runs FFmpeg's PNG encoder on a GRAY8 or GRAY16BE frame (PNG stores
 * 16-bit samples big-endian) and writes the packet with stdio, so that every
 * failure can name the path.
 *
 * All FFmpeg state lives in one call: several threads may load and save at
 * once. FFmpeg's own log is set to quiet once (pthread_once) because our
 * vt_last_error() message carries the same information and names the file.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "core/internal.h"
#include "voxtrack/image.h"

/* Rows and buffers start on cache-line (and widest-vector) boundaries. */
enum { ROW_ALIGN = 64 };

static pthread_once_t quiet_once = PTHREAD_ONCE_INIT;

static void quiet_ffmpeg_log(void)
{
    av_log_set_level(AV_LOG_QUIET);
}

static void quiet_ffmpeg(void)
{
    pthread_once(&quiet_once, quiet_ffmpeg_log);
}

/* ------------------------------------------------------------------------ */
/* Allocation                                                                */

vt_status vt_image_alloc(vt_image *img, int width, int height, int bits)
{
    if (!img)
        return vt__error(VT_EINVAL, "image: NULL image");
    memset(img, 0, sizeof *img);
    if (width <= 0 || height <= 0 || (bits != 8 && bits != 16))
        return vt__error(VT_EINVAL,
                         "image: cannot allocate %dx%d with %d bits "
                         "(sizes must be > 0, bits 8 or 16)",
                         width, height, bits);
    size_t row = (size_t)width * (size_t)(bits / 8);
    size_t stride = (row + ROW_ALIGN - 1) / ROW_ALIGN * ROW_ALIGN;
    if (stride > SIZE_MAX / (size_t)height)
        return vt__error(VT_ENOMEM, "image: %dx%d is too large", width, height);
    /* aligned_alloc wants a size that is a multiple of the alignment: stride is. */
    void *data = aligned_alloc(ROW_ALIGN, stride * (size_t)height);
    if (!data)
        return vt__error(VT_ENOMEM, "image: cannot allocate %dx%d %d-bit (%zu bytes)", width,
                         height, bits, stride * (size_t)height);
    memset(data, 0, stride * (size_t)height);
    *img =
        (vt_image){.width = width, .height = height, .bits = bits, .stride = stride, .data = data};
    return VT_OK;
}

void vt_image_free(vt_image *img)
{
    if (!img)
        return;
    free(img->data);
    memset(img, 0, sizeof *img);
}

static int image_is_valid(const vt_image *img)
{
    return img && img->data && img->width > 0 && img->height > 0 &&
           (img->bits == 8 || img->bits == 16) &&
           img->stride >= (size_t)img->width * (size_t)(img->bits / 8);
}

/* ------------------------------------------------------------------------ */
/* Loading                                                                   */

/* FFmpeg's error codes for what went wrong opening or decoding a file. */
static vt_status status_of_averror(int err)
{
    if (err == AVERROR(ENOENT))
        return VT_ENOENT;
    if (err == AVERROR(ENOMEM))
        return VT_ENOMEM;
    if (err == AVERROR(EACCES) || err == AVERROR(EPERM) || err == AVERROR(EISDIR) ||
        err == AVERROR(EIO))
        return VT_EIO;
    return VT_EFORMAT;
}

static vt_status av_failure(const char *path, const char *what, int err)
{
    vt_status s = status_of_averror(err);
    if (s == VT_ENOENT)
        return vt__error(s, "%s: no such file", path);
    char msg[AV_ERROR_MAX_STRING_SIZE];
    av_strerror(err, msg, sizeof msg);
    return vt__error(s, "%s: %s: %s", path, what, msg);
}

/* The FFmpeg state of one load; close_decoder() frees whatever was made. */
typedef struct decoder {
    AVFormatContext *fmt;
    AVCodecContext *codec;
    AVPacket *pkt;
    AVFrame *frame;
    int stream;
} decoder;

static void close_decoder(decoder *d)
{
    av_frame_free(&d->frame);
    av_packet_free(&d->pkt);
    avcodec_free_context(&d->codec);
    avformat_close_input(&d->fmt);
}

static int open_input(decoder *d, const char *path)
{
    AVDictionary *opts = NULL;
    /*
     * A path is a path: by default image2 reads "%d" in a name as a frame
     * number pattern, and "http:..." would go to the network.
     */
    av_dict_set(&opts, "pattern_type", "none", 0);
    av_dict_set(&opts, "protocol_whitelist", "file", 0);
    int err = avformat_open_input(&d->fmt, path, NULL, &opts);
    av_dict_free(&opts);
    return err;
}

static vt_status open_decoder(decoder *d, const char *path)
{
    int err = open_input(d, path);
    if (err < 0)
        return av_failure(path, "cannot open", err);
    const AVCodec *codec = NULL;
    d->stream = av_find_best_stream(d->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    if (d->stream < 0)
        return av_failure(path, "no image in file", d->stream);
    d->codec = avcodec_alloc_context3(codec);
    d->pkt = av_packet_alloc();
    d->frame = av_frame_alloc();
    if (!d->codec || !d->pkt || !d->frame)
        return vt__error(VT_ENOMEM, "%s: out of memory for the decoder", path);
    err = avcodec_parameters_to_context(d->codec, d->fmt->streams[d->stream]->codecpar);
    if (err >= 0)
        err = avcodec_open2(d->codec, codec, NULL);
    if (err < 0)
        return av_failure(path, "cannot start the decoder", err);
    return VT_OK;
}

/*
 * Sends the decoder the next packet of our stream, or the flush signal at the
 * end of the file (a one-frame image may only come out when flushed).
 */
static int feed_decoder(decoder *d)
{
    for (;;) {
        int err = av_read_frame(d->fmt, d->pkt);
        if (err == AVERROR_EOF)
            return avcodec_send_packet(d->codec, NULL);
        if (err < 0)
            return err;
        if (d->pkt->stream_index == d->stream) {
            err = avcodec_send_packet(d->codec, d->pkt);
            av_packet_unref(d->pkt);
            return err;
        }
        av_packet_unref(d->pkt);
    }
}

static vt_status decode_first_frame(decoder *d, const char *path)
{
    for (;;) {
        int err = avcodec_receive_frame(d->codec, d->frame);
        if (err == 0)
            break;
        if (err == AVERROR_EOF)
            return vt__error(VT_EFORMAT, "%s: cannot decode: no image in file", path);
        if (err != AVERROR(EAGAIN))
            return av_failure(path, "cannot decode", err);
        err = feed_decoder(d);
        if (err < 0)
            return av_failure(path, "cannot decode", err);
    }
    /* A frame the decoder patched over errors is not the scene: refuse it. */
    if (d->frame->flags & AV_FRAME_FLAG_CORRUPT)
        return vt__error(VT_EFORMAT, "%s: cannot decode: image is corrupt", path);
    return VT_OK;
}

static const uint8_t *frame_row(const AVFrame *f, int y)
{
    return f->data[0] + (ptrdiff_t)y * f->linesize[0];
}

/* Gray of the wanted depth and byte order: nothing to convert. */
static void copy_rows(const AVFrame *f, vt_image *img)
{
    size_t n = (size_t)img->width * (size_t)(img->bits / 8);
    for (int y = 0; y < img->height; y++)
        memcpy(vt_image_row8(img, y), frame_row(f, y), n);
}

/* 16-bit gray in a given byte order, reassembled into native uint16_t. */
static void copy_rows16(const AVFrame *f, vt_image *img, int big_endian)
{
    int hi = big_endian ? 0 : 1;
    for (int y = 0; y < img->height; y++) {
        const uint8_t *s = frame_row(f, y);
        uint16_t *d = vt_image_row16(img, y);
        for (int x = 0; x < img->width; x++)
            d[x] = (uint16_t)(s[2 * x + hi] << 8 | s[2 * x + 1 - hi]);
    }
}

static vt_status convert_rows(const AVFrame *f, vt_image *img, const char *path)
{
    enum AVPixelFormat src = (enum AVPixelFormat)f->format;
    enum AVPixelFormat dst = img->bits == 16 ? AV_PIX_FMT_GRAY16 : AV_PIX_FMT_GRAY8;
    /* Same size in and out: no filter runs, so the cheapest one will do. */
    struct SwsContext *sws = sws_getContext(img->width, img->height, src, img->width, img->height,
                                            dst, SWS_POINT | SWS_ACCURATE_RND, NULL, NULL, NULL);
    if (!sws)
        return vt__error(VT_EFORMAT, "%s: cannot convert pixel format %s to gray", path,
                         av_get_pix_fmt_name(src) ? av_get_pix_fmt_name(src) : "?");
    uint8_t *dst_data[4] = {img->data, NULL, NULL, NULL};
    int dst_linesize[4] = {(int)img->stride, 0, 0, 0};
    int rows = sws_scale(sws, (const uint8_t *const *)f->data, f->linesize, 0, img->height,
                         dst_data, dst_linesize);
    sws_freeContext(sws);
    if (rows != img->height)
        return vt__error(VT_EFORMAT, "%s: converting to gray failed", path);
    return VT_OK;
}

static vt_status fill_image(const AVFrame *f, vt_image *img, const char *path)
{
    enum AVPixelFormat fmt = (enum AVPixelFormat)f->format;
    if (fmt == (img->bits == 16 ? AV_PIX_FMT_GRAY16 : AV_PIX_FMT_GRAY8))
        copy_rows(f, img);
    else if (img->bits == 16 && (fmt == AV_PIX_FMT_GRAY16BE || fmt == AV_PIX_FMT_GRAY16LE))
        copy_rows16(f, img, fmt == AV_PIX_FMT_GRAY16BE);
    else
        return convert_rows(f, img, path);
    return VT_OK;
}

static vt_status frame_to_image(const AVFrame *f, unsigned flags, const char *path, vt_image *img)
{
    const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get((enum AVPixelFormat)f->format);
    if (!desc || f->width <= 0 || f->height <= 0 || (desc->flags & AV_PIX_FMT_FLAG_HWACCEL))
        return vt__error(VT_EFORMAT, "%s: decoder gave no usable picture", path);
    int bits = desc->comp[0].depth > 8 && !(flags & VT_IMAGE_LOAD_8BIT) ? 16 : 8;
    vt_status s = vt_image_alloc(img, f->width, f->height, bits);
    if (s != VT_OK)
        return vt__error_prefix(s, "%s", path);
    s = fill_image(f, img, path);
    if (s != VT_OK)
        vt_image_free(img);
    return s;
}

vt_status vt_image_load(const char *path, unsigned flags, vt_image *img)
{
    if (!img)
        return vt__error(VT_EINVAL, "image: NULL image");
    memset(img, 0, sizeof *img);
    if (!path)
        return vt__error(VT_EINVAL, "image: NULL path");
    quiet_ffmpeg();
    decoder d = {0};
    vt_status s = open_decoder(&d, path);
    if (s == VT_OK)
        s = decode_first_frame(&d, path);
    if (s == VT_OK)
        s = frame_to_image(d.frame, flags, path, img);
    close_decoder(&d);
    return s;
}

/* ------------------------------------------------------------------------ */
/* Saving                                                                    */

/* PNG wants 16-bit samples big-endian, whatever the machine's order. */
static void fill_frame(AVFrame *f, const vt_image *img)
{
    for (int y = 0; y < img->height; y++) {
        uint8_t *d = f->data[0] + (ptrdiff_t)y * f->linesize[0];
        if (img->bits == 8) {
            memcpy(d, vt_image_row8(img, y), (size_t)img->width);
            continue;
        }
        const uint16_t *s = vt_image_row16(img, y);
        for (int x = 0; x < img->width; x++) {
            d[2 * x] = (uint8_t)(s[x] >> 8);
            d[2 * x + 1] = (uint8_t)(s[x] & 0xff);
        }
    }
}

static AVFrame *make_frame(const vt_image *img, enum AVPixelFormat fmt)
{
    AVFrame *f = av_frame_alloc();
    if (!f)
        return NULL;
    f->format = fmt;
    f->width = img->width;
    f->height = img->height;
    if (av_frame_get_buffer(f, 0) < 0) {
        av_frame_free(&f);
        return NULL;
    }
    fill_frame(f, img);
    return f;
}

/* Runs one frame through the encoder and takes its packet, flushing if needed. */
static int encode_one(AVCodecContext *c, const AVFrame *f, AVPacket *pkt)
{
    int err = avcodec_send_frame(c, f);
    if (err < 0)
        return err;
    err = avcodec_receive_packet(c, pkt);
    if (err != AVERROR(EAGAIN))
        return err;
    err = avcodec_send_frame(c, NULL);
    return err < 0 ? err : avcodec_receive_packet(c, pkt);
}

static vt_status encode_png(const vt_image *img, const char *path, AVPacket *pkt)
{
    const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_PNG);
    if (!codec)
        return vt__error(VT_EUNSUPPORTED, "%s: this FFmpeg has no PNG encoder", path);
    enum AVPixelFormat fmt = img->bits == 16 ? AV_PIX_FMT_GRAY16BE : AV_PIX_FMT_GRAY8;
    AVCodecContext *c = avcodec_alloc_context3(codec);
    AVFrame *f = make_frame(img, fmt);
    vt_status s = VT_OK;
    if (!c || !f) {
        s = vt__error(VT_ENOMEM, "%s: out of memory for the PNG encoder", path);
        goto done;
    }
    c->width = img->width;
    c->height = img->height;
    c->pix_fmt = fmt;
    c->time_base = (AVRational){1, 1}; /* encoders refuse to open without one */
    int err = avcodec_open2(c, codec, NULL);
    if (err >= 0)
        err = encode_one(c, f, pkt);
    if (err < 0) {
        char msg[AV_ERROR_MAX_STRING_SIZE];
        av_strerror(err, msg, sizeof msg);
        s = vt__error(VT_EFORMAT, "%s: PNG encoding failed: %s", path, msg);
    }
done:
    av_frame_free(&f);
    avcodec_free_context(&c);
    return s;
}

static vt_status io_failure(const char *path, const char *what, int err)
{
    char msg[256];
    if (strerror_r(err, msg, sizeof msg) != 0)
        snprintf(msg, sizeof msg, "error %d", err);
    return vt__error(VT_EIO, "%s: %s: %s", path, what, msg);
}

static vt_status write_file(const char *path, const uint8_t *data, size_t size)
{
    FILE *fp = fopen(path, "wb");
    if (!fp)
        return io_failure(path, "cannot create", errno);
    vt_status s = VT_OK;
    if (fwrite(data, 1, size, fp) != size)
        s = io_failure(path, "cannot write", errno);
    /* fclose flushes: a full disk may only show here. */
    if (fclose(fp) != 0 && s == VT_OK)
        s = io_failure(path, "cannot write", errno);
    return s;
}

vt_status vt_image_save_png(const vt_image *img, const char *path)
{
    if (!path)
        return vt__error(VT_EINVAL, "image: NULL path");
    if (!image_is_valid(img))
        return vt__error(VT_EINVAL, "%s: not a valid 8- or 16-bit image", path);
    quiet_ffmpeg();
    AVPacket *pkt = av_packet_alloc();
    if (!pkt)
        return vt__error(VT_ENOMEM, "%s: out of memory for the PNG encoder", path);
    vt_status s = encode_png(img, path, pkt);
    if (s == VT_OK)
        s = write_file(path, pkt->data, (size_t)pkt->size);
    av_packet_free(&pkt);
    return s;
}
