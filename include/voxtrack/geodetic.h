/*
 * voxtrack/geodetic.h - the world's local ENU frame <-> WGS84, through PROJ.
 *
 * The world frame is a local east-north-up frame in metres whose origin is a
 * geodetic point (the rig's origin: latitude, longitude, ellipsoidal height).
 * A vt_geodetic converts between that frame and WGS84 geodetic coordinates
 * (degrees, metres above the WGS84 ellipsoid, not above the geoid or mean
 * sea level) with one PROJ pipeline:
 *
 *   geodetic (lat, lon, h) <-> ECEF (+proj=cart, WGS84) <-> topocentric ENU
 *   (+proj=topocentric, lat_0/lon_0/h_0 = the origin, WGS84)
 *
 * This is the exact rigid transform (no map projection, no flat-earth
 * approximation): a point 5 km away keeps its true distance from the origin.
 *
 * Thread safety: each vt_geodetic owns a PROJ context (PJ_CONTEXT) of its own
 * and is NOT thread-safe: use one object per thread. Different objects may be
 * used on different threads at once.
 */
#ifndef VOXTRACK_GEODETIC_H
#define VOXTRACK_GEODETIC_H

#include "voxtrack/export.h"
#include "voxtrack/math3d.h"
#include "voxtrack/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vt_geodetic vt_geodetic; /* not thread-safe: one per user */

/*
 * Sets up the conversion for the ENU frame whose origin is at latitude
 * lat_deg (-90..90), longitude lon_deg (-180..180) and WGS84 ellipsoidal
 * height h_m. VT_EINVAL for coordinates out of range or not finite;
 * VT_EUNSUPPORTED when PROJ cannot build the pipeline (the message says
 * PROJ's reason). *out is freed with vt_geodetic_free.
 */
VT_API vt_status vt_geodetic_new(double lat_deg, double lon_deg, double h_m, vt_geodetic **out);

/*
 * A point of the world's ENU frame (metres) -> WGS84 latitude and longitude
 * (degrees) and ellipsoidal height (metres). VT_ERANGE, with PROJ's reason
 * and the point in the message, when PROJ fails; VT_EINVAL for a point that
 * is not finite.
 */
VT_API vt_status vt_geodetic_from_enu(vt_geodetic *g, vt_vec3 enu, double *lat_deg, double *lon_deg,
                                      double *h_m); /* WGS84 ellipsoidal h */

/* The inverse: WGS84 (degrees, ellipsoidal metres) -> ENU metres. Errors as above. */
VT_API vt_status vt_geodetic_to_enu(vt_geodetic *g, double lat_deg, double lon_deg, double h_m,
                                    vt_vec3 *enu);

/* Frees the object and its PROJ context. Accepts NULL. */
VT_API void vt_geodetic_free(vt_geodetic *g);

#ifdef __cplusplus
}
#endif

#endif
