"""What every tap of the suite does the same way: checked settings, one rate limiter, known streams."""

from __future__ import annotations

import typing as t
from functools import cached_property

from singer_sdk import Tap

from connector_kit import console
from connector_kit.input_files import check_catalog_streams
from connector_kit.message_writer import BufferedMsgSpecWriter
from connector_kit.quiet_metrics import QuietMetrics
from connector_kit.ratelimit import RateLimiter
from connector_kit.sdk_adapter import CheckedSettings
from connector_kit.tls import allow_unverified

if t.TYPE_CHECKING:
    from singer_sdk import Stream


class ConnectorTap(QuietMetrics, CheckedSettings, Tap):
    """A tap whose settings are checked once (`read_settings`) before any request, whose streams share
    one `RateLimiter`, and whose catalog may only name streams it has."""

    stream_classes: t.ClassVar[tuple[type[Stream], ...]] = ()
    message_writer_class = BufferedMsgSpecWriter
    # Settings only requests need (credentials): `--discover`, which sends none, runs without them.
    request_settings: t.ClassVar[tuple[str, ...]] = ()

    def __init__(self, *, validate_config: bool = True, **kwargs: t.Any) -> None:
        # The SDK builds the tap for --discover with validate_config=False (Tap.cb_discover passes
        # cls.dynamic_catalog); a sync and --test pass True.
        self.discovery_only = not validate_config
        if self.discovery_only and self.request_settings:  # nor a "Config validation failed" warning
            schema = self.config_jsonschema
            required = [name for name in schema.get("required", []) if name not in self.request_settings]
            self.config_jsonschema = {**schema, "required": required}  # --about keeps the class's
        super().__init__(validate_config=validate_config, **kwargs)

    def read_settings(self, config: dict[str, t.Any], *, for_requests: bool = True) -> t.Any:
        """The tap's checked settings object (a `SyncSettings` subclass); raise `SettingsError`.
        ``for_requests=False`` (discovery) accepts missing `request_settings`."""
        raise NotImplementedError

    def check_settings(self) -> None:
        _ = self.run_settings

    @cached_property
    def run_settings(self) -> t.Any:
        settings = self.read_settings(dict(self.config), for_requests=not self.discovery_only)
        if not settings.verify_ssl:
            allow_unverified(self.logger.warning)
        return settings

    @cached_property
    def rate_limiter(self) -> RateLimiter:
        """The one limiter every request of every stream and worker goes through."""
        return RateLimiter(**self.run_settings.rate_limits, on_wait=self.logger.info)

    @classmethod
    def stream_names(cls) -> list[str]:
        return [stream.name for stream in cls.stream_classes]

    def discover_streams(self) -> list[Stream]:
        return [stream_class(tap=self) for stream_class in self.stream_classes]

    def sync_all(self) -> None:
        if self.discovery_only:  # built without the request settings' checks, then asked to sync
            self.read_settings(dict(self.config))
        check_catalog_streams(self.input_catalog, self.stream_names(), self.name)
        super().sync_all()

    @classmethod
    def main(cls) -> None:
        """Console script: expected failures print one line and exit 1, without a traceback."""
        console.run(cls.name, cls.cli, tune_memory=True)
