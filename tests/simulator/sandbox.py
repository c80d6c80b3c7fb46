"""The sandbox: submit files (multipart) and URLs (207), follow the submission, read the analysis.

``POST /v3.0/sandbox/files/analyze`` answers 202 ``{id, digest, arguments?}`` with an
``Operation-Location`` to ``/v3.0/sandbox/tasks/{id}``; ``POST /v3.0/sandbox/urls/analyze`` takes
``[{"url": ...}]`` and answers 207 with ``body: {id, url, digest}`` per URL (the id is also a response
task of action ``submitSandbox``). A submission is ``running`` for ``config.sandbox_polls_to_finish``
GETs (default 2), then ``succeeded`` with a ``resourceLocation``; its analysis result, PDF report,
investigation package (a zip) and suspicious objects answer 404 until then. The verdict is
deterministic: files holding the EICAR test string and URLs with ``evil``/``phish``/``malware`` are high
risk; everything else is ``noRisk``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import zipfile
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from tests.simulator.actions import new_task, task_location
from tests.simulator.bodies import Part
from tests.simulator.common import Answer, ApiError, Call, bad_request, iso
from tests.simulator.data import _uuid
from tests.simulator.live import (
    ItemError,
    check_keys,
    form,
    item_error,
    item_ok,
    json_array,
    progress,
    text_field,
)

TASKS = "/v3.0/sandbox/tasks"
RESULTS = "/v3.0/sandbox/analysisResults"
MAX_FILE_BYTES = 60 * 1024 * 1024
EICAR = b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE"
_BAD_URL_WORDS = ("evil", "phish", "malware")


def _digest(data: bytes) -> dict[str, str]:
    return {
        "md5": hashlib.md5(data).hexdigest(),
        "sha1": hashlib.sha1(data).hexdigest(),
        "sha256": hashlib.sha256(data).hexdigest(),
    }


def _new(world: Any, call: Call, kind: str, digest: dict[str, str], **extra: Any) -> dict[str, Any]:
    live = world.live
    created = live.tick()
    submission_id = _uuid(int(live.digest("sandbox", live.next("sandbox"))[:32], 16))
    finish = max(0, int(getattr(call.config, "sandbox_polls_to_finish", 2)))
    entry = {
        "id": submission_id,
        "kind": kind,
        "created": created,
        "digest": digest,
        "polls": 0,
        "finish": finish,
        "final": "succeeded",
        "done": finish == 0,
        **extra,
    }
    with live.lock:
        live.sandbox[submission_id] = entry
    return entry


def _b64_field(fields: dict[str, Any], name: str) -> str | None:
    value = fields.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise bad_request(f"Invalid value for {name}: a base64 string is required.")
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise bad_request(f"Invalid value for {name}: it must be base64-encoded.") from None
    return value


def submit_file(world: Any, call: Call) -> Answer:
    fields = form(call)
    allowed = ("file", "documentPassword", "archivePassword", "arguments")
    unknown = [k for k in fields if k not in allowed]
    if unknown:
        raise bad_request(f"Unknown form field(s): {', '.join(unknown)}. Fields: {', '.join(allowed)}.")
    part = fields.get("file")
    if not isinstance(part, Part) or not part.filename:
        raise bad_request("The form needs a 'file' part with a file name.")
    if not part.data:
        raise bad_request("The submitted file is empty.")
    if len(part.data) > MAX_FILE_BYTES:
        raise ApiError(413, "RequestEntityTooLarge", "A sandbox submission is at most 60 MB.")
    for name in ("documentPassword", "archivePassword"):
        _b64_field(fields, name)
    arguments = _b64_field(fields, "arguments")
    digest = _digest(part.data)
    entry = _new(
        world, call, "file", digest, fileName=part.filename, risky=EICAR in part.data, arguments=arguments
    )
    body: dict[str, Any] = {"id": entry["id"], "digest": digest}
    if arguments is not None:
        body["arguments"] = arguments
    location = f"{call.base_url}{TASKS}/{entry['id']}"
    return Answer(202, body, (("Operation-Location", location),))


def submit_urls(world: Any, call: Call) -> Answer:
    out = []
    for item in json_array(call, max_items=10):
        try:
            if not isinstance(item, dict):
                raise ItemError(400, "Each item must be a JSON object.")
            check_keys(item, ("url",))
            url = text_field(item, "url", required=True, max_length=2048)
            assert url is not None
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ItemError(400, f"Invalid value for url: '{url}' is not an http(s) URL.")
            digest = _digest(url.encode("utf-8"))
            risky = any(word in url.lower() for word in _BAD_URL_WORDS)
            entry = _new(world, call, "url", digest, url=url, risky=risky, arguments=None)
            new_task(
                world, call, "submitSandbox", {"url": url, "sandboxTaskId": entry["id"]}, task_id=entry["id"]
            )
            body = {"id": entry["id"], "url": url, "digest": digest}
            out.append(item_ok(202, task_location(call, entry["id"]), body))
        except ItemError as exc:
            out.append(item_error(exc.status, exc.message))
    return Answer(207, out)


def _entry(world: Any, submission_id: str) -> dict[str, Any]:
    entry = world.live.sandbox.get(submission_id)
    if entry is None:
        raise ApiError(404, "NotFound", f"Sandbox submission {submission_id} does not exist.")
    return entry


def get_status(world: Any, call: Call) -> Answer:
    with world.live.lock:
        entry = _entry(world, call.args[0])
        status, polls = progress(entry, "running")
        entry["done"] = entry["done"] or status == "succeeded"
        body: dict[str, Any] = {
            "id": entry["id"],
            "action": "analyzeFile" if entry["kind"] == "file" else "analyzeUrl",
            "status": status,
            "createdDateTime": iso(entry["created"]),
            "lastActionDateTime": iso(entry["created"] + timedelta(seconds=polls)),
            "isCached": False,
            "digest": entry["digest"],
        }
        if entry.get("arguments"):
            body["arguments"] = entry["arguments"]
        if status == "succeeded":
            body["resourceLocation"] = f"{call.base_url}{RESULTS}/{entry['id']}"
    return Answer(200, body)


def _finished(world: Any, call: Call) -> dict[str, Any]:
    with world.live.lock:
        entry = _entry(world, call.args[0])
        if not entry["done"]:
            raise ApiError(404, "NotFound", f"The analysis of {entry['id']} is not finished yet.")
        return entry


def _completed(entry: dict[str, Any]) -> str:
    return iso(entry["created"] + timedelta(seconds=entry["finish"] + 1))


def get_result(world: Any, call: Call) -> Answer:
    entry = _finished(world, call)
    risky = entry["risky"]
    body: dict[str, Any] = {
        "id": entry["id"],
        "type": entry["kind"],
        "analysisCompletionDateTime": _completed(entry),
        "riskLevel": "high" if risky else "noRisk",
        "digest": entry["digest"],
        "detectionNames": (["Eicar_test_file"] if entry["kind"] == "file" else ["Phishing.URL"])
        if risky
        else [],
        "threatTypes": (["Malware"] if entry["kind"] == "file" else ["Phishing"]) if risky else [],
    }
    if entry["kind"] == "file":
        body["trueFileType"] = "ASCII text" if risky else "Data"
    if entry.get("arguments"):
        body["arguments"] = entry["arguments"]
    return Answer(200, body)


def get_report(world: Any, call: Call) -> Answer:
    entry = _finished(world, call)
    text = f"Sandbox analysis report {entry['id']} risk {'high' if entry['risky'] else 'noRisk'}"
    pdf = (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
        + f"% {text}\n".encode()
        + b"trailer<</Root 1 0 R>>\n%%EOF\n"
    )
    return Answer(200, pdf, content_type="application/pdf")


def get_package(world: Any, call: Call) -> Answer:
    entry = _finished(world, call)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo("report.json", date_time=(2024, 1, 1, 0, 0, 0))
        summary = f'{{"id": "{entry["id"]}", "sha1": "{entry["digest"]["sha1"]}"}}\n'
        archive.writestr(info, summary)
    return Answer(200, buffer.getvalue(), content_type="application/zip")


def get_suspicious(world: Any, call: Call) -> Answer:
    entry = _finished(world, call)
    items = []
    if entry["risky"]:
        completed = _completed(entry)
        expires = iso(entry["created"] + timedelta(days=30))
        common = {
            "riskLevel": "high",
            "analysisCompletionDateTime": completed,
            "expiredDateTime": expires,
            "rootSha1": entry["digest"]["sha1"],
        }
        if entry["kind"] == "file":
            items.append({**common, "type": "fileSha1", "fileSha1": entry["digest"]["sha1"]})
        else:
            items.append({**common, "type": "url", "url": entry["url"]})
            items.append({**common, "type": "domain", "domain": urlsplit(entry["url"]).hostname or ""})
    return Answer(200, {"items": items})
