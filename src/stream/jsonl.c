/*
 * src/stream/jsonl.c - the JSON Lines output of the streamer (file://PATH.jsonl).
 *
 * Each message becomes one line: the JSON object of vt_wire_to_json (the
 * same text `voxtrack listen` prints), so a file written here and a stream
 * listened to read alike. Writes go through stdio's buffer and are flushed
 * once per frame set, so a reader tailing the file sees whole frame sets.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "stream/jsonl_internal.h"

struct vt__jsonl {
    FILE *f;
    char *path;
};

vt_status vt__jsonl_open(const char *path, vt__jsonl **out)
{
    *out = NULL;
    if (!path || !*path)
        return vt__error(VT_EINVAL, "JSON Lines: empty file name");
    vt__jsonl *j = calloc(1, sizeof *j);
    if (!j || !(j->path = strdup(path))) {
        free(j);
        return vt__error(VT_ENOMEM, "JSON Lines: out of memory");
    }
    j->f = fopen(path, "w");
    if (!j->f) {
        int err = errno;
        free(j->path);
        free(j);
        return vt__error(err == ENOENT ? VT_ENOENT : VT_EIO, "%s: cannot create: %s", path,
                         strerror(err));
    }
    *out = j;
    return VT_OK;
}

vt_status vt__jsonl_write(vt__jsonl *j, vt_msg_type type, const uint8_t *msg, size_t len)
{
    char *json = NULL;
    vt_status st = vt_wire_to_json(type, msg, len, &json);
    if (st != VT_OK)
        return vt__error_prefix(st, "%s", j->path);
    bool ok = fputs(json, j->f) >= 0 && fputc('\n', j->f) != EOF;
    free(json);
    if (!ok)
        return vt__error(VT_EIO, "%s: write failed: %s", j->path, strerror(errno));
    return VT_OK;
}

vt_status vt__jsonl_flush(vt__jsonl *j)
{
    if (fflush(j->f) != 0)
        return vt__error(VT_EIO, "%s: write failed: %s", j->path, strerror(errno));
    return VT_OK;
}

void vt__jsonl_close(vt__jsonl *j)
{
    if (!j)
        return;
    if (j->f && fclose(j->f) != 0)
        vt__log(1, "%s: closing failed: %s", j->path, strerror(errno));
    free(j->path);
    free(j);
}
