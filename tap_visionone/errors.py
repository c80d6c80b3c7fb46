"""Errors the tap reports to people as one line, without a traceback.

Each message names what the user has to change (a setting, a key, a window). No message may
contain the API key: the constructors never receive it.
"""

from __future__ import annotations


class TapError(Exception):
    """An expected failure with a message written for the person running a tap (either tap)."""


class VisionOneError(TapError):
    """An expected failure of tap-visionone."""


class SettingsError(TapError):
    """A setting is missing or invalid; raised before any request is sent."""


class AuthError(TapError):
    """Vision One refused the API key (401) or its role (403); retrying cannot help."""


class WindowFailedError(TapError):
    """A time window could not be fetched after retries; state stays before it."""


class ForbiddenError(AuthError):
    """The key's role may not read one API (403); other streams may still be readable."""


class StreamFailedError(TapError):
    """A full-table stream could not be read after retries."""
