/*
 * src/stream/jsonl_internal.h - the streamer's JSON Lines file (jsonl.c).
 */
#ifndef VOXTRACK_JSONL_INTERNAL_H
#define VOXTRACK_JSONL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "voxtrack/wire.h"

typedef struct vt__jsonl vt__jsonl;

/* Creates (truncates) the file. Errors name the path. */
vt_status vt__jsonl_open(const char *path, vt__jsonl **out);
/* One message as one line of JSON. */
vt_status vt__jsonl_write(vt__jsonl *j, vt_msg_type type, const uint8_t *msg, size_t len);
vt_status vt__jsonl_flush(vt__jsonl *j);
/* Flushes and closes. Accepts NULL. */
void vt__jsonl_close(vt__jsonl *j);

#endif
