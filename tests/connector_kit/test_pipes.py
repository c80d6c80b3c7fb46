"""Console scripts widen the pipes on their standard input and output (Linux)."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

import pytest

from connector_kit.pipes import PIPE_SIZE, widen

pytestmark = pytest.mark.skipif(not hasattr(fcntl, "F_GETPIPE_SZ"), reason="pipe sizes are Linux's")
BIN = Path(sys.executable).parent


def test_widen_a_pipe_and_leave_anything_else_alone(tmp_path: Path) -> None:
    read, write = os.pipe()
    try:
        assert fcntl.fcntl(write, fcntl.F_GETPIPE_SZ) < PIPE_SIZE  # 64 KiB by default
        assert widen(write) == PIPE_SIZE
        assert fcntl.fcntl(read, fcntl.F_GETPIPE_SZ) == PIPE_SIZE  # one buffer, both ends
    finally:
        os.close(read)
        os.close(write)
    with (tmp_path / "file").open("w") as handle:
        assert widen(handle.fileno()) is None
    assert widen(10_000) is None  # not open


def test_a_console_script_widens_the_pipe_it_writes_to() -> None:
    """`tap-visionone --about` writes into a pipe that this test made: the pipe is 1 MiB afterwards."""
    read, write = os.pipe()
    try:
        command = [str(BIN / "tap-visionone"), "--about", "--format", "json"]
        done = subprocess.run(command, stdout=write, stderr=subprocess.DEVNULL, check=True, timeout=60)
        assert done.returncode == 0
        assert fcntl.fcntl(read, fcntl.F_GETPIPE_SZ) == PIPE_SIZE
    finally:
        os.close(read)
        os.close(write)
