"""The six activity searches (``/v3.0/search/{endpoint,email,network,cloud,mobile,identity}Activities``).

Each stream has ``max(1, scale // 2)`` records a day, stored as compact rows and expanded on demand, and
its own TMV1-Query field table (the documented fields plus the ones its records carry). Hosts are the
inventory's (:mod:`endpoints`), people are the IAM accounts' (:mod:`iam`); strings carry the same
hostile content as detections (unicode, commas, quotes, newlines, leading ``=`` ``+`` ``-`` ``@``).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

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
from tests.simulator.query import Language, language

Builder = Callable[[int, Row], dict[str, Any]]

_HASH_NAMES = tuple(
    f"{p}{a}"
    for p in ("objectFileHash", "parentFileHash", "processFileHash", "srcFileHash")
    for a in ("Md5", "Sha1", "Sha256")
)


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
    return {
        "uuid": uuid,
        "eventTime": millis,
        "eventTimeDT": dt,
        "productCode": rng.choice(("sao", "xes", "sds")),
        "pname": "Trend Vision One Endpoint Security",
        "endpointGuid": ep.guid,
        "endpointHostName": ep.name,
        "endpointIp": ep.ips,
        "eventId": str(event_id),
        "eventSubId": sub_id,
        "eventSourceType": rng.choice((1, 2)),  # an integer in pytmv1's EndpointActivity
        "hostName": ep.name,
        "logonUser": [rng.choice(USERS)],
        "objectCmd": rng.choice(OBJECT_CMDS) if about == "process" else None,
        "objectFileHashSha1": _sha(seed, f"file:{file_names[0]}")["Sha1"] if about == "file" else None,
        "objectFilePath": file_path + file_names[0] if about == "file" else None,
        "objectIp": ext_ip if connection else None,
        "objectIps": [ext_ip] if connection else [],
        "objectPort": rng.choice((80, 443, 445, 4444, 53)) if connection else None,
        "objectRegistryData": reg_data if about == "registry" else None,
        "objectRegistryKeyHandle": reg_key if about == "registry" else None,
        "objectRegistryValue": reg_value if about == "registry" else None,
        "objectSigner": signers,
        "objectSignerValid": [rng.random() < 0.8 for _ in signers],
        "objectUser": rng.choice(USERS),
        "os": ep.as_object["os"]["name"],
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
        "tags": _tags(rng),
        "filterRiskLevel": rng.choice(RISK_LEVELS),
    }


_URLS = (
    "https://login.micros0ft-support.example/reset?u=ana",
    "http://evil.example/invoice.php?id=1,2",
    "https://intranet.corp.example/wiki/Q3",
    '=HYPERLINK("http://evil.example")',
    "https://例え.テスト/お知らせ",
)


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
    return {
        "uuid": uuid,
        "eventTime": millis,
        "eventTimeDT": dt,
        "msgUuid": _uuid(rng.getrandbits(128)),
        "mailMsgSubject": subject,
        "mailMsgId": message_id,
        "mailbox": to[0] if inbound else sender,
        "mailSenderIp": sender_ip,
        "mailFromAddresses": [sender],
        "mailToAddresses": to,
        "mailCcAddresses": cc,
        "mailWholeHeader": [
            f"Received: from mx.{sender.split('@')[1]} ({sender_ip}) by mx.{DOMAIN}",
            f"From: {sender}",
            f"Subject: {subject}",
            f"Message-ID: {message_id}",
        ],
        "mailSourceDomain": sender.split("@")[1],
        "mailDirection": "inbound" if inbound else "outbound",
        "mailUrlsVisibleLink": visible,
        "mailUrlsRealLink": [u.replace("intranet", "intranet-redirect") for u in visible],
        "attachmentFileName": list(files),
        "attachmentSha256": [_sha(seed, f"attachment:{f}")["Sha256"] for f in files],
        "scanType": rng.choice(("Real-time scan", "Manual scan", "Post-delivery scan")),
        "eventSourceType": 1,  # an integer in pytmv1's EmailActivity
        "orgId": f"org-{seed:04d}",
        "pname": rng.choice(("Cloud App Security", "Trend Micro Email Security")),
        "tags": _tags(rng),
    }


_APPS = ("Microsoft 365", "Dropbox, personal", "ChatGPT", "Slack", "=WebDAV", "GitHub", "未知のアプリ")
_RULES = ("Block unsanctioned apps", 'Allow "Finance" SaaS', "Log everything, EU", "-deny-all-")


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
    return {
        "uuid": uuid,
        "eventTime": millis,
        "eventTimeDT": dt,
        "productCode": rng.choice(("sia", "pdi")),
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
        "respCode": rng.choice((200, 200, 302, 403, 404, 500)),
        "app": rng.choice(_APPS),
        "act": rng.choice(("Allow", "Block", "Monitor")),
        "principalName": f"{user}@{DOMAIN}",
        "ruleName": rng.choice(_RULES),
        "fileName": file_names[0] if file_names else None,
        "fileHashSha256": _sha(seed, f"file:{file_names[0]}")["Sha256"] if file_names else None,
        "ja3Hash": _sha(seed, f"ja3:{rng.randrange(8)}")["Md5"],
        "userDomain": "CORP",
        "suser": f"CORP\\{user}",
        "osName": ep.as_object["os"]["name"],
        "tags": _tags(rng),
        "filterRiskLevel": rng.choice(RISK_LEVELS),
    }


_AWS_EVENTS = (
    (
        "s3.amazonaws.com",
        "GetObject",
        lambda r: {"bucketName": "corp-backups", "key": f"db/{r.randrange(999)}.sql.gz"},
    ),
    ("iam.amazonaws.com", "CreateUser", lambda r: {"userName": r.choice(("backdoor", "svc-ci", "José"))}),
    (
        "ec2.amazonaws.com",
        "RunInstances",
        lambda r: {"instanceType": "t3.micro", "minCount": 1, "maxCount": 1},
    ),
    (
        "sts.amazonaws.com",
        "AssumeRole",
        lambda r: {"roleArn": "arn:aws:iam::123456789012:role/Admin, temp", "roleSessionName": "=session"},
    ),
    ("signin.amazonaws.com", "ConsoleLogin", lambda r: {}),
    ("kms.amazonaws.com", "Decrypt", lambda r: {"encryptionContext": {"app": "payroll", "env": "prod"}}),
)
_AGENTS = (
    "aws-cli/2.15.30 Python/3.11.8 Linux/5.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
    "Boto3/1.34.0 md/Botocore#1.34.0",
    '"curl/8.4.0"',
)
_REGIONS = ("us-east-1", "eu-central-1", "ap-northeast-1")


def cloud_activity(seed: int, row: Row) -> dict[str, Any]:
    event_ms, uuid, bits = row
    rng = random.Random(bits)
    millis, dt = _time_fields(event_ms)
    source, name, make_params = rng.choice(_AWS_EVENTS)
    account_id = rng.choice(("123456789012", "210987654321"))
    user = rng.choice(_PEOPLE)[0]
    params = make_params(rng)
    region = rng.choice(_REGIONS)
    service = source.split(".")[0]
    return {
        "uuid": uuid,
        "eventTime": millis,
        "eventTimeDT": dt,
        "productCode": "ctl",
        "eventID": _uuid(rng.getrandbits(128)),
        "eventName": name,
        "eventSource": source,
        "awsRegion": region,
        "sourceIPAddress": rng.choice(pools(seed).external_ips),
        "userAgent": rng.choice(_AGENTS),
        "userIdentity": {
            "type": rng.choice(("IAMUser", "AssumedRole", "Root")),
            "principalId": f"AIDA{rng.getrandbits(64):016X}",
            "arn": f"arn:aws:iam::{account_id}:user/{user}",
            "accountId": account_id,
            "userName": user,
        },
        "requestParameters": params,
        "responseElements": {"ConsoleLogin": "Success"} if name == "ConsoleLogin" else {},
        "resources": [
            {
                "ARN": f"arn:aws:{service}:{region}:{account_id}:{name.lower()}/{rng.randrange(999)}",
                "accountId": account_id,
                "type": f"AWS::{service.upper()}::Resource",
            }
        ]
        if rng.random() < 0.7
        else [],
        "cloudAccountId": account_id,
        "tags": _tags(rng),
    }


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
    return {
        "uuid": uuid,
        "eventTime": millis,
        "eventTimeDT": dt,
        "productCode": "tmms",
        "endpointGuid": device.guid,
        "endpointHostName": device.name,
        "endpointIp": device.ips,
        "endpointModel": device.model,
        "osName": device.os_name,
        "eventId": str(rng.choice((1, 2, 7))),
        "eventSubId": rng.choice((1, 2, 3)),
        "logonUser": [f"{rng.choice(_PEOPLE)[0]}@{DOMAIN}"],
        "appLabel": label,
        "appPkgName": package,
        "appPublicKeySha1": _sha(seed, f"apk:{package}")["Sha1"],
        "objectFilePath": f"/data/app/{package}-1/base.apk",
        "objectFileHashSha256": _sha(seed, f"apk-file:{package}")["Sha256"],
        "filterRiskLevel": rng.choice(RISK_LEVELS),
        "tags": _tags(rng),
    }


_SIGNIN_APPS = (
    "Office 365 Exchange Online",
    "Azure Portal",
    "Microsoft Teams",
    "Trend Vision One",
    "VPN, legacy",
)
_RESULTS = (
    ("0", "Success"),
    ("0", "Success"),
    ("0", "Success"),
    ("50126", "Invalid username or password."),
    ("50074", "Strong Authentication is required."),
    ("53003", 'Access blocked by "Conditional Access".'),
)
_PLACES = (("London", "GB"), ("東京", "JP"), ("München", "DE"), ("São Paulo", "BR"), ("Lagos", "NG"))


def identity_activity(seed: int, row: Row) -> dict[str, Any]:
    event_ms, uuid, bits = row
    rng = random.Random(bits)
    millis, dt = _time_fields(event_ms)
    local, _ = rng.choice(_PEOPLE)
    result, description = rng.choice(_RESULTS)
    city, country = rng.choice(_PLACES)
    return {
        "uuid": uuid,
        "eventTime": millis,
        "eventTimeDT": dt,
        "productCode": "aad",
        "eventName": "SignIn",
        "userPrincipalName": f"{local}@{DOMAIN}",
        "userDisplayName": local.replace(".", " ").title(),
        "ipAddress": rng.choice(pools(seed).external_ips),
        "appDisplayName": rng.choice(_SIGNIN_APPS),
        "clientAppUsed": rng.choice(("Browser", "Mobile Apps and Desktop clients", "IMAP4")),
        "resultType": result,
        "resultDescription": description,
        "location": {"city": city, "countryOrRegion": country},
        "deviceDetail": {
            "operatingSystem": rng.choice(("Windows 10", "MacOs", "Ios", "Android")),
            "browser": rng.choice(("Edge 123.0.0", "Chrome 124.0.0", "Safari 17.4")),
            "deviceId": _uuid(rng.getrandbits(128)) if rng.random() < 0.6 else "",
        },
        "riskLevel": rng.choice(("none", "low", "medium", "high")),
        "tags": _tags(rng),
    }


@dataclass(frozen=True)
class Activity:
    stream: str
    path: str
    build: Builder
    lang: Language


def _lang(
    name: str,
    documented: tuple[str, ...],
    ints: tuple[str, ...] = (),
    exact: tuple[str, ...] = (),
    sample: Builder | None = None,
) -> Language:
    record_fields = tuple(sample(0, (0, _uuid(0), 0)).keys()) if sample else ()
    fields = tuple(dict.fromkeys((*documented, *record_fields)))
    fields = tuple(f for f in fields if f not in ints and f not in exact)
    return language(name, fields, ints, exact)


ACTIVITIES: tuple[Activity, ...] = (
    Activity(
        "endpoint_activities",
        "/v3.0/search/endpointActivities",
        endpoint_activity,
        _lang(
            "endpointActivities",
            (
                "dst",
                "endpointGuid",
                "endpointHostName",
                "endpointIp",
                "hostName",
                "logonUser",
                "objectAppName",
                "objectCmd",
                "objectFilePath",
                "objectIp",
                "objectIps",
                "objectRawDataStr",
                "objectRegistryData",
                "objectRegistryKeyHandle",
                "objectRegistryValue",
                "objectSigner",
                "objectSignerValid",
                "objectUser",
                "parentCmd",
                "parentFilePath",
                "pname",
                "processCmd",
                "processFilePath",
                "request",
                "src",
                "srcFilePath",
                "tags",
                "uuid",
                "productCode",
                "filterRiskLevel",
            ),
            ints=(
                "dpt",
                "eventSubId",
                "objectPid",
                "objectPort",
                "parentPid",
                "processPid",
                "spt",
                "winEventId",
                "eventTime",
            ),
            exact=("eventId", "objectProcessHashId", "processHashId", *_HASH_NAMES),
            sample=endpoint_activity,
        ),
    ),
    Activity(
        "email_activities",
        "/v3.0/search/emailActivities",
        email_activity,
        _lang(
            "emailActivities",
            (
                "uuid",
                "tags",
                "pname",
                "msgUuid",
                "mailDirection",
                "mailFromAddresses",
                "mailToAddresses",
                "mailMsgSubject",
                "mailMsgId",
                "mailCcAddresses",
                "mailBccAddresses",
                "mailSenderIp",
                "mailAttachmentHash",
                "attachmentFileName",
                "attachmentUrls",
                "orgId",
                "mailUrlsVisibleLink",
                "mailUrlsRealLink",
            ),
            ints=("eventTime",),
            exact=("attachmentSha1", "attachmentMd5", "attachmentSha256"),
            sample=email_activity,
        ),
    ),
    Activity(
        "network_activities",
        "/v3.0/search/networkActivities",
        network_activity,
        _lang(
            "networkActivities",
            (
                "tags",
                "productCode",
                "uuid",
                "osName",
                "filterRiskLevel",
                "endpointHostName",
                "dst",
                "src",
                "endpointGuid",
                "principalName",
                "request",
                "application",
                "ruleName",
                "clientIp",
                "requestBase",
                "eventSubName",
                "fileName",
                "act",
                "eventName",
                "malName",
                "detectionType",
                "profile",
                "deviceGUID",
                "flowId",
                "serverIp",
                "app",
                "requestMethod",
                "respMethod",
                "requestClientApplication",
                "httpReferer",
                "httpXForwardedForIp",
                "resolvedUrlIp",
                "httpLocation",
                "userDomain",
                "suid",
                "hostName",
                "msgId",
                "mailMsgSubject",
                "suser",
                "duser",
                "requests",
                "fileType",
                "respFileHash",
                "respFileHashSha256",
                "respFileType",
                "ja3Hash",
                "ja3sHash",
            ),
            ints=("dpt", "spt", "clientPort", "serverPort", "resolvedUrlPort", "respCode", "eventTime"),
            exact=("fileHash", "fileHashSha256"),
            sample=network_activity,
        ),
    ),
    Activity(
        "cloud_activities",
        "/v3.0/search/cloudActivities",
        cloud_activity,
        _lang(
            "cloudActivities",
            (
                "eventID",
                "eventName",
                "eventSource",
                "requestParameters",
                "resources",
                "responseElements",
                "sourceIPAddress",
                "userAgent",
                "userIdentity",
                "vpcEndpointId",
                "uuid",
                "productCode",
                "tags",
                "dst",
                "src",
                "pname",
                "cloudAccountId",
                "networkInterfaceId",
                "packets",
                "bytes",
                "action",
                "logStatus",
                "vpcId",
                "subnetId",
                "instanceId",
                "flowType",
                "pktSrcAddr",
                "pktDstAddr",
                "regionCode",
                "azId",
                "subLocationType",
                "subLocationId",
                "pktSrcCloudServiceName",
                "pktDstCloudServiceName",
                "flowDirection",
                "awsRegion",
            ),
            ints=("dpt", "ipProto", "tcpFlags", "trafficPath", "eventTime"),
            sample=cloud_activity,
        ),
    ),
    Activity(
        "mobile_activities",
        "/v3.0/search/mobileActivities",
        mobile_activity,
        _lang(
            "mobileActivities",
            (
                "tags",
                "productCode",
                "uuid",
                "filterRiskLevel",
                "endpointGuid",
                "endpointHostName",
                "endpointIp",
                "logonUser",
                "objectFilePath",
                "pname",
                "request",
                "srcFilePath",
                "endpointModel",
                "osName",
                "appLabel",
                "appPkgName",
                "appPublicKeySha1",
                "objectAppDexSha256",
                "objectAppLabel",
                "objectAppPackageName",
                "objectAppPublicKeySha1",
            ),
            ints=("eventSubId", "eventTime"),
            exact=("eventId", "objectFileHashSha256", "srcFileHashSha256"),
            sample=mobile_activity,
        ),
    ),
    Activity(
        "identity_activities",
        "/v3.0/search/identityActivities",
        identity_activity,
        _lang(
            "identityActivities",
            (
                "uuid",
                "tags",
                "productCode",
                "eventName",
                "userPrincipalName",
                "userDisplayName",
                "ipAddress",
                "appDisplayName",
                "clientAppUsed",
                "resultType",
                "resultDescription",
                "location",
                "deviceDetail",
                "riskLevel",
            ),
            ints=("eventTime",),
            sample=identity_activity,
        ),
    ),
)
BY_STREAM = {a.stream: a for a in ACTIVITIES}
