"""API base URLs: http(s) only, and plain http only to this machine, where no secret crosses a network."""

from __future__ import annotations

import ipaddress
from urllib.parse import SplitResult, urlsplit

from connector_kit.errors import SettingsError


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback address (127.0.0.0/8, ::1): traffic that never leaves this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def read_api_url(text: str, *, setting: str = "api_url", secret: str = "API key") -> SplitResult:
    """An API base URL: http(s), and plain http only to this machine, where ``secret`` cannot be read on
    the wire."""
    raw = str(text).strip()
    parts = urlsplit(raw)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise SettingsError(f"Invalid setting `{setting}`: {raw!r} is not an http(s) URL.")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise SettingsError(
            f"Invalid setting `{setting}`: plain http to {parts.hostname} would send the {secret} "
            "unencrypted; use https (http is only allowed to 127.0.0.1/localhost)."
        )
    return parts
