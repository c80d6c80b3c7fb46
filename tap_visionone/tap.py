"""TapVisionOne: the settings (declared once, secrets flagged) and the list of streams."""

from __future__ import annotations

import ipaddress
import sys
import typing as t
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from urllib.parse import urlsplit

import click
from singer_sdk import Tap
from singer_sdk import typing as th

from tap_visionone.client import REGIONS
from tap_visionone.errors import SettingsError, TapError, check_catalog_streams, check_input_files
from tap_visionone.ratelimit import RateLimiter
from tap_visionone.streams import STREAM_NAMES, STREAMS
from tap_visionone.streams.search import SEARCH_PAGE_SIZES
from tap_visionone.tls import allow_unverified
from tap_visionone.windows import format_api_time, parse_datetime, parse_duration

DEFAULT_START = timedelta(days=1)  # the search API's own default range is the last 24 hours


@dataclass(frozen=True)
class RunSettings:
    """Settings checked and converted once, before any request."""

    base_url: str
    start: datetime
    end: datetime
    window_size: timedelta
    window_size_text: str
    query: str
    page_size: int
    max_workers: int
    request_timeout: float
    verify_ssl: bool
    rate_limits: dict[str, int] = field(default_factory=dict)  # per_second/per_minute/per_hour; 0: none
    stream_options: dict[str, dict[str, t.Any]] = field(default_factory=dict)
    fail_on_forbidden: bool = False


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def resolve_base_url(config: dict) -> str:
    """``api_url`` wins over ``region``; plain http is only allowed to this machine."""
    api_url = (config.get("api_url") or "").strip()
    if not api_url:
        region = (config.get("region") or "us").strip().lower()
        if region not in REGIONS:
            raise SettingsError(
                f"Invalid setting `region`: {region!r} is not a Vision One region "
                f"(one of {', '.join(REGIONS)}), or set `api_url`."
            )
        return REGIONS[region]
    parts = urlsplit(api_url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise SettingsError(f"Invalid setting `api_url`: {api_url!r} is not an http(s) URL.")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise SettingsError(
            f"Invalid setting `api_url`: plain http to {parts.hostname} would send the API key "
            "unencrypted; use https (http is only allowed to 127.0.0.1/localhost)."
        )
    path = parts.path.rstrip("/")
    if path.endswith("/v3.0"):
        path = path[: -len("/v3.0")]
    return f"{parts.scheme}://{parts.netloc}{path}"


def _number(config: dict, name: str, default: float, kind: type = int) -> t.Any:
    value = config.get(name)
    if value is None or value == "":
        return default
    try:
        if isinstance(value, bool) or (kind is int and float(value) != int(float(value))):
            raise ValueError
        return kind(float(value)) if kind is int else kind(value)
    except (TypeError, ValueError):
        raise SettingsError(f"Invalid setting `{name}`: {value!r} is not a number.") from None


def read_run_settings(config: dict, now: datetime | None = None) -> RunSettings:
    """Check every setting that JSON Schema cannot, with one message naming the setting."""
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    if not str(config.get("api_key") or "").strip():
        raise SettingsError(
            "Missing setting `api_key`: set it in the config or as TAP_VISIONONE_API_KEY "
            "(a Vision One API key whose role may view the APIs of the selected streams)."
        )
    base_url = resolve_base_url(config)
    lag = parse_duration(config.get("lag", "10m"), setting="lag")
    end_date = parse_datetime(config["end_date"], setting="end_date") if config.get("end_date") else None
    end = now - lag if end_date is None else min(now - lag, end_date)
    start = (
        parse_datetime(config["start_date"], setting="start_date")
        if config.get("start_date")
        else now - DEFAULT_START
    )
    if end_date is not None and start >= end_date:
        raise SettingsError(
            f"Invalid setting `end_date`: {config['end_date']} is not after `start_date` "
            f"{format_api_time(start)}."
        )
    if start > now:
        raise SettingsError(f"Invalid setting `start_date`: {config['start_date']} is in the future.")
    page_size = _number(config, "page_size", 5000)
    if page_size not in SEARCH_PAGE_SIZES:
        raise SettingsError(
            f"Invalid setting `page_size`: {page_size} is not allowed by the API "
            f"(one of {', '.join(map(str, SEARCH_PAGE_SIZES))})."
        )
    window_text = str(config.get("window_size", "1h"))
    window_size = parse_duration(window_text, setting="window_size")
    if window_size < timedelta(seconds=1):
        raise SettingsError("Invalid setting `window_size`: it must be at least 1s.")
    max_workers = _number(config, "max_workers", 4)
    if not 1 <= max_workers <= 32:
        raise SettingsError(f"Invalid setting `max_workers`: {max_workers} is not between 1 and 32.")
    rate_limits = {}
    for span, default in (("second", 0), ("minute", 450), ("hour", 0)):
        name = f"rate_limit_per_{span}"
        rate_limits[f"per_{span}"] = _number(config, name, default)
        if rate_limits[f"per_{span}"] < 0:
            raise SettingsError(f"Invalid setting `{name}`: it must be 0 (no limit) or more.")
    timeout = _number(config, "request_timeout", 90.0, float)
    if timeout <= 0:
        raise SettingsError(f"Invalid setting `request_timeout`: {timeout:g} must be more than 0 seconds.")
    query = str(config.get("query") or "*").strip() or "*"
    stream_options = read_stream_options(config.get("stream_options"))
    return RunSettings(
        base_url=base_url,
        start=start,
        end=end,
        window_size=window_size,
        window_size_text=window_text,
        query=query,
        page_size=page_size,
        max_workers=max_workers,
        request_timeout=timeout,
        verify_ssl=bool(config.get("verify_ssl", True)),
        rate_limits=rate_limits,
        stream_options=stream_options,
        fail_on_forbidden=bool(config.get("fail_on_forbidden", False)),
    )


def read_stream_options(value: t.Any) -> dict[str, dict[str, t.Any]]:
    """Check ``stream_options``: known streams, options each stream takes, values it accepts."""
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        raise SettingsError(
            "Invalid setting `stream_options`: it must be an object keyed by stream name, "
            'e.g. {"audit_logs": {"filter": "category eq \'Logon and Logoff\'"}}.'
        )
    streams = {stream.name: stream for stream in STREAMS}
    checked: dict[str, dict[str, t.Any]] = {}
    for name, options in value.items():
        if name not in streams:
            raise SettingsError(
                f"Invalid setting `stream_options`: there is no stream {name!r} "
                f"(streams: {', '.join(STREAM_NAMES)})."
            )
        stream = streams[name]
        if options in (None, ""):
            continue
        if not isinstance(options, dict):
            raise SettingsError(f"Invalid setting `stream_options.{name}`: it must be an object.")
        for option, option_value in options.items():
            if option not in stream.options:
                takes = ", ".join(stream.options) or "no options"
                raise SettingsError(
                    f"Invalid setting `stream_options.{name}.{option}`: {name} takes {takes}."
                )
            if option_value is not None and not isinstance(option_value, str):
                raise SettingsError(f"Invalid setting `stream_options.{name}.{option}`: it must be a string.")
        stream.check_options(options)
        checked[name] = dict(options)
    return checked


def stream_options_schema() -> dict[str, t.Any]:
    """``stream_options`` as JSON Schema, built from the streams so ``--about`` lists every option."""
    properties = th.PropertiesList(
        *(
            th.Property(
                stream.name,
                th.ObjectType(
                    *(
                        th.Property(option, th.StringType, description=text)
                        for option, text in stream.options.items()
                    ),
                    additional_properties=False,
                ),
                description=(stream.__doc__ or "").strip().splitlines()[0],
            )
            for stream in STREAMS
            if stream.options
        )
    ).to_dict()
    properties["additionalProperties"] = False
    return properties


class TapVisionOne(Tap):
    """Singer tap for Trend Vision One (API v3.0)."""

    name = "tap-visionone"
    package_name = "visionone-connectors"

    config_jsonschema = th.PropertiesList(
        th.Property(
            "api_key",
            th.StringType,
            required=True,
            secret=True,
            title="API key",
            description="Vision One API key (Administration > API Keys). Its role needs the "
            "View, filter, and search permission of each API read. Never logged.",
        ),
        th.Property(
            "region",
            th.StringType,
            default="us",
            allowed_values=list(REGIONS),
            description="Vision One region of the tenant; picks the API host "
            "(us = api.xdr.trendmicro.com, jp = api.xdr.trendmicro.co.jp, ...). Ignored when api_url is set.",
        ),
        th.Property(
            "api_url",
            th.StringType,
            description="API base URL, overriding region (e.g. a proxy, or the local simulator "
            "http://127.0.0.1:8777). https only, except to loopback addresses.",
        ),
        th.Property(
            "start_date",
            th.StringType,
            description="First moment to fetch, as a date (2024-10-01, midnight UTC) or an ISO 8601 "
            "date-time; inclusive. Default: 24 hours before the run. A saved bookmark wins when later.",
        ),
        th.Property(
            "end_date",
            th.StringType,
            description="Moment to stop at, exclusive, as a date or ISO 8601 date-time. "
            "Default: now minus `lag`.",
        ),
        th.Property(
            "lag",
            th.StringType,
            default="10m",
            description="How far behind now an open-ended sync stops, so events the API has not "
            "indexed yet are fetched by the next run instead of being skipped (e.g. 10m, 1h).",
        ),
        th.Property(
            "query",
            th.StringType,
            default="*",
            description="TMV1-Query sent with every request of the search streams (detections and the "
            "*_activities streams), e.g. `productCode:sao and act:Block`; `*` fetches everything. "
            "`stream_options.<stream>.query` overrides it for one stream.",
        ),
        th.Property(
            "page_size",
            th.IntegerType,
            default=5000,
            allowed_values=list(SEARCH_PAGE_SIZES),
            description="Records per page of the search streams (the API's `top`): 50, 100, 500, 1000 "
            "or 5000. Other lists use the largest page their API allows.",
        ),
        th.Property(
            "window_size",
            th.StringType,
            default="1h",
            description="Length of each time window fetched as a unit (e.g. 15m, 1h, 1d). The bookmark "
            "advances window by window; a window's records are held in memory until emitted.",
        ),
        th.Property(
            "max_workers",
            th.IntegerType,
            default=4,
            description="Windows fetched at the same time (1 to 32), all through one rate limiter.",
        ),
        th.Property(
            "rate_limit_per_second",
            th.IntegerType,
            default=0,
            description="Most requests started in any 1-second span, across all workers (0 = no limit).",
        ),
        th.Property(
            "rate_limit_per_minute",
            th.IntegerType,
            default=450,
            description="Most requests in any 60-second span (Vision One counts 60-second windows; "
            "its documented figure is 500 per API). 0 = no limit.",
        ),
        th.Property(
            "rate_limit_per_hour",
            th.IntegerType,
            default=0,
            description="Most requests in any 1-hour span (0 = no limit).",
        ),
        th.Property(
            "request_timeout",
            th.NumberType,
            default=90,
            description="Seconds to wait for an answer before the attempt counts as failed and is "
            "retried (Vision One itself gives up after 60 s with a 504).",
        ),
        th.Property(
            "stream_options",
            th.CustomType(stream_options_schema()),
            description="Per-stream filters, keyed by stream name: `query`/`select` for the search "
            "streams, `filter` for the lists (TMV1-Filter, or the `filter` parameter of response_tasks "
            "and custom_scripts), `select` for endpoints, detected_start_date/detected_end_date for "
            'oat_detections. Example: {"audit_logs": {"filter": "category eq \'Logon and Logoff\'"}}.',
        ),
        th.Property(
            "fail_on_forbidden",
            th.BooleanType,
            default=False,
            description="Stop the whole run when the key's role may not read a selected stream (HTTP 403). "
            "Default: skip that stream with one warning naming it, and sync the others.",
        ),
        th.Property(
            "verify_ssl",
            th.BooleanType,
            default=True,
            description="Verify the API's TLS certificate. Turn off only for a test proxy "
            "(a warning is logged).",
        ),
    ).to_dict()

    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        """Fail with one line naming the setting, before any request is sent.

        The tap's own checks run first (their messages name the setting and say what to do);
        JSON Schema validation then catches anything they do not cover.
        """
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
        """The one limiter every request of every stream and worker goes through."""
        return RateLimiter(**self.run_settings.rate_limits)

    @cached_property
    def forbidden_streams(self) -> dict[str, str]:
        """Streams skipped because the key's role may not read them (name -> reason)."""
        return {}

    def discover_streams(self) -> list:
        return [stream_class(tap=self) for stream_class in STREAMS]

    def sync_all(self) -> None:
        check_catalog_streams(self.input_catalog, STREAM_NAMES, self.name)
        super().sync_all()
        if self.forbidden_streams:
            self.logger.warning(
                "Sync finished without %d stream(s) the API key may not read: %s.",
                len(self.forbidden_streams),
                ", ".join(self.forbidden_streams),
            )


def main() -> None:
    """Console script: expected failures print one line and exit 1, without a traceback."""
    try:
        check_input_files(sys.argv[1:])
        TapVisionOne.cli()
    except TapError as exc:
        click.echo(f"tap-visionone: error: {exc}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
