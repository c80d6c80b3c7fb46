"""Trend Micro's field dictionary of the Vision One search API, as the simulator and the tests read it.

The YAML files beside this module are a copy of Trend's public repository ``trendmicro/tm-v1-schema``
(folder ``doc/``, and ``doc_v2/Others/Audit Log.yaml``; commit 0c3fdba2, 2026-05). Each lists, for one
data source, every field with its ``Name``, ``DL_Type`` and real ``Sample`` values. The tap's search-stream
schemas are checked against them (``tests/tap_visionone/test_dictionary_contract.py``) and the
simulator's records are built from them (:mod:`tests.simulator.activities`), so both follow Trend's
names and shapes rather than our own reading of the docs.

Samples are read as the JSON the API answers with: YAML's date parsing is switched off (a JSON answer
holds a date as text), everything else keeps the YAML type (a bare ``443`` is a number, ``'443'`` text).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).parent

# stream -> dictionary file (the mapping of the dictionary's README)
STREAM_FILES: dict[str, str] = {
    "detections": "Detections.yaml",
    "endpoint_activities": "Endpoint Activity Data.yaml",
    "email_activities": "Email Activity Data.yaml",
    "network_activities": "Network Activity Data and Secure Access Activity Data.yaml",
    "cloud_activities": "Cloud Activity Data.yaml",
    "mobile_activities": "Mobile Activity Data.yaml",
    "identity_activities": "Identity and Access Activity Data.yaml",
}
SEARCH_STREAMS = tuple(STREAM_FILES)

# DL_Type -> the JSON type it names ("dynamic": any; the samples tell which shapes occur)
DL_TYPES: dict[str, str | None] = {
    "string": "string",
    "int": "integer",
    "long": "integer",
    "real": "number",
    "bool": "boolean",
    "dynamic": None,
}


class _JsonLoader(yaml.SafeLoader):
    """SafeLoader read as JSON would: no timestamps (a sample date is text in a JSON answer), and only
    ``true``/``false`` are booleans (YAML 1.2; YAML 1.1 would read the samples ``ON``, ``OFF``, ``Yes``
    and ``No`` of text fields such as ``endpointStatus`` and ``cccaDetection`` as booleans)."""


_DROPPED = {"tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:bool"}
_JsonLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in _DROPPED]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_JsonLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def json_type(value: Any) -> str:
    """The JSON Schema type of one decoded JSON value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    raise TypeError(f"not a JSON value: {value!r}")


@dataclass(frozen=True)
class Field:
    """One dictionary entry: the API's name, its DL_Type, the products that emit it and real samples."""

    name: str
    dl_type: str
    products: tuple[str, ...]
    samples: tuple[Any, ...]
    description: str

    @property
    def dynamic(self) -> bool:
        return self.dl_type == "dynamic"

    @property
    def sample_types(self) -> frozenset[str]:
        return frozenset(json_type(sample) for sample in self.samples)

    @property
    def json_types(self) -> frozenset[str]:
        """Every JSON type the field takes: its DL_Type's and each sample's (``dynamic``: its samples')."""
        named = DL_TYPES.get(self.dl_type)
        return frozenset({named} if named else set()) | self.sample_types


def _entry(raw: dict[str, Any]) -> Field:
    samples = raw.get("Sample")
    if samples is None:
        samples = []
    elif not isinstance(samples, list):  # Audit Log.yaml gives its one sample as a scalar
        samples = [samples]
    return Field(
        name=str(raw["Name"]),
        dl_type=str(raw.get("DL_Type") or "dynamic"),
        products=tuple(str(p) for p in raw.get("ProductCode") or ()),
        samples=tuple(samples),
        description=re.sub(r"\s+", " ", str(raw.get("Description_EN") or "")).strip(),
    )


@cache
def load_file(file_name: str) -> tuple[Field, ...]:
    """The fields of one dictionary file, in its order (a name listed twice keeps every sample)."""
    raw = yaml.load((HERE / file_name).read_text(encoding="utf-8"), Loader=_JsonLoader)
    merged: dict[str, Field] = {}
    for entry in map(_entry, raw):
        seen = merged.get(entry.name)
        merged[entry.name] = entry if seen is None else _merge(seen, entry)
    return tuple(merged.values())


def _merge(first: Field, second: Field, *, dl_type: str | None = None) -> Field:
    """One entry for a name documented twice, keeping every shape both show (differing types: dynamic,
    unless ``dl_type`` says)."""
    return Field(
        first.name,
        dl_type or (first.dl_type if first.dl_type == second.dl_type else "dynamic"),
        tuple(dict.fromkeys(first.products + second.products)),
        first.samples + second.samples,
        first.description or second.description,
    )


# A data source the API serves under another search than the dictionary files it under: Trend's API
# reference lists AWS VPC flow log fields among cloudActivities' fields, the dictionary files them as
# network activity (product ``vpc``). The cloud search takes those the reference names (and its
# ``eventTime``), typed as the dictionary has them; the rest of the network fields stay network's.
VPC_FLOW_FIELDS = (
    "eventTime", "dst", "src", "pname", "dpt", "packets", "bytes", "action", "logStatus", "vpcId",
    "subnetId", "instanceId", "tcpFlags", "flowType", "pktSrcAddr", "pktDstAddr", "azId", "subLocationType",
    "subLocationId", "pktSrcCloudServiceName", "pktDstCloudServiceName", "flowDirection", "trafficPath",
    "start", "end", "vpcFlowLogsVersion",
)  # fmt: skip
BORROWED: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "cloud_activities": ("network_activities", "vpc", VPC_FLOW_FIELDS)
}


@cache
def fields(stream: str) -> tuple[Field, ...]:
    """The dictionary's fields of one search stream (with those of a data source it serves, `BORROWED`)."""
    own = load_file(STREAM_FILES[stream])
    if stream not in BORROWED:
        return own
    other, product, names_served = BORROWED[stream]
    served = {
        field.name: replace(field, products=(product,))
        for field in load_file(STREAM_FILES[other])
        if field.name in names_served
    }
    # a name both sources have: this stream's type, with the samples of both (cloud eventTime: ISO text
    # from CloudTrail, epoch ms from flow logs)
    merged = tuple(
        _merge(field, served[field.name], dl_type=field.dl_type) if field.name in served else field
        for field in own
    )
    names = {field.name for field in own}
    return merged + tuple(field for name, field in served.items() if name not in names)


def field_map(stream: str) -> dict[str, Field]:
    return {field.name: field for field in fields(stream)}


# Fields real search answers carry that the dictionary does not list, with where they were seen. The
# schemas declare them and the simulator may emit them; nothing else outside the dictionary.
EXTRA_API_FIELDS: dict[str, dict[str, str]] = {
    stream: {
        "eventTimeDT": "eventTime as ISO 8601 text (pytmv1's EndpointActivity.event_time_d_t; Elastic's "
        "Vision One detection sample)",
    }
    for stream in SEARCH_STREAMS
}
EXTRA_API_FIELDS["cloud_activities"].update(
    {
        name: "a VPC flow log field among the API reference's cloudActivities fields, not in the dictionary"
        for name in ("cloudAccountId", "networkInterfaceId", "ipProto", "regionCode")
    }
)
# JSON types of the extra fields (default: text or null)
EXTRA_TYPES: dict[str, tuple[str, ...]] = {"ipProto": ("string", "integer", "null")}
EXTRA_API_FIELDS["detections"].update(
    {
        "eventTime": "epoch milliseconds: the API reference's answer example and Elastic's detection sample",
        "rt_utc": "ISO 8601 text (Elastic's Vision One detection sample)",
    }
)
