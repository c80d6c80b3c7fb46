"""Unit tests of the sliding-window rate limiter, with a fake clock: no sleeping."""

from __future__ import annotations

import threading

from connector_kit.ratelimit import RateLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_per_second_limit_and_sliding_window() -> None:
    clock = FakeClock()
    limiter = RateLimiter(per_second=3, clock=clock)
    assert [limiter.try_acquire() for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = limiter.try_acquire()
    assert 0.99 <= wait <= 1.0
    clock.now += 0.5
    assert 0.49 <= limiter.try_acquire() <= 0.5
    clock.now += 0.5
    assert limiter.try_acquire() == 0.0


def test_all_three_limits_apply_at_once() -> None:
    clock = FakeClock()
    limiter = RateLimiter(per_second=10, per_minute=4, per_hour=6, clock=clock)
    for _ in range(4):
        assert limiter.try_acquire() == 0.0
    assert 59 <= limiter.try_acquire() <= 60  # the minute limit binds, not the second
    clock.now += 60
    assert limiter.try_acquire() == 0.0
    assert limiter.try_acquire() == 0.0
    wait = limiter.try_acquire()  # six in the hour now: wait for the first to age out
    assert 3539 <= wait <= 3540


def test_zero_means_no_limit() -> None:
    limiter = RateLimiter(per_second=0, per_minute=0, per_hour=0)
    assert not limiter.enabled
    assert all(limiter.acquire() for _ in range(1000))


def test_shared_across_threads_never_exceeds_limit() -> None:
    clock = FakeClock()
    limiter = RateLimiter(per_minute=50, clock=clock)
    granted: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(40):
            if limiter.try_acquire() == 0.0:
                with lock:
                    granted.append(1)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(granted) == 50


def test_acquire_gives_up_when_stopped() -> None:
    clock = FakeClock()
    limiter = RateLimiter(per_hour=1, clock=clock)
    assert limiter.acquire()
    stop = threading.Event()
    stop.set()
    assert limiter.acquire(stop) is False
