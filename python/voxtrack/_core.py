"""The extension module, errors and the small helpers every part shares."""
from __future__ import annotations

import os

import numpy as np

from ._voxtrack_cffi import ffi, lib


class VoxtrackError(Exception):
    """A libvoxtrack call failed. `status` is the status code's name ("EINVAL",
    "EPARSE", ...), `code` its number, and the message is the library's own
    (vt_last_error: what went wrong and where, e.g. a file, line and field)."""

    def __init__(self, code: int, message: str):
        self.code = int(code)
        self.status = ffi.string(lib.vt_status_name(code)).decode()
        super().__init__(message)


def check(code: int) -> None:
    """Raises VoxtrackError for a failed status, with the thread's last error message."""
    if code != 0:
        msg = ffi.string(lib.vt_last_error()).decode("utf-8", "replace")
        lib.vt_clear_error()
        if not msg:
            msg = ffi.string(lib.vt_strerror(code)).decode()
        raise VoxtrackError(code, msg)


def path_bytes(path: str | os.PathLike) -> bytes:
    return os.fsencode(path)


def version() -> str:
    """The library's version, "MAJOR.MINOR.PATCH"."""
    return ffi.string(lib.vt_version()).decode()


def c_view(ptr, n: int, ctype: str, fields: list[tuple[str, str, str]]) -> np.ndarray:
    """A numpy view (no copy) of n C structs at ptr: fields (name, C member, numpy format)
    at the offsets the compiler gave them."""
    size = ffi.sizeof(ctype)
    dt = np.dtype({"names": [f[0] for f in fields],
                   "formats": [f[2] for f in fields],
                   "offsets": [ffi.offsetof(ctype, f[1]) for f in fields],
                   "itemsize": size})
    if n == 0:
        return np.zeros(0, dt)
    return np.frombuffer(ffi.buffer(ptr, n * size), dtype=dt)
