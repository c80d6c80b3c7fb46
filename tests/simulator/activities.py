"""The six activity searches (``/v3.0/search/{endpoint,email,network,cloud,mobile,identity}Activities``).

Each stream has ``max(1, scale // 2)`` records a day, stored as compact rows and expanded on demand, and
its own TMV1-Query field table (Trend's field dictionary for the stream). Each generator builds a core
under the dictionary's names (hosts from the inventory, :mod:`endpoints`; people from IAM, :mod:`iam`;
the same hostile strings as detections: unicode, commas, quotes, newlines, leading ``=`` ``+`` ``-``
``@``); :func:`samples.finish` keeps what the record's product emits and adds its other fields.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from tests.simulator import samples
from tests.simulator.daily import Row
from tests.simulator.data import (
    FILES,
    OBJECT_CMDS,
    PROCESSES,
    RECIPIENTS,
    REQUESTS,
    RISK_LEVELS,
    SENDERS,
    SUBJECTS,
    USERS,
    _hashes,
    _uuid,
    pools,
)
from tests.simulator.endpoints import mobile_devices
from tests.simulator.iam import _PEOPLE, DOMAIN
from tests.simulator.query import Language, search_language

Builder = Callable[[int, Row], dict[str, Any]]


def _time_fields(event_ms: int) -> tuple[int, str]:
    moment = datetime.fromtimestamp(event_ms // 1000, UTC)
    return event_ms, moment.strftime("%Y-%m-%dT%H:%M:%S+00:00")


@lru_cache(maxsize=4096)
def _sha(seed: int, label: str) -> dict[str, str]:
    return _hashes(seed, label)


def _exe_path(command: str) -> str:
    """The program of a command line: the quoted first word, else the first word."""
    if command.startswith('"'):
        return command[1:].split('"', 1)[0]
    return command.split(" ", 1)[0]


def _tags(rng: random.Random) -> list[str]:
    return rng.choice(
        (
            [],
            ["MITREV9.T1059.001", "XSAE.F2140"],
            ["MITREV9.T1071.001"],
            ["MITREV9.T1003.001", "XSAE.F3066"],
            ["MITREV9.T1566.001"],
        )
    )


def _weighted(*pairs: tuple[str, int]) -> tuple[str, ...]:
    return tuple(code for code, weight in pairs for _ in range(weight))


# (eventId, eventSubId, what the event is about)
_ENDPOINT_EVENTS = (
    (1, 2, "process"),
    (2, 101, "file"),
    (3, 201, "connection"),
    (4, 301, "dns"),
    (5, 402, "registry"),
    (7, 602, "internet"),
    (1, 5, "process"),
)
_SIGNERS = (["Microsoft Windows"], ["Trend Micro, Inc."], ['Acme "Signed" Ltd.'], [], ["Unknown Publisher"])
_REG = (
    (
        "HKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\CurrentVersion\\Run",
        "upd",
        '"C:\\ProgramData\\upd.exe"',
    ),
    ("HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\evil", "ImagePath", "=cmd /c calc"),
    ("HKEY_CURRENT_USER\\Software\\Classes\\ms-settings\\Shell\\Open\\command", "", "cmd.exe, /c whoami"),
)
_ENDPOINT_PRODUCTS = _weighted(("xes", 3), ("sao", 2), ("sds", 1))


def endpoint_activity(seed: int, row: Row) -> dict[str, Any]:
    event_ms, uuid, bits = row
    rng = random.Random(bits)
    p = pools(seed)
    ep = rng.choice(p.endpoints)
    event_id, sub_id, about = rng.choice(_ENDPOINT_EVENTS)
    proc_i = rng.randrange(len(PROCESSES))
    proc_name, proc_cmd, parent_cmd = PROCESSES[proc_i]
    file_names, file_path = FILES[rng.randrange(len(FILES))]
    ext_ip = rng.choice(p.external_ips)
    reg_key, reg_value, reg_data = rng.choice(_REG)
    signers = rng.choice(_SIGNERS)
    millis, dt = _time_fields(event_ms)
    connection = about in ("connection", "dns", "internet")
    product = rng.choice(_ENDPOINT_PRODUCTS)
    core = {
        "uuid": uuid,
        "eventTime": millis,
        "eventTimeDT": dt,
        "productCode": product,
        "pname": "Trend Vision One Endpoint Security",
        "endpointGuid": ep.guid,
        "endpointHostName": ep.name,
        "endpointIp": ep.ips,
        "eventId": event_id,
        "eventSubId": sub_id,
        "eventSourceType": rng.choice((1, 2)),
        "hostName": ep.name,
        "logonUser": [rng.choice(USERS)],
        "objectCmd": rng.choice(OBJECT_CMDS) if about == "process" else None,
        "objectFileHashSha1": _sha(seed, f"file:{file_names[0]}")["Sha1"] if about == "file" else None,
        "objectFilePath": file_path + file_names[0] if about == "file" else None,
        "objectIp": ext_ip if connection else None,
        "objectIps": [ext_ip] if connection else None,
        "objectPort": rng.choice((80, 443, 445, 4444, 53)) if connection else None,
        "objectRegistryData": reg_data if about == "registry" else None,
        "objectRegistryKeyHandle": reg_key if about == "registry" else None,
        "objectRegistryValue": reg_value if about == "registry" else None,
        "objectSigner": signers or None,
        "objectSignerValid": [int(rng.random() < 0.8) for _ in signers] or None,
        "objectUser": rng.choice(USERS),
        "osName": ep.as_object["os"]["name"],
        "parentCmd": parent_cmd,
        "parentFileHashSha1": _sha(seed, f"parent:{_exe_path(parent_cmd)}")["Sha1"],
        "parentFilePath": _exe_path(parent_cmd),
        "processCmd": proc_cmd,
        "processFileHashSha1": p.process_hash_objects[proc_i]["Sha1"],
        "processFilePath": f"C:\\Windows\\System32\\{proc_name}",
        "processPid": rng.randrange(4, 60_000),
        "request": rng.choice(REQUESTS) if about in ("dns", "internet") else None,
        "src": ep.ips[0],
        "dst": ext_ip if connection else None,
        "dpt": rng.choice((80, 443, 445, 53)) if connection else None,
        "spt": rng.randrange(1024, 65_000) if connection else None,
        "tags": _tags(rng) or None,
        "filterRiskLevel": rng.choice(RISK_LEVELS),
    }
    return samples.finish("endpoint_activities", product, core, rng.getrandbits(128))


_URLS = (
    "https://login.micros0ft-support.example/reset?u=ana",
    "http://evil.example/invoice.php?id=1,2",
    "https://intranet.corp.example/wiki/Q3",
    '=HYPERLINK("http://evil.example")',
    "https://例え.テスト/お知らせ",
)
_MAIL_PRODUCTS = (
    ("sca", "Cloud App Security"),
    ("sca", "Cloud App Security"),
    ("sem", "Trend Micro Email Security"),
    ("xms", "Trend Vision One Email and Collaboration Security"),
)
INBOUND, OUTBOUND = 1, 3  # mailDirection is an integer code (the dictionary's samples: 1, 3, 25)


def email_activity(seed: int, row: Row) -> dict[str, Any]:
    event_ms, uuid, bits = row
    rng = random.Random(bits)
    millis, dt = _time_fields(event_ms)
    inbound = rng.random() < 0.8
    sender = rng.choice(SENDERS) if inbound else rng.choice(RECIPIENTS)
    to = rng.sample(RECIPIENTS, rng.randrange(1, 3)) if inbound else [rng.choice(SENDERS)]
    cc = rng.sample(RECIPIENTS, rng.randrange(0, 2))
    subject = rng.choice(SUBJECTS)
    message_id = f"<{rng.getrandbits(64):016x}@{sender.split('@')[1]}>"
    visible = rng.sample(_URLS, rng.randrange(0, 3))
    files = FILES[rng.randrange(len(FILES))][0] if rng.random() < 0.4 else []
    sender_ip = rng.choice(pools(seed).external_ips)
    product, pname = rng.choice(_MAIL_PRODUCTS)
    core = {
        "uuid": uuid,
        "eventTime": millis,
        "eventTimeDT": dt,
        "productCode": product,
        "pname": pname,
        "msgUuid": _uuid(rng.getrandbits(128)),
        "mailMsgSubject": subject,
        "mailMsgId": message_id,
        "mailbox": to[0] if inbound else sender,
        "mailSenderIp": sender_ip,
        "mailFromAddresses": [sender],
        "mailToAddresses": to,
        "mailCcAddresses": cc or None,
        "mailWholeHeader": [
            f"Received: from mx.{sender.split('@')[1]} ({sender_ip}) by mx.{DOMAIN}",
            f"From: {sender}",
            f"Subject: {subject}",
            f"Message-ID: {message_id}",
        ],
        "mailSourceDomain": sender.split("@")[1],
        "mailDirection": INBOUND if inbound else OUTBOUND,
        "mailUrlsVisibleLink": visible or None,
        "mailUrlsRealLink": [u.replace("intranet", "intranet-redirect") for u in visible] or None,
        "attachmentFileName": list(files) or None,
        "attachmentSha256": [_sha(seed, f"attachment:{f}")["Sha256"] for f in files] or None,
        "scanType": rng.choice(("realtime_mailmeta-exchange", "gateway_mailmetadata", "manual_scan")),
        "eventSourceType": 1,
        "orgId": f"org-{seed:04d}",
        "tags": _tags(rng) or None,
    }
    return samples.finish("email_activities", product, core, rng.getrandbits(128))


_NETWORK_PRODUCTS = _weighted(("sig", 3), ("pdi", 2), ("xns", 2), ("szn", 1), ("vpc", 1), ("azv", 1))
_APPS = ("HTTP", "HTTPS", "DNS Response", "SMB2", "Kerberos", "SSL")
_RULES = (
    "Block unsanctioned apps",
    'Allow "Finance" SaaS',
    "Log everything, EU",
    "-deny-all-",
    "未知のアプリ",
)


def network_activity(seed: int, row: Row) -> dict[str, Any]:
    event_ms, uuid, bits = row
    rng = random.Random(bits)
    p = pools(seed)
    ep = rng.choice(p.endpoints)
    millis, dt = _time_fields(event_ms)
    server_ip, port, client_port = (
        rng.choice(p.external_ips),
        rng.choice((80, 443, 8080)),
        rng.randrange(1024, 65_000),
    )
    user = rng.choice(_PEOPLE)[0]
    file_names = FILES[rng.randrange(len(FILES))][0] if rng.random() < 0.3 else None
    product = rng.choice(_NETWORK_PRODUCTS)
    core = {
        "uuid": uuid,
        "eventTime": millis,
        "eventTimeDT": dt,
        "productCode": product,
        "endpointGuid": ep.guid,
        "endpointHostName": ep.name,
        "src": ep.ips[0],
        "dst": server_ip,
        "dpt": port,
        "spt": client_port,
        "clientIp": ep.ips[0],
        "serverIp": server_ip,
        "clientPort": client_port,
        "serverPort": port,
        "request": rng.choice(REQUESTS),
        "requestMethod": rng.choice(("GET", "POST", "CONNECT")),
        "respCode": rng.choice(("200", "200", "302", "403", "404", "500")),
        "app": rng.choice(_APPS),
        "act": rng.choice(("Allow", "Block", "Monitor")),
        "principalName": f"{user}@{DOMAIN}",
        "ruleName": rng.choice(_RULES),
        "fileName": file_names[0] if file_names else None,
        "fileHashSha256": _sha(seed, f"file:{file_names[0]}")["Sha256"] if file_names else None,
        "ja3Hash": _sha(seed, f"ja3:{rng.randrange(8)}")["Md5"],
        "userDomain": DOMAIN,
        "suser": f"{user}@{DOMAIN}",
        "osName": ep.as_object["os"]["name"],
        "tags": _tags(rng) or None,
        "filterRiskLevel": rng.choice(RISK_LEVELS),
    }
    return samples.finish("network_activities", product, core, rng.getrandbits(128))


def _json(value: Any) -> str:
    """CloudTrail's nested parts arrive as JSON text in a search answer."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


_AWS_EVENTS = (
    (
        "s3.amazonaws.com",
        "GetObject",
        "Data",
        lambda r: {"bucketName": "corp-backups", "key": f"db/{r.randrange(999)}.sql.gz"},
    ),
    (
        "iam.amazonaws.com",
        "CreateUser",
        "Management",
        lambda r: {"userName": r.choice(("backdoor", "svc-ci", "José"))},
    ),
    (
        "ec2.amazonaws.com",
        "RunInstances",
        "Management",
        lambda r: {"instanceType": "t3.micro", "minCount": 1, "maxCount": 1},
    ),
    (
        "sts.amazonaws.com",
        "AssumeRole",
        "Management",
        lambda r: {"roleArn": "arn:aws:iam::123456789012:role/Admin, temp", "roleSessionName": "=session"},
    ),
    ("signin.amazonaws.com", "ConsoleLogin", "Management", lambda r: None),
    (
        "kms.amazonaws.com",
        "Decrypt",
        "Data",
        lambda r: {"encryptionContext": {"app": "payroll", "env": "prod"}},
    ),
)
_AGENTS = (
    "aws-cli/2.15.30 Python/3.11.8 Linux/5.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
    "Boto3/1.34.0 md/Botocore#1.34.0",
    '"curl/8.4.0"',
)
_REGIONS = ("us-east-1", "eu-central-1", "ap-northeast-1")
JSON_TEXT_FIELDS = (
    "requestParameters",
    "responseElements",
    "userIdentity",
    "resources",
    "additionalEventData",
    "serviceEventDetails",
)


VPC_FLOW_SHARE = 0.3  # cloud activity records that are AWS VPC flow logs; the rest is CloudTrail


def cloud_activity(seed: int, row: Row) -> dict[str, Any]:
    """A CloudTrail event (``sct``, eventTime as ISO text, nested parts as JSON text) or, about one
    record in three, an AWS VPC flow log (``vpc``, eventTime in epoch ms), as the API serves them.

    Trend's API reference lists both data sources for the cloud search; the dictionary files the
    flow log fields under network activity (`dictionary.BORROWED`).
    """
    event_ms, uuid, bits = row
    rng = random.Random(bits)
    if rng.random() < VPC_FLOW_SHARE:
        return _vpc_flow(seed, row, rng)
    _, dt = _time_fields(event_ms)
    source, name, category, make_params = rng.choice(_AWS_EVENTS)
    account_id = rng.choice(("123456789012", "210987654321"))
    user = rng.choice(_PEOPLE)[0]
    params = make_params(rng)
    region = rng.choice(_REGIONS)
    service = source.split(".")[0]
    identity = {
        "type": rng.choice(("IAMUser", "AssumedRole", "Root")),
        "principalId": f"AIDA{rng.getrandbits(64):016X}",
        "arn": f"arn:aws:iam::{account_id}:user/{user}",
        "accountId": account_id,
        "userName": user,
    }
    resources = [
        {
            "ARN": f"arn:aws:{service}:{region}:{account_id}:{name.lower()}/{rng.randrange(999)}",
            "accountId": account_id,
            "type": f"AWS::{service.upper()}::Resource",
        }
    ]
    login = name == "ConsoleLogin"
    core = {
        "uuid": uuid,
        "eventTime": dt.replace("+00:00", "Z"),
        "eventTimeDT": dt,
        "productCode": "sct",
        "eventID": _uuid(rng.getrandbits(128)),
        "eventName": name,
        "eventSource": source,
        "eventType": "AwsConsoleSignIn" if login else "AwsApiCall",
        "eventCategory": category,
        "readOnly": name in ("GetObject", "Decrypt"),
        "awsRegion": region,
        "sourceIPAddress": rng.choice(pools(seed).external_ips),
        "userAgent": rng.choice(_AGENTS),
        "userIdentity": _json(identity),
        "requestParameters": None if params is None else _json(params),
        "responseElements": _json({"ConsoleLogin": "Success"}) if login else None,
        "resources": _json(resources) if rng.random() < 0.7 else None,
        "additionalEventData": _json(
            {"MFAUsed": rng.choice(("Yes", "No")), "LoginTo": "https://console.aws.amazon.com/"}
        )
        if login
        else None,
        "recipientAccountId": account_id,
        "requestID": _uuid(rng.getrandbits(128)),
        "tags": _tags(rng) or None,
    }
    return samples.finish("cloud_activities", "sct", core, rng.getrandbits(128), JSON_TEXT_FIELDS)


def _vpc_flow(seed: int, row: Row, rng: random.Random) -> dict[str, Any]:
    event_ms, uuid, _ = row
    millis, dt = _time_fields(event_ms)
    p = pools(seed)
    inbound = rng.random() < 0.5
    inside = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
    outside = rng.choice(p.external_ips)
    src, dst = (outside, inside) if inbound else (inside, outside)
    packets = rng.randrange(1, 400)
    start = event_ms // 1000 - rng.randrange(1, 60)
    core = {
        "uuid": uuid,
        "eventTime": millis,
        "eventTimeDT": dt,
        "productCode": "vpc",
        "src": src,
        "dst": dst,
        "dpt": rng.choice((22, 443, 3389, 5432, 53)),
        "ipProto": rng.choice((6, 6, 17)),
        "packets": packets,
        "bytes": packets * rng.randrange(40, 1500),
        "action": rng.choice(("ACCEPT", "ACCEPT", "REJECT")),
        "logStatus": "OK",
        "flowDirection": "ingress" if inbound else "egress",
        "cloudAccountId": rng.choice(("123456789012", "210987654321")),
        "networkInterfaceId": f"eni-{rng.getrandbits(64):017x}"[:21],
        "vpcId": f"vpc-{rng.getrandbits(32):08x}",
        "subnetId": f"subnet-{rng.getrandbits(32):08x}",
        "instanceId": f"i-{rng.getrandbits(64):017x}"[:19],
        "regionCode": rng.choice(_REGIONS),
        "start": start,
        "end": start + rng.randrange(1, 60),
        "vpcFlowLogsVersion": 5,
        "tags": _tags(rng) or None,
    }
    return samples.finish("cloud_activities", "vpc", core, rng.getrandbits(128))


_APKS = (
    ("WhatsApp", "com.whatsapp"),
    ("Flashlight+", "com.free.flash.light"),
    ("銀行アプリ", "jp.bank.app"),
    ("=Calc", "com.evil.calc"),
    ("Signal", "org.thoughtcrime.securesms"),
)


def mobile_activity(seed: int, row: Row) -> dict[str, Any]:
    event_ms, uuid, bits = row
    rng = random.Random(bits)
    device = rng.choice(mobile_devices(seed))
    millis, dt = _time_fields(event_ms)
    label, package = rng.choice(_APKS)
    core = {
        "uuid": uuid,
        "eventTime": millis,
        "eventTimeDT": dt,
        "productCode": "ams",
        "pname": "Mobile Security",
        "endpointGuid": device.guid,
        "endpointHostName": device.name,
        "endpointIp": device.ips,
        "endpointModel": device.model,
        "osName": device.os_name,
        "eventId": rng.choice((1, 2, 7)),
        "eventSubId": rng.choice((1, 2, 3)),
        "logonUser": [f"{rng.choice(_PEOPLE)[0]}@{DOMAIN}"],
        "appLabel": label,
        "appPkgName": package,
        "appPublicKeySha1": _sha(seed, f"apk:{package}")["Sha1"],
        "objectFilePath": f"/data/app/{package}-1/base.apk",
        "objectFileHashSha256": _sha(seed, f"apk-file:{package}")["Sha256"],
        "filterRiskLevel": rng.choice(RISK_LEVELS),
        "tags": _tags(rng) or None,
    }
    return samples.finish("mobile_activities", "ams", core, rng.getrandbits(128))


_SIGNIN_APPS = (
    "Office 365 Exchange Online",
    "Azure Portal",
    "Microsoft Teams",
    "Trend Vision One",
    "VPN, legacy",
)
# result, status (Entra ID's error code), statusReason
_RESULTS = (
    ("success", "0", ""),
    ("success", "0", ""),
    ("success", "0", ""),
    ("failure", "50126", "Error validating credentials due to invalid username or password."),
    ("failure", "50074", "Strong Authentication is required."),
    ("failure", "53003", 'Access has been blocked by "Conditional Access" policies.'),
)
_PLACES = (("London", "GB"), ("東京", "JP"), ("München", "DE"), ("São Paulo", "BR"), ("Lagos", "NG"))
# winEventId, what it records, eventDataLogonType
_WINDOWS_LOGONS = (
    (4624, "logon", "3"),
    (4625, "failed logon", "2"),
    (4624, "logon", "10"),
    (4662, "access", ""),
)


def identity_activity(seed: int, row: Row) -> dict[str, Any]:
    """A sign-in from Entra ID (``aad``) or a Windows security event from on-premises AD (``opa``)."""
    event_ms, uuid, bits = row
    rng = random.Random(bits)
    millis, dt = _time_fields(event_ms)
    local, _ = rng.choice(_PEOPLE)
    result, status, reason = rng.choice(_RESULTS)
    city, country = rng.choice(_PLACES)
    product = "aad" if rng.random() < 0.8 else "opa"
    ep = rng.choice(pools(seed).endpoints)
    win_event, _, logon_type = rng.choice(_WINDOWS_LOGONS)
    ip = rng.choice(pools(seed).external_ips)
    core = {
        "uuid": uuid,
        "eventTime": millis,
        "eventTimeDT": dt,
        "productCode": product,
        "eventName": "EVENT_SOURCE_AAD_SIGN_INS" if product == "aad" else "EVENT_SOURCE_OPA_WINDOWS_EVENT",
        "eventId": "1 - EVENT_SOURCE_AAD_SIGN_INS"
        if product == "aad"
        else "3 - EVENT_SOURCE_OPA_WINDOWS_EVENT",
        "principalName": f"{local}@{DOMAIN}",
        "userDisplayName": local.replace(".", " ").title(),
        "userId": _uuid(rng.getrandbits(128)),
        "ipAddress": ip,
        "application": rng.choice(_SIGNIN_APPS),
        "clientApp": rng.choice(("browser", "Mobile Apps and Desktop clients", "IMAP4")),
        "clientBrowser": rng.choice(("Edge 123.0.0", "Chrome 124.0.0", "Safari 17.4")),
        "clientOS": rng.choice(("Windows 10", "MacOs", "Ios", "Android")),
        "result": result,
        "resultReason": result,
        "status": status,
        "statusReason": reason,
        "locationCity": city,
        "locationCountry": country,
        "endpointGuid": ep.guid,
        "endpointHostName": ep.name,
        "endpointIp": ep.ips,
        "osName": ep.as_object["os"]["name"],
        "logonUser": [f"CORP\\{local}"],
        "winEventId": win_event,
        "eventDataLogonType": logon_type or None,
        "eventDataTargetUserName": local,
        "eventDataIpAddress": ip,
        "tags": _tags(rng) or None,
    }
    return samples.finish("identity_activities", product, core, rng.getrandbits(128))


@dataclass(frozen=True)
class Activity:
    stream: str
    path: str
    build: Builder
    lang: Language


ACTIVITIES: tuple[Activity, ...] = (
    Activity(
        "endpoint_activities",
        "/v3.0/search/endpointActivities",
        endpoint_activity,
        search_language("endpointActivities", "endpoint_activities"),
    ),
    Activity(
        "email_activities",
        "/v3.0/search/emailActivities",
        email_activity,
        search_language("emailActivities", "email_activities"),
    ),
    Activity(
        "network_activities",
        "/v3.0/search/networkActivities",
        network_activity,
        search_language("networkActivities", "network_activities"),
    ),
    Activity(
        "cloud_activities",
        "/v3.0/search/cloudActivities",
        cloud_activity,
        search_language("cloudActivities", "cloud_activities"),
    ),
    Activity(
        "mobile_activities",
        "/v3.0/search/mobileActivities",
        mobile_activity,
        search_language("mobileActivities", "mobile_activities"),
    ),
    Activity(
        "identity_activities",
        "/v3.0/search/identityActivities",
        identity_activity,
        search_language("identityActivities", "identity_activities"),
    ),
)
BY_STREAM = {a.stream: a for a in ACTIVITIES}
