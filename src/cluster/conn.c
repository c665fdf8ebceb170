/*
 * src/cluster/conn.c - the distributed mode's use of NATS (nats.c 3.4.1 with
 * nats-server 2.9): connecting, making the streams, durable pull consumers,
 * publishing with de-duplication, fetching and acking.
 *
 * Facts that shaped it (docs/CLUSTER.md has more):
 *   - a consumer that js_PullSubscribe makes is deleted when the subscription
 *     goes, so durable consumers are made with js_AddConsumer and bound to;
 *   - messages fetched in a batch wait in the client while their AckWait
 *     runs, so workers fetch one at a time;
 *   - after a lost connection the client reconnects by itself (for ever,
 *     every 100 ms); a fetch or a publish in that time fails and the roles
 *     simply try again, while a first connection that fails is an error.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nats/nats.h>

#include "cluster/cluster_internal.h"
#include "core/internal.h"

struct vt__cl_conn {
    natsConnection *nc;
    jsCtx *js;
    char url[256];
    double timeout;
};

struct vt__cl_pull {
    vt__cl_conn *c;
    natsSubscription *sub;
    char name[64];
    double failing_since; /* when fetches began to fail (0: they do not) */
};

/* How long fetches may keep failing (the server restarting, a leader election) before
   the role gives up with the error. */
static const double FETCH_GIVE_UP = 60.0;

vt_cluster_opts vt_cluster_opts_default(void)
{
    vt_cluster_opts o;
    memset(&o, 0, sizeof o);
    o.url = "nats://127.0.0.1:4222";
    o.timeout = 5.0;
    o.ack_wait = 10.0;
    o.max_deliver = 4;
    return o;
}

bool vt__cl_stopped(const vt_cluster_opts *o)
{
    return o->stop && *o->stop;
}

void vt__cl_sleep(double seconds)
{
    struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    nanosleep(&ts, NULL);
}

static int64_t ms(double seconds)
{
    return (int64_t)(seconds * 1e3 + 0.5);
}

/* The error of a nats.c call: its status text and the client's last error. */
static vt_status nats_error(natsStatus ns, jsErrCode jerr, const char *fmt, const char *what)
{
    const char *detail = nats_GetLastError(NULL);
    char msg[200];
    snprintf(msg, sizeof msg, fmt, what);
    if (jerr)
        return vt__error(VT_EIO, "%s: %s (JetStream error %d)", msg, natsStatus_GetText(ns),
                         (int)jerr);
    /* nats.c's last error often repeats the status text after its source location. */
    const char *text = natsStatus_GetText(ns);
    bool extra = detail && *detail && !strstr(detail, text);
    return vt__error(VT_EIO, "%s: %s%s%s", msg, text, extra ? ": " : "", extra ? detail : "");
}

/* Makes a stream unless it is there. */
static vt_status ensure_stream(vt__cl_conn *c, const char *name, const char *subject,
                               jsRetentionPolicy retention)
{
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus ns = js_GetStreamInfo(&si, c->js, name, NULL, &jerr);
    if (ns == NATS_OK) {
        jsStreamInfo_Destroy(si);
        return VT_OK;
    }
    if (ns != NATS_NOT_FOUND)
        return nats_error(ns, jerr, "cluster: stream %s", name);
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    cfg.Name = name;
    const char *subjects[1] = {subject};
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    cfg.Retention = retention;
    cfg.Storage = js_FileStorage;
    cfg.Duplicates = (int64_t)600 * 1000000000; /* Nats-Msg-Id window: 10 minutes */
    jerr = 0;
    ns = js_AddStream(&si, c->js, &cfg, NULL, &jerr);
    if (ns == NATS_OK) {
        jsStreamInfo_Destroy(si);
        return VT_OK;
    }
    /* Another node made it in the meantime. */
    if (js_GetStreamInfo(&si, c->js, name, NULL, NULL) == NATS_OK) {
        jsStreamInfo_Destroy(si);
        return VT_OK;
    }
    return nats_error(ns, jerr, "cluster: making stream %s", name);
}

vt_status vt__cl_connect(const vt_cluster_opts *o, const char *role, vt__cl_conn **out)
{
    vt_status s = vt__cl_connect_only(o, role, out);
    if (!s)
        s = ensure_stream(*out, VT__CL_STREAM_RAYS, VT__CL_SUBJ_RAYS ".>", js_LimitsPolicy);
    if (!s)
        s = ensure_stream(*out, VT__CL_STREAM_WORK, VT__CL_SUBJ_WORK, js_WorkQueuePolicy);
    if (!s)
        s = ensure_stream(*out, VT__CL_STREAM_DETS, VT__CL_SUBJ_DETS, js_LimitsPolicy);
    if (s && *out) {
        vt__cl_close(*out);
        *out = NULL;
        return vt__error_prefix(s, "%s", o->url);
    }
    return s;
}

vt_status vt__cl_connect_only(const vt_cluster_opts *o, const char *role, vt__cl_conn **out)
{
    *out = NULL;
    if (!o || !o->url || !*o->url)
        return vt__error(VT_EINVAL, "cluster: no NATS URL");
    if (!(o->timeout > 0))
        return vt__error(VT_EINVAL, "cluster: timeout must be > 0 seconds");
    vt__cl_conn *c = calloc(1, sizeof *c);
    if (!c)
        return vt__error(VT_ENOMEM, "cluster: out of memory");
    snprintf(c->url, sizeof c->url, "%s", o->url);
    c->timeout = o->timeout;
    natsOptions *no = NULL;
    natsStatus ns = natsOptions_Create(&no);
    if (ns == NATS_OK)
        ns = natsOptions_SetURL(no, o->url);
    if (ns == NATS_OK)
        ns = natsOptions_SetName(no, o->name ? o->name : role);
    if (ns == NATS_OK)
        ns = natsOptions_SetTimeout(no, ms(o->timeout));
    if (ns == NATS_OK)
        ns = natsOptions_SetMaxReconnect(no, -1);
    if (ns == NATS_OK)
        ns = natsOptions_SetReconnectWait(no, 100);
    if (ns == NATS_OK)
        ns = natsConnection_Connect(&c->nc, no);
    natsOptions_Destroy(no);
    if (ns != NATS_OK) {
        vt_status s = nats_error(ns, 0, "cluster: cannot connect to NATS at %s", o->url);
        vt__cl_close(c);
        return s;
    }
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = ms(o->timeout);
    ns = natsConnection_JetStream(&c->js, c->nc, &jo);
    jsAccountInfo *ai = NULL;
    jsErrCode jerr = 0;
    if (ns == NATS_OK)
        ns = js_GetAccountInfo(&ai, c->js, NULL, &jerr);
    jsAccountInfo_Destroy(ai);
    if (ns != NATS_OK) {
        vt_status s = vt__error(VT_EUNSUPPORTED,
                                "cluster: the NATS server at %s has no JetStream (%s; start "
                                "nats-server with -js)",
                                o->url, natsStatus_GetText(ns));
        vt__cl_close(c);
        return s;
    }
    *out = c;
    return VT_OK;
}

void vt__cl_close(vt__cl_conn *c)
{
    if (!c)
        return;
    jsCtx_Destroy(c->js);
    if (c->nc) {
        natsConnection_Close(c->nc);
        natsConnection_Destroy(c->nc);
    }
    free(c);
}

int64_t vt__cl_max_payload(const vt__cl_conn *c)
{
    return natsConnection_GetMaxPayload(c->nc);
}

vt_status vt__cl_publish(vt__cl_conn *c, const char *subject, const void *data, size_t len,
                         const char *msg_id, uint64_t *seq)
{
    if (len > (size_t)INT32_MAX)
        return vt__error(VT_ERANGE, "cluster: a %zu-byte message on %s", len, subject);
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MsgId = msg_id;
    po.MaxWait = ms(c->timeout);
    jsPubAck *ack = NULL;
    jsErrCode jerr = 0;
    natsStatus ns = js_Publish(&ack, c->js, subject, data, (int)len, &po, &jerr);
    if (ns != NATS_OK)
        return nats_error(ns, jerr, "cluster: publishing on %s", subject);
    if (seq)
        *seq = ack->Sequence;
    jsPubAck_Destroy(ack);
    return VT_OK;
}

vt_status vt__cl_pull_open(vt__cl_conn *c, const vt__cl_pull_opts *o, vt__cl_pull **out)
{
    *out = NULL;
    vt__cl_pull *p = calloc(1, sizeof *p);
    if (!p)
        return vt__error(VT_ENOMEM, "cluster: out of memory");
    p->c = c;
    snprintf(p->name, sizeof p->name, "%s", o->consumer);
    jsConsumerInfo *ci = NULL;
    jsErrCode jerr = 0;
    if (o->fresh)
        js_DeleteConsumer(c->js, o->stream, o->consumer, NULL, NULL);
    natsStatus ns = js_GetConsumerInfo(&ci, c->js, o->stream, o->consumer, NULL, &jerr);
    if (ns == NATS_NOT_FOUND) {
        jsConsumerConfig cc;
        jsConsumerConfig_Init(&cc);
        cc.Durable = o->consumer;
        cc.AckPolicy = js_AckExplicit;
        cc.AckWait = (int64_t)(o->ack_wait * 1e9);
        cc.MaxDeliver = o->max_deliver;
        cc.FilterSubject = o->filter;
        cc.DeliverPolicy = js_DeliverAll;
        if (o->fresh)
            cc.InactiveThreshold = (int64_t)60 * 1000000000;
        jerr = 0;
        ns = js_AddConsumer(&ci, c->js, o->stream, &cc, NULL, &jerr);
        if (ns != NATS_OK) /* another node made it in the meantime */
            ns = js_GetConsumerInfo(&ci, c->js, o->stream, o->consumer, NULL, &jerr);
    }
    jsConsumerInfo_Destroy(ci);
    if (ns == NATS_OK) {
        jsSubOptions so;
        jsSubOptions_Init(&so);
        so.Stream = o->stream;
        so.Consumer = o->consumer;
        jerr = 0;
        ns = js_PullSubscribe(&p->sub, c->js, o->filter, o->consumer, NULL, &so, &jerr);
    }
    if (ns != NATS_OK) {
        vt_status s = nats_error(ns, jerr, "cluster: consumer %s", o->consumer);
        free(p);
        return s;
    }
    *out = p;
    return VT_OK;
}

void vt__cl_pull_close(vt__cl_pull *p)
{
    if (!p)
        return;
    natsSubscription_Destroy(p->sub);
    free(p);
}

vt_status vt__cl_fetch(vt__cl_pull *p, vt__cl_msg *msgs, int max, double timeout, int *n)
{
    *n = 0;
    natsMsgList list = {0};
    jsErrCode jerr = 0;
    natsStatus ns = natsSubscription_Fetch(&list, p->sub, max, ms(timeout), &jerr);
    if (ns == NATS_TIMEOUT || ns == NATS_CONNECTION_DISCONNECTED || ns == NATS_NO_RESPONDERS ||
        ns == NATS_CONNECTION_CLOSED) {
        /* Nothing now, or the server is away: the caller tries again. nats.c 3.4.1 may
           return a timeout at once after an earlier one; do not spin on it. */
        natsMsgList_Destroy(&list);
        vt__cl_sleep(0.02);
        return ns == NATS_CONNECTION_CLOSED
                   ? vt__error(VT_EIO, "cluster: consumer %s: connection closed", p->name)
                   : VT_OK;
    }
    if (ns != NATS_OK) {
        /* Other errors come while a server shuts down or restarts ("Server Shutdown",
           no responders for a moment): retried for a while, then reported. */
        natsMsgList_Destroy(&list);
        double now = vt__now();
        if (!p->failing_since)
            p->failing_since = now;
        if (now - p->failing_since > FETCH_GIVE_UP)
            return nats_error(ns, jerr, "cluster: fetching from consumer %s", p->name);
        vt__cl_sleep(0.1);
        return VT_OK;
    }
    p->failing_since = 0;
    for (int i = 0; i < list.Count; i++) {
        natsMsg *m = list.Msgs[i];
        jsMsgMetaData *meta = NULL;
        vt__cl_msg *o = &msgs[*n];
        memset(o, 0, sizeof *o);
        o->nats = m;
        o->data = natsMsg_GetData(m);
        o->len = (size_t)natsMsg_GetDataLength(m);
        if (natsMsg_GetMetaData(&meta, m) == NATS_OK) {
            o->stream_seq = meta->Sequence.Stream;
            o->delivered = meta->NumDelivered;
            jsMsgMetaData_Destroy(meta);
        }
        list.Msgs[i] = NULL; /* ours now */
        (*n)++;
    }
    natsMsgList_Destroy(&list);
    return VT_OK;
}

vt_status vt__cl_ack(vt__cl_msg *m, bool sync)
{
    jsErrCode jerr = 0;
    natsStatus ns = sync ? natsMsg_AckSync(m->nats, NULL, &jerr) : natsMsg_Ack(m->nats, NULL);
    vt__cl_msg_done(m);
    return ns == NATS_OK ? VT_OK : nats_error(ns, jerr, "cluster: %s", "ack");
}

void vt__cl_term(vt__cl_msg *m)
{
    natsMsg_Term(m->nats, NULL);
    vt__cl_msg_done(m);
}

void vt__cl_in_progress(vt__cl_msg *m)
{
    natsMsg_InProgress(m->nats, NULL);
}

void vt__cl_msg_done(vt__cl_msg *m)
{
    natsMsg_Destroy(m->nats);
    m->nats = NULL;
    m->data = NULL;
}

vt_status vt__cl_get(vt__cl_conn *c, const char *stream, uint64_t seq, uint8_t **data, size_t *len)
{
    natsMsg *m = NULL;
    jsErrCode jerr = 0;
    natsStatus ns = js_GetMsg(&m, c->js, stream, seq, NULL, &jerr);
    if (ns != NATS_OK) {
        char what[96];
        snprintf(what, sizeof what, "%s message %llu", stream, (unsigned long long)seq);
        return nats_error(ns, jerr, "cluster: reading %s", what);
    }
    size_t n = (size_t)natsMsg_GetDataLength(m);
    *data = malloc(n ? n : 1);
    if (!*data) {
        natsMsg_Destroy(m);
        return vt__error(VT_ENOMEM, "cluster: out of memory");
    }
    memcpy(*data, natsMsg_GetData(m), n);
    *len = n;
    natsMsg_Destroy(m);
    return VT_OK;
}

/* ---- KV ---------------------------------------------------------------------- */

struct vt__cl_kv {
    kvStore *kv;
    char bucket[64];
};

vt_status vt__cl_kv_find(vt__cl_conn *c, const char *bucket, vt__cl_kv **out)
{
    *out = NULL;
    vt__cl_kv *k = calloc(1, sizeof *k);
    if (!k)
        return vt__error(VT_ENOMEM, "cluster: out of memory");
    snprintf(k->bucket, sizeof k->bucket, "%s", bucket);
    natsStatus ns = js_KeyValue(&k->kv, c->js, bucket);
    if (ns == NATS_OK) {
        *out = k;
        return VT_OK;
    }
    free(k);
    if (ns == NATS_NOT_FOUND)
        return VT_ENOENT;
    return nats_error(ns, 0, "cluster: KV bucket %s", bucket);
}

vt_status vt__cl_kv_open(vt__cl_conn *c, const char *bucket, vt__cl_kv **out)
{
    *out = NULL;
    vt__cl_kv *k = calloc(1, sizeof *k);
    if (!k)
        return vt__error(VT_ENOMEM, "cluster: out of memory");
    snprintf(k->bucket, sizeof k->bucket, "%s", bucket);
    natsStatus ns = js_KeyValue(&k->kv, c->js, bucket);
    if (ns != NATS_OK) {
        kvConfig cfg;
        kvConfig_Init(&cfg);
        cfg.Bucket = bucket;
        cfg.History = 1;
        cfg.StorageType = js_FileStorage;
        ns = js_CreateKeyValue(&k->kv, c->js, &cfg);
        if (ns != NATS_OK) /* made by another node in the meantime */
            ns = js_KeyValue(&k->kv, c->js, bucket);
    }
    if (ns != NATS_OK) {
        free(k);
        return nats_error(ns, 0, "cluster: KV bucket %s", bucket);
    }
    *out = k;
    return VT_OK;
}

void vt__cl_kv_close(vt__cl_kv *kv)
{
    if (!kv)
        return;
    kvStore_Destroy(kv->kv);
    free(kv);
}

vt_status vt__cl_kv_get(vt__cl_kv *kv, const char *key, char *buf, size_t size, uint64_t *rev)
{
    return vt__cl_kv_entry(kv, key, buf, size, rev, NULL);
}

vt_status vt__cl_kv_entry(vt__cl_kv *kv, const char *key, char *buf, size_t size, uint64_t *rev,
                          double *written)
{
    kvEntry *e = NULL;
    natsStatus ns = kvStore_Get(&e, kv->kv, key);
    if (ns == NATS_NOT_FOUND)
        return VT_ENOENT;
    if (ns != NATS_OK)
        return nats_error(ns, 0, "cluster: reading KV key %s", key);
    const char *v = kvEntry_ValueString(e);
    snprintf(buf, size, "%s", v ? v : "");
    *rev = kvEntry_Revision(e);
    if (written)
        *written = (double)kvEntry_Created(e) * 1e-9;
    kvEntry_Destroy(e);
    return VT_OK;
}

vt_status vt__cl_kv_create(vt__cl_kv *kv, const char *key, const char *value, uint64_t *rev)
{
    natsStatus ns = kvStore_CreateString(rev, kv->kv, key, value);
    if (ns == NATS_OK)
        return VT_OK;
    char buf[8];
    uint64_t r;
    if (vt__cl_kv_get(kv, key, buf, sizeof buf, &r) == VT_OK)
        return VT_EMISMATCH; /* it is there: someone else's */
    return nats_error(ns, 0, "cluster: creating KV key %s", key);
}

vt_status vt__cl_kv_update(vt__cl_kv *kv, const char *key, const char *value, uint64_t last,
                           uint64_t *rev)
{
    natsStatus ns = kvStore_UpdateString(rev, kv->kv, key, value, last);
    if (ns == NATS_OK)
        return VT_OK;
    char buf[8];
    uint64_t r = 0;
    vt_status s = vt__cl_kv_get(kv, key, buf, sizeof buf, &r);
    if (s == VT_ENOENT || (s == VT_OK && r != last))
        return VT_EMISMATCH; /* written (or deleted) by another since */
    return nats_error(ns, 0, "cluster: updating KV key %s", key);
}

vt_status vt__cl_kv_put(vt__cl_kv *kv, const char *key, const char *value, uint64_t *rev)
{
    uint64_t r = 0;
    natsStatus ns = kvStore_PutString(&r, kv->kv, key, value);
    if (ns != NATS_OK)
        return nats_error(ns, 0, "cluster: writing KV key %s", key);
    if (rev)
        *rev = r;
    return VT_OK;
}

void vt__cl_kv_delete(vt__cl_kv *kv, const char *key)
{
    kvStore_Delete(kv->kv, key);
}

vt_status vt__cl_kv_keys(vt__cl_kv *kv, char ***keys, int *n)
{
    kvKeysList list = {0};
    *keys = NULL;
    *n = 0;
    natsStatus ns = kvStore_Keys(&list, kv->kv, NULL);
    if (ns == NATS_NOT_FOUND)
        return VT_OK; /* an empty bucket */
    if (ns != NATS_OK)
        return nats_error(ns, 0, "cluster: listing KV bucket %s", kv->bucket);
    *keys = list.Keys; /* handed over: vt__cl_kv_keys_free frees them */
    *n = list.Count;
    return VT_OK;
}

void vt__cl_kv_keys_free(char **keys, int n)
{
    kvKeysList list = {.Keys = keys, .Count = n};
    kvKeysList_Destroy(&list);
}

vt_status vt__cl_last(vt__cl_conn *c, const char *stream, const char *subject, uint8_t **data,
                      size_t *len)
{
    natsMsg *m = NULL;
    jsErrCode jerr = 0;
    *data = NULL;
    *len = 0;
    natsStatus ns = js_GetLastMsg(&m, c->js, stream, subject, NULL, &jerr);
    if (ns == NATS_NOT_FOUND || jerr == JSNoMessageFoundErr)
        return VT_ENOENT;
    if (ns != NATS_OK)
        return nats_error(ns, jerr, "cluster: reading the last message on %s", subject);
    size_t k = (size_t)natsMsg_GetDataLength(m);
    *data = malloc(k ? k : 1);
    if (!*data) {
        natsMsg_Destroy(m);
        return vt__error(VT_ENOMEM, "cluster: out of memory");
    }
    memcpy(*data, natsMsg_GetData(m), k);
    *len = k;
    natsMsg_Destroy(m);
    return VT_OK;
}

void vt__cl_safe_name(char *out, size_t size, const char *prefix, const char *name)
{
    snprintf(out, size, "%s", prefix);
    size_t n = strlen(out);
    for (const char *p = name; *p && n + 1 < size; p++)
        out[n++] = (isalnum((unsigned char)*p) || *p == '-' || *p == '_') ? *p : '_';
    out[n] = '\0';
}

double vt__cl_wall_clock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

vt_status vt__cl_consumer_state(vt__cl_conn *c, const char *stream, const char *consumer,
                                vt__cl_consumer *out)
{
    memset(out, 0, sizeof *out);
    jsConsumerInfo *ci = NULL;
    jsErrCode jerr = 0;
    natsStatus ns = js_GetConsumerInfo(&ci, c->js, stream, consumer, NULL, &jerr);
    if (ns == NATS_NOT_FOUND || jerr == JSConsumerNotFoundErr || jerr == JSStreamNotFoundErr)
        return VT_ENOENT;
    if (ns != NATS_OK)
        return nats_error(ns, jerr, "cluster: consumer %s", consumer);
    out->pending = (int64_t)ci->NumPending;
    out->unacked = ci->NumAckPending;
    out->redelivered = ci->NumRedelivered;
    out->waiting = ci->NumWaiting;
    jsConsumerInfo_Destroy(ci);
    return VT_OK;
}

vt_status vt__cl_stream_count(vt__cl_conn *c, const char *stream, int64_t *msgs)
{
    *msgs = 0;
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus ns = js_GetStreamInfo(&si, c->js, stream, NULL, &jerr);
    if (ns == NATS_NOT_FOUND || jerr == JSStreamNotFoundErr)
        return VT_ENOENT;
    if (ns != NATS_OK)
        return nats_error(ns, jerr, "cluster: stream %s", stream);
    *msgs = (int64_t)si->State.Msgs;
    jsStreamInfo_Destroy(si);
    return VT_OK;
}
