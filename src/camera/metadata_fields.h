/*
 * src/camera/metadata_fields.h - the fields of one metadata.json entry
 * (vt_frame_meta) as a core/json_read.h table, for the reader and for the
 * test that checks docs/FORMATS.md against it. Never installed.
 */
#ifndef VT_CAMERA_METADATA_FIELDS_H
#define VT_CAMERA_METADATA_FIELDS_H

#include "core/json_read.h"

/* The fields of vt_frame_meta (entry aside), ended by {0}. */
extern const vt__jfield vt__metadata_fields[];

#endif
