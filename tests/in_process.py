"""Runs a console script's entry point (``main``) in this process, as the script would run it.

A subprocess costs a second of imports (the Singer SDK, requests, jsonschema): too slow for tables of
dozens of bad settings. ``run_main`` calls the very function the console script calls, with the same
command line (``sys.argv``), environment, working folder and input, and returns what the script would
have printed and its exit code. What only a real process shows (the script's wiring, Python's own
traceback printing) is proven by one subprocess case per tool (tests/reliability/test_bad_input.py).
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import io
import logging
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.tap_runner import assert_no_secret

# Settings a tool would read from the environment; a run sees only the ones it is given.
SETTING_PREFIXES = ("TAP_VISIONONE_", "TAP_WORKVIVO_", "TARGET_CSV_", "MAPPER_VISIONONE_ACTIONS_")


@dataclass
class MainRun:
    returncode: int
    stdout: str
    stderr: str


def entry_point(tool: str) -> Callable[[], object]:
    """The function the ``tool`` console script calls (from the installed distribution's metadata)."""
    (found,) = importlib.metadata.entry_points(group="console_scripts", name=tool)
    return found.load()


def run_main(
    tool: str,
    args: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    secrets: Sequence[str] = (),
) -> MainRun:
    """``tool ARGS`` in this process: ``sys.argv``, the tools' settings variables (only ``env``) and the
    working folder are set for the call and restored after it; stdout and stderr are captured; the exit
    code is that of ``SystemExit`` (0 when ``main`` returns). Input comes from ``--input FILE`` only.

    The Singer SDK adds a handler to the root logger each time a plugin's ``cli`` is built; the root
    logger's handlers and level are restored too, so runs leave nothing behind.
    """
    main = entry_point(tool)
    saved_argv, saved_cwd = sys.argv, Path.cwd()
    touched = {name for name in os.environ if name.startswith(SETTING_PREFIXES)} | set(env or {})
    saved_env = {name: os.environ.get(name) for name in touched}
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    out, err = io.StringIO(), io.StringIO()
    for name in touched:
        os.environ.pop(name, None)
    os.environ.update(env or {})
    sys.argv = [tool, *args]
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main()
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        os.chdir(saved_cwd)
        sys.argv = saved_argv
        for name in {name for name in os.environ if name.startswith(SETTING_PREFIXES)} | touched:
            os.environ.pop(name, None)
        os.environ.update({name: value for name, value in saved_env.items() if value is not None})
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
    run = MainRun(code, out.getvalue(), err.getvalue())
    assert_no_secret(secrets, stdout=run.stdout, stderr=run.stderr)
    return run
