"""The ``main()`` of every console script: expected failures are one line on stderr and exit code 1."""

from __future__ import annotations

import logging
import sys
import typing as t

import click

from connector_kit.errors import ConnectorError
from connector_kit.input_files import check_input_files
from connector_kit.logs import structured
from connector_kit.memory import tune_allocator
from connector_kit.pipes import widen_standard_pipes


def run(
    name: str,
    cli: t.Callable[[], object],
    *,
    expected: tuple[type[BaseException], ...] = (),
    tune_memory: bool = False,
) -> None:
    """Check the file options, then run ``cli``; a `ConnectorError` (or one of ``expected``) becomes
    ``<name>: error: <message>`` and exit code 1, with no traceback."""
    if tune_memory:
        tune_allocator()
    widen_standard_pipes()
    try:
        check_input_files(sys.argv[1:])
        cli()
    except (ConnectorError, *expected) as exc:
        if structured():  # Meltano shows it as an error, not as one more line of output
            logging.getLogger(name).error("%s: error: %s", name, exc)
        else:
            click.echo(f"{name}: error: {exc}", err=True)
        sys.exit(1)
