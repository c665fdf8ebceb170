/*
 * src/stream/cot_internal.h - what cot.c (events) needs from cot_net.c (the
 * UDP and TCP senders). Never installed.
 */
#ifndef VOXTRACK_COT_INTERNAL_H
#define VOXTRACK_COT_INTERNAL_H

#include <stddef.h>

#include "voxtrack/cot.h"

typedef struct vt__cot_net vt__cot_net;

/*
 * Opens the network side for url (udp://, tcp://, with or without "cot+").
 * ttl: multicast TTL unless the URL has ?ttl=N; queue: TCP queue length.
 */
vt_status vt__cot_net_open(const char *url, int ttl, int queue, vt__cot_net **out);

/* Hands one event to the network; never blocks (drops and counts instead). */
void vt__cot_net_send(vt__cot_net *n, const char *xml, size_t len);

/* Fills sent, dropped, errors, reconnects and connected of *st. */
void vt__cot_net_stats(vt__cot_net *n, vt_cot_stats *st);

/* Stops the thread without waiting for the network and frees. Accepts NULL. */
void vt__cot_net_free(vt__cot_net *n);

#endif
