"""Builds voxtrack's cffi extension (API mode, out of line) against libvoxtrack.

The declarations below are the part of the public C API (include/voxtrack/*.h)
that the Python package uses. In API mode cffi compiles them against the real
headers: a struct declared with "..." takes its layout from the compiler, and
any field or function declared here that the headers do not have, or have with
another type, fails the build. Nothing here can drift from the C API silently.

Where the library is (first found wins):
  VOXTRACK_INCLUDE_DIR and VOXTRACK_LIBRARY_DIR   set by hand (or by `make test`)
  the source tree around this package             include/ and build/ (a built tree;
                                                  its library is found at run time
                                                  through the extension's rpath)
  pkg-config voxtrack                             the installed library (-dev package
                                                  or `cmake --install`)
"""
import os
import shlex
import subprocess

from cffi import FFI

CDEF = r"""
typedef int... vt_status;
typedef int... vt_target_class;
typedef int... vt_msg_type;
typedef int... vt_frame_format;
typedef int... vt_track_status;

const char *vt_last_error(void);
void vt_clear_error(void);
const char *vt_status_name(vt_status s);
const char *vt_strerror(vt_status s);
const char *vt_version(void);

typedef struct { double x, y, z; } vt_vec3;
typedef struct { double w, x, y, z; } vt_quat;

/* images */
typedef struct {
    int width, height;
    int bits;
    size_t stride;
    void *data;
} vt_image;
void vt_image_free(vt_image *img);

/* rigs */
typedef struct {
    int width, height;
    double fx, fy, cx, cy;
    double dist[5];
    vt_vec3 position;
    vt_quat q;
    ...;
} vt_camera;
typedef struct {
    char id[32];
    int pair;
    int modality;
    int bits;
    vt_camera cam;
    ...;
} vt_rig_camera;
typedef struct {
    bool has_origin;
    double lat_deg, lon_deg, height_m;
    double fps;
    int count;
    vt_rig_camera *cameras;
    char *dir;
    ...;
} vt_rig;
bool vt_camera_world_to_pixel(const vt_camera *cam, vt_vec3 p, double *u, double *v);
vt_status vt_rig_load(const char *path, vt_rig *out);
void vt_rig_free(vt_rig *rig);

/* the pipeline */
typedef struct { int threads; ...; } vt_pipeline_opts;
vt_pipeline_opts vt_pipeline_opts_default(void);
typedef struct {
    int64_t frame;
    double t;
    const vt_image *const *images;
    const double *times;
} vt_frame_set;
typedef struct {
    uint64_t id;
    vt_track_status status;
    vt_vec3 pos, vel;
    double cov[6];
    int cams;
    uint64_t camera_mask;
    int thermal;
    int thermal_hits;
    int hits;
    int misses;
    int age;
    float accel_rms;
    ...;
} vt_track;
typedef struct {
    vt_vec3 pos;
    double cov[6];
    double residual;
    float weight;
    uint64_t cameras;
    int ncameras;
    int nthermal;
    int nrays;
    int first_ray;
    ...;
} vt_detection;
typedef struct {
    bool present;
    double sync_error;
    size_t changes;
    size_t blobs;
    size_t rays;
    ...;
} vt_camera_result;
typedef struct {
    int64_t frame;
    double t;
    const vt_track *tracks;
    const vt_target_class *classes;
    const float *flicker;
    size_t ntracks;
    const vt_detection *detections;
    size_t ndetections;
    size_t changes, blobs, rays, clusters;
    int cameras_live;
    const vt_camera_result *cameras;
    int ncameras;
    double seconds;
    double stage_seconds[4];
    ...;
} vt_pipeline_result;
typedef struct vt_pipeline vt_pipeline;
vt_status vt_pipeline_new(const vt_pipeline_opts *opts, const vt_rig *rig, vt_pipeline **out);
void vt_pipeline_free(vt_pipeline *p);
vt_status vt_pipeline_process(vt_pipeline *p, const vt_frame_set *fs, vt_pipeline_result *res);

typedef struct {
    vt_pipeline_opts opts;
    char *rig;
    char *truth;
    char *tracks;
    char *detections;
    char *alerts_json;
    int64_t max_frames;
    ...;
} vt_run_config;
vt_status vt_run_config_load(const char *path, vt_run_config *cfg);
void vt_run_config_free(vt_run_config *cfg);

/* the stages, for 2D detections as input */
typedef struct {
    vt_vec3 origin;
    vt_vec3 dir;
    float weight;
    float sigma;
    uint16_t camera;
    uint16_t pair;
    uint32_t blob;
} vt_ray;
typedef struct {
    bool present;
    size_t changes;
    size_t blobs;
    float noise;
    const vt_ray *rays;
    const int32_t *area;
    size_t nrays;
    const float *raw;
} vt_camera_rays;
typedef struct { ...; } vt_detection_ray;
typedef struct {
    const vt_detection *detections;
    size_t ndetections;
    const vt_detection_ray *rays;
    size_t nrays;
    size_t rays_cast;
    size_t clusters;
    ...;
} vt_set_detections;
typedef struct {
    const vt_track *tracks;
    const vt_target_class *classes;
    const float *flicker;
    size_t ntracks;
    ...;
} vt_track_output;
typedef struct vt_vote_stage vt_vote_stage;
typedef struct vt_track_stage vt_track_stage;
vt_status vt_vote_stage_new(const vt_pipeline_opts *opts, const vt_rig *rig, vt_vote_stage **out);
void vt_vote_stage_free(vt_vote_stage *v);
vt_status vt_vote_stage_process(vt_vote_stage *v, const vt_camera_rays *cams, vt_set_detections *out);
vt_status vt_track_stage_new(const vt_pipeline_opts *opts, const vt_rig *rig, vt_track_stage **out);
void vt_track_stage_free(vt_track_stage *t);
vt_status vt_track_stage_process(vt_track_stage *t, double time, const vt_set_detections *dets,
                                 vt_track_output *out);
typedef struct {
    int64_t frame;
    double stamp;
    double t;
    double u, v;
    float score;
    float w, h;
    int32_t line;
    char cls[16];
} vt_det2d;
typedef struct { double sigma_px; double box_fraction; } vt_det2d_ray_opts;
vt_det2d_ray_opts vt_det2d_ray_opts_default(void);
bool vt_det2d_ray(const vt_camera *cam, const vt_det2d *d, const vt_det2d_ray_opts *opts,
                  uint16_t camera, uint16_t pair, uint32_t index, vt_ray *out);

/* frame sets from a rig's cameras */
typedef struct { ...; } vt_sync_opts;
typedef struct vt_sync vt_sync;
vt_sync_opts vt_sync_opts_default(void);
vt_status vt_sync_open(const vt_rig *rig, const vt_sync_opts *opts, vt_sync **out);
void vt_sync_free(vt_sync *s);
vt_status vt_sync_next(vt_sync *s, vt_image *images, bool *present, double *times,
                       int64_t *frame, double *t, bool *end);

/* streams */
typedef struct vt_receiver vt_receiver;
typedef struct {
    uint64_t received;
    uint64_t bytes;
    uint64_t lost;
    uint64_t duplicates;
    uint64_t reordered;
    uint64_t garbage;
    uint64_t truncated;
    uint64_t overruns;
    uint64_t reconnects;
    uint64_t restarts;
    ...;
} vt_receiver_stats;
vt_status vt_receiver_open(const char *url, vt_receiver **out);
vt_status vt_receiver_next(vt_receiver *r, int timeout_ms, vt_msg_type *type, const uint8_t **msg,
                           size_t *len, bool *end);
uint64_t vt_receiver_seq(const vt_receiver *r);
int vt_receiver_port(const vt_receiver *r);
void vt_receiver_get_stats(const vt_receiver *r, vt_receiver_stats *out);
void vt_receiver_free(vt_receiver *r);
vt_status vt_wire_to_json(vt_msg_type type, const uint8_t *msg, size_t len, char **json);
void free(void *p);

/* evaluation */
typedef struct {
    double match_dist;
    bool only_confirmed;
    double gospa_c;
    double gospa_p;
    bool record_paths;
    ...;
} vt_eval_opts;
typedef struct {
    int64_t frames, gt, tp, fn, fp, idsw, frag;
    double mota, motp, rmse, detection_rate, false_rate;
    int64_t idtp, idfp, idfn;
    double idf1, idp, idr;
    double gospa, gospa_loc, gospa_missed, gospa_false;
    int64_t truth_objects, tracks_confirmed, mostly_tracked, partially_tracked, mostly_lost;
    int64_t bird_as_drone, bird_tracks;
    ...;
} vt_eval_result;
typedef struct {
    int id; int kind; vt_vec3 pos; double size; const float *snr; int nsnr;
} vt_eval_truth;
typedef struct { uint64_t id; int status; int cls; vt_vec3 pos; } vt_eval_track;
typedef struct vt_eval vt_eval;
vt_eval_opts vt_eval_opts_default(void);
vt_status vt_eval_new(const vt_eval_opts *opts, vt_eval **out);
void vt_eval_free(vt_eval *e);
vt_status vt_eval_frame(vt_eval *e, int64_t frame, const vt_eval_truth *truth, size_t nt,
                        const vt_eval_track *tracks, size_t nk);
vt_status vt_eval_result_get(const vt_eval *e, vt_eval_result *out);
vt_status vt_eval_read_files(vt_eval *e, const char *tracks_path, const char *truth_path);

/* simulation */
typedef struct vt_scenario vt_scenario;
vt_status vt_scenario_preset(const char *name, vt_scenario **out);
vt_status vt_scenario_load(const char *path, vt_scenario **out);
vt_status vt_scenario_set_frames(vt_scenario *s, int64_t frames);
vt_status vt_scenario_set_seed(vt_scenario *s, uint64_t seed);
void vt_scenario_free(vt_scenario *s);
vt_status vt_frame_format_parse(const char *name, vt_frame_format *out);
typedef struct {
    const char *out_dir;
    vt_frame_format format;
    int64_t frames;
    bool override_seed;
    uint64_t seed;
    int threads;
    ...;
} vt_simulate_opts;
typedef struct {
    int64_t frames;
    int cameras;
    int64_t images;
    int64_t dropped;
    uint64_t bytes_written;
    double seconds;
    ...;
} vt_simulate_stats;
vt_simulate_opts vt_simulate_opts_default(void);
vt_status vt_simulate_run(const vt_scenario *s, const vt_simulate_opts *opts,
                          vt_simulate_stats *stats);
"""

HERE = os.path.dirname(os.path.abspath(__file__))
TREE = os.path.dirname(os.path.dirname(HERE))  # the repository, when built from it


def _pkg_config(*args):
    try:
        out = subprocess.run(["pkg-config", *args, "voxtrack"], capture_output=True, text=True,
                             check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return shlex.split(out)


def locate():
    """(include_dirs, library_dirs, rpath): where to build against libvoxtrack."""
    inc, lib = os.environ.get("VOXTRACK_INCLUDE_DIR"), os.environ.get("VOXTRACK_LIBRARY_DIR")
    if inc and lib:
        return [inc], [lib], [lib]
    tree_inc = os.path.join(TREE, "include")
    tree_lib = os.path.join(TREE, "build")
    if os.path.exists(os.path.join(tree_inc, "voxtrack", "voxtrack.h")) and \
            os.path.exists(os.path.join(tree_lib, "libvoxtrack.so")):
        return [tree_inc], [tree_lib], [tree_lib]
    cflags, libs = _pkg_config("--cflags-only-I"), _pkg_config("--libs-only-L")
    if cflags is not None and libs is not None:
        return [f[2:] for f in cflags], [f[2:] for f in libs], []
    raise RuntimeError(
        "voxtrack: libvoxtrack not found: build the tree (make build), install libvoxtrack-dev, "
        "or set VOXTRACK_INCLUDE_DIR and VOXTRACK_LIBRARY_DIR")


def make_ffi():
    inc, lib, rpath = locate()
    ffi = FFI()
    ffi.cdef(CDEF)
    ffi.set_source("voxtrack._voxtrack_cffi", "#include <stdlib.h>\n#include <voxtrack/voxtrack.h>\n",
                   include_dirs=inc, library_dirs=lib, runtime_library_dirs=rpath,
                   libraries=["voxtrack"])
    return ffi


ffi = make_ffi() if __name__ != "__main__" else None

if __name__ == "__main__":  # python3 voxtrack/_build.py: build in place (for development)
    make_ffi().compile(tmpdir=os.path.dirname(HERE), verbose=True)
