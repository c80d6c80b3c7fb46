"""Fetch work items on a thread pool and hand their results back in order, bounded in memory."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from connector_kit.window_plan import Window

T = TypeVar("T")


def fetch_in_order(
    windows: list[Window],
    fetch: Callable[[Window], T],
    *,
    max_workers: int,
    stop: threading.Event,
    fatal: tuple[type[BaseException], ...] = (),
) -> Iterator[tuple[Window, T]]:
    """Fetch windows on ``max_workers`` threads and yield their results in window order.

    At most ``2 * max_workers`` windows are in flight or waiting, which bounds memory while
    keeping every worker busy. A failed window is raised when the caller reaches it, after every
    window before it was yielded, so the bookmark gets as far as the data allows; then ``stop`` is
    set, so the workers still busy with later windows give up their remaining requests. A
    ``fatal`` failure (a refused key: no window can succeed) sets ``stop`` at once and is what the
    caller gets, at whichever window it is.
    """
    ahead = max(1, 2 * max_workers)
    fatal_failure: list[BaseException] = []

    def guarded(window: Window) -> T:
        try:
            return fetch(window)
        except fatal as exc:
            fatal_failure.append(exc)
            stop.set()
            raise

    pending: deque[tuple[Window, Future[T]]] = deque()
    todo = iter(windows)
    pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="window")
    try:
        for window in todo:
            pending.append((window, pool.submit(guarded, window)))
            if len(pending) >= ahead:
                break
        while pending:
            window, future = pending.popleft()
            try:
                result = future.result()  # a failure is raised here, in window order
            except BaseException:
                if fatal_failure:
                    raise fatal_failure[0] from None
                raise
            next_window = next(todo, None)
            if next_window is not None:
                pending.append((next_window, pool.submit(guarded, next_window)))
            yield window, result
    finally:
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)
