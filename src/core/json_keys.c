/*
 * src/core/json_keys.c - unknown keys of JSON objects (see json_keys.h). Each
 * reader words its own message: the path syntax differs from format to
 * format.
 */
#include "core/json_keys.h"

#include <string.h>

bool vt__json_key_known(const char *key, const char *const *keys)
{
    for (const char *const *k = keys; *k; k++)
        if (strcmp(*k, key) == 0)
            return true;
    return false;
}

const char *vt__json_unknown_key(json_t *obj, const char *const *keys)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        (void)v;
        if (!vt__json_key_known(key, keys))
            return key;
    }
    return NULL;
}
