"""Where the console scripts' logs go: the SDK's METRIC lines off unless asked for, and the one-line
fatal error at ERROR level when Meltano reads the plugin's logs as structured JSON."""

from __future__ import annotations

import logging
import os
import typing as t

METRICS_ENV = "CONNECTOR_LOG_METRICS"  # unset/false: no METRIC lines; true: on stderr; a path: that file
METRICS_LOGGER = "singer_sdk.metrics"
_ON = {"1", "true", "yes", "on", "info"}
_OFF = {"", "0", "false", "no", "off"}


def route_metrics(environ: t.Mapping[str, str] = os.environ) -> None:
    """Keep the SDK's METRIC lines (one per request and window) out of the way unless
    ``$CONNECTOR_LOG_METRICS`` asks for them: on stderr (``true``) or in a file (its path)."""
    value = environ.get(METRICS_ENV, "").strip()
    logger = logging.getLogger(METRICS_LOGGER)
    if value.lower() in _ON:
        return
    if value.lower() in _OFF:
        logger.setLevel(logging.WARNING)
        return
    path = os.path.abspath(value)
    if not any(getattr(handler, "baseFilename", None) == path for handler in logger.handlers):
        handler = logging.FileHandler(path, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def structured() -> bool:
    """Whether the logs are JSON for Meltano to parse (the SDK's `StructuredFormatter` on the root logger,
    as Meltano configures it for a plugin with the ``structured-logging`` capability)."""
    return any(
        type(handler.formatter).__name__ == "StructuredFormatter" for handler in logging.getLogger().handlers
    )
