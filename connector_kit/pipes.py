"""Wider pipes between a tap and its target (Linux).

Why: a pipe holds 64 KiB by default. A tap writes a window's records in bursts of 256 KiB and the
target reads them a line at a time, so with 64 KiB between them each side kept stopping for the
other: `tap-visionone | target-csv-flat` on 96,000 detections ran at 9,200 records/s, and at 12,600 to
13,500 with 1 MiB pipes (benchmarks/tap_replay.py, 2 cores). Either end of a pipe may resize it; every
console script widens the pipes on its standard input and output, so a pipeline gains whichever
side is ours (Meltano relays between tap and target through two pipes: each gets widened by its
plugin). 1 MiB is the most an unprivileged process may ask for by default
(``/proc/sys/fs/pipe-max-size``); a refusal (a lower limit, the user's pipe memory used up) leaves
the pipe as it was.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat

PIPE_SIZE = 1 << 20


def widen(fd: int, size: int = PIPE_SIZE) -> int | None:
    """Let the pipe on ``fd`` hold ``size`` bytes; its new size, or None if ``fd`` is no pipe or it cannot."""
    setter = getattr(fcntl, "F_SETPIPE_SZ", None)  # Linux only
    if setter is None:
        return None
    with contextlib.suppress(OSError):
        if stat.S_ISFIFO(os.fstat(fd).st_mode):
            return fcntl.fcntl(fd, setter, size)
    return None


def widen_standard_pipes() -> None:
    """Widen standard input and output where they are pipes."""
    for fd in (0, 1):
        widen(fd)
