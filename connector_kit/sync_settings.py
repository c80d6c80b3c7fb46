"""The settings every windowed tap shares: what range to sync, in what windows, how fast, how patiently.

Declared once (`sync_properties`, for ``--about`` and JSON Schema) and read once (`read_sync_settings`,
one line naming the setting when wrong); each tap adds its own API's settings.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from singer_sdk import typing as th

from connector_kit.errors import SettingsError
from connector_kit.retries import RetryPolicy
from connector_kit.settings import parse_datetime, parse_duration, read_bool, read_number
from connector_kit.times import format_api_time

_SPANS = {"second": "1-second", "minute": "60-second", "hour": "1-hour"}


@dataclass(frozen=True)
class SyncDefaults:
    """What a tap's API calls for: its defaults and limits for the shared settings."""

    lag: str = "10m"
    request_timeout: float = 90.0
    rate_limits: dict[str, int] = field(default_factory=lambda: {"minute": 450})  # span -> default
    rate_limit_notes: dict[str, str] = field(default_factory=dict)  # span -> more description
    min_window: timedelta = timedelta(seconds=1)
    max_window: timedelta | None = None
    end_date_whole_day: bool = False  # a bare date as end_date means the end of that day
    default_range: timedelta = timedelta(days=1)


@dataclass(frozen=True)
class SyncSettings:
    """The shared settings, checked and converted once, before any request."""

    base_url: str
    start: datetime
    end: datetime
    window_size: timedelta
    window_size_text: str
    max_workers: int
    request_timeout: float
    verify_ssl: bool
    rate_limits: dict[str, int]  # per_second/per_minute/per_hour; 0: none
    retries: RetryPolicy


def _is_bare_date(value: t.Any) -> bool:
    text = str(value).strip()
    return len(text) == 10 and text[4] == "-" and text[7] == "-"


def read_sync_settings(
    config: t.Mapping[str, t.Any], *, base_url: str, defaults: SyncDefaults, now: datetime | None = None
) -> dict[str, t.Any]:
    """The `SyncSettings` fields from ``config``, for a tap's own settings class to be built from."""
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    lag = parse_duration(config.get("lag") or defaults.lag, setting="lag")
    start = (
        parse_datetime(config["start_date"], setting="start_date")
        if config.get("start_date")
        else now - defaults.default_range
    )
    end_date = None
    if config.get("end_date"):
        end_date = parse_datetime(config["end_date"], setting="end_date")
        if defaults.end_date_whole_day and _is_bare_date(config["end_date"]):
            end_date += timedelta(days=1)
        if end_date <= start:
            begins = "`start_date`" if config.get("start_date") else "the default start"
            raise SettingsError(
                f"Invalid setting `end_date`: {config['end_date']} is not after {begins} "
                f"{format_api_time(start)}."
            )
    if start > now:
        raise SettingsError(f"Invalid setting `start_date`: {config['start_date']} is in the future.")
    end = now - lag if end_date is None else min(now - lag, end_date)
    window_text = str(config.get("window_size") or "1h")
    window_size = parse_duration(window_text, setting="window_size")
    if window_size < defaults.min_window or (defaults.max_window and window_size > defaults.max_window):
        low, high = duration_text(defaults.min_window), duration_text(defaults.max_window)
        bounds = f"between {low} and {high}" if high else f"at least {low}"
        raise SettingsError(f"Invalid setting `window_size`: it must be {bounds}.")
    rate_limits = {
        f"per_{span}": read_number(config, f"rate_limit_per_{span}", default, low=0)
        for span, default in defaults.rate_limits.items()
    }
    timeout = read_number(config, "request_timeout", defaults.request_timeout, whole=False)
    if timeout <= 0:
        raise SettingsError(f"Invalid setting `request_timeout`: {timeout:g} must be more than 0 seconds.")
    retries = RetryPolicy(
        first_wait=read_number(config, "retry_wait", RetryPolicy.first_wait, whole=False, low=0),
        max_tries=read_number(config, "max_tries", RetryPolicy.max_tries, low=0),
        retry_for=parse_duration(config.get("retry_for") or "5m", setting="retry_for").total_seconds(),
    )
    return {
        "base_url": base_url,
        "start": start,
        "end": end,
        "window_size": window_size,
        "window_size_text": window_text,
        "max_workers": read_number(config, "max_workers", 4, low=1, high=32),
        "request_timeout": timeout,
        "verify_ssl": read_bool(config, "verify_ssl", True),
        "rate_limits": rate_limits,
        "retries": retries,
    }


def duration_text(value: timedelta | None) -> str | None:
    """A duration as a setting would spell it (``90m``, ``24h``, ``30d``)."""
    if value is None:
        return None
    seconds = int(value.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0 and seconds > (86400 if unit == "d" else 0):  # a day reads as 24h
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def sync_properties(defaults: SyncDefaults, *, window_note: str) -> list[th.Property]:
    """The shared settings as JSON Schema properties, with this tap's defaults in their descriptions."""
    end_date = (
        "Last day to fetch, inclusive (YYYY-MM-DD covers that whole UTC day), or an ISO 8601 date-time, "
        "exclusive. Default: now minus `lag`."
        if defaults.end_date_whole_day
        else "Moment to stop at, exclusive, as a date or ISO 8601 date-time. Default: now minus `lag`."
    )
    bounds = f"{duration_text(defaults.min_window)} to {duration_text(defaults.max_window)}"
    window_bounds = f" ({bounds})" if defaults.max_window else ""
    return [
        th.Property(
            "start_date",
            th.StringType,
            description="First moment to fetch, as a date (2024-10-01, midnight UTC) or an ISO 8601 "
            "date-time; inclusive. Default: 24 hours before the run. A saved bookmark wins when later.",
        ),
        th.Property("end_date", th.StringType, description=end_date),
        th.Property(
            "lag",
            th.StringType,
            default=defaults.lag,
            description="How far behind now an open-ended sync stops, so events the API has not "
            "indexed yet are fetched by the next run instead of being skipped (e.g. 10m, 1h).",
        ),
        th.Property(
            "window_size",
            th.StringType,
            default="1h",
            description=f"Time grid of the windows{window_bounds} (e.g. 15m, 1h, 1d). " + window_note,
        ),
        th.Property(
            "max_workers",
            th.IntegerType,
            default=4,
            description="Windows fetched at the same time (1 to 32), all through one rate limiter.",
        ),
        *(
            th.Property(
                f"rate_limit_per_{span}",
                th.IntegerType,
                default=default,
                description=f"Most requests in any {_SPANS[span]} span, across all workers (0 = no limit)."
                + defaults.rate_limit_notes.get(span, ""),
            )
            for span, default in defaults.rate_limits.items()
        ),
        th.Property(
            "request_timeout",
            th.NumberType,
            default=defaults.request_timeout,
            description="Seconds to wait for an answer before the attempt counts as failed and is retried.",
        ),
        th.Property(
            "retry_for",
            th.StringType,
            default="5m",
            description="How long a failing request is retried (429, 5xx, timeouts and dropped connections) "
            "before its window fails, e.g. 5m, 30m; the bookmark then stays before that window. A refused "
            "key or role stops the run at once.",
        ),
        th.Property(
            "max_tries",
            th.IntegerType,
            default=RetryPolicy.max_tries,
            description="Attempts per request before its window fails; 0 (the default) retries for as long "
            "as `retry_for` allows.",
        ),
        th.Property(
            "retry_wait",
            th.NumberType,
            default=RetryPolicy.first_wait,
            description="Seconds before the first retry; each further retry waits about twice as long "
            "(with jitter), up to a minute. A server's Retry-After always wins.",
        ),
        th.Property(
            "verify_ssl",
            th.BooleanType,
            default=True,
            description="Verify the API's TLS certificate. Turn off only for a test server (a warning is "
            "logged); behind a TLS-inspecting proxy set REQUESTS_CA_BUNDLE instead.",
        ),
    ]
