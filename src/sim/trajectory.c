/*
 * src/sim/trajectory.c - how the targets move: piecewise schedules, the
 * paths of drones (waypoints, hovers, turns, climbs, seeded random), the
 * erratic flight of birds and the brief flashes of glints.
 *
 * A schedule is a list of closed-form segments (see sim_internal.h). A leg
 * between two waypoints is flown rest to rest with the trapezoidal speed
 * profile of time-optimal point-to-point motion under speed and acceleration
 * limits (accelerate at the limit, cruise, decelerate at the limit; a
 * triangle when the leg is too short to reach cruising speed), as in the
 * classic motion-planning literature (e.g. Biagiotti & Melchiorri,
 * "Trajectory Planning for Automatic Machines and Robots", ch. 3). A turn
 * speeds up along the current heading, follows a circular arc at the speed
 * whose centripetal acceleration v^2/r stays within the limit, and slows
 * down. Velocity is continuous everywhere and is the exact derivative.
 *
 * Birds fly a random walk of velocity: every 0.4-1.2 s a new velocity is
 * drawn (heading turned by a bounded random angle, speed in the bird range,
 * a little climb or sink), steered back towards the middle of their region
 * when they would leave it, and reached by constant acceleration. Glints are
 * events (start, end, place) drawn as a renewal process.
 *
 * Random drones start their schedule at a random phase of their first leg,
 * so that at t = 0 they are already moving at different speeds. Every
 * random choice comes from a generator seeded by (seed, kind, index), and a
 * longer scenario only appends legs: the first frames never change with the
 * frame count.
 */
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "sim/sim_internal.h"

/* ---- schedules ---------------------------------------------------------- */

void vt__traj_init(vt__traj *tr, vt_vec3 start, vt_vec3 velocity, vt_vec3 heading)
{
    memset(tr, 0, sizeof *tr);
    tr->start = tr->end_p = start;
    tr->start_v = tr->end_v = velocity;
    tr->heading = heading;
}

void vt__traj_free(vt__traj *tr)
{
    free(tr->seg);
    memset(tr, 0, sizeof *tr);
}

static vt_status push(vt__traj *tr, const vt__seg *s)
{
    if (tr->count == tr->cap) {
        size_t cap = tr->cap ? 2 * tr->cap : 8;
        vt__seg *n = realloc(tr->seg, cap * sizeof *n);
        if (!n)
            return vt__error(VT_ENOMEM, "scenario: out of memory for a trajectory");
        tr->seg = n;
        tr->cap = cap;
    }
    tr->seg[tr->count++] = *s;
    return VT_OK;
}

static void seg_eval(const vt__seg *s, double tau, vt_vec3 *p, vt_vec3 *v, vt_vec3 *a)
{
    if (s->kind == VT__SEG_LINE) {
        if (p)
            *p = vt_v3_add(s->p0,
                           vt_v3_add(vt_v3_scale(s->v0, tau), vt_v3_scale(s->a, 0.5 * tau * tau)));
        if (v)
            *v = vt_v3_add(s->v0, vt_v3_scale(s->a, tau));
        if (a)
            *a = s->a;
        return;
    }
    double phi = s->phi0 + s->w * tau, c = cos(phi), sn = sin(phi);
    if (p)
        *p = vt_v3(s->c.x + s->r * c, s->c.y + s->r * sn, s->c.z);
    if (v)
        *v = vt_v3(-s->r * s->w * sn, s->r * s->w * c, 0.0);
    if (a)
        *a = vt_v3(-s->r * s->w * s->w * c, -s->r * s->w * s->w * sn, 0.0);
}

vt_status vt__traj_accel(vt__traj *tr, vt_vec3 a, double dur)
{
    if (!(dur > 0.0))
        return VT_OK;
    vt__seg s = {.kind = VT__SEG_LINE, .t0 = tr->t_end, .p0 = tr->end_p, .v0 = tr->end_v, .a = a};
    vt_status st = push(tr, &s);
    if (st)
        return st;
    seg_eval(&s, dur, &tr->end_p, &tr->end_v, NULL);
    tr->t_end += dur;
    vt_vec3 hv = vt_v3(tr->end_v.x, tr->end_v.y, 0.0);
    if (vt_v3_norm(hv) > 1e-6)
        tr->heading = vt_v3_normalize(hv);
    return VT_OK;
}

vt_status vt__traj_hover(vt__traj *tr, double dur)
{
    tr->end_v = vt_v3(0, 0, 0);
    return vt__traj_accel(tr, vt_v3(0, 0, 0), dur);
}

vt_status vt__traj_line(vt__traj *tr, vt_vec3 to, double vmax, double amax)
{
    vt_vec3 d = vt_v3_sub(to, tr->end_p);
    double len = vt_v3_norm(d);
    if (len < 1e-9)
        return VT_OK;
    vt_vec3 u = vt_v3_scale(d, 1.0 / len);
    double v = vmax, ta, tc;
    if (len >= vmax * vmax / amax) {
        ta = vmax / amax;
        tc = (len - vmax * vmax / amax) / vmax;
    } else {
        v = sqrt(len * amax); /* triangle: never reaches vmax */
        ta = v / amax;
        tc = 0.0;
    }
    tr->end_v = vt_v3(0, 0, 0);
    vt_vec3 h = vt_v3(u.x, u.y, 0.0);
    vt_status st;
    if ((st = vt__traj_accel(tr, vt_v3_scale(u, amax), ta)) ||
        (st = vt__traj_accel(tr, vt_v3(0, 0, 0), tc)) ||
        (st = vt__traj_accel(tr, vt_v3_scale(u, -amax), ta)))
        return st;
    /* Snap away the rounding of the closed forms: the waypoint is hit exactly. */
    tr->end_p = to;
    tr->end_v = vt_v3(0, 0, 0);
    if (vt_v3_norm(h) > 1e-9)
        tr->heading = vt_v3_normalize(h);
    return VT_OK;
}

vt_status vt__traj_turn(vt__traj *tr, double angle, double radius, double vmax, double amax)
{
    if (angle == 0.0 || !(radius > 0.0))
        return VT_OK;
    vt_vec3 h = tr->heading;
    /* The turning speed: centripetal acceleration v^2 / r within the limit. */
    double v = fmin(vmax, sqrt(amax * radius));
    double ta = v / amax;
    tr->end_v = vt_v3(0, 0, 0);
    vt_status st = vt__traj_accel(tr, vt_v3_scale(h, amax), ta);
    if (st)
        return st;
    double side = angle > 0.0 ? 1.0 : -1.0; /* left normal of h is (-h.y, h.x) */
    vt_vec3 n = vt_v3(-h.y * side, h.x * side, 0.0);
    vt__seg s = {.kind = VT__SEG_ARC, .t0 = tr->t_end, .r = radius, .w = side * v / radius};
    s.c = vt_v3_add(tr->end_p, vt_v3_scale(n, radius));
    s.phi0 = atan2(tr->end_p.y - s.c.y, tr->end_p.x - s.c.x);
    if ((st = push(tr, &s)))
        return st;
    double dur = fabs(angle) / fabs(s.w);
    seg_eval(&s, dur, &tr->end_p, &tr->end_v, NULL);
    tr->t_end += dur;
    tr->heading = vt_v3_normalize(tr->end_v);
    if ((st = vt__traj_accel(tr, vt_v3_scale(tr->heading, -amax), ta)))
        return st;
    tr->end_v = vt_v3(0, 0, 0);
    return VT_OK;
}

void vt__traj_eval(const vt__traj *tr, double t, vt_vec3 *p, vt_vec3 *v, vt_vec3 *a)
{
    vt_vec3 zero = vt_v3(0, 0, 0);
    if (tr->count == 0 || t < tr->seg[0].t0) {
        /* Before the schedule: coast backwards at the starting velocity. */
        double dt = t - (tr->count ? tr->seg[0].t0 : 0.0);
        vt_vec3 p0 = tr->count ? tr->seg[0].p0 : tr->start;
        vt_vec3 v0 = tr->count ? tr->seg[0].v0 : tr->start_v;
        if (p)
            *p = vt_v3_add(p0, vt_v3_scale(v0, dt));
        if (v)
            *v = v0;
        if (a)
            *a = zero;
        return;
    }
    if (t >= tr->t_end) {
        /* After it: keep the final velocity (rest, for a drone). */
        if (p)
            *p = vt_v3_add(tr->end_p, vt_v3_scale(tr->end_v, t - tr->t_end));
        if (v)
            *v = tr->end_v;
        if (a)
            *a = zero;
        return;
    }
    size_t lo = 0, hi = tr->count - 1; /* the last segment with t0 <= t */
    while (lo < hi) {
        size_t mid = (lo + hi + 1) / 2;
        if (tr->seg[mid].t0 <= t)
            lo = mid;
        else
            hi = mid - 1;
    }
    seg_eval(&tr->seg[lo], t - tr->seg[lo].t0, p, v, a);
}

static bool inside(vt_vec3 p, vt_vec3 lo, vt_vec3 hi)
{
    return p.x >= lo.x && p.x <= hi.x && p.y >= lo.y && p.y <= hi.y && p.z >= lo.z && p.z <= hi.z;
}

bool vt__traj_inside(const vt__traj *tr, size_t from, vt_vec3 lo, vt_vec3 hi)
{
    enum { SAMPLES = 16 };
    for (size_t i = from; i < tr->count; i++) {
        double t1 = i + 1 < tr->count ? tr->seg[i + 1].t0 : tr->t_end;
        for (int k = 0; k <= SAMPLES; k++) {
            vt_vec3 p;
            seg_eval(&tr->seg[i], (t1 - tr->seg[i].t0) * k / SAMPLES, &p, NULL, NULL);
            if (!inside(p, lo, hi))
                return false;
        }
    }
    return true;
}

/* ---- paths -------------------------------------------------------------- */

vt_status vt__path_build(const vt__path *path, vt_vec3 lo, vt_vec3 hi, vt__traj *tr, long *bad)
{
    bool check = lo.x <= hi.x;
    vt__traj_init(tr, path->start, vt_v3(0, 0, 0), vt_v3(1, 0, 0));
    *bad = -1;
    if (check && !inside(path->start, lo, hi))
        return VT_ERANGE;
    for (size_t i = 0; i < path->count; i++) {
        const vt__step *s = &path->steps[i];
        size_t first = tr->count;
        vt_status st = VT_OK;
        switch (s->kind) {
        case VT__STEP_TO:
            st = vt__traj_line(tr, s->to, path->speed, path->accel);
            break;
        case VT__STEP_HOVER:
            st = vt__traj_hover(tr, s->seconds);
            break;
        case VT__STEP_TURN:
            st = vt__traj_turn(tr, s->angle, s->radius, path->speed, path->accel);
            break;
        case VT__STEP_CLIMB:
            st = vt__traj_line(tr, vt_v3_add(tr->end_p, vt_v3(0, 0, s->dz)), path->speed,
                               path->accel);
            break;
        }
        if (st)
            return st;
        if (check && (!inside(tr->end_p, lo, hi) || !vt__traj_inside(tr, first, lo, hi))) {
            *bad = (long)i;
            return VT_ERANGE;
        }
    }
    return VT_OK;
}

/* ---- drones ------------------------------------------------------------- */

static vt_vec3 random_point(vt__rng *r, vt_vec3 lo, vt_vec3 hi)
{
    double x = vt__rng_range(r, lo.x, hi.x), y = vt__rng_range(r, lo.y, hi.y);
    return vt_v3(x, y, vt__rng_range(r, lo.z, hi.z));
}

static double draw(vt__rng *r, vt__range g)
{
    return vt__rng_range(r, g.lo, g.hi);
}

/* The next waypoint: a leg of random length and direction that stays in the region. */
static vt_vec3 random_leg_end(vt__rng *r, const vt__random_drones *rd, vt_vec3 from)
{
    for (int attempt = 0; attempt < 16; attempt++) {
        double len = draw(r, rd->leg), az = vt__rng_range(r, 0.0, 2.0 * VT_PI);
        double z = vt__rng_range(r, rd->lo.z, rd->hi.z);
        double dz = z - from.z;
        double h = len > fabs(dz) ? sqrt(len * len - dz * dz) : 0.0;
        vt_vec3 to = vt_v3(from.x + h * cos(az), from.y + h * sin(az), z);
        if (inside(to, rd->lo, rd->hi))
            return to;
    }
    return random_point(r, rd->lo, rd->hi);
}

/* One random step: a leg, now and then a hover or a turn (kept only inside the region). */
static vt_status random_step(vt__rng *r, const vt__random_drones *rd, vt__traj *tr, double speed,
                             double accel)
{
    double u = vt__rng_uniform(r);
    if (u < rd->hover_prob && tr->count > 0)
        return vt__traj_hover(tr, draw(r, rd->hover));
    if (u < rd->hover_prob + rd->turn_prob && tr->count > 0) {
        double angle = vt_deg2rad(draw(r, rd->turn_deg)) * (vt__rng_uniform(r) < 0.5 ? -1 : 1);
        double radius = draw(r, rd->turn_radius);
        vt__traj trial = *tr;
        size_t first = tr->count, count = tr->count;
        vt_status st = vt__traj_turn(tr, angle, radius, speed, accel);
        if (st)
            return st;
        if (vt__traj_inside(tr, first, rd->lo, rd->hi))
            return VT_OK;
        /* Undo: the segments array may have moved, so keep it and restore the rest. */
        trial.seg = tr->seg;
        trial.cap = tr->cap;
        trial.count = count;
        *tr = trial;
    }
    return vt__traj_line(tr, random_leg_end(r, rd, tr->end_p), speed, accel);
}

static vt_status build_random_drone(const vt_scenario *s, int i, double duration, vt__target *t)
{
    const vt__random_drones *rd = &s->spec.random;
    vt__rng r = vt__rng_make(s->spec.seed, VT__STREAM_DRONE, (uint64_t)i);
    t->kind = VT_TARGET_DRONE;
    t->size = draw(&r, rd->size);
    t->mono = (float)draw(&r, rd->mono);
    t->thermal = (float)draw(&r, rd->thermal);
    double speed = draw(&r, rd->speed), accel = draw(&r, rd->accel);
    double az = vt__rng_range(&r, 0.0, 2.0 * VT_PI);
    vt__traj_init(&t->traj, random_point(&r, rd->lo, rd->hi), vt_v3(0, 0, 0),
                  vt_v3(cos(az), sin(az), 0));
    vt_status st = random_step(&r, rd, &t->traj, speed, accel);
    if (st)
        return st;
    t->phase = vt__rng_range(&r, 0.0, t->traj.t_end);
    while (t->traj.t_end < duration + t->phase + 1.0)
        if ((st = random_step(&r, rd, &t->traj, speed, accel)))
            return st;
    return VT_OK;
}

/* ---- birds -------------------------------------------------------------- */

static vt_vec3 horizontal(double heading, double speed, double climb)
{
    return vt_v3(speed * cos(heading), speed * sin(heading), climb);
}

static vt_status build_bird(const vt_scenario *s, int i, double duration, vt__target *t)
{
    const vt__birds_spec *b = &s->spec.birds;
    vt__rng r = vt__rng_make(s->spec.seed, VT__STREAM_BIRD, (uint64_t)i);
    t->kind = VT_TARGET_BIRD;
    t->size = draw(&r, b->size);
    t->mono = (float)draw(&r, b->mono);
    t->thermal = (float)draw(&r, b->thermal);
    t->flap_hz = draw(&r, b->flap_hz);
    t->flap_phase = vt__rng_range(&r, 0.0, 2.0 * VT_PI);
    double heading = vt__rng_range(&r, 0.0, 2.0 * VT_PI), speed = draw(&r, b->speed);
    vt_vec3 v = horizontal(heading, speed, 0.0);
    vt__traj_init(&t->traj, random_point(&r, b->lo, b->hi), v, vt_v3_normalize(v));
    vt_vec3 mid = vt_v3_scale(vt_v3_add(b->lo, b->hi), 0.5);
    double turn = vt_deg2rad(b->turn_deg);
    while (t->traj.t_end < duration + 1.0) {
        double dt = vt__rng_range(&r, 0.4, 1.2);
        heading += vt__rng_range(&r, -turn, turn);
        speed = draw(&r, b->speed);
        double climb = vt__rng_range(&r, -1.5, 1.5);
        vt_vec3 nv = horizontal(heading, speed, climb);
        vt_vec3 ahead = vt_v3_add(t->traj.end_p, vt_v3_scale(vt_v3_add(t->traj.end_v, nv), dt));
        if (!inside(ahead, b->lo, b->hi)) {
            /* Head back towards the middle of the region, turning as far as allowed. */
            double want = atan2(mid.y - t->traj.end_p.y, mid.x - t->traj.end_p.x);
            double diff = remainder(want - heading, 2.0 * VT_PI);
            heading += fmax(-2.0 * turn, fmin(2.0 * turn, diff));
            climb = mid.z > t->traj.end_p.z ? 1.5 : -1.5;
            nv = horizontal(heading, speed, climb);
        }
        vt_status st =
            vt__traj_accel(&t->traj, vt_v3_scale(vt_v3_sub(nv, t->traj.end_v), 1.0 / dt), dt);
        if (st)
            return st;
    }
    return VT_OK;
}

/* ---- glints ------------------------------------------------------------- */

static vt_status build_glint(const vt_scenario *s, int i, double duration, vt__target *t)
{
    const vt__glints_spec *g = &s->spec.glints;
    vt__rng r = vt__rng_make(s->spec.seed, VT__STREAM_GLINT, (uint64_t)i);
    t->kind = VT_TARGET_GLINT;
    t->size = g->size;
    t->mono = (float)g->mono;
    t->thermal = -1.0f;
    size_t cap = 0;
    double at = vt__rng_range(&r, 0.0, g->interval);
    while (at < duration + 1.0) {
        if (t->event_count == cap) {
            cap = cap ? 2 * cap : 8;
            vt__glint_event *n = realloc(t->events, cap * sizeof *n);
            if (!n)
                return vt__error(VT_ENOMEM, "scenario: out of memory for glints");
            t->events = n;
        }
        double len = floor(draw(&r, g->frames) + 0.5) / s->spec.fps;
        vt__glint_event *e = &t->events[t->event_count++];
        e->t0 = at;
        e->t1 = at + len;
        e->pos = random_point(&r, g->lo, g->hi);
        /* Exponential gaps, at least two frames, so that flashes stay distinct. */
        at = e->t1 + 2.0 / s->spec.fps - g->interval * log(1.0 - vt__rng_uniform(&r));
    }
    return VT_OK;
}

/* The last event that started at or before t, or NULL. */
static const vt__glint_event *glint_event(const vt__target *t, double when)
{
    if (t->event_count == 0 || when < t->events[0].t0)
        return NULL;
    size_t lo = 0, hi = t->event_count - 1;
    while (lo < hi) {
        size_t mid = (lo + hi + 1) / 2;
        if (t->events[mid].t0 <= when)
            lo = mid;
        else
            hi = mid - 1;
    }
    return &t->events[lo];
}

/* ---- beacons ------------------------------------------------------------ */

/* A fixed light: it never moves (its schedule is empty: it rests at its start). */
static void build_beacon(const vt__spec *sp, int i, vt__target *t)
{
    t->kind = VT_TARGET_BEACON;
    t->size = sp->beacons.size;
    t->mono = (float)sp->beacons.mono;
    t->thermal = -1.0f;
    vt__traj_init(&t->traj, sp->beacons.pos[i], vt_v3(0, 0, 0), vt_v3(0, 1, 0));
}

/* ---- all targets -------------------------------------------------------- */

void vt__targets_free(vt_scenario *s)
{
    for (size_t i = 0; i < s->target_count; i++) {
        vt__traj_free(&s->targets[i].traj);
        free(s->targets[i].events);
    }
    free(s->targets);
    s->targets = NULL;
    s->target_count = 0;
}

static vt_status build_explicit_drone(const vt__drone_spec *d, vt__target *t)
{
    long bad;
    t->kind = VT_TARGET_DRONE;
    t->size = d->size;
    t->mono = d->mono;
    t->thermal = d->thermal;
    vt_vec3 lo = vt_v3(1, 1, 1), hi = vt_v3(0, 0, 0); /* checked when parsed */
    return vt__path_build(&d->path, lo, hi, &t->traj, &bad);
}

vt_status vt__targets_build(vt_scenario *s)
{
    const vt__spec *sp = &s->spec;
    vt__targets_free(s);
    size_t nd = sp->drone_count + (size_t)sp->random.count;
    size_t ng = nd + (size_t)sp->birds.count + (size_t)sp->glints.count;
    size_t n = ng + (size_t)sp->beacons.count;
    double duration = (double)sp->frames / sp->fps;
    s->targets = calloc(n ? n : 1, sizeof *s->targets);
    if (!s->targets)
        return vt__error(VT_ENOMEM, "scenario: out of memory for %zu targets", n);
    s->target_count = n;
    vt_status st = VT_OK;
    for (size_t i = 0; i < n && !st; i++) {
        vt__target *t = &s->targets[i];
        if (i < sp->drone_count)
            st = build_explicit_drone(&sp->drones[i], t);
        else if (i < nd)
            st = build_random_drone(s, (int)(i - sp->drone_count), duration, t);
        else if (i < nd + (size_t)sp->birds.count)
            st = build_bird(s, (int)(i - nd), duration, t);
        else if (i < ng)
            st = build_glint(s, (int)(i - nd - (size_t)sp->birds.count), duration, t);
        else
            build_beacon(sp, (int)(i - ng), t);
        double half = 0.5 * t->size;
        /* Birds are flat (wings spread), drones and glints round. */
        t->semi =
            t->kind == VT_TARGET_BIRD ? vt_v3(half, half, half / 3.0) : vt_v3(half, half, half);
    }
    return st;
}

size_t vt_scenario_target_count(const vt_scenario *s)
{
    return s ? s->target_count : 0;
}

void vt_scenario_targets(const vt_scenario *s, double t, vt_render_target *render,
                         vt_target_truth *truth)
{
    for (size_t i = 0; i < s->target_count; i++) {
        const vt__target *tg = &s->targets[i];
        vt_vec3 p = vt_v3(0, 0, 0), v = vt_v3(0, 0, 0), semi = tg->semi;
        float mono = tg->mono;
        double size = tg->size;
        if (tg->kind == VT_TARGET_GLINT) {
            const vt__glint_event *e = glint_event(tg, t);
            if (e)
                p = e->pos;
            if (!e || t >= e->t1) {
                /*
                 * Between flashes a glint is nothing (truth size 0). The renderer
                 * wants positive semi-axes, so it gets a micrometre speck whose
                 * coverage (~1e-14 of a pixel) changes no pixel value.
                 */
                semi = vt_v3(1e-6, 1e-6, 1e-6);
                size = 0.0;
            }
        } else {
            vt__traj_eval(&tg->traj, t + tg->phase, &p, &v, NULL);
        }
        if (tg->kind == VT_TARGET_BIRD) {
            double m = mono + s->spec.birds.flap_amplitude *
                                  sin(2.0 * VT_PI * tg->flap_hz * t + tg->flap_phase);
            mono = (float)fmin(255.0, fmax(0.0, m));
        }
        if (render) {
            render[i].id = (int)i;
            render[i].kind = tg->kind;
            render[i].pos = p;
            render[i].semi = semi;
            render[i].mono = mono;
            render[i].thermal = tg->thermal;
        }
        if (truth) {
            truth[i].id = (int)i;
            truth[i].kind = tg->kind;
            truth[i].pos = p;
            truth[i].vel = v;
            truth[i].size = size;
        }
    }
}
