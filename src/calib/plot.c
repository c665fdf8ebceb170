/*
 * src/calib/plot.c - one camera's calibration as a picture (see
 * vt_calib_plot in voxtrack/calib.h): the camera's image, scaled to at most
 * MAX_WIDTH pixels wide, with the reference track drawn through the solved
 * camera, the detections over it, and each inlier's residual magnified ten
 * times.
 * A good calibration shows green dots on the grey line and short blue
 * whiskers pointing every way; whiskers that all point one way in one part
 * of the image are a model error there (distortion, a clock that drifts).
 * The top-left corner carries the RMS residual in pixels.
 */
#include <math.h>
#include <stdio.h>

#include "calib/calib_internal.h"
#include "core/internal.h"
#include "eval/canvas.h"

enum { MAX_WIDTH = 1600, MAGNIFY = 10 };

static const vt__rgb BACKGROUND = {40, 40, 40}, FRAME = {90, 90, 90}, TRACK = {170, 170, 170},
                     INLIER = {60, 220, 60}, OUTLIER = {235, 50, 50}, RESIDUAL = {80, 150, 255},
                     LABEL = {255, 255, 255};

static int to_px(double u, double scale)
{
    return (int)lround((u + 0.5) * scale - 0.5);
}

/* The track through the camera, joined between samples that both project near the image. */
static void draw_track(vt__canvas *c, const vt_camera *cam, const vt_reftrack *track, double scale)
{
    size_t n = vt_reftrack_count(track);
    bool have = false;
    int x0 = 0, y0 = 0;
    double margin = 0.25 * (cam->width + cam->height);
    for (size_t i = 0; i < n; i++) {
        vt_vec3 p;
        double u, v;
        vt_reftrack_sample(track, i, NULL, &p);
        bool ok = vt_camera_world_to_pixel(cam, p, &u, &v) && u > -margin &&
                  u < cam->width + margin && v > -margin && v < cam->height + margin;
        if (!ok) {
            have = false;
            continue;
        }
        int x = to_px(u, scale), y = to_px(v, scale);
        if (have)
            vt__canvas_line(c, x0, y0, x, y, TRACK);
        x0 = x, y0 = y, have = true;
    }
}

vt_status vt_calib_plot(const vt_calib_result *r, const vt_reftrack *track, const char *path)
{
    if (!r || !track || !path)
        return vt__error(VT_EINVAL, "vt_calib_plot: NULL argument");
    const vt_camera *cam = &r->cam;
    if (cam->width <= 0 || cam->height <= 0)
        return vt__error(VT_EINVAL, "vt_calib_plot: the result has no camera");
    double scale = cam->width > MAX_WIDTH ? (double)MAX_WIDTH / cam->width : 1.0;
    int w = (int)ceil(cam->width * scale), h = (int)ceil(cam->height * scale);
    vt__canvas c;
    vt_status s = vt__canvas_new(&c, w, h, BACKGROUND);
    if (s)
        return vt__error_prefix(s, "%s", path);
    for (int x = 0; x < w; x++)
        vt__canvas_put(&c, x, 0, FRAME), vt__canvas_put(&c, x, h - 1, FRAME);
    for (int y = 0; y < h; y++)
        vt__canvas_put(&c, 0, y, FRAME), vt__canvas_put(&c, w - 1, y, FRAME);
    /* Whiskers under the track, the detections over it. */
    for (size_t i = 0; i < r->npoints; i++) {
        const vt_calib_point *p = &r->points[i];
        if (p->inlier)
            vt__canvas_line(&c, to_px(p->u, scale), to_px(p->v, scale),
                            to_px(p->u + MAGNIFY * (p->pu - p->u), scale),
                            to_px(p->v + MAGNIFY * (p->pv - p->v), scale), RESIDUAL);
    }
    draw_track(&c, cam, track, scale);
    for (size_t i = 0; i < r->npoints; i++) {
        const vt_calib_point *p = &r->points[i];
        int x = to_px(p->u, scale), y = to_px(p->v, scale);
        if (!p->inlier) {
            for (int k = -3; k <= 3; k++) {
                vt__canvas_put(&c, x + k, y + k, OUTLIER);
                vt__canvas_put(&c, x + k, y - k, OUTLIER);
            }
            continue;
        }
        vt__canvas_put(&c, x, y, INLIER);
        vt__canvas_put(&c, x + 1, y, INLIER);
        vt__canvas_put(&c, x, y + 1, INLIER);
        vt__canvas_put(&c, x + 1, y + 1, INLIER);
    }
    char label[32];
    snprintf(label, sizeof label, "%.2f", r->rms_px);
    vt__canvas_text(&c, 8, 8, label, LABEL, 3);
    s = vt__canvas_save_png(&c, path);
    vt__canvas_free(&c);
    return s;
}
