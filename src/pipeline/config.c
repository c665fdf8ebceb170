/*
 * src/pipeline/config.c - the run configuration file (JSON) of `voxtrack
 * run`: which rig, which volume, where the outputs go, and any pipeline
 * parameter. Every field is documented in docs/RUN.md, whose field tables
 * are these tables (tests/test_config_doc.c compares them).
 *
 * Each JSON object is read by core/json_read.h against the table of the
 * struct it fills, so an unknown key (a typo) is an error that names its
 * path and the allowed keys, as is a value of the wrong type or out of
 * range. The tracker's table is the tracker's own (track/tracker_opts.h),
 * the one definition of its bounds. Relative paths resolve against the
 * configuration file's folder.
 */
#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/internal.h"
#include "core/json_read.h"
#include "detect/fusion_opts.h"
#include "pipeline/config_fields.h"
#include "track/tracker_opts.h"
#include "voxtrack/pipeline.h"

/* ENUM fields are stored as int. */
static_assert(sizeof(vt_ray_mode) == sizeof(int), "vt_ray_mode is an int");
static_assert(sizeof(vt_background_kind) == sizeof(int), "vt_background_kind is an int");
/* NUMS fields of 3 are read into a vt_vec3. */
static_assert(sizeof(vt_vec3) == 3 * sizeof(double), "vt_vec3 is 3 doubles");

/* A CUSTOM field that is a nested object read against `fields`. */
#define OBJECT(name, type, member, fn, flags, doc)                                                 \
    {                                                                                              \
        name, VT__JT_CUSTOM, offsetof(type, member), flags, 0, 0, 0, "", NULL, NULL, 0, fn, doc    \
    }
/* The same for an object whose fields lie in several parts of the struct: its table is relative to
 * the whole. */
#define WHOLE(name, fn, doc)                                                                       \
    {                                                                                              \
        name, VT__JT_CUSTOM, 0, 0, 0, 0, 0, "", NULL, NULL, 0, fn, doc                             \
    }
#define NESTED(fn, fields)                                                                         \
    static vt_status fn(const vt__jctx *c, json_t *v, const char *path, void *out)                 \
    {                                                                                              \
        return vt__json_read(c, v, path, fields, out);                                             \
    }

static const char *const background_kinds[] = {"previous", "average", NULL};
static const int background_kind_values[] = {VT_BACKGROUND_PREVIOUS, VT_BACKGROUND_AVERAGE};

/* vt_background_opts; the defaults are the pipeline's mono ones ("mono / thermal" where they
 * differ). */
const vt__jfield vt__config_background_fields[] = {
    VT__JF_ENUM("kind", vt_background_opts, kind, background_kinds, background_kind_values,
                VT_BACKGROUND_AVERAGE, NULL,
                "background model: the previous frame or a selective running average"),
    VT__JF_NUM("alpha", vt_background_opts, alpha, 1e-6, 1, 0.05, "learning rate per frame"),
    VT__JF_NUM("alpha_fg", vt_background_opts, alpha_fg, 0, 1, 0.002,
               "learning rate where a change was found"),
    VT__JF_FLOAT("threshold", vt_background_opts, threshold, 0, 1e6, 0,
                 "fixed threshold in pixel units; 0: adaptive"),
    VT__JF_FLOAT("k_sigma", vt_background_opts, k_sigma, 0.1, 100, 4,
                 "adaptive threshold = k_sigma × noise sigma"),
    {"min_threshold", VT__JT_FLOAT, offsetof(vt_background_opts, min_threshold), 0, 0, 1e6, 2,
     "2 / 20", NULL, NULL, 0, NULL, "floor of the adaptive threshold"},
    {"polarity", VT__JT_INT, offsetof(vt_background_opts, polarity), 0, -1, 1, -1, "-1 / +1", NULL,
     NULL, 0, NULL, "-1 darker, +1 brighter, 0 either"},
    VT__JF_FLOAT("psf_sigma", vt_background_opts, psf_sigma, 0, 10, 0,
                 "the matched filter: > 0, the difference is filtered with a separable Gaussian of "
                 "this sigma (pixels; 0.65 matches the simulator's 0.5-pixel optics) and "
                 "thresholded in units of the filtered image's own measured noise; 0: none"),
    {0}};
NESTED(read_background, vt__config_background_fields)

const vt__jfield vt__config_backgrounds_fields[] = {
    OBJECT("mono", vt_pipeline_opts, mono, read_background, 0, "motion of mono cameras"),
    OBJECT("thermal", vt_pipeline_opts, thermal, read_background, 0, "motion of thermal cameras"),
    {0}};
NESTED(read_backgrounds, vt__config_backgrounds_fields)

/* vt_vote_opts; the pipeline's defaults (pixel_angle -1: the rig's finest pixel). */
const vt__jfield vt__config_vote_fields[] = {
    VT__JF_NUM("coarse_voxel", vt_vote_opts, coarse_voxel, 1e-3, 1e4, 16,
               "edge of a coarse cell, metres"),
    VT__JF_NUM("fine_voxel", vt_vote_opts, fine_voxel, 1e-3, 1e4, 0.5,
               "smallest voxel edge, metres"),
    VT__JF_NUM("pixel_angle", vt_vote_opts, pixel_angle, -1, 1, -1,
               "angle of one pixel, radians, for the level of detail; -1: the rig's finest "
               "pixel; 0: refine to `fine_voxel` everywhere"),
    VT__JF_NUM("lod_pixels", vt_vote_opts, lod_pixels, 0, 1e3, 2,
               "refinement stops once a cell's edge is <= lod_pixels × range × pixel_angle"),
    VT__JF_INT("min_cameras", vt_vote_opts, min_cameras, 1, 64, 3,
               "K: distinct cameras a cell needs to be refined"),
    {0}};
NESTED(read_vote, vt__config_vote_fields)

const vt__jfield vt__config_detect_fields[] = {
    VT__JF_INT("min_cameras", vt_detect_opts, min_cameras, 2, 64, 3,
               "K: distinct cameras a detection needs"),
    VT__JF_INT("min_thermal", vt_detect_opts, min_thermal, 0, 64, 0,
               "thermal cameras a detection needs when the rig has any"),
    VT__JF_NUM("gate_sigma", vt_detect_opts, gate_sigma, 0, 1e3, 3,
               "a ray supports a point when its miss distance is <= gate_sigma × its sigma × "
               "range, or ..."),
    VT__JF_NUM("gate_min", vt_detect_opts, gate_min, 0, 1e3, 0.5, "... <= gate_min metres"),
    VT__JF_NUM("max_residual", vt_detect_opts, max_residual, 0, 1e4, 2,
               "detections whose RMS miss exceeds this (metres) are dropped"),
    {0}};
NESTED(read_detect, vt__config_detect_fields)

NESTED(read_tracker, vt__tracker_fields)

/*
 * "pipeline.fusion" (docs/FUSION.md): "enabled" is the pipeline's fuse, the
 * rest vt_fusion_opts, read with the fusion's own table (detect/fusion_opts.h).
 */
const vt__jfield vt__config_fusion_enabled_fields[] = {
    VT__JF_BOOL("enabled", vt_pipeline_opts, fuse, 1,
                "thermal fusion when the rig has thermal cameras"),
    {0}};

static vt_status read_fusion(const vt__jctx *c, json_t *v, const char *path, void *out)
{
    vt_pipeline_opts *o = out;
    if (!json_is_object(v))
        return vt__json_error(c, path, "must be an object");
    json_t *rest = json_copy(v);
    if (!rest)
        return vt__error(VT_ENOMEM, "%s: field '%s': out of memory", c->where, path);
    json_t *enabled = json_object_get(v, "enabled");
    vt_status s = VT_OK;
    if (enabled) {
        char p[256];
        vt__json_path(p, sizeof p, path, "enabled");
        s = vt__json_read_field(c, enabled, p, vt__config_fusion_enabled_fields, o);
        json_object_del(rest, "enabled");
    }
    if (!s)
        s = vt__json_read(c, rest, path, vt__fusion_fields, &o->fusion);
    json_decref(rest);
    return s;
}

static const char *const ray_modes[] = {"blobs", "pixels", NULL};
static const int ray_mode_values[] = {VT_RAYS_BLOBS, VT_RAYS_PIXELS};

const vt__jfield vt__config_pipeline_fields[] = {
    VT__JF_INT("threads", vt_pipeline_opts, threads, 0, 1024, 0, "worker threads, 0: all cores"),
    VT__JF_BOOL("overlap", vt_pipeline_opts, overlap, 1,
                "camera stages of the next set while this one votes"),
    VT__JF_ENUM("rays", vt_pipeline_opts, rays, ray_modes, ray_mode_values, VT_RAYS_BLOBS, NULL,
                "a ray per blob or per changed pixel"),
    VT__JF_NUM("sigma_px", vt_pipeline_opts, sigma_px, 1e-3, 100, 0.5,
               "centroid noise, pixels (ray angular sigma = sigma_px / fx)"),
    VT__JF_INT("min_area", vt_pipeline_opts, min_area, 1, 1 << 30, 1, "smallest blob, pixels"),
    VT__JF_INT("max_area", vt_pipeline_opts, max_area, 0, 1 << 30, 400,
               "largest blob, pixels; 0: none"),
    VT__JF_INT("max_rays", vt_pipeline_opts, max_rays, 1, 1 << 30, 4000,
               "rays per camera at most (the strongest)"),
    VT__JF_NUM("bird_accel", vt_pipeline_opts, bird_accel, 0, 1e4, 15,
               "accel_rms (m/s²) above which a track is a bird; 0: never"),
    VT__JF_INT("bird_min_age", vt_pipeline_opts, bird_min_age, 0, 1 << 20, 10,
               "updates before a track may be called a bird"),
    VT__JF_INT("confirm_cameras", vt_pipeline_opts, confirm_cameras, 0, 64, 4,
               "a track is reported confirmed once one of its detections was seen by this many "
               "cameras ..."),
    VT__JF_INT("confirm_hits", vt_pipeline_opts, confirm_hits, 0, 1 << 20, 15,
               "... or it has taken this many detections"),
    VT__JF_NUM("bird_flicker", vt_pipeline_opts, bird_flicker, 0, 1e3, 2.2,
               "brightness flicker (in units of what the sensor noise explains) above which a "
               "track is a bird; 0: never"),
    WHOLE("background", read_backgrounds,
          "`mono` and `thermal`: motion settings per modality (below)"),
    OBJECT("vote", vt_pipeline_opts, vote, read_vote, 0, "voting (below)"),
    OBJECT("detect", vt_pipeline_opts, detect, read_detect, 0, "detections (below)"),
    OBJECT("tracker", vt_pipeline_opts, tracker, read_tracker, 0, "tracking (below)"),
    WHOLE("fusion", read_fusion, "thermal fusion (below; docs/FUSION.md)"),
    {0}};

NESTED(read_pipeline, vt__config_pipeline_fields)

const vt__jfield vt__config_volume_fields[] = {
    VT__JF_NUMS("min", vt_pipeline_opts, volume_min, 3, VT__JF_REQUIRED,
                "the watched box's lowest corner, world metres `[x, y, z]`"),
    VT__JF_NUMS("max", vt_pipeline_opts, volume_max, 3, VT__JF_REQUIRED,
                "its highest corner, above `min` on every axis"),
    {0}};

static vt_status read_volume(const vt__jctx *c, json_t *v, const char *path, void *out)
{
    vt_status s = vt__json_read(c, v, path, vt__config_volume_fields, out);
    const vt_pipeline_opts *o = out;
    vt_vec3 a = o->volume_min, b = o->volume_max;
    if (!s && !(a.x < b.x && a.y < b.y && a.z < b.z))
        return vt__json_error(c, path, "min must be below max on every axis");
    return s;
}

/* The object is kept as text: the alert rules are read (and checked) by vt_alerts_new. */
static vt_status read_alerts(const vt__jctx *c, json_t *v, const char *path, void *out)
{
    if (!json_is_object(v))
        return vt__json_error(c, path, "must be an object (docs/ALERTS.md)");
    char **text = out;
    free(*text);
    *text = json_dumps(v, JSON_COMPACT);
    if (!*text)
        return vt__error(VT_ENOMEM, "%s: field '%s': out of memory", c->where, path);
    return VT_OK;
}

const vt__jfield vt__config_fields[] = {
    VT__JF_STR("rig", vt_run_config, rig, VT__JF_REQUIRED, "rig file (docs/FORMATS.md)"),
    {"volume", VT__JT_CUSTOM, offsetof(vt_run_config, opts), VT__JF_REQUIRED, 0, 0, 0, NULL, NULL,
     NULL, 0, read_volume, "the watched box: `min` and `max` (below)"},
    {"truth", VT__JT_STR, offsetof(vt_run_config, truth), 0, 1, 65535, 0, "none", NULL, NULL, 0,
     NULL, "ground truth (`truth.jsonl`): the run ends with its accuracy"},
    {"tracks", VT__JT_STR, offsetof(vt_run_config, tracks), 0, 1, 65535, 0,
     "`tracks.jsonl` next to the configuration", NULL, NULL, 0, NULL, "output tracks file"},
    {"detections", VT__JT_STR, offsetof(vt_run_config, detections), 0, 1, 65535, 0, "none", NULL,
     NULL, 0, NULL, "output detections file"},
    VT__JF_INT64("frames", vt_run_config, max_frames, 0, INFINITY, 0,
                 "stop after this many frame sets (0: all)"),
    OBJECT("pipeline", vt_run_config, opts, read_pipeline, 0, "the parameters below"),
    {"alerts", VT__JT_CUSTOM, offsetof(vt_run_config, alerts_json), 0, 0, 0, 0, "none", NULL, NULL,
     0, read_alerts, "alert rules (docs/ALERTS.md)"},
    {0}};

/* A relative path (not absolute, not a URL) joined to the configuration's folder. */
static vt_status resolve(const char *dir, char **path)
{
    const char *s = *path;
    if (!s || s[0] == '/' || strstr(s, "://") || !dir[0])
        return VT_OK;
    size_t n = strlen(dir) + strlen(s) + 2;
    char *r = malloc(n);
    if (!r)
        return vt__error(VT_ENOMEM, "out of memory");
    snprintf(r, n, "%s/%s", dir, s);
    free(*path);
    *path = r;
    return VT_OK;
}

static vt_status read_config(const char *file, const char *dir, json_t *root, vt_run_config *cfg)
{
    vt__jctx c = {.where = file};
    vt_status s = vt__json_read(&c, root, "", vt__config_fields, cfg);
    if (!s && cfg->opts.tracker.confirm_m > cfg->opts.tracker.confirm_n)
        return vt__json_error(&c, "pipeline.tracker.confirm_m", "must be <= confirm_n");
    if (!s && !cfg->tracks && !(cfg->tracks = strdup("tracks.jsonl")))
        return vt__error(VT_ENOMEM, "out of memory");
    char **paths[] = {&cfg->rig, &cfg->truth, &cfg->tracks, &cfg->detections};
    for (size_t i = 0; !s && i < sizeof paths / sizeof *paths; i++)
        s = resolve(dir, paths[i]);
    return s;
}

vt_status vt_run_config_load(const char *path, vt_run_config *cfg)
{
    if (!path || !cfg)
        return vt__error(VT_EINVAL, "vt_run_config_load: NULL argument");
    memset(cfg, 0, sizeof *cfg);
    cfg->opts = vt_pipeline_opts_default();
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        dir[0] = '\0';
    json_error_t err;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
    if (!root) {
        FILE *f = fopen(path, "rb");
        if (!f)
            return vt__error(VT_ENOENT, "%s: cannot open the run configuration", path);
        fclose(f);
        return vt__error(VT_EPARSE, "%s:%d:%d: %s", path, err.line, err.column, err.text);
    }
    vt_status s = read_config(path, dir, root, cfg);
    json_decref(root);
    if (s)
        vt_run_config_free(cfg);
    return s;
}

void vt_run_config_free(vt_run_config *cfg)
{
    if (!cfg)
        return;
    free(cfg->rig);
    free(cfg->truth);
    free(cfg->tracks);
    free(cfg->detections);
    free(cfg->alerts_json);
    memset(cfg, 0, sizeof *cfg);
}
