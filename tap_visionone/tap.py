"""TapVisionOne: the settings (declared once, secrets flagged) and the list of streams."""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from singer_sdk import typing as th

from connector_kit.errors import SettingsError
from connector_kit.settings import read_bool, read_number
from connector_kit.sync_settings import SyncDefaults, SyncSettings, read_sync_settings, sync_properties
from connector_kit.tap_base import ConnectorTap
from connector_kit.visionone_regions import REGIONS, resolve_base_url
from tap_visionone.streams import STREAM_NAMES, STREAMS
from tap_visionone.streams.search import SEARCH_PAGE_SIZES

__all__ = ["REGIONS", "RunSettings", "TapVisionOne", "main", "read_run_settings", "resolve_base_url"]

SYNC_DEFAULTS = SyncDefaults(
    lag="10m",
    request_timeout=90.0,
    rate_limits={"second": 0, "minute": 450, "hour": 0},
    rate_limit_notes={
        "minute": " Vision One counts 60-second windows; its documented figure is 500 per API.",
    },
)


@dataclass(frozen=True)
class RunSettings(SyncSettings):
    """Settings checked and converted once, before any request."""

    query: str = "*"
    page_size: int = 5000
    stream_options: dict[str, dict[str, t.Any]] = field(default_factory=dict)
    fail_on_forbidden: bool = False


def read_run_settings(config: dict, now: datetime | None = None, *, need_key: bool = True) -> RunSettings:
    """Check every setting that JSON Schema cannot, with one message naming the setting.

    ``need_key=False`` (discovery, which sends no request) accepts a missing ``api_key``.
    """
    if need_key and not str(config.get("api_key") or "").strip():
        raise SettingsError(
            "Missing setting `api_key`: set it in the config file, or as TAP_VISIONONE_API_KEY with "
            "`--config ENV` (Meltano passes it) "
            "(a Vision One API key whose role may view the APIs of the selected streams)."
        )
    common = read_sync_settings(config, base_url=resolve_base_url(config), defaults=SYNC_DEFAULTS, now=now)
    page_size = read_number(config, "page_size", 5000)
    if page_size not in SEARCH_PAGE_SIZES:
        raise SettingsError(
            f"Invalid setting `page_size`: {page_size} is not allowed by the API "
            f"(one of {', '.join(map(str, SEARCH_PAGE_SIZES))})."
        )
    return RunSettings(
        **common,
        query=str(config.get("query") or "*").strip() or "*",
        page_size=page_size,
        stream_options=read_stream_options(config.get("stream_options")),
        fail_on_forbidden=read_bool(config, "fail_on_forbidden", False),
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


class TapVisionOne(ConnectorTap):
    """Singer tap for Trend Vision One (API v3.0)."""

    request_settings = ("api_key",)

    name = "tap-visionone"
    package_name = "tap-visionone"
    stream_classes = STREAMS

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
        *sync_properties(
            SYNC_DEFAULTS,
            window_note="Windows follow the data, with edges on this grid where they can: the search streams "
            "count their range and fetch about a page per window; the others start with the whole range "
            "as one window and split it among the workers where its first page is full. The bookmark "
            "advances window by window.",
        ),
    ).to_dict()

    def read_settings(self, config: dict[str, t.Any], *, for_requests: bool = True) -> RunSettings:
        return read_run_settings(config, need_key=for_requests)

    @cached_property
    def forbidden_streams(self) -> dict[str, str]:
        """Streams skipped because the key's role may not read them (name -> reason)."""
        return {}

    def sync_all(self) -> None:
        super().sync_all()
        if self.forbidden_streams:
            self.logger.warning(
                "Sync finished without %d stream(s) the API key may not read: %s.",
                len(self.forbidden_streams),
                ", ".join(self.forbidden_streams),
            )


main = TapVisionOne.main

if __name__ == "__main__":
    main()
