/*
 * src/core/json_keys.h - the check that every JSON reader of voxtrack makes
 * (run configurations, rigs, scenarios, alert rules): an object may hold only
 * the keys the format documents. Never installed.
 */
#ifndef VOXTRACK_CORE_JSON_KEYS_H
#define VOXTRACK_CORE_JSON_KEYS_H

#include <stdbool.h>

#include <jansson.h>

/* Whether key is one of `keys` (NULL-terminated). */
bool vt__json_key_known(const char *key, const char *const *keys);

/* The first key of obj that is not in `keys` (NULL-terminated), or NULL. */
const char *vt__json_unknown_key(json_t *obj, const char *const *keys);

#endif
