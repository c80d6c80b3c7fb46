"""The optional local timestamp column: when a row was written, in a chosen time zone.

Written as `2025-06-08 09:07:21 JST` (`%Y-%m-%d %H:%M:%S %Z`), the Workvivo SIEM fetch script's format.
The text changes once a second, so `LocalClock` formats it once a second and hands out the same string in
between.
"""

from __future__ import annotations

import datetime
import time
import typing as t
import zoneinfo

from target_csv_flat.errors import SettingsError

if t.TYPE_CHECKING:
    from collections.abc import Callable

LOCAL_TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S %Z"


def load_zone(name: str) -> zoneinfo.ZoneInfo:
    """The IANA time zone `name` (e.g. `Asia/Tokyo`); SettingsError naming `timezone` if unknown."""
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError, OSError):
        msg = f"timezone {name!r} is not an IANA time zone name; use e.g. UTC, Asia/Tokyo or Europe/London"
        raise SettingsError(msg) from None


class LocalClock:
    """Callable giving the current time in `zone` as that text, formatted once per second."""

    def __init__(self, zone: datetime.tzinfo, now: Callable[[], float] = time.time) -> None:
        """`now`: seconds since the epoch (replaceable in tests)."""
        self.zone = zone
        self.now = now
        self._second = -1
        self._text = ""

    def __call__(self) -> str:
        """The current local time text."""
        second = int(self.now())
        if second != self._second:
            moment = datetime.datetime.fromtimestamp(second, self.zone)
            self._text = moment.strftime(LOCAL_TIMESTAMP_FORMAT)
            self._second = second
        return self._text
