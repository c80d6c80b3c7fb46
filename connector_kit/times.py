"""Times as the APIs write them: ``YYYY-MM-DDThh:mm:ssZ`` parameters, epoch bookmarks, record times."""

from __future__ import annotations

from datetime import UTC, datetime

from connector_kit.errors import SettingsError


def format_api_time(value: datetime) -> str:
    """Vision One wants ``YYYY-MM-DDThh:mm:ssZ``: UTC, whole seconds, no offset."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def from_epoch_ms(value: int | float) -> datetime:
    """A bookmark in epoch ms as a UTC datetime, floored to the API's whole seconds."""
    return datetime.fromtimestamp(int(value) // 1000, tz=UTC)


def record_time_ms(value: object, unit: str) -> int | None:
    """A record's time as epoch milliseconds, whatever shape the API gave it; None if unreadable.

    Real answers mix shapes within one stream: ``eventTime`` is epoch ms on most products and ISO text on
    CloudTrail records; audit ``loggedDateTime`` is ``2022-02-24T07:29:48Z`` or ``2022-07-16 04:30:04`` (no
    zone: UTC); Workvivo sends epoch seconds as a number or as digits in a string. ``unit`` is what a
    number means: ``"ms"`` or ``"s"`` since the epoch; with ``"iso"`` only text is a time.
    """
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit() and unit != "iso":
            value = int(text)
        else:
            try:
                parsed = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
            except ValueError:
                return None
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
            return round(parsed.timestamp() * 1000)
    if isinstance(value, int | float) and not isinstance(value, bool) and unit != "iso":
        return int(value * 1000 if unit == "s" else value)
    return None


def parse_api_time(text: str) -> datetime:
    """A bookmark saved as an ISO 8601 date-time (``2024-10-01T00:00:00Z``), as a UTC datetime."""
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise SettingsError(
            f"Invalid state: bookmark {text!r} is not an ISO 8601 date-time; fix or clear the state."
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).replace(microsecond=0)
