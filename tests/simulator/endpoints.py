"""``GET /v3.0/endpointSecurity/endpoints``: the endpoint inventory every other family points into.

The desktops and servers are exactly the hosts of :func:`tests.simulator.data.pools` (names, agent GUIDs,
IPs) that detections use; a few mobile devices (for mobile activities) are listed too, so every
``agentGuid`` / ``endpointGuid`` anywhere in the simulator exists here.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from tests.simulator import odata
from tests.simulator.common import Call, bad_request, check_known, check_top, iso
from tests.simulator.data import USERS, _uuid, pools
from tests.simulator.iam import order_by, sort_records
from tests.simulator.paging import listing, page

PATH = "/v3.0/endpointSecurity/endpoints"
TOPS = (10, 50, 100, 200, 500, 1000)
ORDER_FIELDS = (
    "agentGuid",
    "edrSensorLastConnectedDateTime",
    "eppAgentLastConnectedDateTime",
    "eppAgentLastScannedDateTime",
)
# The reference's ``select`` names: top-level fields, and eppAgent* / edrSensor* for fields of those objects.
SELECT_FIELDS = (
    "endpointName",
    "osName",
    "type",
    "ipAddresses",
    "isolationStatus",
    "osPlatform",
    "osVersion",
    "osKernelVersion",
    "osArchitecture",
    "cpuArchitecture",
    "displayName",
    "agentGuid",
    "lastLoggedOnUser",
    "lastUsedIp",
    "serviceGatewayOrProxy",
    "serialNumber",
    "versionControlPolicy",
    "agentUpdatePolicy",
    "agentUpdateStatus",
    "creditAllocatedLicenses",
    "securityPolicy",
    "securityPolicyOverriddenStatus",
    "eppAgentComponentVersion",
    "eppAgentComponentUpdatePolicy",
    "eppAgentComponentUpdateStatus",
    "eppAgentProtectionManager",
    "eppAgentEndpointGroup",
    "eppAgentStatus",
    "eppAgentPolicyName",
    "eppAgentVersion",
    "eppAgentLastConnectedDateTime",
    "eppAgentLastScannedDateTime",
    "eppAgentInstalledComponentIds",
    "eppAgentPatterns",
    "edrSensorEndpointGroup",
    "edrSensorVersion",
    "edrSensorComponentUpdatePolicy",
    "edrSensorComponentUpdateStatus",
    "edrSensorConnectivity",
    "edrSensorLastConnectedDateTime",
    "edrSensorStatus",
    "edrSensorAdvancedRiskTelemetryStatus",
    "edrSensorPatterns",
)
SELECT_MAX_LENGTH = 128
FILTER_MAX_LENGTH = 1024
_EPP_FEATURES = (
    "AntiMalwareScans",
    "BehaviorMonitoring",
    "PredictiveMachineLearning",
    "WebReputation",
    "SuspiciousConnectionSettings",
    "VulnerabilityProtection",
    "DeviceControl",
    "ApplicationControl",
    "Firewall",
    "IntegratedEndpointSensor",
    "DataLossPrevention",
    "SmartFeedback",
    "AntiMalware",
    "ActivityMonitoring",
    "IntrusionPreventionSystem",
    "LogInspection",
    "IntegrityMonitoring",
    "AgentSelfProtection",
    "SAPScanner",
    "SecurityAgentPasswordUnlock",
)


def _path(name: str) -> tuple[str, ...]:
    """Where a reference field name lives in a record (``eppAgentPolicyName`` -> eppAgent.policyName)."""
    for parent in ("eppAgent", "edrSensor"):
        if name.startswith(parent) and len(name) > len(parent):
            rest = name[len(parent) :]
            return parent, rest[0].lower() + rest[1:]
    return (name,)


# TMV1-Filter fields of the reference (``hassubset()`` on creditAllocatedLicenses is not simulated;
# availableActions / securityDeployment are accepted but match nothing, as they are not in records).
FILTER = {
    name: odata.key(*_path(name))
    for name in (
        "endpointName",
        "agentGuid",
        "type",
        "osName",
        "osPlatform",
        "osArchitecture",
        "isolationStatus",
        "serviceGatewayOrProxy",
        "versionControlPolicy",
        "agentUpdateStatus",
        "agentUpdatePolicy",
        "creditAllocatedLicenses",
        "securityPolicy",
        "securityPolicyOverriddenStatus",
        "edrSensorStatus",
        "edrSensorConnectivity",
        "edrSensorAdvancedRiskTelemetryStatus",
        "edrSensorComponentUpdatePolicy",
        "edrSensorComponentUpdateStatus",
        "eppAgentStatus",
        "eppAgentProtectionManager",
        "eppAgentEndpointGroup",
        "eppAgentPolicyName",
        "eppAgentComponentVersion",
        "eppAgentComponentUpdatePolicy",
        "eppAgentComponentUpdateStatus",
        *(f"eppAgent{feature}" for feature in _EPP_FEATURES),
        "availableActions",
        "securityDeployment",
    )
}
_ORDER_PATHS = {
    "agentGuid": ("agentGuid",),
    "edrSensorLastConnectedDateTime": ("edrSensor", "lastConnectedDateTime"),
    "eppAgentLastConnectedDateTime": ("eppAgent", "lastConnectedDateTime"),
    "eppAgentLastScannedDateTime": ("eppAgent", "lastScannedDateTime"),
}
_PLATFORMS = {"Windows": "windows", "macOS": "mac", "Ubuntu": "linux"}
_MOBILE_MODELS = (
    ("Pixel 8", "Android", "14"),
    ("Galaxy S23", "Android", "14"),
    ("iPhone 15", "iOS", "17.4"),
    ("iPad Air", "iPadOS", "17.3"),
)
_MOBILE_NAMES = ("Ana's iPhone", "Pixel de José", "田中のiPad", "Galaxy, Mark", "=phone", "Олег-телефон")
_GROUPS = ("Servers", "Workstations, EU", "東京オフィス", "=Finance", "Default")


@dataclass(frozen=True)
class Mobile:
    guid: str
    name: str
    ips: list[str]
    model: str
    os_name: str
    os_version: str


@lru_cache(maxsize=16)
def mobile_devices(seed: int) -> tuple[Mobile, ...]:
    rng = random.Random(f"visionone-mobiles:{seed}")
    out = []
    for i in range(12):
        model, os_name, version = _MOBILE_MODELS[i % len(_MOBILE_MODELS)]
        name = f"{_MOBILE_NAMES[i % len(_MOBILE_NAMES)]} {i}"
        ips = [f"172.16.{rng.randrange(256)}.{rng.randrange(1, 255)}"]
        out.append(Mobile(_uuid(rng.getrandbits(128)), name, ips, model, os_name, version))
    return tuple(out)


def _host_record(rng: random.Random, ep: Any, now: datetime) -> dict[str, Any]:
    os_name, os_version = ep.as_object["os"]["name"], ep.as_object["os"]["version"]
    family = os_name.split()[0]
    server = "Server" in os_name or ep.name.startswith("srv-")
    connected = now - timedelta(minutes=rng.randrange(1, 60 * 24 * 20))
    scanned = connected - timedelta(hours=rng.randrange(0, 24 * 7))
    arch = rng.choice(("x86_64", "x86_64", "arm64"))
    return {
        "agentGuid": ep.guid,
        "endpointName": ep.name,
        "displayName": ep.name,
        "type": "server" if server else "desktop",
        "osName": "Linux" if family == "Ubuntu" else family,
        "osPlatform": _PLATFORMS[family],
        "osVersion": f"{os_name} ({os_version})",
        "osKernelVersion": {"Windows": os_version, "macOS": "23.4.0", "Ubuntu": "5.15.0-105-generic"}[family],
        "osArchitecture": arch,
        "cpuArchitecture": arch,
        "lastUsedIp": ep.ips[0],
        "ipAddresses": ep.ips,
        "serialNumber": f"SN-{rng.getrandbits(40):010X}",
        "lastLoggedOnUser": rng.choice(USERS),
        "isolationStatus": "on" if rng.random() < 0.05 else "off",
        "serviceGatewayOrProxy": rng.choice(("", "sg-eu-01.corp.example", "proxy.corp.example:8080")),
        "securityPolicy": rng.choice(("Default Endpoint Policy, EU", "Servers – strict", "=Finance team")),  # noqa: RUF001
        "securityPolicyOverriddenStatus": rng.choice(("overridden", "notOverridden")),
        "creditAllocatedLicenses": rng.choice(
            (["Advanced Endpoint Security"], ["Advanced Endpoint Security", "Advanced Server & Workload"], [])
        ),
        "eppAgent": {
            "endpointGroup": rng.choice(_GROUPS),
            "protectionManager": rng.choice(("Standard Endpoint Protection", "Server & Workload Protection")),
            "productNames": ["Trend Vision One Endpoint Security"],
            "policyName": rng.choice(("Default", 'Strict "lockdown"', "Developers, relaxed")),
            "status": rng.choice(("on", "on", "on", "off")),
            "lastConnectedDateTime": iso(connected),
            "version": f"14.0.{rng.randrange(10_000, 14_000)}",
            "lastScannedDateTime": iso(scanned),
            "componentVersion": rng.choice(("latestVersion", "outdatedVersion")),
            "componentUpdatePolicy": rng.choice(("N", "N-1", "N-2")),
            "componentUpdateStatus": rng.choice(("onSchedule", "pause")),
        },
        "edrSensor": {
            "endpointGroup": rng.choice(_GROUPS),
            "productNames": ["Trend Vision One Endpoint Security"],
            "connectivity": rng.choice(("connected", "connected", "disconnected")),
            "version": f"1.2.{rng.randrange(1000, 3000)}",
            "lastConnectedDateTime": iso(connected + timedelta(seconds=rng.randrange(60))),
            "status": rng.choice(("enabled", "enabled", "disabled")),
            "advancedRiskTelemetryStatus": rng.choice(("enabled", "disabled")),
        },
    }


def _mobile_record(rng: random.Random, m: Mobile, now: datetime) -> dict[str, Any]:
    connected = now - timedelta(minutes=rng.randrange(1, 60 * 24 * 10))
    return {
        "agentGuid": m.guid,
        "endpointName": m.name,
        "displayName": m.name,
        "type": "desktop",
        "osName": m.os_name,
        "osPlatform": "unknown",
        "osVersion": m.os_version,
        "osKernelVersion": "",
        "osArchitecture": "arm64",
        "cpuArchitecture": "arm64",
        "lastUsedIp": m.ips[0],
        "ipAddresses": m.ips,
        "serialNumber": f"SN-{rng.getrandbits(40):010X}",
        "lastLoggedOnUser": "",
        "isolationStatus": "off",
        "serviceGatewayOrProxy": "",
        "securityPolicy": "Mobile",
        "securityPolicyOverriddenStatus": "notOverridden",
        "creditAllocatedLicenses": ["Mobile Security"],
        "eppAgent": {
            "endpointGroup": "Mobile",
            "protectionManager": "Mobile Security",
            "productNames": ["Trend Micro Mobile Security"],
            "policyName": "Mobile",
            "status": "on",
            "lastConnectedDateTime": iso(connected),
            "version": "9.8.1",
            "lastScannedDateTime": iso(connected - timedelta(hours=3)),
            "componentVersion": "latestVersion",
            "componentUpdatePolicy": "N",
            "componentUpdateStatus": "onSchedule",
        },
        "edrSensor": {
            "endpointGroup": "Mobile",
            "productNames": [],
            "connectivity": "disconnected",
            "version": "",
            "lastConnectedDateTime": iso(connected),
            "status": "disabled",
            "advancedRiskTelemetryStatus": "disabled",
        },
    }


@lru_cache(maxsize=16)
def inventory(seed: int, now: datetime) -> tuple[dict[str, Any], ...]:
    """Every endpoint, in the default order (agentGuid ascending)."""
    rng = random.Random(f"visionone-inventory:{seed}")
    records = [_host_record(rng, ep, now) for ep in pools(seed).endpoints]
    records += [_mobile_record(rng, m, now) for m in mobile_devices(seed)]
    records.sort(key=lambda r: r["agentGuid"])
    return tuple(records)


def list_endpoints(world: Any, call: Call) -> dict[str, Any]:
    check_known(call.params, ("top", "orderBy", "select"))
    top = check_top(call.params, TOPS, 100)
    order_text = call.params.get("orderBy", "agentGuid")
    order = order_by(order_text, ORDER_FIELDS, default_direction="asc")
    select = _select(call.params.get("select"))
    text = call.header("TMV1-Filter")
    try:
        parsed = odata.parse(text, FILTER, "endpoint", FILTER_MAX_LENGTH)
    except odata.FilterError as exc:
        raise bad_request(f"Invalid TMV1-Filter: {exc}.") from None
    rows = [r for r in world.endpoints if parsed.matches(r)]
    if order != [("agentGuid", False)]:
        keyed = [{"_r": r, **{f: odata.key(*_ORDER_PATHS[f])(r) for f, _ in order}} for r in rows]
        sort_records(keyed, order)
        rows = [k["_r"] for k in keyed]
    link_params = {"top": str(top)}
    for name in ("orderBy", "select"):
        if name in call.params:
            link_params[name] = call.params[name]
    chunk, link = page(call.pager, call.path, rows, top, call.params, link_params, text, "TMV1-Filter")
    items = [_selected(r, select) for r in chunk] if select else list(chunk)
    return listing(items, link, totalCount=len(rows), count=len(chunk))


def _select(text: str | None) -> list[tuple[str, ...]]:
    """The record paths ``select`` names (agentGuid always); 400 for a name or length the API refuses."""
    if text is None:
        return []
    if len(text) > SELECT_MAX_LENGTH:
        raise bad_request(f"Invalid value for select: it is longer than {SELECT_MAX_LENGTH} characters.")
    names = [f.strip() for f in text.split(",") if f.strip()]
    unknown = [n for n in names if n not in SELECT_FIELDS]
    if unknown or not names:
        raise bad_request(
            f"Invalid value for select: '{text}'. Use comma-separated fields of: {', '.join(SELECT_FIELDS)}."
        )
    return [("agentGuid",), *(_path(n) for n in names)]


def _selected(record: dict[str, Any], paths: list[tuple[str, ...]]) -> dict[str, Any]:
    """The record with only the selected fields, in record order (objects keep only their selected keys)."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        inner = [p[1] for p in paths if p[0] == key and len(p) == 2]
        if (key,) in paths:
            out[key] = value
        elif inner and isinstance(value, dict):
            out[key] = {k: v for k, v in value.items() if k in inner}
    return out


# -- GET /v3.0/eiqs/endpoints: the legacy endpoint search (pytmv1's endpoint.list_data) --------------------
# TMV1-Query is required and uses the eq syntax (``agentGuid eq 'x' or endpointName eq 'y'``); the same
# machines as the inventory above, in that API's shape ({value, updatedDateTime} wrappers).

EIQS_PATH = "/v3.0/eiqs/endpoints"
EIQS_TOPS = (50, 100, 200)
_EIQS_OS = {"Windows": "Windows", "macOS": "macOS", "Linux": "Linux"}
EIQS_FILTER = {
    "agentGuid": odata.key("agentGuid"),
    "loginAccount": odata.key("loginAccount", "value"),
    "endpointName": odata.key("endpointName", "value"),
    "macAddress": odata.key("macAddress", "value"),
    "ip": odata.key("ip", "value"),
    **odata.fields(
        "osName",
        "osVersion",
        "productCode",
        "installedProductCodes",
        "protectionManager",
        "policyName",
        "componentUpdatePolicy",
        "componentUpdateStatus",
        "componentVersion",
    ),
}


def eiqs_record(record: dict[str, Any]) -> dict[str, Any]:
    """One inventory record in the shape of ``/eiqs/endpoints``."""
    guid = record["agentGuid"]
    mac = ":".join(guid.replace("-", "")[i : i + 2] for i in range(0, 12, 2)).upper()
    seen = record["eppAgent"]["lastConnectedDateTime"]
    user = record["lastLoggedOnUser"]
    return {
        "agentGuid": guid,
        "loginAccount": {"value": [user] if user else [], "updatedDateTime": seen},
        "endpointName": {"value": record["endpointName"], "updatedDateTime": seen},
        "macAddress": {"value": [mac], "updatedDateTime": seen},
        "ip": {"value": list(record["ipAddresses"]), "updatedDateTime": seen},
        "osName": _EIQS_OS.get(record["osName"], ""),
        "osVersion": record["osVersion"],
        "osDescription": record["osVersion"],
        "productCode": "xes" if record["osPlatform"] != "unknown" else "",
        "installedProductCodes": ["xes"] if record["osPlatform"] != "unknown" else [],
        "componentUpdatePolicy": record["eppAgent"]["componentUpdatePolicy"],
        "componentUpdateStatus": record["eppAgent"]["componentUpdateStatus"],
        "componentVersion": record["eppAgent"]["componentVersion"],
        "policyName": record["eppAgent"]["policyName"],
        "protectionManager": record["eppAgent"]["protectionManager"],
    }


def list_eiqs(world: Any, call: Call) -> dict[str, Any]:
    check_known(call.params, ("top",))
    top = check_top(call.params, EIQS_TOPS, 50)
    text = call.header("TMV1-Query")
    if text is None or not text.strip():
        raise bad_request("TMV1-Query header is required (e.g. agentGuid eq '...' or endpointName eq '...').")
    try:
        parsed = odata.parse(text, EIQS_FILTER, "endpoint", FILTER_MAX_LENGTH)
    except odata.FilterError as exc:
        raise bad_request(f"Invalid TMV1-Query: {exc}.") from None
    rows = [r for r in (eiqs_record(e) for e in world.endpoints) if parsed.matches(r)]
    chunk, link = page(call.pager, call.path, rows, top, call.params, {"top": str(top)}, text, "TMV1-Query")
    return listing(list(chunk), link)
