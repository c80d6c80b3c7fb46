"""Vision One's regional API hosts and the rule that picks one, shared by the tap and the actions CLI."""

from __future__ import annotations

import typing as t

from connector_kit.api_urls import read_api_url
from connector_kit.errors import SettingsError

# automation.trendmicro.com, "Regional domains".
REGIONS: dict[str, str] = {
    "us": "https://api.xdr.trendmicro.com",
    "eu": "https://api.eu.xdr.trendmicro.com",
    "au": "https://api.au.xdr.trendmicro.com",
    "in": "https://api.in.xdr.trendmicro.com",
    "sg": "https://api.sg.xdr.trendmicro.com",
    "jp": "https://api.xdr.trendmicro.co.jp",
    "mea": "https://api.mea.xdr.trendmicro.com",
    "uk": "https://api.uk.xdr.trendmicro.com",
    "usgov": "https://api.usgov.xdr.trendmicro.com",
}


def resolve_base_url(config: t.Mapping[str, t.Any]) -> str:
    """``api_url`` wins over ``region``; plain http is only allowed to this machine; a trailing ``/v3.0``
    is dropped (the streams add it)."""
    api_url = str(config.get("api_url") or "").strip()
    if not api_url:
        region = str(config.get("region") or "us").strip().lower()
        if region not in REGIONS:
            raise SettingsError(
                f"Invalid setting `region`: {region!r} is not a Vision One region "
                f"(one of {', '.join(REGIONS)}), or set `api_url`."
            )
        return REGIONS[region]
    parts = read_api_url(api_url)
    path = parts.path.rstrip("/").removesuffix("/v3.0")
    return f"{parts.scheme}://{parts.netloc}{path}"
