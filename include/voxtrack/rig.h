/*
 * voxtrack/rig.h - a camera rig: the calibrated cameras of one installation,
 * where their frames are, and the optional geodetic origin of the world.
 *
 * rig.json is written by `voxtrack simulate` and read by `voxtrack run`:
 *   {"origin": {"lat", "lon", "h"} (optional), "fps": 30,
 *    "cameras": [{"id": "m0", "pair": 0, "modality": "mono"|"thermal",
 *      "width", "height", "fx", "fy", "cx", "cy", "dist": [k1, k2, p1, p2, k3],
 *      "position": [x, y, z], "quaternion": [w, x, y, z],
 *      one of "frames": "m0/%06d.png" | "video": "m0.mkv" | "raw": "m0.raw"
 *        | "gige": {...} | "detections": "m0.csv",
 *      "bits": 8|16 (optional, default 8 mono / 16 thermal),
 *      "timestamps": "m0/timestamps.txt" (optional),
 *      with "detections" only: "clock": {"scale", "offset"} or "fps", "t0",
 *      "pose": {"platform": "p0" | "log": "poses_m0.csv", ...} (optional: a moving camera)}],
 *  "platforms": [{"id": "p0", "imu": "imu_0.csv", "gps": "gps_0.csv", ...}] (optional),
 *  "landmarks": [{"id": "b0", "position": [x, y, z], "sd": 0.02}] (optional)}
 * World: local ENU metres. Quaternion: world_from_camera. Camera frame: x
 * right, y down, z forward. Relative paths resolve against the rig file's
 * folder. Every field is documented in docs/FORMATS.md.
 */
#ifndef VOXTRACK_RIG_H
#define VOXTRACK_RIG_H

#include <stdbool.h>
#include <stddef.h>

#include "voxtrack/camera.h"
#include "voxtrack/export.h"
#include "voxtrack/pose.h"
#include "voxtrack/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum vt_modality { VT_MODALITY_MONO = 0, VT_MODALITY_THERMAL = 1 } vt_modality;

/* Where a camera's frames are stored. */
typedef enum vt_media {
    VT_MEDIA_NONE = 0,      /* in memory only (simulation) */
    VT_MEDIA_FRAMES = 1,    /* one image file per frame, printf pattern with one %d */
    VT_MEDIA_VIDEO = 2,     /* a video file or stream URL read through FFmpeg */
    VT_MEDIA_RAW = 3,       /* concatenated frames: width*height samples, 8 bit or 16 bit LE */
    VT_MEDIA_GIGE = 4,      /* a GigE Vision camera (Aravis); path is its id or IP address */
    VT_MEDIA_DETECTIONS = 5 /* 2D detections of another detector, one file (voxtrack/det2d.h) */
} vt_media;

/* Settings of a GigE Vision camera ("gige": {...} in rig.json, docs/FORMATS.md). */
typedef struct vt_rig_gige {
    char pixel_format[32];   /* "": Mono8 for 8-bit cameras, Mono16 for 16-bit ones */
    double exposure_us;      /* 0: leave the camera's */
    double gain_db;          /* NAN: leave the camera's */
    double fps;              /* 0: the rig's fps */
    char trigger_source[32]; /* "": free running; else TriggerMode On, TriggerSource this */
    bool ptp;                /* enable IEEE 1588 PTP where the camera has it */
    int packet_size;         /* GVSP packet size, bytes; 0: negotiated */
} vt_rig_gige;

/* Settings that change nothing on the camera (gain_db NAN, everything else 0/""). */
VT_API vt_rig_gige vt_rig_gige_default(void);

/* Where a camera's pose comes from. */
typedef enum vt_rig_pose_kind {
    VT_POSE_FIXED = 0,    /* the rig's position and quaternion */
    VT_POSE_PLATFORM = 1, /* a platform's GPS + IMU filter */
    VT_POSE_LOG = 2       /* a pose log */
} vt_rig_pose_kind;

typedef struct vt_rig_camera {
    char id[32];          /* unique within the rig */
    int pair;             /* index of the mono/thermal pair, >= 0 */
    vt_modality modality; /* mono or thermal */
    int bits;             /* sample depth of the frames: 8 or 16 */
    vt_camera cam;        /* intrinsics + pose, vt_camera_init() done */
    vt_media media;
    char *path;       /* frames pattern / video / raw file as written in the rig, or NULL */
    char *timestamps; /* timestamps file as written in the rig, or NULL */
    vt_rig_gige gige; /* VT_MEDIA_GIGE only */
    /*
     * The clock of a camera with detections (read for VT_MEDIA_DETECTIONS only):
     * a detection's time on the rig's clock is clock_scale * x + clock_offset,
     * where x is its camera time in seconds (the file's "t", or its frame's
     * line in the timestamps file) or, without one, its frame number.
     * clock_scale 0 stands for the default: 1 for times, 1 / the rig's fps
     * for frame numbers. rig.json's camera "fps" F and "t0" T set 1 / F and T.
     */
    double clock_scale;
    double clock_offset;
    /*
     * Where the pose comes from (appended; docs/POSE.md, "Moving cameras"):
     * VT_POSE_FIXED, cam's pose; VT_POSE_PLATFORM, the filter of
     * platforms[platform] with this camera at `mount` on its body; VT_POSE_LOG,
     * the pose log pose_log (world_from_camera, or of a body the camera sits on
     * at `mount`), interpolated within pose_max_gap. For a moving camera, cam's
     * pose is its pose as installed, at rest: it gives the platform's starting
     * heading; the pipeline sets the pose of each frame.
     */
    vt_rig_pose_kind pose;
    int platform;        /* index into the rig's platforms, -1 when none */
    char *pose_log;      /* as written in the rig, or NULL */
    double pose_max_gap; /* s */
    vt_pose_mount mount; /* the camera on the body (identity by default) */
} vt_rig_camera;

/* A moving body with an IMU and GNSS (docs/POSE.md): its logs and its filter's settings. */
typedef struct vt_rig_platform {
    char id[32];
    char *imu, *gps, *heading; /* log paths as written in the rig (heading may be NULL) */
    vt_pose_platform_opts opts;
    bool landmarks; /* its mono cameras look for the rig's landmarks (bearing updates) */
} vt_rig_platform;

/* A surveyed landmark (a beacon) that cameras on platforms may sight. */
typedef struct vt_rig_landmark {
    char id[32];
    vt_vec3 position; /* world ENU, m */
    double sd;        /* survey uncertainty per axis, m */
} vt_rig_landmark;

typedef struct vt_rig {
    bool has_origin;
    double lat_deg, lon_deg, height_m; /* geodetic origin of the ENU frame */
    double fps;                        /* nominal frame rate, > 0 */
    int count;                         /* number of cameras */
    vt_rig_camera *cameras;            /* owned */
    char *dir; /* folder of the rig file ("." when built in memory); owned */
    /* Appended: moving platforms and surveyed landmarks (both owned, may be empty). */
    int nplatforms;
    vt_rig_platform *platforms;
    int nlandmarks;
    vt_rig_landmark *landmarks;
} vt_rig;

/* Zeroes *rig and gives it fps 30 and dir ".". */
VT_API void vt_rig_init(vt_rig *rig);

/*
 * Appends a copy of *cam (strings duplicated). Returns VT_ENOMEM, or
 * VT_EINVAL when the id is already used.
 */
VT_API vt_status vt_rig_add(vt_rig *rig, const vt_rig_camera *cam);

/*
 * Reads and validates rig.json. Errors name the file, the camera (index and
 * id) and the field; malformed JSON is reported with line and column. A
 * quaternion whose norm differs from 1 by more than 1e-6 is normalised with
 * a warning on stderr; one with norm < 0.5 is refused.
 */
VT_API vt_status vt_rig_load(const char *path, vt_rig *out);

/*
 * Appends a copy of *pl (paths duplicated). VT_EINVAL when the id is empty,
 * too long or already used; VT_ENOMEM.
 */
VT_API vt_status vt_rig_add_platform(vt_rig *rig, const vt_rig_platform *pl);

/* Appends a landmark; VT_EINVAL when its id is empty, too long or already used. */
VT_API vt_status vt_rig_add_landmark(vt_rig *rig, const vt_rig_landmark *lm);

/* The index of the platform with this id, or -1. */
VT_API int vt_rig_find_platform(const vt_rig *rig, const char *id);

/* True when some camera has a pose source other than its fixed pose. */
VT_API bool vt_rig_has_moving_cameras(const vt_rig *rig);

/* Writes rig.json (atomically: a .tmp file renamed over the target). */
VT_API vt_status vt_rig_save(const vt_rig *rig, const char *path);

/* Frees everything the rig owns and zeroes it. Accepts a zeroed rig. */
VT_API void vt_rig_free(vt_rig *rig);

/* The index of the camera with this id, or -1. */
VT_API int vt_rig_find(const vt_rig *rig, const char *id);

/*
 * Resolves a path of the rig (camera path or timestamps) against rig->dir
 * into buf. Absolute paths and URLs ("scheme://") are copied as they are.
 * Returns VT_ERANGE when buf is too small.
 */
VT_API vt_status vt_rig_resolve(const vt_rig *rig, const char *path, char *buf, size_t size);

#ifdef __cplusplus
}
#endif

#endif
