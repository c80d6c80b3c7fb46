"""The tap's settings, read the way visionone-actions needs them: ``--config FILE`` (the tap's JSON config),
else ``TAP_VISIONONE_*`` environment variables, else a ``.env`` file in the working directory.

A setting found in the config file wins; the environment fills what the file leaves out, and ``.env`` what
both leave out. The API key is never part of a message.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from connector_kit.errors import SettingsError
from connector_kit.settings import read_bool
from connector_kit.visionone_regions import resolve_base_url

PREFIX = "TAP_VISIONONE_"
NAMES = ("api_key", "api_url", "region", "verify_ssl", "request_timeout")


@dataclass(frozen=True)
class Settings:
    api_key: str
    base_url: str
    verify_ssl: bool
    request_timeout: float

    def __repr__(self) -> str:  # never show the key, even in a traceback
        return f"Settings(base_url={self.base_url!r}, verify_ssl={self.verify_ssl})"


def read_dotenv(path: Path) -> dict[str, str]:
    """``KEY=VALUE`` lines (``export`` and quotes allowed, ``#`` comments skipped)."""
    values: dict[str, str] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return values
    except OSError as exc:
        raise SettingsError(f"Cannot read {path}: {exc.strerror}.") from None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        key = key.strip().removeprefix("export ").strip()
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        values[key] = value
    return values


def raw_settings(
    config_file: Path | None, environ: dict[str, str] | None = None, cwd: Path | None = None
) -> dict:
    """The settings as found, before checking: config file, then environment, then ``.env``."""
    environ = dict(os.environ if environ is None else environ)
    config: dict[str, Any] = {}
    if config_file is not None:
        try:
            config = json.loads(Path(config_file).read_text(encoding="utf-8"))
        except OSError as exc:
            raise SettingsError(f"Cannot read --config {config_file}: {exc.strerror}.") from None
        except json.JSONDecodeError as exc:
            raise SettingsError(f"--config {config_file} is not JSON (line {exc.lineno}).") from None
        if not isinstance(config, dict):
            raise SettingsError(f"--config {config_file} must hold a JSON object.")
    dotenv = read_dotenv((cwd or Path.cwd()) / ".env")
    merged: dict[str, Any] = {}
    for name in NAMES:
        env_name = PREFIX + name.upper()
        for source in (config, environ, dotenv):
            key = name if source is config else env_name
            value = source.get(key)
            if value is not None and value != "":
                merged[name] = value
                break
    return merged


def read_settings(config_file: Path | None, *, need_key: bool = True) -> Settings:
    """Check the settings; ``need_key=False`` (``--dry-run``) accepts a missing key."""
    raw = raw_settings(config_file)
    api_key = str(raw.get("api_key") or "").strip()
    if need_key and not api_key:
        raise SettingsError(
            "Missing setting `api_key`: set it in --config, as TAP_VISIONONE_API_KEY, or in .env "
            "(a Vision One API key whose role has the permissions listed in the command's --help)."
        )
    timeout = raw.get("request_timeout", 90)
    try:
        timeout = float(timeout)
        if timeout <= 0:
            raise ValueError
    except (TypeError, ValueError):
        raise SettingsError(
            f"Invalid setting `request_timeout`: {timeout!r} is not a positive number."
        ) from None
    return Settings(
        api_key=api_key,
        base_url=resolve_base_url(raw),
        verify_ssl=read_bool(raw, "verify_ssl", True),
        request_timeout=timeout,
    )
