/*
 * src/core/geodetic.c - the world's ENU frame <-> WGS84 through PROJ (see
 * voxtrack/geodetic.h).
 *
 * One PROJ pipeline does both directions:
 *
 *   +proj=pipeline +step +proj=cart +ellps=WGS84
 *                  +step +proj=topocentric +ellps=WGS84 +lat_0 +lon_0 +h_0
 *
 * Forward takes geodetic coordinates (radians, as PROJ's pipelines expect)
 * to earth-centred earth-fixed X, Y, Z and then to the topocentric frame of
 * the origin (east, north, up); inverse goes back. The topocentric step is
 * the rigid rotation and translation of EPSG method 9836 ("Geocentric/
 * topocentric conversions", IOGP Guidance Note 7-2), so nothing is projected
 * or flattened. PROJ's inverse +proj=cart (Bowring's formula) is off by
 * about 1e-6 m at 10 km height; ENU -> WGS84 therefore takes one correction
 * step through the exact forward direction (see vt_geodetic_from_enu), so
 * that round trips hold to nanometres. A string-defined pipeline needs no PROJ database, so
 * creating one is cheap and works without proj.db.
 *
 * Each object has a PJ_CONTEXT of its own: PROJ objects and their error
 * state belong to one context, and contexts must not be shared between
 * threads. Its logging is switched off; failures are reported through
 * vt__error with PROJ's own reason.
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include <proj.h>

#include "core/internal.h"
#include "voxtrack/geodetic.h"

struct vt_geodetic {
    PJ_CONTEXT *ctx;
    PJ *pipe; /* forward: geodetic (radians) -> ENU */
    double lat_deg, lon_deg, h_m;
};

/* PROJ's reason for the last failure on this context, never NULL. */
static const char *proj_reason(PJ_CONTEXT *ctx)
{
    int e = proj_context_errno(ctx);
    const char *s = e ? proj_context_errno_string(ctx, e) : NULL;
    return s ? s : "unknown PROJ error";
}

static bool finite3(double a, double b, double c)
{
    return isfinite(a) && isfinite(b) && isfinite(c);
}

vt_status vt_geodetic_new(double lat_deg, double lon_deg, double h_m, vt_geodetic **out)
{
    if (!out)
        return vt__error(VT_EINVAL, "vt_geodetic_new: out is NULL");
    *out = NULL;
    if (!finite3(lat_deg, lon_deg, h_m) || fabs(lat_deg) > 90 || fabs(lon_deg) > 180)
        return vt__error(VT_EINVAL,
                         "geodetic origin: latitude %g, longitude %g, height %g: latitude must "
                         "be in -90..90 and longitude in -180..180 degrees, all finite",
                         lat_deg, lon_deg, h_m);
    vt_geodetic *g = calloc(1, sizeof *g);
    if (!g)
        return vt__error(VT_ENOMEM, "geodetic: out of memory");
    g->lat_deg = lat_deg;
    g->lon_deg = lon_deg;
    g->h_m = h_m;
    g->ctx = proj_context_create();
    if (!g->ctx) {
        free(g);
        return vt__error(VT_ENOMEM, "geodetic: PROJ could not create a context");
    }
    proj_log_level(g->ctx, PJ_LOG_NONE);
    char def[512];
    snprintf(def, sizeof def,
             "+proj=pipeline +step +proj=cart +ellps=WGS84 +step +proj=topocentric +ellps=WGS84 "
             "+lat_0=%.15g +lon_0=%.15g +h_0=%.15g",
             lat_deg, lon_deg, h_m);
    g->pipe = proj_create(g->ctx, def);
    if (!g->pipe) {
        vt_status s = vt__error(VT_EUNSUPPORTED,
                                "geodetic: PROJ could not create the pipeline WGS84 -> ECEF -> "
                                "ENU at %.9f, %.9f, %.3f m: %s",
                                lat_deg, lon_deg, h_m, proj_reason(g->ctx));
        vt_geodetic_free(g);
        return s;
    }
    *out = g;
    return VT_OK;
}

/* Runs the pipeline in one direction; false (with PROJ's errno set) on failure. */
static bool run_pipe(vt_geodetic *g, PJ_DIRECTION dir, const double in[3], double out[3])
{
    proj_errno_reset(g->pipe);
    PJ_COORD c = proj_coord(in[0], in[1], in[2], 0);
    PJ_COORD r = proj_trans(g->pipe, dir, c);
    if (proj_errno(g->pipe) != 0 || !finite3(r.xyz.x, r.xyz.y, r.xyz.z))
        return false;
    out[0] = r.xyz.x;
    out[1] = r.xyz.y;
    out[2] = r.xyz.z;
    return true;
}

vt_status vt_geodetic_from_enu(vt_geodetic *g, vt_vec3 enu, double *lat_deg, double *lon_deg,
                               double *h_m)
{
    if (!g || !lat_deg || !lon_deg || !h_m)
        return vt__error(VT_EINVAL, "vt_geodetic_from_enu: NULL argument");
    if (!finite3(enu.x, enu.y, enu.z))
        return vt__error(VT_EINVAL, "geodetic: ENU point (%g, %g, %g) is not finite", enu.x, enu.y,
                         enu.z);
    /* PROJ's inverse +proj=cart (Bowring, one step) is good to about a micrometre 10 km up;
     * one refinement through the exact forward direction takes it to nanometres: when g1 =
     * inv(p) lands at fwd(g1) = q instead of p, inv(2p - q) cancels the error to first order. */
    double in[3] = {enu.x, enu.y, enu.z}, r[3], q[3];
    bool ok = run_pipe(g, PJ_INV, in, r) && run_pipe(g, PJ_FWD, r, q);
    if (ok) {
        double in2[3] = {2 * in[0] - q[0], 2 * in[1] - q[1], 2 * in[2] - q[2]};
        ok = run_pipe(g, PJ_INV, in2, r);
    }
    if (!ok)
        return vt__error(VT_ERANGE,
                         "geodetic: PROJ could not convert ENU (%.3f, %.3f, %.3f) m to WGS84: %s",
                         enu.x, enu.y, enu.z, proj_reason(g->ctx));
    *lon_deg = proj_todeg(r[0]);
    *lat_deg = proj_todeg(r[1]);
    *h_m = r[2];
    return VT_OK;
}

vt_status vt_geodetic_to_enu(vt_geodetic *g, double lat_deg, double lon_deg, double h_m,
                             vt_vec3 *enu)
{
    if (!g || !enu)
        return vt__error(VT_EINVAL, "vt_geodetic_to_enu: NULL argument");
    if (!finite3(lat_deg, lon_deg, h_m) || fabs(lat_deg) > 90)
        return vt__error(VT_EINVAL,
                         "geodetic: WGS84 point (%g, %g, %g m) is not finite or its latitude "
                         "is outside -90..90",
                         lat_deg, lon_deg, h_m);
    double in[3] = {proj_torad(lon_deg), proj_torad(lat_deg), h_m}, r[3];
    if (!run_pipe(g, PJ_FWD, in, r))
        return vt__error(VT_ERANGE,
                         "geodetic: PROJ could not convert WGS84 (%.9f, %.9f, %.3f m) to ENU: %s",
                         lat_deg, lon_deg, h_m, proj_reason(g->ctx));
    *enu = (vt_vec3){r[0], r[1], r[2]};
    return VT_OK;
}

void vt_geodetic_free(vt_geodetic *g)
{
    if (!g)
        return;
    if (g->pipe)
        proj_destroy(g->pipe);
    if (g->ctx)
        proj_context_destroy(g->ctx);
    free(g);
}
