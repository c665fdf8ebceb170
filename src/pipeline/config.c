/*
 * src/pipeline/config.c - the run configuration file (JSON) of `voxtrack
 * run`: which rig, which volume, where the outputs go, and any pipeline
 * parameter. Every field is documented in docs/RUN.md.
 *
 * Each JSON object is read against a table of the keys it may hold, so an
 * unknown key (a typo) is an error that names its path, as is a value of
 * the wrong type or out of range. Relative paths resolve against the
 * configuration file's folder.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/internal.h"
#include "core/json_keys.h"
#include "voxtrack/pipeline.h"

/* The context of one file: its name, for messages, and its folder. */
typedef struct ctx {
    const char *file;
    char dir[4096];
} ctx;

static vt_status bad(const ctx *c, const char *path, const char *what)
{
    return vt__error(VT_EPARSE, "%s: '%s' %s", c->file, path, what);
}

/* Refuses keys of obj that are not in `keys` (NULL-terminated). */
static vt_status check_keys(const ctx *c, const char *path, json_t *obj, const char *const *keys)
{
    if (!json_is_object(obj))
        return bad(c, path, "must be an object");
    const char *key = vt__json_unknown_key(obj, keys);
    if (key)
        return vt__error(VT_EPARSE, "%s: unknown field '%s%s%s'", c->file, path, *path ? "." : "",
                         key);
    return VT_OK;
}

static void join(char *buf, size_t size, const char *path, const char *key)
{
    snprintf(buf, size, "%s%s%s", path, *path ? "." : "", key);
}

static vt_status get_double(const ctx *c, json_t *obj, const char *path, const char *key, double lo,
                            double hi, double *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return VT_OK;
    char p[256];
    join(p, sizeof p, path, key);
    if (!json_is_number(v))
        return bad(c, p, "must be a number");
    double d = json_number_value(v);
    if (!isfinite(d) || d < lo || d > hi) {
        char msg[128];
        snprintf(msg, sizeof msg, "must be in [%g, %g], got %g", lo, hi, d);
        return bad(c, p, msg);
    }
    *out = d;
    return VT_OK;
}

static vt_status get_float(const ctx *c, json_t *obj, const char *path, const char *key, double lo,
                           double hi, float *out)
{
    double d = *out;
    vt_status s = get_double(c, obj, path, key, lo, hi, &d);
    *out = (float)d;
    return s;
}

static vt_status get_int(const ctx *c, json_t *obj, const char *path, const char *key, long long lo,
                         long long hi, int *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return VT_OK;
    char p[256];
    join(p, sizeof p, path, key);
    if (!json_is_integer(v))
        return bad(c, p, "must be an integer");
    long long i = json_integer_value(v);
    if (i < lo || i > hi) {
        char msg[128];
        snprintf(msg, sizeof msg, "must be in [%lld, %lld], got %lld", lo, hi, i);
        return bad(c, p, msg);
    }
    *out = (int)i;
    return VT_OK;
}

static vt_status get_bool(const ctx *c, json_t *obj, const char *path, const char *key, bool *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return VT_OK;
    char p[256];
    join(p, sizeof p, path, key);
    if (!json_is_boolean(v))
        return bad(c, p, "must be true or false");
    *out = json_is_true(v);
    return VT_OK;
}

static vt_status get_vec3(const ctx *c, json_t *obj, const char *path, const char *key,
                          vt_vec3 *out, bool required)
{
    json_t *v = json_object_get(obj, key);
    char p[256];
    join(p, sizeof p, path, key);
    if (!v)
        return required ? bad(c, p, "is missing") : VT_OK;
    if (!json_is_array(v) || json_array_size(v) != 3)
        return bad(c, p, "must be an array of 3 numbers");
    double x[3];
    for (int i = 0; i < 3; i++) {
        json_t *e = json_array_get(v, (size_t)i);
        if (!json_is_number(e) || !isfinite(json_number_value(e)))
            return bad(c, p, "must be an array of 3 numbers");
        x[i] = json_number_value(e);
    }
    *out = (vt_vec3){x[0], x[1], x[2]};
    return VT_OK;
}

/* A path field: resolved against the file's folder unless absolute or a URL. */
static vt_status get_path(const ctx *c, json_t *obj, const char *key, char **out, bool required)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return required ? bad(c, key, "is missing") : VT_OK;
    if (!json_is_string(v) || !*json_string_value(v))
        return bad(c, key, "must be a non-empty string");
    const char *s = json_string_value(v);
    size_t n = strlen(c->dir) + strlen(s) + 2;
    char *r = malloc(n);
    if (!r)
        return vt__error(VT_ENOMEM, "out of memory");
    if (s[0] == '/' || strstr(s, "://") || !c->dir[0])
        snprintf(r, n, "%s", s);
    else
        snprintf(r, n, "%s/%s", c->dir, s);
    free(*out);
    *out = r;
    return VT_OK;
}

static vt_status read_background(const ctx *c, json_t *obj, const char *path, vt_background_opts *o)
{
    static const char *const keys[] = {"kind",          "alpha",    "alpha_fg",  "threshold", "k_sigma",
                                       "min_threshold", "polarity", "psf_sigma", NULL};
    if (!obj)
        return VT_OK;
    vt_status s = check_keys(c, path, obj, keys);
    json_t *kind = json_object_get(obj, "kind");
    if (!s && kind) {
        const char *k = json_string_value(kind);
        if (k && strcmp(k, "previous") == 0)
            o->kind = VT_BACKGROUND_PREVIOUS;
        else if (k && strcmp(k, "average") == 0)
            o->kind = VT_BACKGROUND_AVERAGE;
        else {
            char p[256];
            join(p, sizeof p, path, "kind");
            return bad(c, p, "must be \"previous\" or \"average\"");
        }
    }
    if (!s)
        s = get_double(c, obj, path, "alpha", 1e-6, 1, &o->alpha);
    if (!s)
        s = get_double(c, obj, path, "alpha_fg", 0, 1, &o->alpha_fg);
    if (!s)
        s = get_float(c, obj, path, "threshold", 0, 1e6, &o->threshold);
    if (!s)
        s = get_float(c, obj, path, "k_sigma", 0.1, 100, &o->k_sigma);
    if (!s)
        s = get_float(c, obj, path, "min_threshold", 0, 1e6, &o->min_threshold);
    if (!s)
        s = get_int(c, obj, path, "polarity", -1, 1, &o->polarity);
    if (!s)
        s = get_float(c, obj, path, "psf_sigma", 0, 10, &o->psf_sigma);
    return s;
}

static vt_status read_vote(const ctx *c, json_t *obj, vt_vote_opts *o)
{
    static const char *const keys[] = {"coarse_voxel", "fine_voxel",  "pixel_angle",
                                       "lod_pixels",   "min_cameras", NULL};
    const char *path = "pipeline.vote";
    if (!obj)
        return VT_OK;
    vt_status s = check_keys(c, path, obj, keys);
    if (!s)
        s = get_double(c, obj, path, "coarse_voxel", 1e-3, 1e4, &o->coarse_voxel);
    if (!s)
        s = get_double(c, obj, path, "fine_voxel", 1e-3, 1e4, &o->fine_voxel);
    if (!s)
        s = get_double(c, obj, path, "pixel_angle", -1, 1, &o->pixel_angle);
    if (!s)
        s = get_double(c, obj, path, "lod_pixels", 0, 1e3, &o->lod_pixels);
    if (!s)
        s = get_int(c, obj, path, "min_cameras", 1, 64, &o->min_cameras);
    return s;
}

static vt_status read_detect(const ctx *c, json_t *obj, vt_detect_opts *o)
{
    static const char *const keys[] = {"min_cameras", "min_thermal",  "gate_sigma",
                                       "gate_min",    "max_residual", NULL};
    const char *path = "pipeline.detect";
    if (!obj)
        return VT_OK;
    vt_status s = check_keys(c, path, obj, keys);
    if (!s)
        s = get_int(c, obj, path, "min_cameras", 2, 64, &o->min_cameras);
    if (!s)
        s = get_int(c, obj, path, "min_thermal", 0, 64, &o->min_thermal);
    if (!s)
        s = get_double(c, obj, path, "gate_sigma", 0, 1e3, &o->gate_sigma);
    if (!s)
        s = get_double(c, obj, path, "gate_min", 0, 1e3, &o->gate_min);
    if (!s)
        s = get_double(c, obj, path, "max_residual", 0, 1e4, &o->max_residual);
    return s;
}

static vt_status read_tracker(const ctx *c, json_t *obj, vt_tracker_opts *o)
{
    static const char *const keys[] = {"kind",          "process_accel",
                                       "gate_prob",     "init_speed",
                                       "confirm_m",     "confirm_n",
                                       "delete_misses", "delete_tentative",
                                       "min_pos_sigma", "mht_scan",
                                       "mht_k",         "clutter_density",
                                       "detect_prob",   NULL};
    const char *path = "pipeline.tracker";
    if (!obj)
        return VT_OK;
    vt_status s = check_keys(c, path, obj, keys);
    json_t *kind = json_object_get(obj, "kind");
    if (!s && kind) {
        if (vt_tracker_kind_parse(json_string_value(kind), &o->kind) != VT_OK)
            return bad(c, "pipeline.tracker.kind", "must be \"gnn\" or \"mht\"");
    }
    if (!s)
        s = get_double(c, obj, path, "process_accel", 1e-6, 1e3, &o->process_accel);
    if (!s)
        s = get_double(c, obj, path, "gate_prob", 0.5, 0.999999, &o->gate_prob);
    if (!s)
        s = get_double(c, obj, path, "init_speed", 1e-3, 1e4, &o->init_speed);
    if (!s)
        s = get_int(c, obj, path, "confirm_m", 1, 100, &o->confirm_m);
    if (!s)
        s = get_int(c, obj, path, "confirm_n", 1, 100, &o->confirm_n);
    if (!s)
        s = get_int(c, obj, path, "delete_misses", 1, 1000, &o->delete_misses);
    if (!s)
        s = get_int(c, obj, path, "delete_tentative", 1, 1000, &o->delete_tentative);
    if (!s)
        s = get_double(c, obj, path, "min_pos_sigma", 0, 100, &o->min_pos_sigma);
    if (!s)
        s = get_int(c, obj, path, "mht_scan", 1, 20, &o->mht_scan);
    if (!s)
        s = get_int(c, obj, path, "mht_k", 1, 1000, &o->mht_k);
    if (!s)
        s = get_double(c, obj, path, "clutter_density", 0, 1, &o->clutter_density);
    if (!s)
        s = get_double(c, obj, path, "detect_prob", 1e-3, 1, &o->detect_prob);
    if (!s && o->confirm_m > o->confirm_n)
        return bad(c, "pipeline.tracker.confirm_m", "must be <= confirm_n");
    return s;
}

/* "pipeline.fusion" (docs/FUSION.md): "enabled" is the pipeline's fuse, the rest vt_fusion_opts. */
static vt_status read_fusion(const ctx *c, json_t *obj, vt_pipeline_opts *o)
{
    static const char *const keys[] = {
        "enabled",      "psf_sigma",         "confirm_snr",      "observe_snr",  "min_size",
        "min_contrast", "drop_contradicted", "min_confirm_rate", "min_observed", NULL};
    if (!obj)
        return VT_OK;
    const char *path = "pipeline.fusion";
    vt_fusion_opts *f = &o->fusion;
    vt_status s = check_keys(c, path, obj, keys);
    if (!s)
        s = get_bool(c, obj, path, "enabled", &o->fuse);
    if (!s)
        s = get_double(c, obj, path, "psf_sigma", 0.2, 8.0 / 3.0, &f->psf_sigma);
    if (!s)
        s = get_double(c, obj, path, "confirm_snr", -1e3, 1e3, &f->confirm_snr);
    if (!s)
        s = get_double(c, obj, path, "observe_snr", 1e-3, 1e6, &f->observe_snr);
    if (!s)
        s = get_double(c, obj, path, "min_size", 1e-3, 1e3, &f->min_size);
    if (!s)
        s = get_double(c, obj, path, "min_contrast", 1e-3, 1e6, &f->min_contrast);
    if (!s)
        s = get_bool(c, obj, path, "drop_contradicted", &f->drop_contradicted);
    if (!s)
        s = get_double(c, obj, path, "min_confirm_rate", 0, 1, &f->min_confirm_rate);
    if (!s)
        s = get_int(c, obj, path, "min_observed", 0, 1 << 20, &f->min_observed);
    if (!s)
        s = get_double(c, obj, path, "bird_ratio", 0, 1e6, &f->bird_ratio);
    return s;
}

static vt_status read_pipeline(const ctx *c, json_t *obj, vt_pipeline_opts *o)
{
    static const char *const keys[] = {
        "threads",         "rays",         "sigma_px",     "min_area", "max_area",   "max_rays",
        "background",      "vote",         "detect",       "tracker",  "bird_accel", "bird_min_age",
        "confirm_cameras", "confirm_hits", "bird_flicker", "overlap",  "fusion",     NULL};
    if (!obj)
        return VT_OK;
    const char *path = "pipeline";
    vt_status s = check_keys(c, path, obj, keys);
    json_t *rays = json_object_get(obj, "rays");
    if (!s && rays) {
        const char *r = json_string_value(rays);
        if (r && strcmp(r, "blobs") == 0)
            o->rays = VT_RAYS_BLOBS;
        else if (r && strcmp(r, "pixels") == 0)
            o->rays = VT_RAYS_PIXELS;
        else
            return bad(c, "pipeline.rays", "must be \"blobs\" or \"pixels\"");
    }
    if (!s)
        s = get_int(c, obj, path, "threads", 0, 1024, &o->threads);
    if (!s)
        s = get_double(c, obj, path, "sigma_px", 1e-3, 100, &o->sigma_px);
    if (!s)
        s = get_int(c, obj, path, "min_area", 1, 1 << 30, &o->min_area);
    if (!s)
        s = get_int(c, obj, path, "max_area", 0, 1 << 30, &o->max_area);
    if (!s)
        s = get_int(c, obj, path, "max_rays", 1, 1 << 30, &o->max_rays);
    if (!s)
        s = get_double(c, obj, path, "bird_accel", 0, 1e4, &o->bird_accel);
    if (!s)
        s = get_int(c, obj, path, "bird_min_age", 0, 1 << 20, &o->bird_min_age);
    if (!s)
        s = get_int(c, obj, path, "confirm_cameras", 0, 64, &o->confirm_cameras);
    if (!s)
        s = get_double(c, obj, path, "bird_flicker", 0, 1e3, &o->bird_flicker);
    if (!s)
        s = get_int(c, obj, path, "confirm_hits", 0, 1 << 20, &o->confirm_hits);
    if (!s)
        s = get_bool(c, obj, path, "overlap", &o->overlap);
    json_t *bg = json_object_get(obj, "background");
    if (!s && bg) {
        static const char *const bkeys[] = {"mono", "thermal", NULL};
        s = check_keys(c, "pipeline.background", bg, bkeys);
        if (!s)
            s = read_background(c, json_object_get(bg, "mono"), "pipeline.background.mono",
                                &o->mono);
        if (!s)
            s = read_background(c, json_object_get(bg, "thermal"), "pipeline.background.thermal",
                                &o->thermal);
    }
    if (!s)
        s = read_vote(c, json_object_get(obj, "vote"), &o->vote);
    if (!s)
        s = read_detect(c, json_object_get(obj, "detect"), &o->detect);
    if (!s)
        s = read_tracker(c, json_object_get(obj, "tracker"), &o->tracker);
    if (!s)
        s = read_fusion(c, json_object_get(obj, "fusion"), o);
    return s;
}

static vt_status read_config(const ctx *c, json_t *root, vt_run_config *cfg)
{
    static const char *const keys[] = {"rig",    "volume",   "truth",  "tracks", "detections",
                                       "frames", "pipeline", "alerts", NULL};
    vt_status s = check_keys(c, "", root, keys);
    if (!s)
        s = get_path(c, root, "rig", &cfg->rig, true);
    if (!s)
        s = get_path(c, root, "truth", &cfg->truth, false);
    if (!s)
        s = get_path(c, root, "tracks", &cfg->tracks, false);
    if (!s)
        s = get_path(c, root, "detections", &cfg->detections, false);
    json_t *vol = json_object_get(root, "volume");
    if (!s && !vol)
        return bad(c, "volume", "is missing");
    static const char *const vkeys[] = {"min", "max", NULL};
    if (!s)
        s = check_keys(c, "volume", vol, vkeys);
    if (!s)
        s = get_vec3(c, vol, "volume", "min", &cfg->opts.volume_min, true);
    if (!s)
        s = get_vec3(c, vol, "volume", "max", &cfg->opts.volume_max, true);
    vt_vec3 a = cfg->opts.volume_min, b = cfg->opts.volume_max;
    if (!s && !(a.x < b.x && a.y < b.y && a.z < b.z))
        return bad(c, "volume", "min must be below max on every axis");
    json_t *frames = json_object_get(root, "frames");
    if (!s && frames) {
        if (!json_is_integer(frames) || json_integer_value(frames) < 0)
            return bad(c, "frames", "must be an integer >= 0");
        cfg->max_frames = json_integer_value(frames);
    }
    if (!s)
        s = read_pipeline(c, json_object_get(root, "pipeline"), &cfg->opts);
    json_t *alerts = json_object_get(root, "alerts");
    if (!s && alerts) {
        /* Kept as text: the alert rules are read (and checked) by vt_alerts_new. */
        if (!json_is_object(alerts))
            return bad(c, "alerts", "must be an object (docs/ALERTS.md)");
        cfg->alerts_json = json_dumps(alerts, JSON_COMPACT);
        if (!cfg->alerts_json)
            return vt__error(VT_ENOMEM, "out of memory");
    }
    if (!s && !cfg->tracks) {
        json_t *dflt = json_string("tracks.jsonl");
        json_t *tmp = json_object();
        json_object_set_new(tmp, "tracks", dflt);
        s = get_path(c, tmp, "tracks", &cfg->tracks, true);
        json_decref(tmp);
    }
    return s;
}

vt_status vt_run_config_load(const char *path, vt_run_config *cfg)
{
    if (!path || !cfg)
        return vt__error(VT_EINVAL, "vt_run_config_load: NULL argument");
    memset(cfg, 0, sizeof *cfg);
    cfg->opts = vt_pipeline_opts_default();
    ctx c = {.file = path};
    snprintf(c.dir, sizeof c.dir, "%s", path);
    char *slash = strrchr(c.dir, '/');
    if (slash)
        *slash = '\0';
    else
        c.dir[0] = '\0';
    json_error_t err;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
    if (!root) {
        FILE *f = fopen(path, "rb");
        if (!f)
            return vt__error(VT_ENOENT, "%s: cannot open the run configuration", path);
        fclose(f);
        return vt__error(VT_EPARSE, "%s:%d:%d: %s", path, err.line, err.column, err.text);
    }
    vt_status s = read_config(&c, root, cfg);
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
