/*
 * src/monitor/alert_watchdog.c - the alerts of a stall: when frame sets stop
 * coming (a source hangs, every camera is gone, the stream that `serve` reads
 * goes quiet), no frame set arrives to evaluate the rules on, so the rules
 * that watch for exactly that (camera_offline, fps) are evaluated here, on a
 * clock, between frame sets.
 *
 * The idea: while frame sets flow, pipeline time is the only clock (a replay
 * raises what the live run raised). When they stop, pipeline time stops
 * too, so the watchdog lets it go on with the caller's clock: a tick at
 * `now`, `stalled` seconds after the tick that first saw the last frame set,
 * stands for pipeline time last_t + stalled, a frame set in which no camera
 * delivered and nothing came. The state machines of alert.c are stepped at
 * that time with that condition, so hysteresis and de-duplication are the
 * frame sets' own: an alert already active is not raised twice, reminders
 * follow repeat_s, and the alerts clear on the frame sets that come again,
 * after clear_after. The watchdog stays silent until "stall_s" seconds have
 * gone by without a frame set, so that the ticks that fall between frame
 * sets of a running pipeline never touch the state.
 *
 * Arrival is measured by the ticks (a frame set counted since the last tick
 * came by this one), so the watchdog needs no clock of its own in the
 * pipeline's path and a test drives it with a fake clock. The thread of
 * vt_alerts_watchdog ticks on CLOCK_MONOTONIC.
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "core/internal.h"
#include "monitor/alert_internal.h"

struct vt__watchdog {
    vt_alerts *a;
    double period;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* stop (CLOCK_MONOTONIC) */
    bool stop;
    pthread_t thread;
};

/* ---- the stall ------------------------------------------------------------- */

/* Every camera of the rule is missing since its last frame set (or earlier). */
static void stall_cameras(vt_alerts *a, const vt__alert_rule *rule, vt__rule_state *s, double t,
                          double stalled)
{
    for (int i = 0; i < a->cfg.ncameras; i++) {
        if (!(rule->cameras >> i & 1))
            continue;
        vt__cond_state *c = &s->cams[i];
        double since = c->on ? c->since : a->last_t;
        if (t - since < rule->raise_after)
            continue; /* not yet: leave the state as the frame sets left it */
        c->on = true;
        c->since = since;
        vt__alert_action act = vt__alert_step(c, true, t, rule);
        if (act != VT__ACT_NONE)
            vt__alert_emit(a, rule, act, t, 0, a->cfg.camera_ids[i], t - since, (vt_vec3){0, 0, 0},
                           stalled);
    }
}

static double ring_time(const vt__rule_state *s, size_t k)
{
    return s->times[(s->head + k) % s->ring_cap];
}

/*
 * When the frame sets in the window fell under the floor: the frame that
 * had to stay in it for the rate to hold left it (a frame at time u is in
 * the window at x while u > x - window_s).
 */
static double fps_crossing(const vt__alert_rule *rule, const vt__rule_state *s, double last_t)
{
    size_t need = (size_t)ceil(rule->limit * rule->window_s - 1e-9);
    if (need == 0 || s->count < need)
        return last_t;
    return fmax(last_t, ring_time(s, s->count - need) + rule->window_s);
}

/* The frame sets of the window at pipeline time t (none came after last_t). */
static void stall_fps(vt_alerts *a, const vt__alert_rule *rule, vt__rule_state *s, double t,
                      double stalled)
{
    size_t inside = 0;
    for (size_t k = 0; k < s->count; k++)
        inside += ring_time(s, k) > t - rule->window_s;
    double value = (double)inside / rule->window_s;
    double full = s->first_t + rule->window_s; /* judged only once the window is full */
    if (t < full || !(value < rule->limit))
        return;
    vt__cond_state *c = &s->global;
    if (!c->on) {
        c->on = true;
        c->since = fmax(fps_crossing(rule, s, a->last_t), full);
    }
    vt__alert_action act = vt__alert_step(c, true, t, rule);
    if (act != VT__ACT_NONE)
        vt__alert_emit(a, rule, act, t, 0, NULL, value, (vt_vec3){0, 0, 0}, stalled);
}

static void stall(vt_alerts *a, double stalled)
{
    double t = a->last_t + stalled;
    for (int i = 0; i < a->cfg.nrules; i++) {
        const vt__alert_rule *rule = &a->cfg.rules[i];
        if (rule->kind == VT_ALERT_CAMERA_OFFLINE)
            stall_cameras(a, rule, &a->rs[i], t, stalled);
        else if (rule->kind == VT_ALERT_FPS)
            stall_fps(a, rule, &a->rs[i], t, stalled);
        /* Zones and latency need frame sets: a stall says nothing new about them. */
    }
}

vt_status vt_alerts_tick(vt_alerts *a, double now)
{
    if (!a)
        return vt__error(VT_EINVAL, "vt_alerts_tick: alerts is NULL");
    if (!isfinite(now))
        return vt__error(VT_EINVAL, "vt_alerts_tick: the clock reads %g, not a finite number", now);
    vt_status st = VT_OK;
    pthread_mutex_lock(&a->mu);
    if (now < a->wd_last) {
        st = vt__error(VT_EINVAL,
                       "alerts: watchdog: the clock went back from %.6f s to %.6f s (use a "
                       "monotonic clock)",
                       a->wd_last, now);
    } else {
        a->wd_last = now;
        if (a->sets != a->wd_sets) {
            a->wd_sets = a->sets;
            a->wd_arrival = now;
            a->wd_armed = true;
        } else if (a->wd_armed && now - a->wd_arrival >= a->cfg.stall_s) {
            stall(a, now - a->wd_arrival);
        }
    }
    pthread_mutex_unlock(&a->mu);
    return st;
}

/* ---- the thread ---------------------------------------------------------------- */

static struct timespec abs_time(double s)
{
    double whole = floor(s);
    return (struct timespec){(time_t)whole, (long)((s - whole) * 1e9)};
}

static void *watchdog_main(void *arg)
{
    vt__watchdog *w = arg;
    double next = vt__now();
    pthread_mutex_lock(&w->mu);
    while (!w->stop) {
        pthread_mutex_unlock(&w->mu);
        vt_alerts_tick(w->a, vt__now()); /* a monotonic clock never goes back */
        pthread_mutex_lock(&w->mu);
        double now = vt__now();
        next += w->period;
        if (next < now) /* fell behind (a suspended process): no burst of ticks */
            next = now + w->period;
        struct timespec ts = abs_time(next);
        while (!w->stop && vt__now() < next)
            pthread_cond_timedwait(&w->cv, &w->mu, &ts);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

void vt__alert_watchdog_stop(vt_alerts *a)
{
    vt__watchdog *w = a->watchdog;
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w);
    a->watchdog = NULL;
}

vt_status vt_alerts_watchdog(vt_alerts *a, double period_s)
{
    if (!a)
        return vt__error(VT_EINVAL, "vt_alerts_watchdog: alerts is NULL");
    if (!(period_s >= 0 && period_s <= 60))
        return vt__error(VT_EINVAL, "vt_alerts_watchdog: period %g s is not in [0, 60] s",
                         period_s);
    vt__alert_watchdog_stop(a);
    if (period_s == 0)
        return VT_OK;
    vt__watchdog *w = calloc(1, sizeof *w);
    if (!w)
        return vt__error(VT_ENOMEM, "alerts: out of memory for the watchdog");
    w->a = a;
    w->period = period_s;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&w->thread, NULL, watchdog_main, w) != 0) {
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->mu);
        free(w);
        return vt__error(VT_EIO, "alerts: cannot start the watchdog thread");
    }
    a->watchdog = w;
    return VT_OK;
}
