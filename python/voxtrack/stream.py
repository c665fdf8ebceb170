"""Reading the streams that `voxtrack run --stream URL` publishes (what `voxtrack listen`
prints): udp://, tcp://, shm:// and file:// URLs (docs/TRANSPORTS.md)."""
from __future__ import annotations

import json
from typing import Iterator, Optional

from ._core import check, ffi, lib


class Receiver:
    """A stream receiver (transport.h). Each message comes as a dict:
    {"type": "TrackBatch", "seq": 12, "msg": {...the message as JSON...}}.

    >>> with Receiver("udp://127.0.0.1:5000") as r:
    ...     for m in r.messages(timeout=1.0):
    ...         print(m["type"], m["msg"]["frame"])
    """

    def __init__(self, url: str):
        self.url = url
        self._r = ffi.new("vt_receiver **")
        check(lib.vt_receiver_open(url.encode(), self._r))

    @property
    def port(self) -> int:
        """The local port of a UDP receiver (the ephemeral one for port 0)."""
        return lib.vt_receiver_port(self._r[0])

    def next(self, timeout: Optional[float] = None) -> Optional[dict]:
        """The next message, or None after `timeout` seconds (None: wait for ever) or at the
        end of a file. Transport trouble (lost, duplicate, garbage) is counted in stats()."""
        t, m = ffi.new("vt_msg_type *"), ffi.new("const uint8_t **")
        n, end = ffi.new("size_t *"), ffi.new("bool *")
        ms = -1 if timeout is None else max(0, int(timeout * 1e3))
        check(lib.vt_receiver_next(self._r[0], ms, t, m, n, end))
        if t[0] == 0:
            return None
        js = ffi.new("char **")
        check(lib.vt_wire_to_json(t[0], m[0], n[0], js))
        try:
            msg = json.loads(ffi.string(js[0]).decode())
        finally:
            lib.free(js[0])
        return {"type": msg.get("type"), "seq": lib.vt_receiver_seq(self._r[0]), "msg": msg}

    def messages(self, timeout: Optional[float] = None, count: Optional[int] = None) -> Iterator[dict]:
        """Messages until one does not come within `timeout`, a file ends, or `count` came."""
        got = 0
        while count is None or got < count:
            m = self.next(timeout)
            if m is None:
                return
            got += 1
            yield m

    def stats(self) -> dict:
        st = ffi.new("vt_receiver_stats *")
        lib.vt_receiver_get_stats(self._r[0], st)
        return {k: getattr(st, k) for k in ("received", "bytes", "lost", "duplicates", "reordered",
                                            "garbage", "truncated", "overruns", "reconnects",
                                            "restarts")}

    def close(self) -> None:
        if getattr(self, "_r", None) is not None and self._r[0] != ffi.NULL:
            lib.vt_receiver_free(self._r[0])
            self._r[0] = ffi.NULL

    def __del__(self):
        self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def listen(url: str, timeout: Optional[float] = None, count: Optional[int] = None) -> Iterator[dict]:
    """`voxtrack listen URL` in Python: the messages of a stream, as dicts (see Receiver)."""
    with Receiver(url) as r:
        yield from r.messages(timeout, count)
