/*
 * src/cluster/membership.c - who is alive, and who owns which camera (see
 * docs/CLUSTER.md, "Membership").
 *
 * Every node (capture nodes, voting workers, coordinators) writes its key
 * node.<name> of the KV bucket vt_members once a second: a heartbeat whose
 * value is its role and what it has done ("worker sets=12 redelivered=1"),
 * read by `voxtrack cluster status`; for liveness only the revision counts.
 * The leading coordinator looks at the keys four times a second and keeps,
 * per node, the last revision it saw and when it saw it change, on its own
 * clock: nats-server 2.9 sends no event when a key expires, and two
 * machines' clocks need not agree. A node whose revision has not changed
 * for 5 s is dead. A node missing from one listing is not dead on that
 * alone (after a server restart a key can be briefly absent from the
 * listing): it only stops counting as seen. Nor is a node dead for the time
 * the coordinator could not reach the server: after such a gap every node
 * gets 5 s from the first look that works.
 *
 * Cameras are owned through the bucket vt_cameras: camera.<index> holds the
 * owner's name. A dead capture node's cameras that have not ended go, each
 * by compare-and-swap on the revision read, to the live capture node with
 * the fewest cameras (ties: the first name), so a second leader that does the
 * same at the same time cannot hand a camera to two nodes.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/cluster_internal.h"
#include "core/buf.h"
#include "core/internal.h"

void vt__cl_camera_key(char *out, size_t size, int camera)
{
    snprintf(out, size, "camera.%d", camera);
}

void vt__cl_node_key(char *out, size_t size, const char *name)
{
    vt__cl_safe_name(out, size, "node.", name);
}

/* ---- the heartbeat ------------------------------------------------------------ */

struct vt__cl_beat {
    vt__cl_kv *kv;
    char key[96], role[32];
    char info[160]; /* "k=v k=v", set by the node (vt__cl_beat_info) */
    pthread_mutex_t mu;
    pthread_t th;
    atomic_bool stop;
};

/* The value to write: the role, then the node's info. */
static void beat_value(vt__cl_beat *b, char *out, size_t size)
{
    pthread_mutex_lock(&b->mu);
    snprintf(out, size, "%s%s%s", b->role, b->info[0] ? " " : "", b->info);
    pthread_mutex_unlock(&b->mu);
}

static void *beat_main(void *arg)
{
    vt__cl_beat *b = arg;
    char value[200];
    while (!atomic_load(&b->stop)) {
        beat_value(b, value, sizeof value);
        vt__cl_kv_put(b->kv, b->key, value, NULL); /* a miss is the next beat's to make up */
        for (int i = 0; i < 20 && !atomic_load(&b->stop); i++)
            vt__cl_sleep(VT__CL_BEAT / 20);
    }
    return NULL;
}

vt_status vt__cl_beat_start(vt__cl_conn *c, const char *role, const char *name, vt__cl_beat **out)
{
    *out = NULL;
    vt__cl_beat *b = calloc(1, sizeof *b);
    if (!b)
        return vt__error(VT_ENOMEM, "cluster: out of memory");
    vt__cl_node_key(b->key, sizeof b->key, name);
    snprintf(b->role, sizeof b->role, "%s", role);
    pthread_mutex_init(&b->mu, NULL);
    vt_status s = vt__cl_kv_open(c, VT__CL_KV_MEMBERS, &b->kv);
    if (!s)
        s = vt__cl_kv_put(b->kv, b->key, b->role, NULL); /* seen before its first look */
    if (!s && pthread_create(&b->th, NULL, beat_main, b) != 0)
        s = vt__error(VT_ENOMEM, "cluster: cannot start the heartbeat thread");
    if (s) {
        vt__cl_kv_close(b->kv);
        pthread_mutex_destroy(&b->mu);
        free(b);
        return s;
    }
    *out = b;
    return VT_OK;
}

void vt__cl_beat_info(vt__cl_beat *b, int64_t sets, int64_t redelivered)
{
    if (!b)
        return;
    pthread_mutex_lock(&b->mu);
    snprintf(b->info, sizeof b->info, "sets=%lld redelivered=%lld", (long long)sets,
             (long long)redelivered);
    pthread_mutex_unlock(&b->mu);
}

void vt__cl_beat_stop(vt__cl_beat *b)
{
    if (!b)
        return;
    atomic_store(&b->stop, true);
    pthread_join(b->th, NULL);
    vt__cl_kv_delete(b->kv, b->key);
    vt__cl_kv_close(b->kv);
    pthread_mutex_destroy(&b->mu);
    free(b);
}

/* ---- the leader's watch --------------------------------------------------------- */

static const double LOOK_EVERY = 0.25;

typedef struct member {
    char name[80]; /* the key without "node." */
    char role[32];
    uint64_t rev;
    double changed_at;
    bool dead;
} member;

struct vt__cl_watch {
    vt__cl_kv *members, *cameras;
    int ncams;
    member *m;
    size_t n, cap;
    double looked_at;
    bool blind; /* the last look failed (the server away) */
};

vt_status vt__cl_watch_new(vt__cl_conn *c, int ncams, vt__cl_watch **out)
{
    *out = NULL;
    vt__cl_watch *w = calloc(1, sizeof *w);
    if (!w)
        return vt__error(VT_ENOMEM, "cluster: out of memory");
    w->ncams = ncams;
    vt_status s = vt__cl_kv_open(c, VT__CL_KV_MEMBERS, &w->members);
    if (!s)
        s = vt__cl_kv_open(c, VT__CL_KV_CAMERAS, &w->cameras);
    if (s) {
        vt__cl_watch_free(w);
        return s;
    }
    *out = w;
    return VT_OK;
}

void vt__cl_watch_free(vt__cl_watch *w)
{
    if (!w)
        return;
    vt__cl_kv_close(w->members);
    vt__cl_kv_close(w->cameras);
    free(w->m);
    free(w);
}

static member *find_member(vt__cl_watch *w, const char *name)
{
    for (size_t i = 0; i < w->n; i++)
        if (!strcmp(w->m[i].name, name))
            return &w->m[i];
    return NULL;
}

/* Reads every node key the listing has; a new node is seen now. */
static void look_members(vt__cl_watch *w, double now)
{
    char **keys = NULL;
    int nkeys = 0;
    if (vt__cl_kv_keys(w->members, &keys, &nkeys)) {
        w->blind = true;
        return;
    }
    if (w->blind) {
        /* While the server was away nobody could beat: silence from then is not a
           node's. Every node gets DEAD seconds from now. */
        for (size_t i = 0; i < w->n; i++)
            w->m[i].changed_at = now;
        w->blind = false;
    }
    for (int i = 0; i < nkeys; i++) {
        if (strncmp(keys[i], "node.", 5))
            continue;
        char value[200];
        uint64_t rev = 0;
        if (vt__cl_kv_get(w->members, keys[i], value, sizeof value, &rev))
            continue;
        member *m = find_member(w, keys[i] + 5);
        if (!m) {
            if (vt__grow(&w->m, &w->cap, w->n + 1, sizeof *w->m))
                break;
            m = &w->m[w->n++];
            memset(m, 0, sizeof *m);
            snprintf(m->name, sizeof m->name, "%s", keys[i] + 5);
        }
        snprintf(m->role, sizeof m->role, "%.*s", (int)strcspn(value, " "), value);
        if (rev != m->rev) {
            if (m->dead)
                vt__log(1, "cluster: node %s is back", m->name);
            m->rev = rev;
            m->changed_at = now;
            m->dead = false;
        }
    }
    vt__cl_kv_keys_free(keys, nkeys);
    for (size_t i = 0; i < w->n; i++)
        if (!w->m[i].dead && now - w->m[i].changed_at >= VT__CL_DEAD) {
            w->m[i].dead = true;
            vt__log(1, "cluster: node %s (%s) silent for %.3f s: dead", w->m[i].name, w->m[i].role,
                    now - w->m[i].changed_at);
        }
}

/* The live capture node with the fewest cameras (owners[]), NULL when there is none. */
static const member *least_loaded(const vt__cl_watch *w, char (*owners)[80])
{
    const member *best = NULL;
    int best_n = 0;
    for (size_t i = 0; i < w->n; i++) {
        const member *m = &w->m[i];
        if (m->dead || strcmp(m->role, "capture"))
            continue;
        int k = 0;
        for (int c = 0; c < w->ncams; c++)
            k += !strcmp(owners[c], m->name);
        if (!best || k < best_n || (k == best_n && strcmp(m->name, best->name) < 0)) {
            best = m;
            best_n = k;
        }
    }
    return best;
}

void vt__cl_watch_tick(vt__cl_watch *w, uint64_t ended, const int64_t *last_set,
                       vt_cluster_stats *st)
{
    double now = vt__now();
    if (now - w->looked_at < LOOK_EVERY)
        return;
    w->looked_at = now;
    look_members(w, now);
    char owners[VT__CL_MAX_CAMERAS][80];
    uint64_t revs[VT__CL_MAX_CAMERAS];
    for (int c = 0; c < w->ncams; c++) {
        char key[32];
        vt__cl_camera_key(key, sizeof key, c);
        owners[c][0] = '\0';
        revs[c] = 0;
        vt__cl_kv_get(w->cameras, key, owners[c], sizeof owners[c], &revs[c]);
    }
    for (int c = 0; c < w->ncams; c++) {
        const member *old = owners[c][0] ? find_member(w, owners[c]) : NULL;
        if (!old || !old->dead || (ended >> c & 1u))
            continue;
        const member *to = least_loaded(w, owners);
        if (!to)
            continue; /* no live capture node: the camera waits for one */
        char key[32];
        vt__cl_camera_key(key, sizeof key, c);
        uint64_t rev = 0;
        if (vt__cl_kv_update(w->cameras, key, to->name, revs[c], &rev))
            continue; /* written by another since: looked at again next time */
        double silent = now - old->changed_at;
        vt__log(1,
                "cluster: camera %d reassigned from %s to %s, %.3f s after %s's last heartbeat; "
                "its last frame set in: %lld",
                c, old->name, to->name, silent, old->name, (long long)last_set[c]);
        snprintf(owners[c], sizeof owners[c], "%s", to->name);
        st->reassigned++;
        st->reassign_seconds = silent;
    }
}
