"""Rendering scenarios into datasets, as `voxtrack simulate` does (docs/SCENARIO.md)."""
from __future__ import annotations

import os
from typing import Optional

from ._core import check, ffi, lib, path_bytes


def simulate(out_dir: str | os.PathLike, *, preset: Optional[str] = "small",
             scenario: Optional[str | os.PathLike] = None, frames: int = 0,
             seed: Optional[int] = None, format: str = "raw", threads: int = 0) -> dict:
    """Renders a preset (default "small") or a scenario file into out_dir: frames, rig.json,
    config.json and truth.jsonl. frames > 0 renders that many instead of the scenario's.
    Returns the figures of the run (frames, cameras, images, dropped, bytes_written, seconds)."""
    sc = ffi.new("vt_scenario **")
    if scenario is not None:
        check(lib.vt_scenario_load(path_bytes(scenario), sc))
    else:
        check(lib.vt_scenario_preset(preset.encode(), sc))
    try:
        if seed is not None:
            check(lib.vt_scenario_set_seed(sc[0], seed))
        opts = ffi.new("vt_simulate_opts *", lib.vt_simulate_opts_default())
        keep = ffi.new("char[]", path_bytes(out_dir))
        opts.out_dir = keep
        fmt = ffi.new("vt_frame_format *")
        check(lib.vt_frame_format_parse(format.encode(), fmt))
        opts.format = fmt[0]
        opts.frames = frames
        opts.threads = threads
        st = ffi.new("vt_simulate_stats *")
        check(lib.vt_simulate_run(sc[0], opts, st))
        return {k: getattr(st, k) for k in ("frames", "cameras", "images", "dropped",
                                            "bytes_written", "seconds")}
    finally:
        lib.vt_scenario_free(sc[0])
