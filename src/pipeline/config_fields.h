/*
 * src/pipeline/config_fields.h - the tables of the run configuration's
 * objects (core/json_read.h), for the test that checks docs/RUN.md against
 * them and the defaults against vt_pipeline_opts_default(). Never installed.
 */
#ifndef VT_PIPELINE_CONFIG_FIELDS_H
#define VT_PIPELINE_CONFIG_FIELDS_H

#include "core/json_read.h"

extern const vt__jfield vt__config_fields[];                /* vt_run_config */
extern const vt__jfield vt__config_volume_fields[];         /* vt_pipeline_opts */
extern const vt__jfield vt__config_pipeline_fields[];       /* vt_pipeline_opts */
extern const vt__jfield vt__config_backgrounds_fields[];    /* vt_pipeline_opts */
extern const vt__jfield vt__config_background_fields[];     /* vt_background_opts (mono defaults) */
extern const vt__jfield vt__config_vote_fields[];           /* vt_vote_opts */
extern const vt__jfield vt__config_detect_fields[];         /* vt_detect_opts */
extern const vt__jfield vt__config_fusion_enabled_fields[]; /* vt_pipeline_opts: fuse */

#endif
