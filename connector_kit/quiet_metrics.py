"""The plugins' METRIC lines, decided after the SDK has set them up."""

from __future__ import annotations

import typing as t

from singer_sdk.plugin_base import PluginBase

from connector_kit.logs import route_metrics


class QuietMetrics(PluginBase):
    """A plugin whose METRIC lines follow `route_metrics` (off unless ``$CONNECTOR_LOG_METRICS``): the SDK
    sets its metrics logger to the plugin's log level while building the plugin, so this runs after."""

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        route_metrics()
