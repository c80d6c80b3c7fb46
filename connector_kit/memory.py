"""glibc allocator tuning for processes that parse pages of JSON on several threads.

Called explicitly from a console script's ``main`` (`console.run`), never at import: a library that
imports the kit keeps its allocator as it was.
"""

from __future__ import annotations

import ctypes
import typing as t

_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8
_trim: t.Callable[[int], int] | None = None


def _glibc() -> t.Any:
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc: nothing to tune
        return None
    return libc if hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt") else None


def tune_allocator() -> None:
    """Keep big page buffers out of the heap and the thread arenas few.

    Pages of JSON are 10-20 MB buffers. glibc raises its mmap threshold after freeing the first one,
    and later buffers are carved from the heap, which then cannot shrink: fixing the threshold keeps
    big buffers mapped and unmapped; two arenas keep the worker threads from holding one each.
    """
    global _trim
    libc = _glibc()
    if libc is None:
        return
    libc.mallopt(_M_MMAP_THRESHOLD, 1 << 20)
    libc.mallopt(_M_ARENA_MAX, 2)
    _trim = libc.malloc_trim


def release_free_memory() -> None:
    """Give freed heap pages back to the system after a window (glibc keeps them per arena otherwise).

    Records are freed a window at a time by several threads; without this the tap's resident memory
    stayed about twice what Python had allocated. A no-op unless `tune_allocator` ran.
    """
    if _trim is not None:
        _trim(0)
