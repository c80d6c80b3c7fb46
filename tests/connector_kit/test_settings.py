"""The shared setting readers: one rule for every tool, one line naming the setting when a value is wrong."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from connector_kit.api_urls import is_loopback, read_api_url
from connector_kit.errors import SettingsError
from connector_kit.retries import RetryPolicy
from connector_kit.settings import read_bool, read_number
from connector_kit.sync_settings import SyncDefaults, read_sync_settings
from tap_visionone.tap import read_run_settings as visionone_settings
from tap_workvivo.tap import read_run_settings as workvivo_settings

NOW = datetime(2024, 10, 15, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "kwargs", "expected"),
    [
        (None, {}, 7),
        ("", {}, 7),
        ("12", {}, 12),
        (12.0, {}, 12),
        ("0.25", {"whole": False}, 0.25),
        (0, {"low": 0}, 0),
    ],
)
def test_read_number_reads_json_numbers_and_their_text(value: object, kwargs: dict, expected: float) -> None:
    assert read_number({"n": value}, "n", 7, **kwargs) == expected


@pytest.mark.parametrize(
    ("value", "kwargs", "message"),
    [
        ("ten", {}, "Invalid setting `n`: 'ten' is not a whole number."),
        (2.5, {}, "Invalid setting `n`: 2.5 is not a whole number."),
        (True, {}, "Invalid setting `n`: True is not a whole number."),
        (float("nan"), {"whole": False}, "Invalid setting `n`: nan is not a number."),
        (-1, {"low": 0}, "Invalid setting `n`: -1 must be 0 (no limit) or more."),
        (33, {"low": 1, "high": 32}, "Invalid setting `n`: 33 is not between 1 and 32."),
    ],
)
def test_read_number_names_the_setting(value: object, kwargs: dict, message: str) -> None:
    with pytest.raises(SettingsError) as failure:
        read_number({"n": value}, "n", 7, **kwargs)
    assert str(failure.value) == message


@pytest.mark.parametrize(("value", "expected"), [(True, True), ("false", False), ("On", True), ("0", False)])
def test_read_bool(value: object, expected: bool) -> None:
    assert read_bool({"b": value}, "b", not expected) is expected


def test_read_bool_names_the_setting() -> None:
    with pytest.raises(SettingsError, match=r"Invalid setting `b`: 'maybe' is not true or false\."):
        read_bool({"b": "maybe"}, "b", True)


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "127.0.0.2", "::1"])
def test_loopback_hosts(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["10.0.0.1", "example.com", "localhost.example.com"])
def test_other_hosts_are_not_loopback(host: str) -> None:
    assert not is_loopback(host)


@pytest.mark.parametrize(
    ("read", "config"),
    [
        (visionone_settings, {"api_key": "k"}),
        (workvivo_settings, {"workvivo_id": "w", "api_token": "k"}),
    ],
)
def test_both_taps_share_one_url_rule(read: object, config: dict) -> None:
    """Plain http is allowed to any loopback address and refused elsewhere, by both taps alike."""
    assert read({**config, "api_url": "http://127.0.0.2:8777"}, now=NOW).base_url == "http://127.0.0.2:8777"
    with pytest.raises(SettingsError, match=r"`api_url`: plain http to 10\.1\.2\.3 would send the"):
        read({**config, "api_url": "http://10.1.2.3"}, now=NOW)
    with pytest.raises(SettingsError, match=r"`api_url`: 'ftp://x' is not an http\(s\) URL"):
        read({**config, "api_url": "ftp://x"}, now=NOW)


def test_read_api_url_names_the_secret_at_stake() -> None:
    with pytest.raises(SettingsError, match="would send the token unencrypted"):
        read_api_url("http://example.com", secret="token")
    assert read_api_url("https://api.example.com/v1").path == "/v1"


def test_sync_settings_defaults_and_retries() -> None:
    settings = read_sync_settings({}, base_url="https://x", defaults=SyncDefaults(), now=NOW)
    assert settings["start"] == NOW - timedelta(days=1)
    assert settings["end"] == NOW - timedelta(minutes=10)
    assert settings["retries"] == RetryPolicy()
    assert settings["rate_limits"] == {"per_minute": 450}
    quick = read_sync_settings(
        {"retry_wait": "0.001", "max_tries": 3}, base_url="https://x", defaults=SyncDefaults(), now=NOW
    )
    assert quick["retries"] == RetryPolicy(first_wait=0.001, max_tries=3)


WV = SyncDefaults(min_window=timedelta(minutes=1), max_window=timedelta(hours=24))  # tap-workvivo's
BASE = SyncDefaults()


@pytest.mark.parametrize(
    ("config", "defaults", "message"),
    [
        ({"end_date": "2024-10-01", "start_date": "2024-10-02"}, BASE,
         "Invalid setting `end_date`: 2024-10-01 is not after `start_date` 2024-10-02T00:00:00Z."),
        ({"start_date": "2024-11-01"}, BASE, "Invalid setting `start_date`: 2024-11-01 is in the future."),
        ({"window_size": "30s"}, WV, "Invalid setting `window_size`: it must be between 1m and 24h."),
        ({"window_size": "25h"}, WV, "Invalid setting `window_size`: it must be between 1m and 24h."),
        ({"window_size": "0s"}, BASE, "Invalid setting `window_size`: it must be at least 1s."),
        ({"max_tries": -1}, BASE, "Invalid setting `max_tries`: -1 must be 0 (no limit) or more."),
        ({"retry_for": "soon"}, BASE,
         "Invalid setting `retry_for`: 'soon' is not a duration (use e.g. 1h, 30m, 1d or PT1H)."),
        ({"retry_wait": -1}, BASE, "Invalid setting `retry_wait`: -1 must be 0 (no limit) or more."),
        ({"request_timeout": 0}, BASE, "Invalid setting `request_timeout`: 0 must be more than 0 seconds."),
        ({"rate_limit_per_minute": -5}, BASE,
         "Invalid setting `rate_limit_per_minute`: -5 must be 0 (no limit) or more."),
    ],
)  # fmt: skip
def test_sync_settings_name_the_setting(config: dict, defaults: SyncDefaults, message: str) -> None:
    with pytest.raises(SettingsError) as failure:
        read_sync_settings(config, base_url="https://x", defaults=defaults, now=NOW)
    assert str(failure.value) == message


def test_a_bare_end_date_covers_its_day_where_the_tap_says_so() -> None:
    whole_day = SyncDefaults(end_date_whole_day=True, lag="0s")
    config = {"start_date": "2024-10-01", "end_date": "2024-10-02"}
    ends = [
        read_sync_settings(config, base_url="https://x", defaults=defaults, now=NOW)["end"]
        for defaults in (whole_day, BASE)
    ]
    assert ends == [datetime(2024, 10, 3, tzinfo=UTC), datetime(2024, 10, 2, tzinfo=UTC)]


def test_numbers_given_as_text_pass_json_schema_as_numbers() -> None:
    """Meltano passes a `kind: string` setting, e.g. from TAP_VISIONONE_RATE_LIMIT_PER_MINUTE, as text."""
    from tap_visionone.tap import TapVisionOne

    tap = TapVisionOne(config={"api_key": "k", "rate_limit_per_minute": "300", "max_workers": " 2 "})
    assert tap.run_settings.rate_limits["per_minute"] == 300
    assert tap.run_settings.max_workers == 2
    assert tap.config["rate_limit_per_minute"] == 300
    with pytest.raises(SettingsError, match="`max_workers`"):
        TapVisionOne(config={"api_key": "k", "max_workers": "2.5"})
