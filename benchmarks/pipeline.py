"""What the benchmarks share: `tap-visionone | target-csv-flat` as the real console scripts, and what
a finished child process cost (its own rusage, not the benchmark's)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import typing as t
from pathlib import Path

BIN = Path(sys.executable).parent


class ChildUsage(t.NamedTuple):
    cpu_s: float  # user + system
    peak_kib: int  # ru_maxrss


def wait_child(proc: subprocess.Popen) -> ChildUsage:
    """Reap ``proc`` with wait4 (setting its returncode) and return its CPU seconds and peak RSS."""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return ChildUsage(usage.ru_utime + usage.ru_stime, usage.ru_maxrss)


@contextlib.contextmanager
def running_pipeline(
    tap_args: list[str], target_config: Path, *, tap_log: Path, target_log: Path, state_out: Path
) -> t.Iterator[tuple[subprocess.Popen, subprocess.Popen]]:
    """``tap-visionone <tap_args> | target-csv-flat --config <target_config>``, as Meltano runs them,
    with each one's standard error in its log file and the target's STATE lines in ``state_out``
    (the files stay open while the pipeline runs)."""
    with tap_log.open("wb") as tap_err, target_log.open("wb") as target_err, state_out.open("wb") as states:
        tap = subprocess.Popen(
            [str(BIN / "tap-visionone"), *tap_args], stdout=subprocess.PIPE, stderr=tap_err
        )
        target = subprocess.Popen(
            [str(BIN / "target-csv-flat"), "--config", str(target_config)],
            stdin=tap.stdout,
            stdout=states,
            stderr=target_err,
        )
        assert tap.stdout is not None
        tap.stdout.close()  # the target holds the only read end: it sees EOF when the tap exits
        yield tap, target


def started(
    proc: subprocess.Popen, address: t.Callable[[], str | None], what: str, log: Path, seconds: float
) -> str:
    """Wait until a server started as ``proc`` tells its ``address`` (None while not yet); exit with its
    log when it dies or takes longer than ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and proc.poll() is None:
        found = address()
        if found:
            return found
        time.sleep(0.1)
    proc.kill()
    sys.exit(f"{what} did not start:\n{log.read_text()}")
