/*
 * src/pose/landmark.c - finding a beacon (a surveyed light) near where the
 * filter predicts it in a mono frame (voxtrack/pose.h).
 *
 * A targeted search, not a detector: inside a square window around the
 * prediction, the background is the median of the window's border and the
 * beacon the brightest pixel, if it stands min_contrast above the background.
 * Its position is the centroid of the excess over the background in the 5x5
 * pixels around that peak (pixel (u, v) has its centre at (u, v), as
 * everywhere in voxtrack), which is good to a small fraction of a pixel for a
 * light a few pixels across.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "voxtrack/pose.h"

static double pixel(const vt_image *img, int u, int v)
{
    const uint8_t *row = (const uint8_t *)img->data + (size_t)v * img->stride;
    return img->bits == 16 ? (double)((const uint16_t *)(const void *)row)[u] : (double)row[u];
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

vt_status vt_pose_find_beacon(const vt_image *img, double u0, double v0, int radius,
                              double min_contrast, vt_pose_beacon *out)
{
    if (!img || !img->data || !out)
        return vt__error(VT_EINVAL, "vt_pose_find_beacon: NULL argument");
    memset(out, 0, sizeof *out);
    if (!isfinite(u0) || !isfinite(v0) || radius < 2 || radius > 256 ||
        (img->bits != 8 && img->bits != 16))
        return vt__error(VT_EINVAL,
                         "beacon search: prediction must be finite, radius in [2, 256], the "
                         "image 8 or 16 bits");
    int x0 = (int)floor(u0 + 0.5) - radius, x1 = (int)floor(u0 + 0.5) + radius;
    int y0 = (int)floor(v0 + 0.5) - radius, y1 = (int)floor(v0 + 0.5) + radius;
    if (x0 < 0)
        x0 = 0;
    if (y0 < 0)
        y0 = 0;
    if (x1 > img->width - 1)
        x1 = img->width - 1;
    if (y1 > img->height - 1)
        y1 = img->height - 1;
    if (x1 - x0 < 4 || y1 - y0 < 4)
        return VT_OK; /* the window is (nearly) outside the image */
    /* The border's median: robust to the beacon itself sitting on the border. */
    double border[4 * 513];
    int nb = 0;
    for (int x = x0; x <= x1; x++) {
        border[nb++] = pixel(img, x, y0);
        border[nb++] = pixel(img, x, y1);
    }
    for (int y = y0 + 1; y < y1; y++) {
        border[nb++] = pixel(img, x0, y);
        border[nb++] = pixel(img, x1, y);
    }
    qsort(border, (size_t)nb, sizeof *border, cmp_double);
    double bg = border[nb / 2];
    int pu = x0, pv = y0;
    double peak = -1.0;
    for (int y = y0; y <= y1; y++)
        for (int x = x0; x <= x1; x++) {
            double p = pixel(img, x, y);
            if (p > peak) {
                peak = p;
                pu = x;
                pv = y;
            }
        }
    if (!(peak - bg >= min_contrast))
        return VT_OK;
    double sw = 0.0, su = 0.0, sv = 0.0;
    for (int y = pv - 2; y <= pv + 2; y++)
        for (int x = pu - 2; x <= pu + 2; x++) {
            if (x < 0 || y < 0 || x >= img->width || y >= img->height)
                continue;
            double w = pixel(img, x, y) - bg;
            if (w <= 0.0)
                continue;
            sw += w;
            su += w * x;
            sv += w * y;
        }
    out->found = true;
    out->u = su / sw;
    out->v = sv / sw;
    out->contrast = peak - bg;
    out->background = bg;
    return VT_OK;
}
