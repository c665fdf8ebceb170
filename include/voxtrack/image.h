/*
 * voxtrack/image.h - gray images in memory, loaded and saved through FFmpeg.
 *
 * An image is 8-bit or 16-bit gray, rows of `stride` bytes. Loading goes
 * through libavformat/libavcodec (any still-image format FFmpeg reads: PNG,
 * JPEG, PGM/PPM, TIFF, BMP, ...) and converts colour to gray with libswscale
 * (BT.601 luma). A file with more than 8 bits per sample keeps 16 bits unless
 * VT_IMAGE_LOAD_8BIT is asked for.
 */
#ifndef VOXTRACK_IMAGE_H
#define VOXTRACK_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "voxtrack/export.h"
#include "voxtrack/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vt_image {
    int width, height;
    int bits;      /* 8 or 16 (16-bit samples are native-endian uint16_t) */
    size_t stride; /* bytes per row */
    void *data;    /* owned by the image; free with vt_image_free() */
} vt_image;

enum {
    VT_IMAGE_LOAD_8BIT = 1 << 0 /* convert deeper files to 8 bits */
};

/*
 * Allocates a zeroed width x height image of 8 or 16 bits, rows padded to a
 * multiple of 64 bytes. Returns VT_EINVAL for non-positive sizes or other
 * bit depths, VT_ENOMEM when allocation fails.
 */
VT_API vt_status vt_image_alloc(vt_image *img, int width, int height, int bits);

/* Frees the pixels and zeroes the struct. Accepts an already-freed or zeroed image. */
VT_API void vt_image_free(vt_image *img);

/*
 * Loads a still image from `path` into *img (which must be zeroed or freed;
 * on success the caller owns it). On failure *img is left zeroed and
 * vt_last_error() names the file and the reason. VT_ENOENT when the file is
 * missing, VT_EFORMAT when FFmpeg cannot decode it.
 */
VT_API vt_status vt_image_load(const char *path, unsigned flags, vt_image *img);

/*
 * Saves an image as PNG (8-bit gray or 16-bit gray) through FFmpeg's PNG
 * encoder. Returns VT_EIO naming the path when it cannot be written.
 */
VT_API vt_status vt_image_save_png(const vt_image *img, const char *path);

/* Row pointers. */
static inline uint8_t *vt_image_row8(const vt_image *img, int y)
{
    return (uint8_t *)img->data + (size_t)y * img->stride;
}

static inline uint16_t *vt_image_row16(const vt_image *img, int y)
{
    return (uint16_t *)((uint8_t *)img->data + (size_t)y * img->stride);
}

#ifdef __cplusplus
}
#endif

#endif
