"""Errors the connectors report to people as one line, without a traceback (see `console`).

Each message names what the user has to change (a setting, a key, a window, a file). No message may
contain a secret: the constructors never receive one.
"""

from __future__ import annotations


class ConnectorError(Exception):
    """An expected failure with a message written for the person running a tap, target or CLI."""


class SettingsError(ConnectorError):
    """A setting is missing or invalid; raised before any request is sent or message read."""


class AuthError(ConnectorError):
    """The API refused the key or token (401) or its role (403); retrying cannot help."""


class TLSError(AuthError):
    """The API's TLS certificate could not be verified; retrying cannot help and nothing was sent."""


class WindowFailedError(ConnectorError):
    """A time window could not be fetched after retries; state stays before it."""


class ForbiddenError(AuthError):
    """The key's role may not read one API (403); other streams may still be readable."""


class StreamFailedError(ConnectorError):
    """A full-table stream could not be read after retries."""


class InputFileError(ConnectorError, ValueError):
    """A ``--config``, ``--state`` or ``--catalog`` file is missing, unreadable or not the JSON it must be."""


class SyncStopped(ConnectorError):
    """Raised in a worker whose sync was stopped (an earlier window failed, or the sync ended)."""
