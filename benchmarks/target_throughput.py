"""How fast is target-csv-flat next to meltanolabs-target-csv on the same Singer input?

Generates N nested, detection-like RECORD messages (seeded, so every run writes the same file) into
benchmarks/.work/, then times each target as a subprocess reading that file on stdin (wall clock, best
of --repeat), checks that both wrote the same number of CSV data rows, and prints rows/s, the ratio
target-csv-flat / meltanolabs-target-csv, and the peak RSS of each process (os.wait4 rusage of that
one child). Both targets keep the SDK's JSON-schema record validation on; meltanolabs-target-csv
flattens with the SDK's own flattening (`flattening_enabled: true`, `flattening_max_depth: 3`).
target-csv-flat runs with its defaults otherwise: CSV injection guard on, crash-safe batches of
100,000 rows. Each run's disk writes (rusage block output x 512) are printed against the size of
the CSV it left.

`--memory-records 1000000` then runs target-csv-flat alone on that many records (a second generated
file, about 2 GB; `--flat-only` skips the comparison first) to show that its peak RSS stays flat as
the input grows: rows are streamed to disk, never held. It also prints the rate after start-up (the
run's time less that of a one-record run), the same rate of the SDK floor (`sdk_floor_target.py`: a
Singer SDK target that discards every record and validates nothing) on the same file, and the bytes
written to disk against the final CSV size.
meltanolabs-target-csv is not run at that size: at its measured rate it would take far too long
(the estimate is printed).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.schema_shorthand import DT, I, L, S, obj

WORK = Path(__file__).resolve().parent / ".work"
BIN = Path(sys.executable).parent
STREAM = "detections"


SCHEMA: dict = {
    "type": "object",
    "additionalProperties": True,
    "properties": {
        "uuid": {"type": "string"},
        "eventTime": {"type": "integer"},
        "eventTimeDT": DT,
        "rt": DT,
        "rt_utc": DT,
        "productCode": S,
        "pname": S,
        "pver": S,
        "act": S,
        "actResult": S,
        "detectionType": S,
        "eventName": S,
        "eventSubName": S,
        "filterRiskLevel": S,
        "score": I,
        "endpointGUID": S,
        "endpointHostName": S,
        "endpointIp": L,
        "hostName": S,
        "interestedHost": S,
        "interestedIp": L,
        "src": S,
        "dst": L,
        "spt": I,
        "dpt": I,
        "request": S,
        "processName": S,
        "processCmd": S,
        "parentCmd": S,
        "objectCmd": L,
        "processPid": I,
        "processFileHash": obj(Md5=S, Sha1=S, Sha256=S),
        "objectFileHash": obj(Md5=S, Sha1=S, Sha256=S),
        "fileName": L,
        "filePath": S,
        "fileSize": I,
        "malName": S,
        "malType": S,
        "threatName": S,
        "mitreMapping": L,
        "tacticId": L,
        "tags": L,
        "mailMsgSubject": S,
        "suser": S,
        "duser": L,
        "policy": obj(id=S, name=S, rule=obj(id=S, name=S)),
        "endpoint": obj(name=S, os=obj(name=S, version=S), ips=L),
    },
}

_PRODUCTS = ["sao", "sds", "xes", "pdi", "sae", "ddd", "sca"]
_ACTS = ["Block", "Allow", "Quarantine", "Clean", "Log", None]
_EVENTS = ["MALWARE_DETECTION", "SUSPICIOUS_PROCESS", "NETWORK_CONNECTION", "POLICY_VIOLATION"]
_USERS = ["alice", "bob", "Zoë Müller", "田中太郎", "o'brien", "ops, team", 'say "hi"']
_OSES = [("Windows", "10.0.19045"), ("Windows Server", "2022"), ("macOS", "14.5"), ("Ubuntu", "22.04")]
_SUBJECTS = [
    "Invoice #4411",
    '=HYPERLINK("http://evil.example","click")',
    "Réunion, lundi",
    "line one\nline two",
    "価格の見積もり",
    'He said "urgent"',
]
_MITRE = ["T1059", "T1059.001", "T1566", "T1204.002", "T1027"]


def _hex(rng: random.Random, n: int) -> str:
    return f"{rng.getrandbits(n * 4):0{n}x}"


def _ip(rng: random.Random) -> str:
    return f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"


def make_record(rng: random.Random, i: int, base: datetime) -> dict:
    """One detection-like record: nested objects, lists, unicode and CSV-hostile text."""
    when = base + timedelta(milliseconds=i * 137 + rng.randrange(100))
    ms = int(when.timestamp() * 1000)
    iso = when.strftime("%Y-%m-%dT%H:%M:%S") + (f".{when.microsecond // 1000:03d}Z" if i % 2 else "Z")
    host = f"host-{rng.randrange(5000):04d}"
    os_name, os_ver = rng.choice(_OSES)
    user = rng.choice(_USERS)
    cmd = f'powershell.exe -enc "{_hex(rng, 24)}" -w hidden, -nop'
    if i % 97 == 0:
        cmd += "\r\nsecond line"
    record = {
        "uuid": f"{_hex(rng, 8)}-{_hex(rng, 4)}-{_hex(rng, 4)}-{_hex(rng, 4)}-{_hex(rng, 12)}",
        "eventTime": ms,
        "eventTimeDT": iso,
        "rt": iso,
        "rt_utc": iso,
        "productCode": rng.choice(_PRODUCTS),
        "pname": "Apex One",
        "pver": f"14.0.{rng.randrange(9999)}",
        "act": rng.choice(_ACTS),
        "actResult": rng.choice(["Quarantined", "Passed", "Blocked"]),
        "detectionType": rng.choice(["File", "Behavior", "Web"]),
        "eventName": rng.choice(_EVENTS),
        "eventSubName": rng.choice(["Process", "File", "Network", "Email"]),
        "filterRiskLevel": rng.choice(["low", "medium", "high", "critical"]),
        "score": rng.randrange(100),
        "endpointGUID": f"{_hex(rng, 8)}-{_hex(rng, 4)}-{_hex(rng, 4)}-{_hex(rng, 12)}",
        "endpointHostName": host,
        "endpointIp": [_ip(rng) for _ in range(rng.randrange(1, 3))],
        "hostName": host,
        "interestedHost": host,
        "interestedIp": [_ip(rng)],
        "src": _ip(rng),
        "dst": [_ip(rng) for _ in range(rng.randrange(0, 3))],
        "spt": rng.randrange(1024, 65535),
        "dpt": rng.choice([80, 443, 445, 3389, None]),
        "request": f'https://cdn{rng.randrange(9)}.example.com/a,b?q="x"&id={rng.randrange(10**6)}',
        "processName": "powershell.exe",
        "processCmd": cmd,
        "parentCmd": "C:\\Windows\\explorer.exe",
        "objectCmd": [cmd, "cmd.exe /c whoami"],
        "processPid": rng.randrange(100, 65000),
        "processFileHash": {"Md5": _hex(rng, 32), "Sha1": _hex(rng, 40), "Sha256": _hex(rng, 64)},
        "objectFileHash": {"Md5": _hex(rng, 32), "Sha1": _hex(rng, 40), "Sha256": _hex(rng, 64)},
        "fileName": [f"payload_{rng.randrange(999)}.exe", "残り.txt"],
        "filePath": f"C:\\Users\\{user}\\AppData\\Local\\Temp",
        "fileSize": rng.randrange(10**7),
        "malName": rng.choice(["TROJ_GEN.R002C0", "Ransom.Win32.LOCKBIT", None]),
        "malType": rng.choice(["Trojan", "Ransomware", None]),
        "threatName": rng.choice(["Emotet", "LockBit", "Qakbot"]),
        "mitreMapping": rng.sample(_MITRE, 2),
        "tacticId": ["TA0002", "TA0005"],
        "tags": ["XSAE.F" + str(rng.randrange(9999)), "MITRE.T1059"],
        "mailMsgSubject": rng.choice(_SUBJECTS),
        "suser": user,
        "duser": [user, "admin"],
        "policy": {
            "id": f"pol-{rng.randrange(500)}",
            "name": f"Policy {rng.randrange(50)}, default",
            "rule": {"id": f"r{rng.randrange(9999)}", "name": rng.choice(["Block macro", 'Détection "x"'])},
        },
        "endpoint": {
            "name": host,
            "os": {"name": os_name, "version": os_ver},
            "ips": [_ip(rng)],
        },
    }
    if i % 5 == 0:
        # Absent rather than null: meltanolabs-target-csv 0.5.0 (SDK flattening) stops with
        # "dict contains fields not in fieldnames" on a null nested object.
        del record["objectFileHash"]
    return record


def generate(path: Path, records: int, seed: int) -> None:
    """Write SCHEMA, `records` RECORD messages and a STATE message to `path`."""
    rng = random.Random(seed)
    base = datetime(2024, 10, 1, tzinfo=UTC)
    tmp = path.with_suffix(".tmp")
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    with tmp.open("w", encoding="utf-8") as out:
        out.write(dumps({"type": "SCHEMA", "stream": STREAM, "schema": SCHEMA, "key_properties": ["uuid"]}))
        out.write("\n")
        last = 0
        for i in range(records):
            rec = make_record(rng, i, base)
            last = rec["eventTime"]
            out.write(dumps({"type": "RECORD", "stream": STREAM, "record": rec}))
            out.write("\n")
        out.write(dumps({"type": "STATE", "value": {"bookmarks": {STREAM: {"replication_key_value": last}}}}))
        out.write("\n")
    tmp.replace(path)


@dataclass
class Run:
    seconds: float
    max_rss_kib: int
    rows: int
    written: int = 0  # bytes the process wrote to storage (rusage block output x 512)
    csv_bytes: int = 0  # size of the CSV files it left

    @property
    def write_ratio(self) -> float:
        return self.written / self.csv_bytes if self.csv_bytes else float("nan")


def count_rows(folder: Path) -> int:
    rows = 0
    for csv_path in folder.glob("*.csv"):
        with csv_path.open(newline="", encoding="utf-8") as f:
            rows += sum(1 for _ in csv.reader(f)) - 1
    return rows


def run_target(executable: str | list[str], config: dict, folder: Path, messages: Path, log: Path) -> Run:
    """Run one target (a console script's name, or a command) on `messages` as stdin; time it and read
    its own peak RSS via wait4."""
    command = executable if isinstance(executable, list) else [str(BIN / executable)]
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    config_path = folder.with_suffix(".config.json")
    config_path.write_text(json.dumps(config), encoding="utf-8")
    with messages.open("rb") as stdin, log.open("wb") as stderr:
        began = time.perf_counter()
        proc = subprocess.Popen(
            [*command, "--config", str(config_path)],
            stdin=stdin,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - began
        proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(command)} failed with exit code {proc.returncode}; see {log}")
    csv_bytes = sum(p.stat().st_size for p in folder.glob("*.csv"))
    return Run(elapsed, usage.ru_maxrss, count_rows(folder), usage.ru_oublock * 512, csv_bytes)


def messages_file(records: int, seed: int) -> Path:
    """The generated input for `records` records (made once, then reused)."""
    WORK.mkdir(parents=True, exist_ok=True)
    messages = WORK / f"{STREAM}-{records}-seed{seed}.singer.jsonl"
    if not messages.exists():
        began = time.perf_counter()
        generate(messages, records, seed)
        print(
            f"generated {messages.name} ({messages.stat().st_size / 1e6:.1f} MB) "
            f"in {time.perf_counter() - began:.1f}s"
        )
    return messages


FLAT_CONFIG = {"flattening_max_depth": 3, "overwrite_behavior": "replace"}


def flat_alone(records: int, seed: int, name: str) -> Run:
    """target-csv-flat alone on `records` records, default settings; its output folder is removed after."""
    folder = WORK / f"out-target-csv-flat-{name}"
    run = run_target(
        "target-csv-flat",
        {**FLAT_CONFIG, "output_path": str(folder)},
        folder,
        messages_file(records, seed),
        WORK / f"target-csv-flat-{name}.log",
    )
    shutil.rmtree(folder, ignore_errors=True)
    return run


FLOOR_TARGET = [sys.executable, str(Path(__file__).resolve().parent / "sdk_floor_target.py")]


def floor_alone(records: int, seed: int) -> float:
    """Seconds the SDK floor target (`sdk_floor_target.py`) takes on `records` records."""
    folder = WORK / "out-sdk-floor"
    run = run_target(FLOOR_TARGET, {}, folder, messages_file(records, seed), WORK / "sdk-floor.log")
    shutil.rmtree(folder, ignore_errors=True)
    return run.seconds


def decode_seconds(records: int, seed: int) -> float:
    """Seconds to read the input and decode each line with msgspec into dicts, in this process: the
    least any Python target does with a message before its record is of use."""
    import msgspec

    decode = msgspec.json.Decoder().decode
    began = time.perf_counter()
    with messages_file(records, seed).open("rb", buffering=1 << 20) as lines:
        for line in lines:
            decode(line)
    return time.perf_counter() - began


def startup_seconds(seed: int) -> float:
    """target-csv-flat's wall clock on an input of one record: its start-up and shut-down cost."""
    return flat_alone(1, seed, "startup").seconds


def memory_run(records: int, seed: int, melt_rate: float | None) -> None:
    """target-csv-flat alone on `records` records: time, rate after start-up, peak RSS, bytes written."""
    startup = startup_seconds(seed)
    run = flat_alone(records, seed, "memory")
    if run.rows != records:
        sys.exit(f"target-csv-flat wrote {run.rows} data rows, expected {records}")
    print(
        f"\n{records:,} records, target-csv-flat alone (default settings): {run.seconds:.1f}s, "
        f"{run.rows / run.seconds:,.0f} rows/s, peak RSS {run.max_rss_kib / 1024:.1f} MiB"
    )
    rate = run.rows / max(run.seconds - startup, 1e-9)
    print(f"after start-up ({startup:.2f}s on one record): {rate:,.0f} rows/s")
    floor = records / max(floor_alone(records, seed) - floor_alone(1, seed), 1e-9)
    print(
        f"SDK floor after start-up (a Singer SDK target that discards every record, validating "
        f"nothing: sdk_floor_target.py): {floor:,.0f} records/s; target-csv-flat / floor = "
        f"{rate / floor:.2f}"
    )
    decoded = records / decode_seconds(records, seed)
    print(f"decoding the lines alone (msgspec, into dicts, nothing else): {decoded:,.0f} records/s")
    print(
        f"bytes written to disk / final CSV size = {run.written / 1e6:,.0f} MB / "
        f"{run.csv_bytes / 1e6:,.0f} MB = {run.write_ratio:.2f}"
    )
    if melt_rate:
        print(
            f"meltanolabs-target-csv not run on {records:,} records: too slow "
            f"(about {records / melt_rate / 60:.0f} min at its rate above)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=100_000, help="RECORD messages to generate")
    parser.add_argument("--repeat", type=int, default=1, help="runs per target; the best time counts")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--memory-records",
        type=int,
        default=0,
        help="also run target-csv-flat alone on this many records (e.g. 1000000) for its peak RSS",
    )
    parser.add_argument(
        "--flat-only",
        action="store_true",
        help="skip the comparison with meltanolabs-target-csv (use with --memory-records)",
    )
    args = parser.parse_args()
    if args.flat_only:
        memory_run(args.memory_records or args.records, args.seed, None)
        return

    messages = messages_file(args.records, args.seed)

    targets = {
        "target-csv-flat": ("target-csv-flat", FLAT_CONFIG),
        "meltanolabs-target-csv": (
            "target-csv",
            {"flattening_enabled": True, "flattening_max_depth": 3},
        ),
    }
    best: dict[str, Run] = {}
    for label, (executable, config) in targets.items():
        folder = WORK / f"out-{executable}"
        for _ in range(args.repeat):
            run = run_target(
                executable,
                {**config, "output_path": str(folder)},
                folder,
                messages,
                WORK / f"{executable}.log",
            )
            if run.rows != args.records:
                sys.exit(f"{label} wrote {run.rows} data rows, expected {args.records}")
            if label not in best or run.seconds < best[label].seconds:
                best[label] = Run(
                    run.seconds,
                    max(run.max_rss_kib, best.get(label, run).max_rss_kib),
                    run.rows,
                    run.written,
                    run.csv_bytes,
                )

    flat, melt = best["target-csv-flat"], best["meltanolabs-target-csv"]
    if flat.rows != melt.rows:
        sys.exit(f"row counts differ: target-csv-flat {flat.rows}, meltanolabs-target-csv {melt.rows}")

    print(f"\n{args.records:,} records, best of {args.repeat}, same input file, validation on in both\n")
    print(f"{'target':<24} {'seconds':>9} {'rows/s':>10} {'peak RSS MiB':>13} {'rows':>9}")
    for label, run in best.items():
        print(
            f"{label:<24} {run.seconds:>9.2f} {run.rows / run.seconds:>10,.0f} "
            f"{run.max_rss_kib / 1024:>13.1f} {run.rows:>9,}"
        )
    ratio = (flat.rows / flat.seconds) / (melt.rows / melt.seconds)
    print(f"\ntarget-csv-flat / meltanolabs-target-csv = {ratio:.2f}×")  # noqa: RUF001
    print(f"target-csv-flat bytes written to disk / CSV size = {flat.write_ratio:.2f}")
    if args.memory_records:
        memory_run(args.memory_records, args.seed, melt.rows / melt.seconds)
    else:
        print("(peak RSS on more records: --memory-records 1000000)")


if __name__ == "__main__":
    main()
