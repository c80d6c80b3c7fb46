"""TapWorkvivo: the settings (declared once, the token flagged secret) and the stream list.

Replaces the hourly Workvivo SIEM fetch script: same hourly windows and columns, but a failed hour is retried
and then stops the run with the bookmark before it, instead of being logged and lost.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass
from datetime import datetime, timedelta

from singer_sdk import typing as th

from connector_kit.api_urls import read_api_url
from connector_kit.errors import SettingsError
from connector_kit.sync_settings import SyncDefaults, SyncSettings, read_sync_settings, sync_properties
from connector_kit.tap_base import ConnectorTap
from tap_workvivo.streams import STREAMS

DEFAULT_API_URL = "https://api.workvivo.io"
SYNC_DEFAULTS = SyncDefaults(
    lag="5m",
    request_timeout=60.0,
    rate_limits={"minute": 120},
    min_window=timedelta(minutes=1),
    max_window=timedelta(hours=24),
    end_date_whole_day=True,
)
CREDENTIALS = ("workvivo_id", "api_token")  # what only requests need: --discover runs without them


@dataclass(frozen=True)
class RunSettings(SyncSettings):
    """Settings checked and converted once, before any request."""

    workvivo_id: str = ""
    api_token: str = ""

    def __repr__(self) -> str:  # never show the token, even in a traceback
        return f"RunSettings(base_url={self.base_url!r}, workvivo_id={self.workvivo_id!r})"


def resolve_base_url(text: str) -> str:
    """``api_url`` without a trailing ``/v1`` (the stream adds it); https unless to this machine."""
    parts = read_api_url(text, secret="token")
    path = parts.path.rstrip("/").removesuffix("/v1/siem").removesuffix("/v1")
    return f"{parts.scheme}://{parts.netloc}{path}"


def read_run_settings(
    config: dict, now: datetime | None = None, *, need_credentials: bool = True
) -> RunSettings:
    """Check every setting, with one message naming the setting, before any request is sent.

    ``need_credentials=False`` (discovery, which sends no request) accepts a missing ``workvivo_id`` and
    ``api_token``.
    """
    workvivo_id = str(config.get("workvivo_id") or "").strip()
    if need_credentials and not workvivo_id:
        raise SettingsError(
            "Missing setting `workvivo_id`: set it in the config file, or as TAP_WORKVIVO_WORKVIVO_ID "
            "with `--config ENV` (Meltano passes it) "
            "(your organisation's Workvivo ID)."
        )
    api_token = str(config.get("api_token") or "").strip()
    if need_credentials and not api_token:
        raise SettingsError(
            "Missing setting `api_token`: set it in the config file, or as TAP_WORKVIVO_API_TOKEN "
            "with `--config ENV` (Meltano passes it) "
            "(a Workvivo API bearer token)."
        )
    base_url = resolve_base_url(str(config.get("api_url") or DEFAULT_API_URL))
    common = read_sync_settings(config, base_url=base_url, defaults=SYNC_DEFAULTS, now=now)
    return RunSettings(**common, workvivo_id=workvivo_id, api_token=api_token)


class TapWorkvivo(ConnectorTap):
    """Singer tap for the Workvivo SIEM API."""

    request_settings = CREDENTIALS

    name = "tap-workvivo"
    package_name = "tap-workvivo"
    stream_classes = STREAMS

    config_jsonschema = th.PropertiesList(
        th.Property(
            "workvivo_id",
            th.StringType,
            required=True,
            title="Workvivo ID",
            description="Your organisation's Workvivo ID, sent as the Workvivo-Id header.",
        ),
        th.Property(
            "api_token",
            th.StringType,
            required=True,
            secret=True,
            title="API token",
            description="Workvivo API bearer token of a user with API access. Never logged.",
        ),
        th.Property(
            "api_url",
            th.StringType,
            default=DEFAULT_API_URL,
            description="API base URL of your Workvivo region (e.g. https://api.workvivo.io, "
            "https://api.workvivo.us); the stream adds /v1/siem. https only, except to loopback.",
        ),
        *sync_properties(
            SYNC_DEFAULTS,
            window_note="Also the longest range asked for at once (Workvivo's public example reads an "
            "hour per call and shows no paging); a window whose first page is full and shows several "
            "pages' worth is split among the workers. The bookmark advances window by window.",
        ),
    ).to_dict()

    def read_settings(self, config: dict[str, t.Any], *, for_requests: bool = True) -> RunSettings:
        return read_run_settings(config, need_credentials=for_requests)


main = TapWorkvivo.main

if __name__ == "__main__":
    main()
