"""Readers of setting values (dates, durations, numbers, URLs): one line naming the setting when wrong."""

from __future__ import annotations

import math
import re
import typing as t
from datetime import UTC, datetime, timedelta

from connector_kit.errors import SettingsError

_DURATION = re.compile(r"^\s*(\d+)\s*(s|sec|secs|seconds?|m|min|mins|minutes?|h|hours?|d|days?)\s*$", re.I)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str | int | float, *, setting: str) -> timedelta:
    """Read ``90s``, ``15m``, ``1h``, ``1d``, a number of seconds, or an ISO 8601 duration."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        seconds = float(text)
    else:
        raw = str(text).strip()
        match = _DURATION.match(raw)
        if match:
            seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)[0].lower()]
        elif raw.isdigit():
            seconds = int(raw)
        else:
            import pendulum  # only for ISO 8601 durations; the CLI never needs it

            try:
                parsed = pendulum.parse(raw)
            except (ValueError, pendulum.parsing.exceptions.ParserError):
                parsed = None
            if not isinstance(parsed, pendulum.Duration):
                raise SettingsError(
                    f"Invalid setting `{setting}`: {raw!r} is not a duration (use e.g. 1h, 30m, 1d or PT1H)."
                )
            seconds = parsed.total_seconds()
    return timedelta(seconds=seconds)


def parse_datetime(text: str, *, setting: str) -> datetime:
    """Read a date or an ISO 8601 date-time as a UTC datetime truncated to whole seconds.

    A bare date means midnight UTC. A time without an offset is taken as UTC.
    """
    import pendulum  # loaded when a date is read, not when the module is

    raw = str(text).strip()
    try:
        parsed = pendulum.parse(raw, tz="UTC", strict=False)
    except (ValueError, pendulum.parsing.exceptions.ParserError):
        parsed = None
    if isinstance(parsed, pendulum.Date) and not isinstance(parsed, pendulum.DateTime):
        parsed = pendulum.datetime(parsed.year, parsed.month, parsed.day, tz="UTC")
    if not isinstance(parsed, datetime):
        raise SettingsError(
            f"Invalid setting `{setting}`: {raw!r} is not a date or ISO 8601 date-time "
            "(use e.g. 2024-10-01 or 2024-10-01T00:00:00Z)."
        )
    value = datetime.fromtimestamp(parsed.timestamp(), tz=UTC)
    return value.replace(microsecond=0)


def read_number(
    config: t.Mapping[str, t.Any],
    name: str,
    default: float,
    *,
    whole: bool = True,
    low: float | None = None,
    high: float | None = None,
) -> t.Any:
    """A numeric setting (a JSON number or its text, as Meltano passes it), within ``[low, high]``."""
    value = config.get(name)
    if value is None or value == "":
        return default
    try:
        if isinstance(value, bool):
            raise ValueError
        number = float(value)
        if not math.isfinite(number) or (whole and number != int(number)):
            raise ValueError
    except (TypeError, ValueError):
        kind = "whole number" if whole else "number"
        raise SettingsError(f"Invalid setting `{name}`: {value!r} is not a {kind}.") from None
    result = int(number) if whole else number
    if (low is not None and result < low) or (high is not None and result > high):
        if high is None:
            low_text = "0 (no limit)" if low == 0 else f"{low:g}"
            raise SettingsError(f"Invalid setting `{name}`: {result:g} must be {low_text} or more.")
        raise SettingsError(f"Invalid setting `{name}`: {result:g} is not between {low:g} and {high:g}.")
    return result


def read_bool(config: t.Mapping[str, t.Any], name: str, default: bool) -> bool:
    """A boolean setting: JSON true/false, or the text Meltano and environment variables pass."""
    value = config.get(name, default)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise SettingsError(f"Invalid setting `{name}`: {value!r} is not true or false.")


_TRUE = frozenset({"true", "1", "yes", "on", "y", "t"})
_FALSE = frozenset({"false", "0", "no", "off", "n", "f"})
