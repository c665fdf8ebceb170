/*
 * src/eval/canvas.h - an RGB canvas that the plots draw on and save as PNG:
 * the evaluation's top and side views (plot.c) and the calibration's
 * per-camera images (src/calib/plot.c). Never installed.
 */
#ifndef VOXTRACK_EVAL_CANVAS_H
#define VOXTRACK_EVAL_CANVAS_H

#include <stdint.h>

#include "voxtrack/status.h"

typedef struct vt__rgb {
    uint8_t r, g, b;
} vt__rgb;

typedef struct vt__canvas {
    int w, h;
    uint8_t *px; /* RGB24, rows of 3 * w bytes */
} vt__canvas;

/* A w x h canvas filled with `fill`; VT_ENOMEM naming the size. Free with vt__canvas_free. */
vt_status vt__canvas_new(vt__canvas *c, int w, int h, vt__rgb fill);
void vt__canvas_free(vt__canvas *c);

/* One pixel; outside the canvas nothing happens (so for everything below). */
void vt__canvas_put(vt__canvas *c, int x, int y, vt__rgb col);

/* Bresenham's line with a 2x2 brush. */
void vt__canvas_line(vt__canvas *c, int x0, int y0, int x1, int y1, vt__rgb col);

/* Digits, '-' and '.' in a 3x5 font, each font pixel scale x scale; other characters skipped. */
void vt__canvas_text(vt__canvas *c, int x, int y, const char *s, vt__rgb col, int scale);

/* Encodes the canvas with FFmpeg's PNG encoder (RGB24) and writes it to path. */
vt_status vt__canvas_save_png(const vt__canvas *c, const char *path);

#endif
