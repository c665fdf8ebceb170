/*
 * voxtrack/voxtrack.h - the whole public API of libvoxtrack.
 */
#ifndef VOXTRACK_H
#define VOXTRACK_H

#include "voxtrack/alert.h"
#include "voxtrack/calib.h"
#include "voxtrack/camera.h"
#include "voxtrack/cot.h"
#include "voxtrack/dda.h"
#include "voxtrack/det2d.h"
#include "voxtrack/detect.h"
#include "voxtrack/device.h"
#include "voxtrack/dotscene.h"
#include "voxtrack/eval.h"
#include "voxtrack/export.h"
#include "voxtrack/fusion.h"
#include "voxtrack/geodetic.h"
#include "voxtrack/grid.h"
#include "voxtrack/image.h"
#include "voxtrack/math3d.h"
#include "voxtrack/monitor.h"
#include "voxtrack/motion.h"
#include "voxtrack/original.h"
#include "voxtrack/pipeline.h"
#include "voxtrack/pose.h"
#include "voxtrack/project.h"
#include "voxtrack/ray.h"
#include "voxtrack/render.h"
#include "voxtrack/rig.h"
#include "voxtrack/sapient.h"
#include "voxtrack/sim.h"
#include "voxtrack/simulate.h"
#include "voxtrack/source.h"
#include "voxtrack/sparse.h"
#include "voxtrack/status.h"
#include "voxtrack/stream.h"
#include "voxtrack/sync.h"
#include "voxtrack/track.h"
#include "voxtrack/transport.h"
#include "voxtrack/wire.h"

#endif
