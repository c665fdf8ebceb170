/*
 * src/monitor/alert.c - alert rules evaluated on every frame set: zones,
 * cameras offline, the frame-rate floor and the latency ceiling.
 *
 * Every alert is one small state machine (vt__cond_state): the condition, the
 * pipeline time it last changed, and whether the alert is raised. It raises
 * once the condition has held for raise_after seconds, clears once it has
 * been false for clear_after seconds (hysteresis: a track flickering at the
 * edge of a zone raises once), and is never sent twice while raised, except
 * as a reminder every repeat_s seconds (de-duplication). Time is the
 * pipeline's (vt_pipeline_result.t), so a replay raises the same alerts as
 * the live run did.
 *
 * Zones keep one state per track id, in an array sorted by id that is merged
 * each frame set with the tracks sorted by id: O(n log n) per frame set and
 * no allocation once the arrays have grown to the scene. A track that
 * disappears counts as outside, so its alert clears too. The window rules
 * (fps, latency) keep the frame sets of their window in a ring.
 *
 * When frame sets stop, alert_watchdog.c steps the same state machines on a
 * clock; a mutex makes vt_alerts_update and its ticks take turns.
 */
#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pthread.h>

#include "core/internal.h"
#include "monitor/alert_internal.h"

const char *vt_alert_kind_name(vt_alert_kind kind)
{
    switch (kind) {
    case VT_ALERT_ZONE:
        return "zone";
    case VT_ALERT_CAMERA_OFFLINE:
        return "camera_offline";
    case VT_ALERT_FPS:
        return "fps";
    case VT_ALERT_LATENCY:
        return "latency";
    }
    return "unknown";
}

/* ---- geometry ------------------------------------------------------------ */

/* Is (x, y) on the segment a-b (within a micrometre)? */
static bool on_segment(double ax, double ay, double bx, double by, double x, double y)
{
    const double eps = 1e-6;
    double cross = (bx - ax) * (y - ay) - (by - ay) * (x - ax);
    double len = hypot(bx - ax, by - ay);
    if (fabs(cross) > eps * (len > 0 ? len : 1))
        return false;
    return x >= fmin(ax, bx) - eps && x <= fmax(ax, bx) + eps && y >= fmin(ay, by) - eps &&
           y <= fmax(ay, by) + eps;
}

bool vt__point_in_polygon(const double *xy, int n, double x, double y)
{
    bool inside = false;
    for (int i = 0, j = n - 1; i < n; j = i++) {
        double xi = xy[2 * i], yi = xy[2 * i + 1], xj = xy[2 * j], yj = xy[2 * j + 1];
        if (on_segment(xi, yi, xj, yj, x, y))
            return true;
        /* Half-open in y, so that a ray through a vertex counts it once. */
        if ((yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi)
            inside = !inside;
    }
    return inside;
}

static bool in_zone(const vt__alert_rule *r, vt_vec3 p)
{
    if (p.z < r->zmin || p.z > r->zmax || p.x < r->box[0] - 1e-6 || p.x > r->box[2] + 1e-6 ||
        p.y < r->box[1] - 1e-6 || p.y > r->box[3] + 1e-6)
        return false;
    return vt__point_in_polygon(r->poly, r->npoly, p.x, p.y);
}

/* ---- events ---------------------------------------------------------------- */

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

vt__alert_action vt__alert_step(vt__cond_state *c, bool cond, double t, const vt__alert_rule *r)
{
    if (cond != c->on) {
        c->on = cond;
        c->since = t;
    }
    if (!c->raised && c->on && t - c->since >= r->raise_after) {
        c->raised = true;
        c->last_sent = t;
        return VT__ACT_RAISE;
    }
    if (c->raised && !c->on && t - c->since >= r->clear_after) {
        c->raised = false;
        return VT__ACT_CLEAR;
    }
    if (c->raised && c->on && r->repeat_s > 0 && t - c->last_sent >= r->repeat_s) {
        c->last_sent = t;
        return VT__ACT_REPEAT;
    }
    return VT__ACT_NONE;
}

static void describe(const vt__alert_rule *r, vt__alert_action act, vt_alert_event *e)
{
    const char *n = r->name;
    const char *stat = r->p99 ? "p99" : "mean";
    switch (r->kind) {
    case VT_ALERT_ZONE:
        if (act == VT__ACT_CLEAR)
            snprintf(e->message, sizeof e->message, "track %" PRIu64 " left zone '%s'", e->track,
                     n);
        else
            snprintf(e->message, sizeof e->message,
                     "track %" PRIu64 " %s zone '%s' at (%.1f, %.1f) m, altitude %.1f m", e->track,
                     act == VT__ACT_REPEAT ? "still in" : "entered", n, e->pos.x, e->pos.y,
                     e->pos.z);
        break;
    case VT_ALERT_CAMERA_OFFLINE:
        if (act == VT__ACT_CLEAR)
            snprintf(e->message, sizeof e->message, "camera '%s' back online (rule '%s')",
                     e->camera, n);
        else
            snprintf(e->message, sizeof e->message, "camera '%s' offline for %.1f s (rule '%s')",
                     e->camera, e->value, n);
        break;
    case VT_ALERT_FPS:
        snprintf(e->message, sizeof e->message,
                 "frame rate %.1f/s %s the floor of %g/s (rule '%s')", e->value,
                 act == VT__ACT_CLEAR ? "back over" : "under", r->limit, n);
        break;
    case VT_ALERT_LATENCY:
        snprintf(e->message, sizeof e->message,
                 "latency %s %.1f ms %s the ceiling of %g ms (rule '%s')", stat, e->value,
                 act == VT__ACT_CLEAR ? "back under" : "over", r->limit, n);
        break;
    }
}

void vt__alert_emit(vt_alerts *a, const vt__alert_rule *r, vt__alert_action act, double t,
                    uint64_t track, const char *camera, double value, vt_vec3 pos, double stalled)
{
    vt_alert_event e;
    memset(&e, 0, sizeof e);
    e.seq = ++a->seq;
    e.t = t;
    e.wall = wall_now();
    e.kind = r->kind;
    e.raised = act != VT__ACT_CLEAR;
    e.repeat = act == VT__ACT_REPEAT;
    snprintf(e.rule, sizeof e.rule, "%s", r->name);
    e.track = track;
    snprintf(e.camera, sizeof e.camera, "%s", camera ? camera : "");
    e.value = value;
    e.pos = pos;
    e.stalled = stalled;
    describe(r, act, &e);
    if (stalled > 0) {
        size_t len = strlen(e.message);
        snprintf(e.message + len, sizeof e.message - len, ": no frame set for %.1f s", stalled);
    }
    atomic_fetch_add(act == VT__ACT_RAISE   ? &a->raised
                     : act == VT__ACT_CLEAR ? &a->cleared
                                            : &a->repeated,
                     1);
    if (!a->quiet)
        vt__log(act == VT__ACT_CLEAR ? 2 : 1, "alert %s: %s",
                act == VT__ACT_CLEAR ? "cleared" : "raised", e.message);
    if (a->fn)
        a->fn(a->user, &e);
    if (a->notifier)
        vt__notifier_push(a->notifier, &e);
}

/* ---- zones ----------------------------------------------------------------- */

static int cmp_ref(const void *pa, const void *pb)
{
    const vt__track_ref *x = pa, *y = pb;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* a->order = the tracks sorted by id (they usually are already). */
static vt_status sort_tracks(vt_alerts *a, const vt_pipeline_result *r)
{
    if (r->ntracks > a->order_cap) {
        size_t cap = r->ntracks * 2;
        vt__track_ref *o = realloc(a->order, cap * sizeof *o);
        if (!o)
            return vt__error(VT_ENOMEM, "alerts: out of memory for %zu tracks", r->ntracks);
        a->order = o;
        a->order_cap = cap;
    }
    bool sorted = true;
    for (size_t i = 0; i < r->ntracks; i++) {
        a->order[i] = (vt__track_ref){r->tracks[i].id, i};
        sorted = sorted && (i == 0 || r->tracks[i].id > r->tracks[i - 1].id);
    }
    if (!sorted)
        qsort(a->order, r->ntracks, sizeof *a->order, cmp_ref);
    return VT_OK;
}

static bool counts(const vt__alert_rule *rule, const vt_pipeline_result *r, size_t i)
{
    const vt_track *tr = &r->tracks[i];
    vt_target_class cls = r->classes ? r->classes[i] : VT_CLASS_DRONE;
    if (!(rule->classes & (1u << cls)))
        return false;
    return !rule->confirmed_only || tr->status != VT_TRACK_TENTATIVE;
}

static void zone_step(vt_alerts *a, const vt__alert_rule *rule, vt__zone_state *z, bool inside,
                      double t)
{
    vt__alert_action act = vt__alert_step(&z->c, inside, t, rule);
    if (act != VT__ACT_NONE)
        vt__alert_emit(a, rule, act, t, z->id, NULL, z->pos.z, z->pos, 0);
}

static vt_status eval_zone(vt_alerts *a, const vt__alert_rule *rule, vt__rule_state *s,
                           const vt_pipeline_result *r)
{
    size_t need = s->nzones + r->ntracks;
    if (need > s->cap) {
        size_t cap = need * 2;
        vt__zone_state *z = realloc(s->zones, cap * sizeof *z);
        if (z)
            s->zones = z;
        vt__zone_state *n = z ? realloc(s->next, cap * sizeof *n) : NULL;
        if (!n)
            return vt__error(VT_ENOMEM, "alerts: rule '%s': out of memory", rule->name);
        s->next = n;
        s->cap = cap;
    }
    size_t i = 0, j = 0, m = 0;
    while (i < s->nzones || j < r->ntracks) {
        uint64_t sid = i < s->nzones ? s->zones[i].id : UINT64_MAX;
        uint64_t tid = j < r->ntracks ? a->order[j].id : UINT64_MAX;
        vt__zone_state z;
        bool inside = false;
        if (tid <= sid) {
            size_t k = a->order[j++].index;
            vt_vec3 pos = r->tracks[k].pos;
            inside = counts(rule, r, k) && in_zone(rule, pos);
            if (tid == sid) {
                z = s->zones[i++];
            } else if (inside) {
                memset(&z, 0, sizeof z);
                z.id = tid;
                z.c.since = r->t;
            } else {
                continue;
            }
            z.pos = pos;
        } else {
            z = s->zones[i++]; /* the track is gone: outside */
        }
        zone_step(a, rule, &z, inside, r->t);
        if (z.c.on || z.c.raised)
            s->next[m++] = z;
    }
    vt__zone_state *tmp = s->zones;
    s->zones = s->next;
    s->next = tmp;
    s->nzones = m;
    return VT_OK;
}

/* ---- cameras ----------------------------------------------------------------- */

static void eval_cameras(vt_alerts *a, const vt__alert_rule *rule, vt__rule_state *s,
                         const vt_pipeline_result *r)
{
    int n = r->cameras ? r->ncameras : 0;
    if (n > a->cfg.ncameras)
        n = a->cfg.ncameras;
    for (int i = 0; i < n; i++) {
        if (!(rule->cameras >> i & 1))
            continue;
        vt__cond_state *c = &s->cams[i];
        vt__alert_action act = vt__alert_step(c, !r->cameras[i].present, r->t, rule);
        if (act != VT__ACT_NONE)
            vt__alert_emit(a, rule, act, r->t, 0, a->cfg.camera_ids[i],
                           act == VT__ACT_CLEAR ? 0 : r->t - c->since, (vt_vec3){0, 0, 0}, 0);
    }
}

/* ---- windows: fps and latency ------------------------------------------------ */

static vt_status ring_push(vt__rule_state *s, const vt__alert_rule *rule, double t, double v)
{
    while (s->count && s->times[s->head] <= t - rule->window_s) {
        s->head = (s->head + 1) % s->ring_cap;
        s->count--;
    }
    if (s->count == s->ring_cap) {
        size_t cap = s->ring_cap ? s->ring_cap * 2 : 64;
        double *tt = malloc(cap * sizeof *tt), *vv = malloc(cap * sizeof *vv);
        double *sc = malloc(cap * sizeof *sc);
        if (!tt || !vv || !sc) {
            free(tt);
            free(vv);
            free(sc);
            return vt__error(VT_ENOMEM, "alerts: rule '%s': out of memory", rule->name);
        }
        for (size_t k = 0; k < s->count; k++) {
            tt[k] = s->times[(s->head + k) % s->ring_cap];
            vv[k] = s->values[(s->head + k) % s->ring_cap];
        }
        free(s->times);
        free(s->values);
        free(s->scratch);
        s->times = tt;
        s->values = vv;
        s->scratch = sc;
        s->head = 0;
        s->ring_cap = cap;
    }
    size_t at = (s->head + s->count++) % s->ring_cap;
    s->times[at] = t;
    s->values[at] = v;
    return VT_OK;
}

/* The k-th smallest of v[0..n) (Hoare's quickselect; reorders v). */
static double select_kth(double *v, ptrdiff_t n, ptrdiff_t k)
{
    ptrdiff_t lo = 0, hi = n - 1;
    while (lo < hi) {
        double pivot = v[lo + (hi - lo) / 2];
        ptrdiff_t i = lo, j = hi;
        while (i <= j) {
            while (v[i] < pivot)
                i++;
            while (v[j] > pivot)
                j--;
            if (i <= j) {
                double tmp = v[i];
                v[i++] = v[j];
                v[j--] = tmp;
            }
        }
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            break;
    }
    return v[k];
}

static double latency_stat(vt__rule_state *s, const vt__alert_rule *rule)
{
    double sum = 0;
    for (size_t k = 0; k < s->count; k++) {
        s->scratch[k] = s->values[(s->head + k) % s->ring_cap];
        sum += s->scratch[k];
    }
    if (!rule->p99)
        return sum / (double)s->count;
    size_t k = (size_t)ceil(0.99 * (double)s->count);
    return select_kth(s->scratch, (ptrdiff_t)s->count, k ? (ptrdiff_t)k - 1 : 0);
}

static vt_status eval_window(vt_alerts *a, const vt__alert_rule *rule, vt__rule_state *s,
                             const vt_pipeline_result *r)
{
    if (!a->started)
        s->first_t = r->t;
    vt_status st = ring_push(s, rule, r->t, r->latency * 1e3);
    if (st)
        return st;
    double value;
    bool cond;
    if (rule->kind == VT_ALERT_FPS) {
        /* Judged only once the window is full of history. */
        value = (double)s->count / rule->window_s;
        cond = r->t - s->first_t >= rule->window_s && value < rule->limit;
    } else {
        value = latency_stat(s, rule);
        cond = value > rule->limit;
    }
    vt__alert_action act = vt__alert_step(&s->global, cond, r->t, rule);
    if (act != VT__ACT_NONE)
        vt__alert_emit(a, rule, act, r->t, 0, NULL, value, (vt_vec3){0, 0, 0}, 0);
    return VT_OK;
}

/* ---- the handle ---------------------------------------------------------------- */

vt_status vt_alerts_new(const char *json, const char *origin, const vt_rig *rig, vt_alerts **out)
{
    if (!out)
        return vt__error(VT_EINVAL, "vt_alerts_new: out is NULL");
    *out = NULL;
    vt_alerts *a = calloc(1, sizeof *a);
    if (!a)
        return vt__error(VT_ENOMEM, "alerts: out of memory");
    pthread_mutex_init(&a->mu, NULL);
    a->wd_last = -INFINITY;
    vt_status s = vt__alert_config_parse(json, origin, rig, &a->cfg);
    if (!s && !(a->rs = calloc((size_t)a->cfg.nrules + 1, sizeof *a->rs)))
        s = vt__error(VT_ENOMEM, "alerts: out of memory");
    if (!s && a->cfg.nchannels)
        s = vt__notifier_new(a->cfg.channels, a->cfg.nchannels, a->cfg.queue, &a->counts,
                             &a->notifier);
    if (s) {
        vt_alerts_free(a);
        return s;
    }
    *out = a;
    return VT_OK;
}

void vt_alerts_on_event(vt_alerts *a, vt_alert_fn fn, void *user)
{
    a->fn = fn;
    a->user = user;
}

void vt_alerts_set_quiet(vt_alerts *a, bool quiet)
{
    pthread_mutex_lock(&a->mu);
    a->quiet = quiet;
    pthread_mutex_unlock(&a->mu);
    if (a->notifier)
        vt__notifier_set_quiet(a->notifier, quiet);
}

static vt_status evaluate(vt_alerts *a, const vt_pipeline_result *r)
{
    vt_status s = VT_OK;
    bool sorted = false;
    for (int i = 0; i < a->cfg.nrules && !s; i++) {
        const vt__alert_rule *rule = &a->cfg.rules[i];
        switch (rule->kind) {
        case VT_ALERT_ZONE:
            if (!sorted && !(s = sort_tracks(a, r)))
                sorted = true;
            if (!s)
                s = eval_zone(a, rule, &a->rs[i], r);
            break;
        case VT_ALERT_CAMERA_OFFLINE:
            eval_cameras(a, rule, &a->rs[i], r);
            break;
        case VT_ALERT_FPS:
        case VT_ALERT_LATENCY:
            s = eval_window(a, rule, &a->rs[i], r);
            break;
        }
    }
    a->started = true;
    a->last_t = r->t;
    a->sets++;
    return s;
}

vt_status vt_alerts_update(vt_alerts *a, const vt_pipeline_result *r)
{
    if (!a || !r)
        return vt__error(VT_EINVAL, "vt_alerts_update: NULL argument");
    if (r->ntracks && !r->tracks)
        return vt__error(VT_EINVAL, "alerts: frame set %" PRId64 " has tracks but no array",
                         r->frame);
    /* Held for the few microseconds of one evaluation; the watchdog's tick takes no longer. */
    pthread_mutex_lock(&a->mu);
    vt_status s;
    if (!isfinite(r->t) || (a->started && r->t < a->last_t))
        s = vt__error(VT_EINVAL,
                      "alerts: frame set %" PRId64 " at %.6f s goes back in time (last %.6f s)",
                      r->frame, r->t, a->last_t);
    else
        s = evaluate(a, r);
    pthread_mutex_unlock(&a->mu);
    return s;
}

static void shift_cond(vt__cond_state *c, double dt)
{
    c->since += dt;
    c->last_sent += dt;
}

void vt_alerts_restart(vt_alerts *a, double t)
{
    if (!a || !isfinite(t))
        return;
    pthread_mutex_lock(&a->mu);
    if (a->started) {
        double dt = t - a->last_t;
        for (int i = 0; i < a->cfg.nrules; i++) {
            const vt__alert_rule *rule = &a->cfg.rules[i];
            vt__rule_state *s = &a->rs[i];
            for (size_t k = 0; k < s->nzones; k++) {
                vt__zone_state *z = &s->zones[k];
                if (z->c.raised)
                    vt__alert_emit(a, rule, VT__ACT_CLEAR, t, z->id, NULL, z->pos.z, z->pos, 0);
            }
            s->nzones = 0;
            for (int c = 0; c < VT__ALERT_MAX_CAMERAS; c++)
                shift_cond(&s->cams[c], dt);
            shift_cond(&s->global, dt);
            for (size_t k = 0; k < s->count; k++)
                s->times[(s->head + k) % s->ring_cap] += dt;
            s->first_t += dt;
        }
        a->last_t = t;
    }
    pthread_mutex_unlock(&a->mu);
}

vt_alerts_stats vt_alerts_stats_get(const vt_alerts *a)
{
    vt_alerts_stats st = {0};
    if (!a)
        return st;
    vt_alerts *m = (vt_alerts *)a; /* atomics are read through a non-const pointer */
    st.raised = atomic_load(&m->raised);
    st.cleared = atomic_load(&m->cleared);
    st.repeated = atomic_load(&m->repeated);
    st.sent = atomic_load(&m->counts.sent);
    st.failed = atomic_load(&m->counts.failed);
    st.retries = atomic_load(&m->counts.retries);
    st.dropped = atomic_load(&m->counts.dropped);
    return st;
}

void vt_alerts_free(vt_alerts *a)
{
    if (!a)
        return;
    vt__alert_watchdog_stop(a);
    if (a->notifier)
        vt__notifier_free(a->notifier, a->cfg.shutdown_s);
    for (int i = 0; a->rs && i < a->cfg.nrules; i++) {
        free(a->rs[i].zones);
        free(a->rs[i].next);
        free(a->rs[i].times);
        free(a->rs[i].values);
        free(a->rs[i].scratch);
    }
    free(a->rs);
    free(a->order);
    vt__alert_config_free(&a->cfg);
    pthread_mutex_destroy(&a->mu);
    free(a);
}
