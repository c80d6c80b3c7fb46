"""TapWorkvivo: the settings (declared once, the token flagged secret) and the stream list.

Replaces seed 001's fetch script: same hourly windows and columns, but a failed hour is retried
and then stops the run with the bookmark before it, instead of being logged and lost.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from urllib.parse import urlsplit

import click
from singer_sdk import Tap
from singer_sdk import typing as th

from tap_visionone.errors import SettingsError, TapError, check_catalog_streams, check_input_files
from tap_visionone.ratelimit import RateLimiter
from tap_visionone.tls import allow_unverified
from tap_visionone.windows import format_api_time, parse_datetime, parse_duration
from tap_workvivo.streams import STREAMS

DEFAULT_API_URL = "https://api.workvivo.io"
DEFAULT_START = timedelta(days=1)
_DATE_ONLY = re.compile(r"^\s*\d{4}-\d{2}-\d{2}\s*$")


@dataclass(frozen=True)
class RunSettings:
    """Settings checked and converted once, before any request."""

    base_url: str
    workvivo_id: str
    api_token: str
    start: datetime
    end: datetime
    window_size: timedelta
    window_size_text: str
    max_workers: int
    request_timeout: float
    verify_ssl: bool = True


def resolve_base_url(text: str) -> str:
    """``api_url`` without a trailing ``/v1`` (the stream adds it); https unless to this machine."""
    parts = urlsplit(text.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise SettingsError(f"Invalid setting `api_url`: {text!r} is not an http(s) URL.")
    if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise SettingsError(
            f"Invalid setting `api_url`: plain http to {parts.hostname} would send the token "
            "unencrypted; use https (http is only allowed to 127.0.0.1/localhost)."
        )
    path = parts.path.rstrip("/")
    path = path.removesuffix("/v1/siem").removesuffix("/v1")
    return f"{parts.scheme}://{parts.netloc}{path}"


def read_date(config: dict, name: str, *, end_of_day: bool) -> datetime | None:
    """A date (``YYYY-MM-DD``, midnight UTC; an end date means the whole day, as in the seed) or ISO."""
    value = config.get(name)
    if value in (None, ""):
        return None
    moment = parse_datetime(str(value), setting=name)
    if end_of_day and _DATE_ONLY.match(str(value)):
        moment += timedelta(days=1)
    return moment


def _integer(config: dict, name: str, default: int, low: int, high: int) -> int:
    value = config.get(name, default)
    if value in (None, ""):
        return default
    try:
        number = int(value)
        if isinstance(value, bool) or float(value) != number:
            raise ValueError
    except (TypeError, ValueError):
        raise SettingsError(f"Invalid setting `{name}`: {value!r} is not a whole number.") from None
    if not low <= number <= high:
        raise SettingsError(f"Invalid setting `{name}`: {number} is not between {low} and {high}.")
    return number


def read_run_settings(config: dict, now: datetime | None = None) -> RunSettings:
    """Check every setting, with one message naming the setting, before any request is sent."""
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    workvivo_id = str(config.get("workvivo_id") or "").strip()
    if not workvivo_id:
        raise SettingsError(
            "Missing setting `workvivo_id`: set it in the config or as TAP_WORKVIVO_WORKVIVO_ID "
            "(your organisation's Workvivo ID, the seed's WORKVIVOID)."
        )
    api_token = str(config.get("api_token") or "").strip()
    if not api_token:
        raise SettingsError(
            "Missing setting `api_token`: set it in the config or as TAP_WORKVIVO_API_TOKEN "
            "(a Workvivo API bearer token, the seed's WORKVIVOTOKEN)."
        )
    base_url = resolve_base_url(str(config.get("api_url") or DEFAULT_API_URL))
    lag = parse_duration(config.get("lag", "5m"), setting="lag")
    start = read_date(config, "start_date", end_of_day=False) or now - DEFAULT_START
    end_date = read_date(config, "end_date", end_of_day=True)
    if end_date is not None and end_date <= start:
        begins = "`start_date`" if config.get("start_date") else "the default start (24 h ago)"
        raise SettingsError(
            f"Invalid setting `end_date`: {config['end_date']} is before {begins} {format_api_time(start)}."
        )
    if start > now:
        raise SettingsError(f"Invalid setting `start_date`: {config['start_date']} is in the future.")
    end = now - lag if end_date is None else min(now - lag, end_date)
    window_text = str(config.get("window_size") or "1h")
    window_size = parse_duration(window_text, setting="window_size")
    if not timedelta(minutes=1) <= window_size <= timedelta(hours=24):
        raise SettingsError("Invalid setting `window_size`: it must be between 1m and 24h.")
    max_workers = _integer(config, "max_workers", 4, 1, 32)
    _integer(config, "rate_limit_per_minute", 120, 0, 100_000)
    try:
        timeout = float(config.get("request_timeout", 60))
    except (TypeError, ValueError):
        raise SettingsError(
            f"Invalid setting `request_timeout`: {config.get('request_timeout')!r} is not a number."
        ) from None
    if timeout <= 0:
        raise SettingsError("Invalid setting `request_timeout`: it must be more than 0 seconds.")
    return RunSettings(
        base_url=base_url,
        workvivo_id=workvivo_id,
        api_token=api_token,
        start=start,
        end=end,
        window_size=window_size,
        window_size_text=window_text,
        max_workers=max_workers,
        request_timeout=timeout,
        verify_ssl=bool(config.get("verify_ssl", True)),
    )


class TapWorkvivo(Tap):
    """Singer tap for the Workvivo SIEM API."""

    name = "tap-workvivo"
    package_name = "visionone-connectors"

    config_jsonschema = th.PropertiesList(
        th.Property(
            "workvivo_id",
            th.StringType,
            required=True,
            title="Workvivo ID",
            description="Your organisation's Workvivo ID, sent as the Workvivo-Id header (seed: WORKVIVOID).",
        ),
        th.Property(
            "api_token",
            th.StringType,
            required=True,
            secret=True,
            title="API token",
            description="Workvivo API bearer token of a user with API access (seed: WORKVIVOTOKEN). "
            "Never logged.",
        ),
        th.Property(
            "api_url",
            th.StringType,
            default=DEFAULT_API_URL,
            description="API base URL of your Workvivo region (e.g. https://api.workvivo.io, "
            "https://api.workvivo.us); the stream adds /v1/siem. https only, except to loopback.",
        ),
        th.Property(
            "start_date",
            th.StringType,
            description="First moment to fetch: YYYY-MM-DD (midnight UTC) or an ISO 8601 date-time; "
            "inclusive. Default: 24 hours before the run. A saved bookmark wins when later.",
        ),
        th.Property(
            "end_date",
            th.StringType,
            description="Last day to fetch, inclusive as in the seed (YYYY-MM-DD covers that whole UTC "
            "day), or an ISO 8601 date-time, exclusive. Default: now minus `lag`.",
        ),
        th.Property(
            "lag",
            th.StringType,
            default="5m",
            description="How far behind now an open-ended sync stops, so late events are fetched next run.",
        ),
        th.Property(
            "window_size",
            th.StringType,
            default="1h",
            description="Length of each request's time range (1m to 24h); the seed asked hour by hour.",
        ),
        th.Property(
            "max_workers",
            th.IntegerType,
            default=4,
            description="Windows fetched at the same time (1 to 32), all through one rate limiter.",
        ),
        th.Property(
            "rate_limit_per_minute",
            th.IntegerType,
            default=120,
            description="Most requests in any 60-second span, across all workers (0 = no limit).",
        ),
        th.Property(
            "request_timeout",
            th.NumberType,
            default=60,
            description="Seconds to wait for an answer before the attempt counts as failed and is retried.",
        ),
        th.Property(
            "verify_ssl",
            th.BooleanType,
            default=True,
            description="Verify the API's TLS certificate. Turn off only for a test server (a warning is "
            "logged); behind a TLS-inspecting proxy set REQUESTS_CA_BUNDLE instead.",
        ),
    ).to_dict()

    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        """Fail with one line naming the setting, before any request is sent."""
        _ = self.run_settings
        errors = super()._validate_config(raise_errors=False)
        if errors and raise_errors:
            raise SettingsError(f"Invalid settings: {errors[0]}")
        return errors

    @cached_property
    def run_settings(self) -> RunSettings:
        settings = read_run_settings(dict(self.config))
        if not settings.verify_ssl:
            allow_unverified(self.logger.warning)
        return settings

    @cached_property
    def rate_limiter(self) -> RateLimiter:
        """The one limiter every request of every worker goes through."""
        return RateLimiter(per_minute=int(self.config.get("rate_limit_per_minute", 120) or 0))

    def discover_streams(self) -> list:
        return [stream_class(tap=self) for stream_class in STREAMS]

    def sync_all(self) -> None:
        check_catalog_streams(self.input_catalog, [stream.name for stream in STREAMS], self.name)
        super().sync_all()


def main() -> None:
    """Console script: expected failures print one line and exit 1, without a traceback."""
    try:
        check_input_files(sys.argv[1:])
        TapWorkvivo.cli()
    except TapError as exc:
        click.echo(f"tap-workvivo: error: {exc}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
