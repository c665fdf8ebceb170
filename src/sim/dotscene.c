/*
 * src/sim/dotscene.c - the dot scene (see voxtrack/dotscene.h): a ring of
 * cameras around a point, one bright sphere moving in a straight line, and
 * the original projector's metadata.json beside the rendered frames.
 *
 * Cameras are posed in the original's convention (looks down -Z, image y up,
 * R = Rz(yaw) Ry(roll) Rx(pitch)) with roll 0. Rx(90 deg + e) tilts the
 * viewing direction (0, 0, -1) to (0, cos e, sin e), up by the elevation e of
 * the target; Rz(yaw) then swings that direction about the vertical to the
 * target's azimuth, which is yaw = atan2(-dx, dy). Roll 0 keeps the image's
 * horizontal axis level.
 *
 * Rendering traces the sphere exactly: each pixel near the dot's projection
 * is split into 8x8 sub-samples, each sub-sample's ray is tested against the
 * sphere, and the pixel gets the covered fraction of the way from the sky to
 * the dot level. Area coverage makes the dot's intensity-weighted centroid
 * follow its true projection to a small fraction of a pixel, so sub-pixel
 * motion shows up in the frames the way it would on a real sensor.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/internal.h"
#include "voxtrack/camera.h"
#include "voxtrack/dotscene.h"
#include "voxtrack/image.h"

#define VT__DOT_SUBSAMPLES 8
#define VT__PATH_MAX 4096

vt_dotscene_opts vt_dotscene_opts_default(void)
{
    vt_dotscene_opts o;
    o.cameras = 4;
    o.frames = 8;
    o.width = 640;
    o.height = 360;
    o.fov_deg = 60.0;
    o.ring_radius = 1200.0;
    o.ring_height = 100.0;
    o.look_at = vt_v3(0.0, 0.0, 500.0);
    o.start = vt_v3(30.0, -20.0, 520.0);
    o.velocity = vt_v3(6.0, 4.0, 3.0);
    o.dot_radius = 4.0;
    o.background = 40;
    o.dot_level = 230;
    return o;
}

vt_vec3 vt_dotscene_position(const vt_dotscene_opts *o, int frame)
{
    return vt_v3_add(o->start, vt_v3_scale(o->velocity, (double)frame));
}

void vt_dotscene_camera(const vt_dotscene_opts *o, int cam, vt_vec3 *position, double *yaw_deg,
                        double *pitch_deg, double *roll_deg)
{
    double phi = 2.0 * VT_PI * cam / o->cameras;
    vt_vec3 p = vt_v3(o->look_at.x + o->ring_radius * cos(phi),
                      o->look_at.y + o->ring_radius * sin(phi), o->ring_height);
    vt_vec3 d = vt_v3_sub(o->look_at, p);
    double elevation = atan2(d.z, hypot(d.x, d.y));
    *position = p;
    *pitch_deg = 90.0 + vt_rad2deg(elevation);
    *yaw_deg = vt_rad2deg(atan2(-d.x, d.y));
    *roll_deg = 0.0;
}

/* ---- validation ---------------------------------------------------------- */

static vt_status check_count(const char *field, int value)
{
    if (value < 1)
        return vt__error(VT_EINVAL, "dotscene: field '%s' must be >= 1 (got %d)", field, value);
    return VT_OK;
}

static vt_status check_level(const char *field, int value)
{
    if (value < 0 || value > 255)
        return vt__error(VT_EINVAL, "dotscene: field '%s' must be in 0..255 (got %d)", field,
                         value);
    return VT_OK;
}

static vt_status check_positive(const char *field, double value)
{
    if (!(isfinite(value) && value > 0.0))
        return vt__error(VT_EINVAL, "dotscene: field '%s' must be finite and > 0 (got %g)", field,
                         value);
    return VT_OK;
}

static vt_status check_vec(const char *field, vt_vec3 v)
{
    if (!(isfinite(v.x) && isfinite(v.y) && isfinite(v.z)))
        return vt__error(VT_EINVAL, "dotscene: field '%s' must be finite (got %g, %g, %g)", field,
                         v.x, v.y, v.z);
    return VT_OK;
}

static vt_status validate(const vt_dotscene_opts *o)
{
    vt_status s;
    if ((s = check_count("cameras", o->cameras)) != VT_OK ||
        (s = check_count("frames", o->frames)) != VT_OK ||
        (s = check_count("width", o->width)) != VT_OK ||
        (s = check_count("height", o->height)) != VT_OK)
        return s;
    if (!(o->fov_deg > 0.0 && o->fov_deg < 180.0))
        return vt__error(VT_EINVAL, "dotscene: field 'fov_deg' must be in (0, 180) (got %g)",
                         o->fov_deg);
    /* A zero radius would put every camera on look_at, with no direction to look in. */
    if ((s = check_positive("ring_radius", o->ring_radius)) != VT_OK ||
        (s = check_positive("dot_radius", o->dot_radius)) != VT_OK)
        return s;
    if (!isfinite(o->ring_height))
        return vt__error(VT_EINVAL, "dotscene: field 'ring_height' must be finite (got %g)",
                         o->ring_height);
    if ((s = check_vec("look_at", o->look_at)) != VT_OK ||
        (s = check_vec("start", o->start)) != VT_OK ||
        (s = check_vec("velocity", o->velocity)) != VT_OK)
        return s;
    if ((s = check_level("background", o->background)) != VT_OK ||
        (s = check_level("dot_level", o->dot_level)) != VT_OK)
        return s;
    return VT_OK;
}

/* ---- rendering ----------------------------------------------------------- */

static void fill_background(vt_image *img, int level)
{
    for (int y = 0; y < img->height; y++)
        memset(vt_image_row8(img, y), level, (size_t)img->width);
}

/* Does the ray from the camera through pixel (u, v) pass through the sphere? */
static bool subsample_hits(const vt_camera *cam, double u, double v, vt_vec3 centre, double r)
{
    vt_vec3 origin, dir;
    vt_camera_pixel_to_ray(cam, u, v, &origin, &dir);
    vt_vec3 oc = vt_v3_sub(centre, origin);
    double t = vt_v3_dot(oc, dir);
    if (t <= 0.0)
        return false;
    double miss2 = vt_v3_dot(oc, oc) - t * t;
    return miss2 <= r * r;
}

/* Fraction of pixel (px, py) covered by the sphere, from a regular grid of sub-samples. */
static double pixel_coverage(const vt_camera *cam, int px, int py, vt_vec3 centre, double r)
{
    const int n = VT__DOT_SUBSAMPLES;
    int hits = 0;
    for (int j = 0; j < n; j++)
        for (int i = 0; i < n; i++) {
            /* Pixel centres are at integer coordinates, so a pixel spans +-0.5 around them. */
            double u = px - 0.5 + (i + 0.5) / n;
            double v = py - 0.5 + (j + 0.5) / n;
            hits += subsample_hits(cam, u, v, centre, r);
        }
    return (double)hits / (n * n);
}

/* A pixel box that holds the sphere's image: its disc, stretched off axis, plus a margin. */
static bool dot_bounds(const vt_camera *cam, vt_vec3 centre, double r, int box[4])
{
    double uc, vc;
    if (!vt_camera_world_to_pixel(cam, centre, &uc, &vc))
        return false;
    vt_vec3 c = vt_camera_world_to_cam(cam, centre);
    if (c.z <= r)
        return false;
    double dist = vt_v3_norm(c);
    /* Off axis a sphere projects to an ellipse stretched by about 1/cos^2 of the angle. */
    double half = fmax(cam->fx, cam->fy) * r / c.z * (dist / c.z) * (dist / c.z) + 2.0;
    double lo_u = floor(uc - half), hi_u = ceil(uc + half);
    double lo_v = floor(vc - half), hi_v = ceil(vc + half);
    if (hi_u < 0.0 || hi_v < 0.0 || lo_u > cam->width - 1 || lo_v > cam->height - 1)
        return false;
    box[0] = (int)fmax(lo_u, 0.0);
    box[1] = (int)fmax(lo_v, 0.0);
    box[2] = (int)fmin(hi_u, cam->width - 1.0);
    box[3] = (int)fmin(hi_v, cam->height - 1.0);
    return true;
}

static void draw_dot(const vt_dotscene_opts *o, const vt_camera *cam, vt_vec3 centre, vt_image *img)
{
    int box[4];
    if (!dot_bounds(cam, centre, o->dot_radius, box))
        return;
    for (int y = box[1]; y <= box[3]; y++) {
        uint8_t *row = vt_image_row8(img, y);
        for (int x = box[0]; x <= box[2]; x++) {
            double cover = pixel_coverage(cam, x, y, centre, o->dot_radius);
            if (cover <= 0.0)
                continue;
            double value = o->background + cover * (o->dot_level - o->background);
            row[x] = (uint8_t)lround(fmin(fmax(value, 0.0), 255.0));
        }
    }
}

/* ---- output -------------------------------------------------------------- */

static vt_status join_path(char *buf, size_t size, const char *dir, const char *name)
{
    int n = snprintf(buf, size, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= size)
        return vt__error(VT_EINVAL, "dotscene: path too long: %s/%s", dir, name);
    return VT_OK;
}

static json_t *metadata_entry(int cam, int frame, vt_vec3 p, double yaw, double pitch, double roll,
                              double fov, const char *image_file)
{
    /* Same keys, in the same order, as the original's metadata.json. */
    return json_pack("{s:i, s:i, s:[f, f, f], s:f, s:f, s:f, s:f, s:s}", "camera_index", cam,
                     "frame_index", frame, "camera_position", p.x, p.y, p.z, "yaw", yaw, "pitch",
                     pitch, "roll", roll, "fov_degrees", fov, "image_file", image_file);
}

/* Renders and saves every frame of camera `c`, appending its entries to `meta`. */
static vt_status write_camera(const vt_dotscene_opts *o, int c, const char *dir, vt_image *img,
                              json_t *meta)
{
    vt_vec3 pos;
    double yaw, pitch, roll;
    vt_dotscene_camera(o, c, &pos, &yaw, &pitch, &roll);
    vt_camera cam;
    vt_status s = vt_camera_from_ypr(o->width, o->height, o->fov_deg, yaw, pitch, roll, pos, &cam);
    if (s != VT_OK)
        return vt__error_prefix(s, "dotscene: camera %d", c);
    for (int f = 0; f < o->frames; f++) {
        char name[64], path[VT__PATH_MAX];
        snprintf(name, sizeof name, "cam%d_frame%d.png", c, f);
        if ((s = join_path(path, sizeof path, dir, name)) != VT_OK)
            return s;
        fill_background(img, o->background);
        draw_dot(o, &cam, vt_dotscene_position(o, f), img);
        if ((s = vt_image_save_png(img, path)) != VT_OK)
            return vt__error_prefix(s, "dotscene");
        json_t *e = metadata_entry(c, f, pos, yaw, pitch, roll, o->fov_deg, name);
        if (!e || json_array_append_new(meta, e) != 0)
            return vt__error(VT_ENOMEM, "dotscene: out of memory building metadata");
    }
    return VT_OK;
}

static vt_status write_metadata(const json_t *meta, const char *dir)
{
    char path[VT__PATH_MAX];
    vt_status s = join_path(path, sizeof path, dir, "metadata.json");
    if (s != VT_OK)
        return s;
    errno = 0;
    if (json_dump_file(meta, path, JSON_INDENT(2) | JSON_REAL_PRECISION(17)) != 0)
        return vt__error(VT_EIO, "dotscene: cannot write %s: %s", path,
                         errno ? strerror(errno) : "write failed");
    return VT_OK;
}

vt_status vt_dotscene_write(const vt_dotscene_opts *o, const char *dir)
{
    if (!o || !dir)
        return vt__error(VT_EINVAL, "dotscene: NULL options or directory");
    vt_status s = validate(o);
    if (s != VT_OK)
        return s;
    json_t *meta = json_array();
    if (!meta)
        return vt__error(VT_ENOMEM, "dotscene: out of memory building metadata");
    vt_image img;
    memset(&img, 0, sizeof img);
    s = vt_image_alloc(&img, o->width, o->height, 8);
    for (int c = 0; s == VT_OK && c < o->cameras; c++)
        s = write_camera(o, c, dir, &img, meta);
    if (s == VT_OK)
        s = write_metadata(meta, dir);
    vt_image_free(&img);
    json_decref(meta);
    return s;
}
