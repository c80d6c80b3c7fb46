"""TLS and proxy handling shared by both taps and the actions CLI (which sends through pytmv1)."""

from __future__ import annotations

import re
import typing as t
import warnings
from urllib.parse import urlsplit

import requests
import urllib3

UNVERIFIED = "verify_ssl is false: the API's TLS certificate is not checked."


def environment_settings(url: str, verify_ssl: bool) -> tuple[bool | str, dict[str, str]]:
    """``(verify, proxies)`` as ``requests.get`` would use them: REQUESTS_CA_BUNDLE, HTTPS_PROXY and
    NO_PROXY apply (``Session.send``, which the SDK and pytmv1 use, ignores them); verify_ssl false wins."""
    merged = requests.Session().merge_environment_settings(url, {}, None, verify_ssl, None)
    return merged["verify"], merged["proxies"]


def allow_unverified(warn: t.Callable[[str], object]) -> None:
    """Say once that TLS is not verified, instead of urllib3's warning on every request."""
    warn(UNVERIFIED)
    warnings.filterwarnings("ignore", category=urllib3.exceptions.InsecureRequestWarning)


_TLS_REASONS = (re.compile(r"certificate verify failed: ([^(']+)"), re.compile(r"\[SSL: ([A-Z_]+)\]"))


def tls_message(exception: BaseException | str, url: str) -> str:
    """One line for a failed TLS handshake, naming the host, the reason and the settings that help."""
    text = str(exception)
    found = next((match for pattern in _TLS_REASONS if (match := pattern.search(text))), None)
    reason = found.group(1).strip() if found else text[:120]
    host = urlsplit(url).netloc or url
    return (
        f"the TLS certificate of {host} could not be verified ({reason}); nothing was sent. Check "
        "`api_url`/`region`; behind a TLS-inspecting proxy set REQUESTS_CA_BUNDLE to its CA file; "
        "`verify_ssl: false` only for a test server."
    )
