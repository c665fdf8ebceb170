"""voxtrack's Python binding: `pip install ./python` (docs/PYTHON.md).

The extension is compiled here by cffi against libvoxtrack (the source tree's build/, the
installed libvoxtrack-dev, or VOXTRACK_INCLUDE_DIR / VOXTRACK_LIBRARY_DIR: see
voxtrack/_build.py). cffi, numpy and setuptools are Debian's (python3-cffi, python3-numpy,
python3-setuptools): in a virtual environment made with --system-site-packages, pip needs
nothing from PyPI.
"""
import os
import re

from setuptools import setup

HERE = os.path.dirname(os.path.abspath(__file__))


def version():
    """The project's version, from the top CMakeLists.txt when built from the tree."""
    cm = os.path.join(HERE, "..", "CMakeLists.txt")
    if os.path.exists(cm):
        m = re.search(r"project\(voxtrack VERSION (\d+\.\d+\.\d+)", open(cm).read())
        if m:
            return m.group(1)
    return "0.1.0"


setup(
    name="voxtrack",
    version=version(),
    description="Multi-camera 3D tracking of small moving objects (a binding of libvoxtrack)",
    packages=["voxtrack"],
    python_requires=">=3.9",
    install_requires=["cffi>=1.15", "numpy>=1.21"],
    cffi_modules=["voxtrack/_build.py:ffi"],
    zip_safe=False,
)
