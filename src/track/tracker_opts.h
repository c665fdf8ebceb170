/*
 * src/track/tracker_opts.h - the fields of vt_tracker_opts as a
 * core/json_read.h table: names, bounds, defaults and a line of
 * documentation each. The one definition of the options' bounds: the run
 * configuration reads "pipeline.tracker" with it and vt_tracker_new()
 * checks its options against it. Never installed.
 */
#ifndef VT_TRACK_TRACKER_OPTS_H
#define VT_TRACK_TRACKER_OPTS_H

#include "core/json_read.h"
#include "voxtrack/track.h"

/* The fields of vt_tracker_opts, ended by {0}. */
extern const vt__jfield vt__tracker_fields[];

/*
 * Checks o against vt__tracker_fields and the rules between fields
 * (confirm_m <= confirm_n); VT_EINVAL with a message that starts with
 * `where` and names the field.
 */
vt_status vt__tracker_opts_check(const char *where, const vt_tracker_opts *o);

#endif
