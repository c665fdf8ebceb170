/*
 * src/stream/sapient_task.c - the Tasks a fusion node sends to a voxtrack
 * SAPIENT node: what is accepted, what it changes, and the region filter.
 *
 * The node runs one task at a time (its registration says concurrent_tasks
 * 1). A task with control START (or none) replaces the one in effect, with
 * its regions and its request:
 *
 *   request Start or none   detection reports on (the default)
 *   request Stop            detection reports off (status reports go on)
 *   request Reset           the task ends: no regions, reports on
 *   request Heartbeat       a StatusReport now (the task in effect stays)
 *   request Registration    the Registration again (the task in effect stays)
 *
 * Regions are polygons of WGS84 longitude/latitude (a LocationList of at
 * least 3 corners, degrees or radians; heights are not used): with areas of
 * interest only tracks inside one of them are reported; tracks inside an
 * area to ignore are not. A track is inside by the even-odd rule on its
 * longitude and latitude taken as plane coordinates, which is exact to well
 * under a metre for regions of a few kilometres away from the poles and the
 * antimeridian. CONTROL_STOP or PAUSE of the task in effect ends it.
 * task_end_time ends it when it passes (TaskAck COMPLETED); a task that
 * starts in the future, any other command, range-bearing areas, other region
 * types and class filters are refused with a TaskAck REJECTED whose reasons
 * say why. Every Task gets one TaskAck, queued under the same lock as the
 * state it changed (see sapient_internal.h for why that orders it).
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/internal.h"
#include "stream/sapient_internal.h"

enum { MAX_REASONS = 4 };

typedef struct reasons {
    char text[MAX_REASONS][256];
    int n;
} reasons;

static void reason(reasons *r, const char *fmt, ...) VT__PRINTF(2, 3);
static void reason(reasons *r, const char *fmt, ...)
{
    if (r->n == MAX_REASONS)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->text[r->n++], sizeof r->text[0], fmt, ap);
    va_end(ap);
}

bool vt__sapient_task_allows(const vt__sapient_task *t, double lat, double lon)
{
    if (!t->active)
        return true;
    bool any_aoi = false, in_aoi = false;
    for (int i = 0; i < t->nregions; i++) {
        const vt__sapient_region *g = &t->regions[i];
        bool in = false;
        for (int a = 0, b = g->n - 1; a < g->n; b = a++)
            if ((g->lat[a] > lat) != (g->lat[b] > lat) &&
                lon < (g->lon[b] - g->lon[a]) * (lat - g->lat[a]) / (g->lat[b] - g->lat[a]) +
                          g->lon[a])
                in = !in;
        if (g->type == sapient_Task_RegionType_REGION_TYPE_IGNORE && in)
            return false;
        if (g->type == sapient_Task_RegionType_REGION_TYPE_AREA_OF_INTEREST) {
            any_aoi = true;
            in_aoi = in_aoi || in;
        }
    }
    return !any_aoi || in_aoi;
}

static double ts_unix(const sapient_Timestamp *t)
{
    return (double)t->seconds + t->nanos * 1e-9;
}

/* Reads region i of the task into *g; false (with a reason) when voxtrack cannot use it. */
static bool read_region(const sapient_Task_Region *in, int i, vt__sapient_region *g, reasons *why)
{
    char where[48];
    snprintf(where, sizeof where, "region %d", i + 1);
    if (!in->has_type || (in->type != sapient_Task_RegionType_REGION_TYPE_AREA_OF_INTEREST &&
                          in->type != sapient_Task_RegionType_REGION_TYPE_IGNORE)) {
        reason(why, "%s: only areas of interest and areas to ignore are supported", where);
        return false;
    }
    if (in->class_filter_count > 0) {
        reason(why, "%s: class filters are not supported", where);
        return false;
    }
    if (!in->has_region_area ||
        in->region_area.which_fov_oneof != sapient_LocationOrRangeBearing_location_list_tag) {
        reason(why, "%s: the area must be a location list (range-bearing is not supported)", where);
        return false;
    }
    const sapient_LocationList *ll = &in->region_area.fov_oneof.location_list;
    if (ll->locations_count < 3) {
        reason(why, "%s: an area needs at least 3 locations", where);
        return false;
    }
    g->type = in->type;
    g->n = (int)ll->locations_count;
    for (int k = 0; k < g->n; k++) {
        const sapient_Location *l = &ll->locations[k];
        int cs = l->has_coordinate_system ? (int)l->coordinate_system : 0;
        double f = cs == sapient_LocationCoordinateSystem_LOCATION_COORDINATE_SYSTEM_LAT_LNG_RAD_M
                       ? vt_rad2deg(1.0)
                       : 1.0;
        if (cs != sapient_LocationCoordinateSystem_LOCATION_COORDINATE_SYSTEM_LAT_LNG_DEG_M &&
            f == 1.0) {
            reason(why, "%s: locations must be latitude/longitude (degrees or radians)", where);
            return false;
        }
        if (!l->has_x || !l->has_y || !isfinite(l->x) || !isfinite(l->y) || fabs(l->y * f) > 90 ||
            fabs(l->x * f) > 180) {
            reason(why, "%s: a location without a valid longitude (x) and latitude (y)", where);
            return false;
        }
        g->lon[k] = l->x * f;
        g->lat[k] = l->y * f;
    }
    return true;
}

static void ack(vt_sapient *s, const char *id, int status, const reasons *why)
{
    if (status == sapient_TaskAck_TaskStatus_TASK_STATUS_REJECTED)
        s->st.tasks_rejected++;
    vt__sapient_queue_task_ack(s, id, status, why->text, why->n);
}

static void end_task(vt_sapient *s)
{
    memset(&s->task, 0, sizeof s->task);
    s->task.reporting = true;
}

void vt__sapient_task_handle(vt_sapient *s, const sapient_Task *t)
{
    reasons why = {.n = 0};
    const int accepted = sapient_TaskAck_TaskStatus_TASK_STATUS_ACCEPTED;
    const int rejected = sapient_TaskAck_TaskStatus_TASK_STATUS_REJECTED;
    s->st.tasks++;
    if (!t->has_task_id || !t->task_id[0]) {
        reason(&why, "task_id is missing");
        ack(s, "", rejected, &why);
        return;
    }
    int control = t->has_control ? (int)t->control : sapient_Task_Control_CONTROL_START;
    if (control == sapient_Task_Control_CONTROL_STOP ||
        control == sapient_Task_Control_CONTROL_PAUSE) {
        if (!s->task.active || strcmp(s->task.id, t->task_id) != 0) {
            reason(&why, "task %s is not in effect", t->task_id);
            ack(s, t->task_id, rejected, &why);
            return;
        }
        end_task(s);
        ack(s, t->task_id, accepted, &why);
        s->status_due = true;
        return;
    }
    if (control != sapient_Task_Control_CONTROL_START) {
        reason(&why, "unknown control");
        ack(s, t->task_id, rejected, &why);
        return;
    }
    double now = vt__sapient_unix_now();
    if (t->has_task_start_time && ts_unix(&t->task_start_time) > now + 1.0)
        reason(&why, "tasks that start in the future are not supported");
    if (t->has_task_end_time && ts_unix(&t->task_end_time) <= now)
        reason(&why, "task_end_time has passed");
    const char *request = NULL;
    if (t->has_command) {
        if (t->command.which_command != sapient_Task_Command_request_tag)
            reason(&why, "only request commands are supported (Start, Stop, Heartbeat, "
                         "Registration, Reset)");
        else
            request = t->command.command.request;
    }
    bool start = !request || strcmp(request, "Start") == 0,
         stop = request && strcmp(request, "Stop") == 0,
         reset = request && strcmp(request, "Reset") == 0,
         heartbeat = request && strcmp(request, "Heartbeat") == 0,
         registration = request && strcmp(request, "Registration") == 0;
    if (request && !start && !stop && !reset && !heartbeat && !registration)
        reason(&why, "unknown request '%s' (Start, Stop, Heartbeat, Registration, Reset)", request);
    vt__sapient_task next = {.active = true, .reporting = !stop};
    for (int i = 0; i < (int)t->region_count && why.n == 0; i++)
        if (read_region(&t->region[i], i, &next.regions[next.nregions], &why))
            next.nregions++;
    if ((heartbeat || registration) && t->region_count > 0)
        reason(&why, "a %s request takes no regions", request);
    if (why.n > 0) {
        ack(s, t->task_id, rejected, &why);
        return;
    }
    if (heartbeat || registration) { /* one-off actions: the task in effect stays */
        ack(s, t->task_id, accepted, &why);
        if (heartbeat) {
            vt__sapient_queue_status(s, false, false);
        } else {
            vt__sapient_begin(s, sapient_SapientMessage_registration_tag, now);
            vt__sapient_build_registration(s);
            vt__sapient_queue(s);
        }
        return;
    }
    if (reset) {
        end_task(s);
    } else {
        vt__sapient_copy(next.id, sizeof next.id, t->task_id);
        next.end_unix = t->has_task_end_time ? ts_unix(&t->task_end_time) : 0;
        s->task = next;
    }
    ack(s, t->task_id, accepted, &why);
    s->status_due = true;
}

void vt__sapient_task_expire(vt_sapient *s, double unix_now)
{
    if (!s->task.active || s->task.end_unix <= 0 || unix_now < s->task.end_unix)
        return;
    char id[VT__SAPIENT_ID];
    vt__sapient_copy(id, sizeof id, s->task.id);
    end_task(s);
    reasons why = {.n = 0};
    reason(&why, "task_end_time reached");
    ack(s, id, sapient_TaskAck_TaskStatus_TASK_STATUS_COMPLETED, &why);
    s->status_due = true;
}
