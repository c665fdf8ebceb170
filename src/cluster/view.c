/*
 * src/cluster/view.c - the state of a running cluster as the server holds
 * it (vt_cluster_view_read, shown by `voxtrack cluster status`).
 *
 * Everything comes from what the roles already keep in JetStream: the
 * heartbeats of vt_members (role, frame sets, redeliveries, the time the
 * server stored the key), the lease of vt_lease, the camera keys of
 * vt_cameras, and the consumers' state (pending, unacked, redelivered) of
 * the three streams. It only looks: a bucket or stream that is not there
 * is an empty part of the view, never made.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/cluster_internal.h"
#include "core/buf.h"
#include "core/internal.h"

/* "ROLE k=v k=v": the role and the numbers a heartbeat carries. */
static void parse_beat(const char *value, vt_cluster_member *m)
{
    snprintf(m->role, sizeof m->role, "%.*s", (int)strcspn(value, " "), value);
    const char *p = strstr(value, " sets=");
    if (p)
        m->sets = strtoll(p + 6, NULL, 10);
    if ((p = strstr(value, " redelivered=")))
        m->redelivered = strtoll(p + 13, NULL, 10);
}

static int role_rank(const char *role)
{
    return !strcmp(role, "coordinator") ? 0 : !strcmp(role, "worker") ? 1 : 2;
}

static int by_role_then_name(const void *a, const void *b)
{
    const vt_cluster_member *x = a, *y = b;
    int d = role_rank(x->role) - role_rank(y->role);
    return d ? d : strcmp(x->name, y->name);
}

static vt_status read_members(vt__cl_conn *c, vt_cluster_view *v)
{
    vt__cl_kv *kv = NULL;
    vt_status s = vt__cl_kv_find(c, VT__CL_KV_MEMBERS, &kv);
    if (s == VT_ENOENT)
        return VT_OK;
    char **keys = NULL;
    int n = 0;
    if (!s)
        s = vt__cl_kv_keys(kv, &keys, &n);
    size_t cap = 0;
    double now = vt__cl_wall_clock();
    for (int i = 0; !s && i < n; i++) {
        char value[200];
        uint64_t rev = 0;
        double written = 0;
        if (strncmp(keys[i], "node.", 5) ||
            vt__cl_kv_entry(kv, keys[i], value, sizeof value, &rev, &written))
            continue; /* deleted since the listing: left */
        if ((s = vt__grow(&v->members, &cap, (size_t)v->nmembers + 1, sizeof *v->members)))
            break;
        vt_cluster_member *m = &v->members[v->nmembers++];
        memset(m, 0, sizeof *m);
        snprintf(m->name, sizeof m->name, "%s", keys[i] + 5);
        parse_beat(value, m);
        m->age = now - written;
    }
    vt__cl_kv_keys_free(keys, n);
    vt__cl_kv_close(kv);
    return s;
}

static vt_status read_lease(vt__cl_conn *c, vt_cluster_view *v)
{
    vt__cl_kv *kv = NULL;
    vt_status s = vt__cl_kv_find(c, VT__CL_KV_LEASE, &kv);
    if (s == VT_ENOENT)
        return VT_OK;
    uint64_t rev = 0;
    if (!s)
        s = vt__cl_kv_get(kv, VT__CL_KEY_COORDINATOR, v->leader, sizeof v->leader, &rev);
    if (s == VT_ENOENT)
        s = VT_OK; /* nobody leads yet */
    vt__cl_kv_close(kv);
    return s;
}

static vt_status read_cameras(vt__cl_conn *c, vt_cluster_view *v)
{
    vt__cl_kv *kv = NULL;
    vt_status s = vt__cl_kv_find(c, VT__CL_KV_CAMERAS, &kv);
    if (s == VT_ENOENT)
        return VT_OK;
    char **keys = NULL;
    int n = 0;
    if (!s)
        s = vt__cl_kv_keys(kv, &keys, &n);
    for (int i = 0; !s && i < n; i++) {
        char *end = NULL;
        long k = strncmp(keys[i], "camera.", 7) ? -1 : strtol(keys[i] + 7, &end, 10);
        uint64_t rev = 0;
        if (k < 0 || k >= VT__CL_MAX_CAMERAS || *end || v->ncameras >= VT__CL_MAX_CAMERAS)
            continue;
        char owner[80];
        if (vt__cl_kv_get(kv, keys[i], owner, sizeof owner, &rev))
            continue;
        int j = v->ncameras++; /* insertion by index */
        for (; j > 0 && v->camera[j - 1] > k; j--) {
            v->camera[j] = v->camera[j - 1];
            memcpy(v->owner[j], v->owner[j - 1], sizeof v->owner[j]);
        }
        v->camera[j] = (int)k;
        snprintf(v->owner[j], sizeof v->owner[j], "%s", owner);
    }
    vt__cl_kv_keys_free(keys, n);
    vt__cl_kv_close(kv);
    return s;
}

static vt_status read_queues(vt__cl_conn *c, vt_cluster_view *v)
{
    vt__cl_consumer q;
    vt_status s = vt__cl_consumer_state(c, VT__CL_STREAM_RAYS, VT__CL_CONSUMER_ASSEMBLER, &q);
    if (!s) {
        v->rays_waiting = q.pending;
        v->rays_held = q.unacked;
    }
    if (s == VT_ENOENT)
        s = VT_OK;
    if (!s && !(s = vt__cl_consumer_state(c, VT__CL_STREAM_WORK, VT__CL_CONSUMER_WORKERS, &q))) {
        v->work_waiting = q.pending;
        v->work_running = q.unacked;
        v->work_again = q.redelivered;
        v->idle_workers = q.waiting;
    }
    if (s == VT_ENOENT)
        s = VT_OK;
    if (!s && (s = vt__cl_stream_count(c, VT__CL_STREAM_DETS, &v->dets)) == VT_ENOENT)
        s = VT_OK;
    return s;
}

/* Who leads, cameras per node, the run's redeliveries: from the parts read. */
static void derive(vt_cluster_view *v)
{
    int64_t most = 0, leader = -1;
    for (int i = 0; i < v->nmembers; i++) {
        vt_cluster_member *m = &v->members[i];
        for (int k = 0; k < v->ncameras; k++)
            m->cameras += !strcmp(v->owner[k], m->name);
        if (strcmp(m->role, "coordinator"))
            continue;
        m->leader = v->leader[0] && !strcmp(v->leader, m->name);
        if (m->leader)
            leader = m->redelivered;
        else if (m->redelivered > most)
            most = m->redelivered;
    }
    v->redelivered = leader >= 0 ? leader : most;
    if (v->nmembers > 1)
        qsort(v->members, (size_t)v->nmembers, sizeof *v->members, by_role_then_name);
}

vt_status vt_cluster_view_read(const vt_cluster_opts *o, vt_cluster_view *out)
{
    if (!out)
        return vt__error(VT_EINVAL, "vt_cluster_view_read: NULL argument");
    memset(out, 0, sizeof *out);
    if (!o)
        return vt__error(VT_EINVAL, "vt_cluster_view_read: NULL argument");
    vt__cl_conn *c = NULL;
    vt_status s = vt__cl_connect_only(o, "status", &c); /* its errors name the URL */
    if (s)
        return s;
    s = read_members(c, out);
    if (!s)
        s = read_lease(c, out);
    if (!s)
        s = read_cameras(c, out);
    if (!s)
        s = read_queues(c, out);
    vt__cl_close(c);
    if (s) {
        vt_cluster_view_free(out);
        return vt__error_prefix(s, "%s", o->url);
    }
    derive(out);
    return VT_OK;
}

void vt_cluster_view_free(vt_cluster_view *v)
{
    if (!v)
        return;
    free(v->members);
    memset(v, 0, sizeof *v);
}
