"""The Meltano plugins of the checkout's project, installed once for the tests that run `meltano run`.

`make demo` and `make orchestrate` run `meltano install`; tests that need the plugins call
`ensure_installed`, which installs the missing ones under a file lock, so test files running at the
same time (pytest-xdist) never install one plugin twice at once.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PLUGINS = {
    "tap-visionone": "extractors",
    "tap-workvivo": "extractors",
    "target-csv": "loaders",
    "target-postgres": "loaders",
    "visionone-actions-mapper": "mappers",
}
DEMO = ("tap-visionone", "tap-workvivo", "target-csv", "visionone-actions-mapper")
CLEARED_PREFIXES = ("TAP_VISIONONE_", "TAP_WORKVIVO_", "TARGET_", "MAPPER_", "MELTANO_")


def clean_environment() -> dict[str, str]:
    """This process's environment without settings of the plugins or Meltano, nor the venv on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(CLEARED_PREFIXES)}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if Path(p) != BIN)
    env.pop("VIRTUAL_ENV", None)
    return env


def ensure_installed(*names: str) -> None:
    """Install the named plugins (those `make demo` installs when none) into the checkout's `.meltano`."""
    wanted = names or DEMO
    meltano_dir = ROOT / ".meltano"
    meltano_dir.mkdir(exist_ok=True)
    with (meltano_dir / "tests-install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        missing = [n for n in wanted if not (meltano_dir / PLUGINS[n] / n / "venv").is_dir()]
        if missing:
            subprocess.run(
                [str(BIN / "meltano"), "install", *missing],
                cwd=ROOT, env=clean_environment(), capture_output=True, text=True, timeout=900, check=True,
            )  # fmt: skip
