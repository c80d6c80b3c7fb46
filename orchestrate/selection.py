"""Which of a tenant's selected streams go to the daily partitions, and which to the inventory asset.

The time-windowed streams (detections, workbench alerts, audit logs, ...) are fetched per tenant and
day. The full-table lists (IAM accounts, endpoints, API keys, ...) have no time: each run reads them
whole, so a backfill of a month would read them thirty times into thirty folders. They go to their own
asset, partitioned by tenant only. Meltano select patterns (``stream.property``, ``!`` to exclude, glob
characters allowed) are split by their stream part, a glob stream part being expanded to the streams
of each kind it matches.
"""

from __future__ import annotations

import fnmatch
from functools import cache
from pathlib import Path

import yaml

GLOB = set("*?[")


@cache
def stream_kinds() -> tuple[frozenset[str], frozenset[str]]:
    """The tap's (incremental, full-table) stream names, from its own stream classes."""
    from tap_visionone.tap import TapVisionOne

    streams = TapVisionOne(config={}, validate_config=False, setup_mapper=False).streams.values()
    incremental = frozenset(s.name for s in streams if s.replication_key)
    return incremental, frozenset(s.name for s in streams if not s.replication_key)


def split_patterns(patterns: list[str] | tuple[str, ...]) -> tuple[list[str], list[str]]:
    """``patterns`` as (those for incremental streams, those for full-table streams)."""
    incremental, full_table = stream_kinds()
    daily: list[str] = []
    inventory: list[str] = []
    for pattern in patterns:
        negated = pattern.startswith("!")
        stream, dot, rest = pattern.removeprefix("!").partition(".")
        names = sorted(fnmatch.filter(incremental | full_table, stream)) if GLOB & set(stream) else [stream]
        for name in names:
            expanded = f"{'!' if negated else ''}{name}{dot}{rest}"
            (inventory if name in full_table else daily).append(expanded)
    return daily, inventory


def project_patterns(project_dir: str | Path) -> list[str]:
    """tap-visionone's ``select`` in the project's meltano.yml (empty if none)."""
    project = yaml.safe_load(Path(project_dir, "meltano.yml").read_text(encoding="utf-8")) or {}
    for plugin in (project.get("plugins") or {}).get("extractors") or []:
        if plugin.get("name") == "tap-visionone":
            return list(plugin.get("select") or [])
    return []
