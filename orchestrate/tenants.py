"""The tenants file: one YAML or JSON file listing the Vision One tenants to sync.

Each tenant names the environment variable that holds its key (`api_key_env`), never the key itself::

    tenants:
    - name: acme
      region: eu
      api_key_env: ACME_V1_KEY
      max_concurrent_runs: 2      # optional, default 1
    - name: globex
      api_url: https://proxy.example/v1
      api_key_env: GLOBEX_V1_KEY

A bare list (without the `tenants:` key) is accepted too.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
FIELDS = {
    "name",
    "region",
    "api_url",
    "api_key_env",
    "max_concurrent_runs",
    "rate_limit_per_minute",
    "select",
}


class TenantsError(ValueError):
    """A tenants file that cannot be used; the message is one line naming the file and the tenant."""


@dataclass(frozen=True)
class Tenant:
    name: str
    api_key_env: str
    region: str | None = None
    api_url: str | None = None
    max_concurrent_runs: int = 1
    rate_limit_per_minute: int = 450  # the tap's default: the tenant's whole budget, shared by its runs
    select: tuple[str, ...] = ()  # empty: meltano.yml's selection

    def api_key(self) -> str:
        """The key, read from the environment at run time (never stored in the file or in Dagster)."""
        value = os.environ.get(self.api_key_env, "")
        if not value:
            raise TenantsError(f"tenant {self.name!r}: environment variable {self.api_key_env} is not set")
        return value

    def rate_limit_per_run(self) -> int:
        """Each of the tenant's concurrent runs gets an equal share of its per-minute budget."""
        return max(1, self.rate_limit_per_minute // self.max_concurrent_runs)


def load_tenants(path: str | os.PathLike[str]) -> list[Tenant]:
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as error:
        raise TenantsError(
            f"{path}: not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {error}"
        ) from None
    if isinstance(data, dict):
        data = data.get("tenants")
    if not isinstance(data, list) or not data:
        raise TenantsError(f"{path}: expected a non-empty list of tenants (or a `tenants:` list)")
    tenants = [_tenant(path, index, entry) for index, entry in enumerate(data)]
    names = [t.name for t in tenants]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise TenantsError(f"{path}: tenant names must be unique: {', '.join(duplicates)}")
    return tenants


def _tenant(path: Path, index: int, entry: Any) -> Tenant:
    if not isinstance(entry, dict):
        raise TenantsError(f"{path}: tenant #{index + 1} is not a mapping")
    label = entry.get("name") or f"#{index + 1}"
    where = f"{path}: tenant {label!r}"
    if "api_key" in entry:
        raise TenantsError(
            f"{where} has an `api_key`: put the key in an environment variable and name it in `api_key_env`"
        )
    unknown = sorted(set(entry) - FIELDS)
    if unknown:
        raise TenantsError(
            f"{where}: unknown field(s) {', '.join(unknown)} (known: {', '.join(sorted(FIELDS))})"
        )
    name = entry.get("name")
    if not isinstance(name, str) or not NAME.match(name):
        raise TenantsError(f"{where}: `name` must be letters, digits, '.', '_' or '-' (at most 64)")
    key_env = entry.get("api_key_env")
    if not isinstance(key_env, str) or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", key_env):
        raise TenantsError(f"{where}: `api_key_env` must be the name of an environment variable")
    if not entry.get("region") and not entry.get("api_url"):
        raise TenantsError(f"{where}: set `region` or `api_url`")
    concurrency = entry.get("max_concurrent_runs", 1)
    rate = entry.get("rate_limit_per_minute", 450)
    for field, value in (("max_concurrent_runs", concurrency), ("rate_limit_per_minute", rate)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise TenantsError(f"{where}: `{field}` must be a whole number of at least 1")
    select = entry.get("select") or []
    if isinstance(select, str):
        select = [select]
    if not isinstance(select, list) or not all(isinstance(s, str) for s in select):
        raise TenantsError(f"{where}: `select` must be a list of Meltano select patterns")
    return Tenant(
        name=name,
        api_key_env=key_env,
        region=entry.get("region") or None,
        api_url=entry.get("api_url") or None,
        max_concurrent_runs=concurrency,
        rate_limit_per_minute=rate,
        select=tuple(select),
    )
