/*
 * src/pose/logs.c - the sensor logs a moving platform records: IMU samples,
 * GNSS position fixes and dual-antenna headings (formats in docs/POSE.md;
 * `voxtrack simulate` writes them as imu_P.csv, gps_P.csv, heading_P.csv).
 *
 * Each log is CSV with a fixed header, times strictly increasing; every error
 * names the file and the line. A GNSS fix is read from its world ENU columns
 * (x, y, z) when they are there, else from latitude, longitude and
 * ellipsoidal height converted through the rig's geodetic origin (PROJ, see
 * voxtrack/geodetic.h): real receivers write the latter, the simulator both.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "pose/pose_internal.h"
#include "voxtrack/geodetic.h"

static vt_status imu_line(const vt__csv *c, void *ctx, void *rec, double *t)
{
    (void)ctx;
    static const char *const names[] = {"t", "gx", "gy", "gz", "ax", "ay", "az"};
    double v[7];
    vt_status st = vt__csv_numbers(c, 7, names, false, v);
    if (st)
        return st;
    vt__imu_sample s = {v[0], vt_v3(v[1], v[2], v[3]), vt_v3(v[4], v[5], v[6])};
    memcpy(rec, &s, sizeof s);
    *t = v[0];
    return VT_OK;
}

vt_status vt__imu_log_parse(const char *text, size_t len, const char *name, vt__imu_sample **out,
                            size_t *count)
{
    return vt__csv_read(text, len, name, "t,gx,gy,gz,ax,ay,az", sizeof **out, imu_line, NULL,
                        (void **)out, count);
}

static vt_status gps_line(const vt__csv *c, void *ctx, void *rec, double *t)
{
    static const char *const names[] = {"t", "lat", "lon", "h", "x", "y", "z"};
    vt_geodetic *g = ctx;
    double v[7];
    vt_status st = vt__csv_numbers(c, 7, names, true, v);
    if (st)
        return st;
    vt__gps_fix f = {v[0], vt_v3(v[4], v[5], v[6])};
    bool enu = !isnan(v[4]) && !isnan(v[5]) && !isnan(v[6]);
    bool geo = !isnan(v[1]) && !isnan(v[2]) && !isnan(v[3]);
    if (!enu && !geo)
        return vt__error(VT_EPARSE, "%s: line %ld: needs x, y, z or lat, lon, h", c->name, c->line);
    if (!enu && !g)
        return vt__error(VT_EPARSE,
                         "%s: line %ld: lat, lon, h without x, y, z need the rig's 'origin' "
                         "to convert them",
                         c->name, c->line);
    if (!enu && (st = vt_geodetic_to_enu(g, v[1], v[2], v[3], &f.p)))
        return vt__error_prefix(st, "%s: line %ld", c->name, c->line);
    memcpy(rec, &f, sizeof f);
    *t = v[0];
    return VT_OK;
}

vt_status vt__gps_log_parse(const char *text, size_t len, const char *name,
                            const vt_pose_origin *origin, vt__gps_fix **out, size_t *count)
{
    vt_geodetic *g = NULL;
    if (origin && origin->set) {
        vt_status st = vt_geodetic_new(origin->lat_deg, origin->lon_deg, origin->h_m, &g);
        if (st)
            return vt__error_prefix(st, "%s", name);
    }
    vt_status st = vt__csv_read(text, len, name, "t,lat,lon,h,x,y,z", sizeof **out, gps_line, g,
                                (void **)out, count);
    vt_geodetic_free(g);
    return st;
}

static vt_status heading_line(const vt__csv *c, void *ctx, void *rec, double *t)
{
    (void)ctx;
    static const char *const names[] = {"t", "heading_deg"};
    double v[2];
    vt_status st = vt__csv_numbers(c, 2, names, false, v);
    if (st)
        return st;
    vt__heading_fix h = {v[0], vt_deg2rad(v[1])};
    memcpy(rec, &h, sizeof h);
    *t = v[0];
    return VT_OK;
}

vt_status vt__heading_log_parse(const char *text, size_t len, const char *name,
                                vt__heading_fix **out, size_t *count)
{
    return vt__csv_read(text, len, name, "t,heading_deg", sizeof **out, heading_line, NULL,
                        (void **)out, count);
}
