"""The Python binding against the library and the CLI: the same tracks as `voxtrack run`,
frames handed over without a copy, detections as input, streams, evaluation, errors."""
import json
import os
import re
import shutil
import subprocess
import sys
import venv

import numpy as np
import pytest

import voxtrack

LINE = ('{"t": %.6f, "frame": %d, "id": %d, "status": "%s", "class": "%s", '
        '"pos": [%.4f, %.4f, %.4f], "vel": [%.4f, %.4f, %.4f], '
        '"cov": [%.6g, %.6g, %.6g, %.6g, %.6g, %.6g], "cams": %d, "accel_rms": %.2f, '
        '"flicker": %.3f}')


def as_line(k):
    """A track row written as `voxtrack run` writes it (apps/voxtrack/track_job.c)."""
    return LINE % ((k["t"], k["frame"], k["id"], k["status"], k["cls"]) + tuple(k["pos"]) +
                   tuple(k["vel"]) + tuple(k["cov"]) + (k["cams"], k["accel_rms"], k["flicker"]))


def run_python(config):
    p = voxtrack.Pipeline(config)
    results = []
    for fs in voxtrack.FrameSets(p.rig):
        r = p.process(fs.frames, fs.t, frame=fs.frame, times=fs.times)
        for i, a in enumerate(fs.frames):  # the library read the sync's own buffers
            assert p.last_frame_addresses[i] == (None if a is None else
                                                 a.__array_interface__["data"][0])
        results.append(r)
    return p, results


def test_the_version_is_the_cli_s(cli):
    out = subprocess.run([cli, "--version"], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["voxtrack", voxtrack.version()]


def test_tracks_equal_the_cli_tracks_jsonl_line_for_line(scene):
    p, results = run_python(os.path.join(scene, "config.json"))
    mine = [as_line(k) for r in results for k in r.tracks]
    # The binding does not expose the thermal fusion members the CLI appends (docs/FUSION.md).
    cli = [re.sub(r', "thermal_observed".*}$', "}", line)
           for line in open(os.path.join(scene, "cli_tracks.jsonl")).read().splitlines()]
    assert len(results) == 40
    assert sum(1 for r in results for k in r.tracks if k["status"] == "confirmed") > 20
    assert mine == cli
    assert p.copies == 0
    thermal = [c.index for c in p.rig.cameras if c.bits == 16]
    assert thermal, "the small scene has 16-bit thermal cameras: uint16 frames were fed"


def test_frames_are_read_in_place_and_copied_only_when_they_must_be(scene):
    p = voxtrack.Pipeline(os.path.join(scene, "config.json"))
    cams = p.rig.cameras
    big = [np.zeros((c.height, c.width + 16), np.uint8 if c.bits == 8 else np.uint16)
           for c in cams]
    crops = [b[:, 8:8 + c.width] for b, c in zip(big, cams)]  # row-strided views
    p.process(crops, 0.0)
    assert p.copies == 0
    for a, addr in zip(crops, p.last_frame_addresses):
        assert addr == a.__array_interface__["data"][0]
        assert not a.flags["C_CONTIGUOUS"]
    # A transposed array cannot be read in place: one copy, counted, same pixels.
    t = [np.ascontiguousarray(a.T).T for a in crops]
    p.process(t, 1 / 30)
    assert p.copies == len(t)


def test_bad_input_raises_with_the_library_s_message(scene, tmp_path):
    with pytest.raises(voxtrack.VoxtrackError) as e:
        voxtrack.Pipeline(tmp_path / "missing.json")
    assert e.value.status in ("ENOENT", "EIO") and "missing.json" in str(e.value)
    bad = tmp_path / "bad.json"
    bad.write_text('{"rig": "rig.json", "volume": {"min": [0, 0, 0], "max": [1, 1, 1]}, "colour": 1}')
    with pytest.raises(voxtrack.VoxtrackError) as e:
        voxtrack.Pipeline(bad)
    assert "colour" in str(e.value)
    p = voxtrack.Pipeline(os.path.join(scene, "config.json"))
    cams = p.rig.cameras
    frames = [np.zeros((c.height, c.width), np.uint8 if c.bits == 8 else np.uint16) for c in cams]
    frames[1] = np.zeros((10, 10), frames[1].dtype)  # the wrong size for camera t0
    with pytest.raises(voxtrack.VoxtrackError) as e:
        p.process(frames, 0.0)
    assert cams[1].id in str(e.value)
    with pytest.raises(ValueError):
        p.process(frames[:2], 0.0)
    with pytest.raises(ValueError):
        p.process([np.zeros((2, 2, 2), np.uint8)] * len(cams), 0.0)


def test_detections_of_another_detector_are_tracked_like_blobs(scene):
    """The truth's drones projected into every camera, as a perfect 2D detector would
    report them, become confirmed tracks on the truth."""
    truth = voxtrack.read_truth(os.path.join(scene, "truth.jsonl"))
    tr = voxtrack.DetectionTracker(os.path.join(scene, "config.json"))
    rig = tr.rig
    tracks = []
    for f in range(40):
        now = truth[(truth["frame"] == f) & (truth["kind"] == "drone")]
        dets = []
        for c in rig.cameras:
            uv = rig.project(c.index, now["pos"])
            ok = (~np.isnan(uv[:, 0]) & (uv[:, 0] >= 0) & (uv[:, 0] < c.width - 1) &
                  (uv[:, 1] >= 0) & (uv[:, 1] < c.height - 1))
            dets.append(uv[ok])
        tracks.append(tr.process(dets, f / rig.fps, frame=f).tracks)
    tracks = np.concatenate(tracks)
    m = voxtrack.evaluate(tracks, truth)
    assert m["detection_rate"] > 0.7, m
    assert m["false_rate"] < 0.05, m
    with pytest.raises(ValueError):
        tr.process([np.zeros((1, 4))] * rig.count, 41 / rig.fps)


def test_evaluate_gives_the_figures_of_voxtrack_eval(scene, cli):
    tracks, truth = os.path.join(scene, "cli_tracks.jsonl"), os.path.join(scene, "truth.jsonl")
    out = subprocess.run([cli, "eval", tracks, truth, "--json", "--quiet"], capture_output=True,
                         text=True, check=True).stdout
    want = json.loads(out)
    got = voxtrack.evaluate(tracks, truth)
    from_arrays = voxtrack.evaluate(voxtrack.read_tracks(tracks), voxtrack.read_truth(truth))
    for k in ("mota", "idf1", "detection_rate", "false_rate", "gospa", "tp", "fp", "fn", "idsw"):
        w = want.get(k, want.get("metrics", {}).get(k))
        assert w is not None, f"voxtrack eval --json has no {k}: {want}"
        assert got[k] == pytest.approx(w, abs=1e-4), k
        assert from_arrays[k] == pytest.approx(got[k], abs=1e-9), k


def test_listen_decodes_a_stream_the_cli_wrote(scene, cli, tmp_path):
    log = tmp_path / "stream.bin"
    subprocess.run([cli, "run", os.path.join(scene, "config.json"), "--quiet", "--no-eval",
                    "--frames", "12", "--tracks", str(tmp_path / "t.jsonl"),
                    "--stream", f"file://{log}"], check=True, stdout=subprocess.DEVNULL)
    msgs = list(voxtrack.listen(f"file://{log}"))
    batches = [m for m in msgs if m["type"] == "TrackBatch"]
    assert len(batches) == 12
    assert [m["seq"] for m in msgs] == list(range(len(msgs)))
    lines = [json.loads(l) for l in open(tmp_path / "t.jsonl")]
    ids = sorted({(r["frame"], r["id"]) for r in lines})
    got = sorted({(b["msg"]["frame"], t["id"]) for b in batches for t in b["msg"].get("tracks", [])})
    assert got == ids
    with pytest.raises(voxtrack.VoxtrackError) as e:
        voxtrack.Receiver("udp://nowhere")
    assert "nowhere" in str(e.value)


def test_pip_installs_the_package_into_a_venv_with_debian_s_packages(tmp_path):
    """`pip install ./python` in a venv made with --system-site-packages: no PyPI needed."""
    src = tmp_path / "python"
    shutil.copytree(os.path.join(os.path.dirname(__file__), ".."), src,
                    ignore=shutil.ignore_patterns("*.so", "*.o", "_voxtrack_cffi.c", "__pycache__",
                                                  "build", "*.egg-info"))
    # Debian's pip (python3-pip) serves the venv through its system site packages: no ensurepip.
    venv.create(tmp_path / "venv", system_site_packages=True, with_pip=False)
    py = str(tmp_path / "venv" / "bin" / "python")
    from conftest import BUILD, TREE
    env = dict(os.environ, VOXTRACK_INCLUDE_DIR=os.path.join(TREE, "include"),
               VOXTRACK_LIBRARY_DIR=BUILD, PIP_NO_INDEX="1", PYTHONPATH="")
    r = subprocess.run([py, "-m", "pip", "install", "--no-deps", "-q", str(src)], env=env,
                       capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    r = subprocess.run([py, "-c", "import voxtrack; print(voxtrack.version(), voxtrack.__file__)"],
                       env=env, capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[0] == voxtrack.version()
    assert str(tmp_path / "venv") in r.stdout


def test_the_example_tracks_the_small_scene_and_plots_it(tmp_path):
    pytest.importorskip("matplotlib")
    ex = os.path.join(os.path.dirname(__file__), "..", "examples", "track_small.py")
    from conftest import PKG
    env = dict(os.environ, PYTHONPATH=PKG)
    r = subprocess.run([sys.executable, ex, "--out", str(tmp_path), "--frames", "30"],
                       capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "detection rate" in r.stdout
    png = tmp_path / "tracks.png"
    assert png.stat().st_size > 10000 and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    tracks = np.load(tmp_path / "tracks.npy")
    assert tracks.dtype == voxtrack.TRACK_DTYPE and (tracks["status"] == "confirmed").any()
