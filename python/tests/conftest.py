"""Test set-up: the binding built from this tree against the tree's build of libvoxtrack
(VOXTRACK_BUILD_DIR, default ../build), into a scratch folder, so the source tree gets no
build output; and a small simulated scene with the CLI's own run of it."""
import os
import shutil
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
TREE = os.path.dirname(os.path.dirname(HERE))
BUILD = os.environ.get("VOXTRACK_BUILD_DIR", os.path.join(TREE, "build"))
CLI = os.environ.get("VOXTRACK_CLI", os.path.join(BUILD, "voxtrack"))
SCRATCH = os.environ.get("VOXTRACK_TEST_TMP", os.path.join(BUILD, "python-tests"))


def _build_binding():
    if not os.path.exists(os.path.join(BUILD, "libvoxtrack.so")):
        pytest.exit(f"no libvoxtrack.so in {BUILD}: build the tree first (make build)", 2)
    dst = os.path.join(SCRATCH, "pkg")
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(os.path.join(TREE, "python", "voxtrack"), os.path.join(dst, "voxtrack"),
                    ignore=shutil.ignore_patterns("*.so", "*.o", "*.c", "__pycache__"))
    env = dict(os.environ, VOXTRACK_INCLUDE_DIR=os.path.join(TREE, "include"),
               VOXTRACK_LIBRARY_DIR=BUILD)
    r = subprocess.run([sys.executable, os.path.join(dst, "voxtrack", "_build.py")], cwd=dst,
                       env=env, capture_output=True, text=True)
    if r.returncode != 0:
        pytest.exit(f"building the binding failed:\n{r.stdout}\n{r.stderr}", 2)
    sys.path.insert(0, dst)
    return dst


PKG = _build_binding()  # the folder the binding was built into (on sys.path)


@pytest.fixture(scope="session")
def cli():
    return CLI


@pytest.fixture(scope="session")
def scene():
    """A small scene (40 frame sets, raw frames) and the CLI's tracks.jsonl of it."""
    import voxtrack
    d = os.path.join(SCRATCH, "scene")
    shutil.rmtree(d, ignore_errors=True)
    voxtrack.simulate(d, preset="small", frames=40, format="raw")
    subprocess.run([CLI, "run", os.path.join(d, "config.json"), "--quiet", "--no-eval",
                    "--tracks", os.path.join(d, "cli_tracks.jsonl")], check=True,
                   stdout=subprocess.DEVNULL)
    return d
