/*
 * src/sim/scenario.c - the scenario object (see voxtrack/sim.h): the spec's
 * defaults, the derived layer built from a spec (rig at rest, per-camera
 * timing; targets and platforms come from trajectory.c and platform.c), the
 * entry points from JSON (parsed in scenario_json.c) and from presets
 * (presets.c), overrides, and the accessors.
 *
 * The spec is kept after loading: overriding the seed or the frame count
 * rebuilds the derived layer (rig, timing, schedules) from it, so every
 * random choice stays a function of (spec, seed) alone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "sim/sim_internal.h"

/* ---- defaults ----------------------------------------------------------- */

void vt__cam_defaults(vt__cam_spec *c, int width, int height, double hfov_deg)
{
    memset(c, 0, sizeof *c);
    c->width = width;
    c->height = height;
    c->fx = c->fy = 0.5 * width / tan(0.5 * vt_deg2rad(hfov_deg));
    c->cx = 0.5 * (width - 1);
    c->cy = 0.5 * (height - 1);
}

void vt__platform_defaults(vt__platform_spec *p)
{
    memset(p, 0, sizeof *p);
    p->path.speed = 5.0;
    p->path.accel = 1.0;
    p->sway_deg = 0.5;
    p->sway_period = 4.0;
    p->imu_rate = 1000.0;
    p->gyro_noise = 1e-3;
    p->gyro_bias = 5e-4;
    p->accel_noise = 2e-2;
    p->accel_bias = 5e-2;
    p->gps_rate = 10.0;
    p->gps_noise_h = 0.01;
    p->gps_noise_v = 0.02;
    p->heading_baseline = vt_v3(1.0, 0.0, 0.0);
    p->heading_error_deg = 1.0;
}

void vt__spec_defaults(vt__spec *sp)
{
    memset(sp, 0, sizeof *sp);
    sp->beacons.size = 1.0;
    sp->beacons.mono = 250.0;
    sp->beacons.survey_sd = 0.02;
    snprintf(sp->name, sizeof sp->name, "scenario");
    sp->sky_mono = (vt_render_sky){170, 20, 2, 8, 300, 4, 0, 255};
    sp->sky_thermal = (vt_render_sky){8000, 300, 25, 150, 200, 2, 2e-4f, 30000};
    sp->supersample = 8;
    sp->fps = 30.0;
    sp->frames = 300;
    sp->seed = 1;
    vt__random_drones *r = &sp->random;
    r->size = (vt__range){0.3, 0.8};
    r->speed = (vt__range){5, 15};
    r->accel = (vt__range){2, 5};
    r->leg = (vt__range){80, 400};
    r->hover = (vt__range){1, 3};
    r->turn_radius = (vt__range){20, 60};
    r->turn_deg = (vt__range){45, 180};
    r->mono = (vt__range){30, 55};
    r->thermal = (vt__range){13000, 15000};
    r->hover_prob = 0.1;
    r->turn_prob = 0.15;
    vt__birds_spec *b = &sp->birds;
    b->size = (vt__range){0.3, 0.7};
    b->speed = (vt__range){8, 15};
    b->flap_hz = (vt__range){3, 6};
    b->mono = (vt__range){50, 80};
    b->thermal = (vt__range){11000, 13000};
    b->flap_amplitude = 25;
    b->turn_deg = 35;
    vt__glints_spec *g = &sp->glints;
    g->size = 0.3;
    g->mono = 250;
    g->interval = 3.0;
    g->frames = (vt__range){2, 4};
}

void vt__spec_free(vt__spec *sp)
{
    for (int i = 0; sp->pairs && i < sp->pair_count; i++)
        free(sp->pairs[i].platform.path.steps);
    for (size_t i = 0; sp->drones && i < sp->drone_count; i++)
        free(sp->drones[i].path.steps);
    free(sp->pairs);
    free(sp->drones);
    sp->pairs = NULL;
    sp->drones = NULL;
}

/* ---- the scenario object ------------------------------------------------ */

static void rig_camera(const vt__cam_spec *c, vt_rig_camera *rc)
{
    rc->cam.width = c->width;
    rc->cam.height = c->height;
    rc->cam.fx = c->fx;
    rc->cam.fy = c->fy;
    rc->cam.cx = c->cx;
    rc->cam.cy = c->cy;
    memcpy(rc->cam.dist, c->dist, sizeof c->dist);
}

/* The rig at rest (t = 0) and each camera's timing. */
static vt_status build_rig(vt_scenario *s)
{
    const vt__spec *sp = &s->spec;
    vt_rig_free(&s->rig);
    vt_rig_init(&s->rig);
    free(s->cams);
    int n = 0;
    for (int i = 0; i < sp->pair_count; i++)
        n += sp->pairs[i].has_thermal ? 2 : 1;
    s->cams = calloc((size_t)n, sizeof *s->cams);
    if (!s->cams)
        return vt__error(VT_ENOMEM, "%s: out of memory for the rig", sp->name);
    s->rig.fps = sp->fps;
    s->rig.has_origin = sp->has_origin;
    s->rig.lat_deg = sp->lat_deg;
    s->rig.lon_deg = sp->lon_deg;
    s->rig.height_m = sp->height_m;
    for (int i = 0; i < sp->pair_count; i++) {
        const vt__pair_spec *ps = &sp->pairs[i];
        for (int m = 0; m < (ps->has_thermal ? 2 : 1); m++) {
            int k = s->rig.count;
            const vt__cam_spec *c = m ? &ps->thermal : &ps->mono;
            vt_rig_camera rc = {0};
            snprintf(rc.id, sizeof rc.id, "%c%d", m ? 't' : 'm', i);
            rc.pair = i;
            rc.modality = m ? VT_MODALITY_THERMAL : VT_MODALITY_MONO;
            rc.bits = m ? 16 : 8;
            rig_camera(c, &rc);
            rc.cam.q = vt_q_identity(); /* the pose comes from the mount, below */
            vt_status st = vt_rig_add(&s->rig, &rc);
            if (st)
                return vt__error_prefix(st, "%s", sp->name);
            vt__cam_state *cs = &s->cams[k];
            cs->pair = i;
            cs->modality = rc.modality;
            cs->jitter = c->jitter;
            cs->drop_prob = c->drop_prob;
            double u = vt__unit(vt__hash4(sp->seed, VT__STREAM_CLOCK, (uint64_t)k, 0));
            cs->clock_offset =
                c->has_clock_offset ? c->clock_offset : sp->clock_offset_max * (2.0 * u - 1.0);
            vt_camera cam;
            if ((st = vt_scenario_camera_at(s, k, 0.0, &cam)))
                return vt__error_prefix(st, "%s: camera %s", sp->name, rc.id);
            s->rig.cameras[k].cam = cam;
        }
    }
    return VT_OK;
}

vt_status vt__scenario_build(vt_scenario *s)
{
    vt_status st;
    if ((st = vt__platforms_build(s)) || (st = build_rig(s)) || (st = vt__targets_build(s)))
        return st;
    return VT_OK;
}

void vt_scenario_free(vt_scenario *s)
{
    if (!s)
        return;
    vt__targets_free(s);
    vt__platforms_free(s);
    vt_rig_free(&s->rig);
    free(s->cams);
    vt__spec_free(&s->spec);
    free(s);
}

/* Takes ownership of *sp (freed on failure too). */
static vt_status scenario_from_spec(vt__spec *sp, vt_scenario **out)
{
    vt_scenario *s = calloc(1, sizeof *s);
    if (!s) {
        vt__spec_free(sp);
        return vt__error(VT_ENOMEM, "%s: out of memory", sp->name);
    }
    s->spec = *sp;
    vt_status st = vt__scenario_build(s);
    if (st) {
        vt_scenario_free(s);
        return st;
    }
    *out = s;
    return VT_OK;
}

static vt_status dup_steps(vt__path *p)
{
    if (!p->steps)
        return VT_OK;
    vt__step *copy = malloc((p->count ? p->count : 1) * sizeof *copy);
    if (copy)
        memcpy(copy, p->steps, p->count * sizeof *copy);
    p->steps = copy;
    return copy ? VT_OK : vt__error(VT_ENOMEM, "scenario: out of memory copying a path");
}

vt_status vt__scenario_clone(const vt_scenario *src, vt_scenario **out)
{
    vt__spec sp = src->spec;
    size_t np = (size_t)sp.pair_count, nd = sp.drone_count;
    sp.pairs = calloc(np ? np : 1, sizeof *sp.pairs);
    sp.drones = calloc(nd ? nd : 1, sizeof *sp.drones);
    vt_status st =
        sp.pairs && sp.drones ? VT_OK : vt__error(VT_ENOMEM, "%s: out of memory", sp.name);
    sp.pair_count = 0;
    sp.drone_count = 0;
    for (size_t i = 0; i < np && !st; i++) {
        sp.pairs[i] = src->spec.pairs[i];
        sp.pair_count++;
        st = dup_steps(&sp.pairs[i].platform.path);
    }
    for (size_t i = 0; i < nd && !st; i++) {
        sp.drones[i] = src->spec.drones[i];
        sp.drone_count++;
        st = dup_steps(&sp.drones[i].path);
    }
    if (st) {
        vt__spec_free(&sp);
        return st;
    }
    return scenario_from_spec(&sp, out);
}

vt_status vt_scenario_parse(const char *json, const char *name, vt_scenario **out)
{
    if (!out)
        return vt__error(VT_EINVAL, "vt_scenario_parse: NULL output");
    *out = NULL;
    if (!name)
        name = "scenario";
    if (!json)
        return vt__error(VT_EINVAL, "%s: no JSON text", name);
    vt__spec sp;
    vt_status st = vt__spec_parse(json, name, &sp);
    if (st)
        return st;
    return scenario_from_spec(&sp, out);
}

vt_status vt_scenario_load(const char *path, vt_scenario **out)
{
    if (!out)
        return vt__error(VT_EINVAL, "vt_scenario_load: NULL output");
    *out = NULL;
    if (!path)
        return vt__error(VT_EINVAL, "vt_scenario_load: NULL path");
    vt__spec sp;
    vt_status st = vt__spec_load(path, &sp);
    if (st)
        return st;
    return scenario_from_spec(&sp, out);
}

vt_status vt_scenario_preset(const char *name, vt_scenario **out)
{
    if (!out)
        return vt__error(VT_EINVAL, "vt_scenario_preset: NULL output");
    *out = NULL;
    vt__spec sp;
    vt_status st = vt__preset_spec(name ? name : "(null)", &sp);
    if (st)
        return st;
    return scenario_from_spec(&sp, out);
}

vt_status vt_scenario_set_frames(vt_scenario *s, int64_t frames)
{
    if (!s)
        return vt__error(VT_EINVAL, "vt_scenario_set_frames: NULL scenario");
    if (frames < 1 || frames > 100000000)
        return vt__error(VT_ERANGE, "%s: frames must be in [1, 100000000] (got %lld)", s->spec.name,
                         (long long)frames);
    s->spec.frames = frames;
    return vt__targets_build(s); /* random schedules must cover the new duration */
}

vt_status vt_scenario_set_seed(vt_scenario *s, uint64_t seed)
{
    if (!s)
        return vt__error(VT_EINVAL, "vt_scenario_set_seed: NULL scenario");
    s->spec.seed = seed;
    return vt__scenario_build(s);
}

int64_t vt_scenario_frames(const vt_scenario *s)
{
    return s ? s->spec.frames : 0;
}

double vt_scenario_fps(const vt_scenario *s)
{
    return s ? s->spec.fps : 0.0;
}

uint64_t vt_scenario_seed(const vt_scenario *s)
{
    return s ? s->spec.seed : 0;
}

const vt_rig *vt_scenario_rig(const vt_scenario *s)
{
    return s ? &s->rig : NULL;
}

void vt_scenario_volume(const vt_scenario *s, vt_vec3 *min, vt_vec3 *max)
{
    if (min)
        *min = s ? s->spec.lo : vt_v3(0, 0, 0);
    if (max)
        *max = s ? s->spec.hi : vt_v3(0, 0, 0);
}

vt_render_opts vt_scenario_render_opts(const vt_scenario *s)
{
    vt_render_opts o;
    memset(&o, 0, sizeof o);
    o.mono = s->spec.sky_mono;
    o.thermal = s->spec.sky_thermal;
    o.seed = s->spec.seed;
    o.supersample = s->spec.supersample;
    o.threads = 0;
    return o;
}
