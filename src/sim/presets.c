/*
 * src/sim/presets.c - the built-in scenarios: "default", "small", "8k",
 * "moving" and "glint"
 * (docs/SCENARIO.md describes them; each is expressible as a scenario file).
 *
 * The geometry is chosen for the tracker: every drone should be seen by at
 * least three cameras (counting mono and thermal) nearly all the time, large
 * enough in pixels to change them. "default" puts eight pairs on a ring of
 * radius 1100 m around a 2 km x 2 km area, at mast height, looking at the
 * centre and 8 degrees up, so that the far half of the area (where drones
 * are smallest in pixels) is in everybody's view; two more pairs stand
 * inside the area looking out and up towards the perimeter, where the ring
 * cameras see a drone only from the far side. Drones fly at 40-300 m inside
 * the middle 1.5 km. With a 60 degree horizontal field of view a 1920 px
 * camera has fx ~ 1663 px: a 0.5 m drone 1.5 km away spans ~0.55 px, which
 * area-coverage rendering still draws as a dark sub-pixel smudge.
 *
 * "small" shrinks the scene to a ~300 m volume seen by three pairs at
 * 120-degree spacing, 400 m from its centre and aimed at it, so that every
 * drone is inside all six images nearly all the time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "sim/sim_internal.h"

static const char *const preset_names[] = {"default", "small", "8k", "moving", "glint", NULL};

const char *const *vt_scenario_preset_names(void)
{
    return preset_names;
}

/* A pair on a fixed mount aimed by heading and elevation (degrees). */
static void set_pair(vt__pair_spec *p, vt_vec3 pos, double yaw_deg, double pitch_deg, int mw,
                     int mh, double mfov, int tw, int th, double tfov)
{
    memset(p, 0, sizeof *p);
    p->position = pos;
    p->q = vt__orientation_ypr(vt_deg2rad(yaw_deg), vt_deg2rad(pitch_deg), 0.0);
    p->baseline = vt_v3(0.12, 0.0, 0.0); /* thermal 12 cm to the right of its twin */
    vt__cam_defaults(&p->mono, mw, mh, mfov);
    vt__cam_defaults(&p->thermal, tw, th, tfov);
    p->has_thermal = true;
}

/* Heading (clockwise from north, degrees) from `from` towards `to`. */
static double heading_deg(vt_vec3 from, vt_vec3 to)
{
    return vt_rad2deg(atan2(to.x - from.x, to.y - from.y));
}

static void set_timing(vt__spec *sp, double jitter, double drop)
{
    for (int i = 0; i < sp->pair_count; i++) {
        sp->pairs[i].mono.jitter = sp->pairs[i].thermal.jitter = jitter;
        sp->pairs[i].mono.drop_prob = sp->pairs[i].thermal.drop_prob = drop;
    }
}

static vt_status default_spec(vt__spec *sp, int mono_width, int mono_height, int64_t frames)
{
    snprintf(sp->name, sizeof sp->name, "default");
    sp->lo = vt_v3(-1000, -1000, 0);
    sp->hi = vt_v3(1000, 1000, 400);
    sp->has_origin = true;
    sp->lat_deg = 47.3769;
    sp->lon_deg = 8.5417;
    sp->height_m = 408.0;
    sp->frames = frames;
    sp->clock_offset_max = 0.002;
    enum { RING = 8, INSIDE = 2 };
    sp->pairs = calloc(RING + INSIDE, sizeof *sp->pairs);
    if (!sp->pairs)
        return vt__error(VT_ENOMEM, "preset default: out of memory");
    sp->pair_count = RING + INSIDE;
    for (int k = 0; k < RING; k++) {
        double a = 2.0 * VT_PI * k / RING;
        vt_vec3 pos = vt_v3(1100.0 * cos(a), 1100.0 * sin(a), 3.0);
        set_pair(&sp->pairs[k], pos, heading_deg(pos, vt_v3(0, 0, 0)), 8.0, mono_width, mono_height,
                 60.0, 640, 512, 60.0);
    }
    /* Inside, looking out and up towards the perimeter (west and east). */
    set_pair(&sp->pairs[RING], vt_v3(-250, 0, 2), 270.0, 25.0, mono_width, mono_height, 60.0, 640,
             512, 60.0);
    set_pair(&sp->pairs[RING + 1], vt_v3(250, 0, 2), 90.0, 25.0, mono_width, mono_height, 60.0, 640,
             512, 60.0);
    set_timing(sp, 0.0005, 0.001);
    sp->random.count = 200;
    sp->random.lo = vt_v3(-750, -750, 40);
    sp->random.hi = vt_v3(750, 750, 300);
    sp->birds.count = 20;
    sp->birds.lo = vt_v3(-800, -800, 20);
    sp->birds.hi = vt_v3(800, 800, 200);
    sp->glints.count = 6;
    sp->glints.lo = vt_v3(-900, -900, 5);
    sp->glints.hi = vt_v3(900, 900, 150);
    return VT_OK;
}

static vt_status small_spec(vt__spec *sp)
{
    snprintf(sp->name, sizeof sp->name, "small");
    sp->lo = vt_v3(-150, -150, 0);
    sp->hi = vt_v3(150, 150, 220);
    sp->frames = 64;
    sp->clock_offset_max = 0.001;
    sp->pairs = calloc(3, sizeof *sp->pairs);
    if (!sp->pairs)
        return vt__error(VT_ENOMEM, "preset small: out of memory");
    sp->pair_count = 3;
    vt_vec3 aim = vt_v3(0, 0, 110);
    for (int k = 0; k < 3; k++) {
        double a = vt_deg2rad(90.0 + 120.0 * k);
        vt_vec3 pos = vt_v3(400.0 * cos(a), 400.0 * sin(a), 2.0);
        vt_vec3 d = vt_v3_sub(aim, pos);
        double pitch = vt_rad2deg(atan2(d.z, hypot(d.x, d.y)));
        set_pair(&sp->pairs[k], pos, heading_deg(pos, aim), pitch, 960, 540, 60.0, 320, 256, 60.0);
    }
    set_timing(sp, 0.0002, 0.0);
    sp->random.count = 5;
    sp->random.lo = vt_v3(-90, -90, 50);
    sp->random.hi = vt_v3(90, 90, 170);
    sp->random.size = (vt__range){0.5, 1.0}; /* 1-2 px at 400 m: easy to detect in tests */
    sp->random.speed = (vt__range){4, 10};
    sp->random.leg = (vt__range){40, 150};
    sp->random.turn_radius = (vt__range){10, 25};
    sp->birds.count = 2;
    sp->birds.lo = vt_v3(-120, -120, 40);
    sp->birds.hi = vt_v3(120, 120, 180);
    sp->glints.count = 2;
    sp->glints.lo = vt_v3(-120, -120, 20);
    sp->glints.hi = vt_v3(120, 120, 150);
    return VT_OK;
}

/* A path that starts with a rest, then the given points (a platform levels itself at rest). */
static vt_status platform_path(vt__platform_spec *pf, vt_vec3 start, double rest, const vt_vec3 *to,
                               int n, double speed, double accel)
{
    vt__platform_defaults(pf);
    pf->present = true;
    pf->path.start = start;
    pf->path.speed = speed;
    pf->path.accel = accel;
    pf->path.steps = calloc((size_t)n + 1, sizeof *pf->path.steps);
    if (!pf->path.steps)
        return vt__error(VT_ENOMEM, "preset moving: out of memory");
    pf->path.steps[0] = (vt__step){.kind = VT__STEP_HOVER, .seconds = rest};
    for (int i = 0; i < n; i++)
        pf->path.steps[i + 1] = (vt__step){.kind = VT__STEP_TO, .to = to[i]};
    pf->path.count = (size_t)n + 1;
    return VT_OK;
}

/*
 * "moving": the volume of "small" seen by two fixed pairs and three pairs on
 * platforms: a vehicle driving along a road to the south, a 15 m mast to the
 * east that sways, a tethered drone to the north-west that wanders and
 * sways. Eight beacons on towers around the volume are the landmarks the
 * moving cameras sight (docs/POSE.md).
 */
static vt_status moving_spec(vt__spec *sp)
{
    vt_status st = small_spec(sp);
    if (st)
        return st;
    snprintf(sp->name, sizeof sp->name, "moving");
    vt__pair_spec *pairs = realloc(sp->pairs, 5 * sizeof *pairs);
    if (!pairs)
        return vt__error(VT_ENOMEM, "preset moving: out of memory");
    sp->pairs = pairs;
    memset(&pairs[2], 0, 3 * sizeof *pairs);
    sp->pair_count = 5;
    vt_vec3 aim = vt_v3(0, 0, 110);
    const vt_vec3 starts[3] = {vt_v3(-60, -390, 2), vt_v3(390, 60, 15), vt_v3(-280, 280, 60)};
    for (int k = 0; k < 3; k++) {
        vt_vec3 d = vt_v3_sub(aim, starts[k]);
        double pitch = vt_rad2deg(atan2(d.z, hypot(d.x, d.y)));
        set_pair(&pairs[2 + k], starts[k], heading_deg(starts[k], aim), pitch, 960, 540, 60.0, 320,
                 256, 60.0);
    }
    const vt_vec3 road[2] = {vt_v3(60, -390, 2), vt_v3(-20, -390, 2)};
    const vt_vec3 wander[4] = {vt_v3(-279, 281, 60.5), vt_v3(-281, 280.5, 59.6),
                               vt_v3(-280.5, 279, 60.3), vt_v3(-280, 280, 60)};
    const vt_vec3 mast[1] = {vt_v3(390, 60, 15)};
    if ((st = platform_path(&pairs[2].platform, starts[0], 1.0, road, 2, 6.0, 1.5)) ||
        (st = platform_path(&pairs[3].platform, starts[1], 1.0, mast, 0, 1.0, 1.0)) ||
        (st = platform_path(&pairs[4].platform, starts[2], 1.0, wander, 4, 0.6, 0.4)))
        return st;
    pairs[2].platform.sway_deg = 0.4; /* a stabilised mount on a vehicle */
    pairs[3].platform.sway_deg = 1.0;
    pairs[3].platform.sway_period = 6.0;
    pairs[4].platform.sway_deg = 1.5;
    pairs[4].platform.sway_period = 3.0;
    pairs[2].platform.gps_lever_arm = vt_v3(0.4, -1.2, -0.6); /* antenna on the roof, behind */
    set_timing(sp, 0.0002, 0.0);
    sp->frames = 90;
    vt__beacons_spec *b = &sp->beacons;
    const vt_vec3 towers[8] = {vt_v3(-160, -160, 40), vt_v3(160, -160, 60), vt_v3(160, 160, 40),
                               vt_v3(-160, 160, 60),  vt_v3(0, -170, 150),  vt_v3(170, 0, 140),
                               vt_v3(0, 170, 150),    vt_v3(-170, 0, 140)};
    b->count = 8;
    memcpy(b->pos, towers, sizeof towers);
    return VT_OK;
}

/*
 * "glint": the volume of "small", its three pairs with 640x512 thermal
 * cameras (60 degrees: the smallest drone of interest stays observable in
 * thermal out to ~570 m, past the far side of the volume), and strong
 * mono-only clutter: 30 glints, each flashing for 10-40 frames (sun on a
 * window or a wet roof holds for a second) every ~2 s, anywhere in the
 * volume; one that holds 15 frames is reported as a track without fusion. They are drawn darker
 * than the sky (the mono detector keeps only changes of a drone's sign, so bright glints would pass
 * unseen): each one is seen by every mono camera at one place and becomes a
 * 3D detection that only thermal can tell from a drone (docs/FUSION.md).
 */
static vt_status glint_spec(vt__spec *sp)
{
    vt_status st = small_spec(sp);
    if (st)
        return st;
    snprintf(sp->name, sizeof sp->name, "glint");
    for (int k = 0; k < sp->pair_count; k++)
        vt__cam_defaults(&sp->pairs[k].thermal, 640, 512, 60.0);
    sp->frames = 90;
    sp->glints.count = 30;
    sp->glints.lo = vt_v3(-100, -100, 40);
    sp->glints.hi = vt_v3(100, 100, 180);
    sp->glints.size = 0.5;
    sp->glints.mono = 60.0;
    sp->glints.interval = 2.0;
    sp->glints.frames = (vt__range){10, 40};
    return VT_OK;
}

vt_status vt__preset_spec(const char *name, vt__spec *sp)
{
    vt__spec_defaults(sp);
    vt_status st;
    if (strcmp(name, "default") == 0)
        st = default_spec(sp, 1920, 1080, 300);
    else if (strcmp(name, "small") == 0)
        st = small_spec(sp);
    else if (strcmp(name, "8k") == 0) {
        st = default_spec(sp, 7680, 4320, 3);
        snprintf(sp->name, sizeof sp->name, "8k");
    } else if (strcmp(name, "moving") == 0)
        st = moving_spec(sp);
    else if (strcmp(name, "glint") == 0)
        st = glint_spec(sp);
    else
        return vt__error(VT_ENOENT, "no preset '%s' (presets: default, small, 8k, moving, glint)",
                         name);
    if (st)
        vt__spec_free(sp);
    return st;
}
