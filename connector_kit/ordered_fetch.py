"""Fetch work items on a thread pool and hand their results back in order, bounded in memory."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import NamedTuple, TypeVar

from connector_kit.window_plan import Window

T = TypeVar("T")


class Split(NamedTuple):
    """What a fetch returns instead of a result when its window holds too much for one sequence of
    pages: the consecutive windows to fetch in its place (together exactly the window)."""

    parts: list[Window]


def fetch_in_order(
    windows: Iterable[Window],
    fetch: Callable[[Window], T | Split],
    *,
    max_workers: int,
    stop: threading.Event,
    fatal: tuple[type[BaseException], ...] = (),
    on_split: Callable[[Window, list[Window]], None] | None = None,
) -> Iterator[tuple[Window, T]]:
    """Fetch windows on ``max_workers`` threads and yield their results in window order.

    A fetch may answer `Split`: its window is replaced, in place, by the parts, which are fetched and
    yielded in its stead (``on_split`` is told). The first ``2 * max_workers`` windows of the queue are
    always in flight or done, which bounds memory while keeping every worker busy. A failed window is
    raised when the caller reaches it, after every window before it was yielded, so the bookmark gets
    as far as the data allows; then ``stop`` is set, so the workers still busy with later windows give
    up their remaining requests. A ``fatal`` failure (a refused key: no window can succeed) sets
    ``stop`` at once and is what the caller gets, at whichever window it is.
    """
    ahead = max(1, 2 * max_workers)
    fatal_failure: list[BaseException] = []

    def guarded(window: Window) -> T | Split:
        try:
            return fetch(window)
        except fatal as exc:
            fatal_failure.append(exc)
            stop.set()
            raise

    queue: deque[tuple[Window, Future[T | Split] | None]] = deque()  # in window order
    todo = iter(windows)

    def split_done(index: int) -> bool:
        """Replace the queue's window ``index`` by its parts if its fetch answered `Split`."""
        window, future = queue[index]
        if future is None or not future.done() or future.cancelled() or future.exception() is not None:
            return False
        result = future.result()
        if not isinstance(result, Split):
            return False
        del queue[index]
        for offset, part in enumerate(result.parts):
            queue.insert(index + offset, (part, None))
        if on_split is not None:
            on_split(window, result.parts)
        return True

    def fill() -> None:
        """Start the first ``ahead`` windows of the queue, taking more from ``todo`` as needed."""
        index = 0
        while index < ahead:
            if index == len(queue):
                window = next(todo, None)
                if window is None:
                    return
                queue.append((window, None))
            if split_done(index):
                continue
            window, future = queue[index]
            if future is None:
                queue[index] = (window, pool.submit(guarded, window))
            index += 1

    pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="window")
    try:
        fill()
        while queue:
            window, future = queue[0]
            assert future is not None  # fill() started it
            try:
                future.result()  # a failure is raised here, in window order
            except BaseException:
                if fatal_failure:
                    raise fatal_failure[0] from None
                raise
            if split_done(0):
                fill()
                continue
            queue.popleft()
            fill()
            yield window, future.result()  # type: ignore[misc]  # not a Split: split_done said so
    finally:
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)
