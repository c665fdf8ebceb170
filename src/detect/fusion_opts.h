/*
 * src/detect/fusion_opts.h - the fields of vt_fusion_opts as a
 * core/json_read.h table: the one definition of their bounds, which
 * vt_fusion_opts_check() applies and the run configuration reads
 * "pipeline.fusion" with. Never installed.
 */
#ifndef VT_DETECT_FUSION_OPTS_H
#define VT_DETECT_FUSION_OPTS_H

#include "core/json_read.h"

/* The fields of vt_fusion_opts, ended by {0}. */
extern const vt__jfield vt__fusion_fields[];

#endif
