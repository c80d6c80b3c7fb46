"""What the benchmarks share: `tap-visionone | target-csv-flat` as the real console scripts, and what
a finished child process cost (its own rusage, not the benchmark's)."""

from __future__ import annotations

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


def start_pipeline(
    tap_args: list[str], target_config: Path, *, tap_log: t.IO, target_log: t.IO, state_out: t.IO
) -> tuple[subprocess.Popen, subprocess.Popen]:
    """Start ``tap-visionone <tap_args> | target-csv-flat --config <target_config>``, as Meltano runs them."""
    tap = subprocess.Popen([str(BIN / "tap-visionone"), *tap_args], stdout=subprocess.PIPE, stderr=tap_log)
    target = subprocess.Popen(
        [str(BIN / "target-csv-flat"), "--config", str(target_config)],
        stdin=tap.stdout,
        stdout=state_out,
        stderr=target_log,
    )
    assert tap.stdout is not None
    tap.stdout.close()  # the target holds the only read end: it sees EOF when the tap exits
    return tap, target


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
