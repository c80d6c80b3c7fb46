"""Runs one action's rows through pytmv1, which makes every request; with ``--dry-run`` pytmv1 prepares
the requests and this module stops each one before it is sent.

Multi-item calls (the 207 multi-status answers) are reported item by item: pytmv1 returns every item's
status (and task id) when all succeeded, and every item's status and error when one failed. Failures that
no other row could survive (the key refused, the role lacks the permission, the API unreachable) stop
the run with one line.
"""

from __future__ import annotations

import functools
import logging
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, TextIO

import requests

from connector_kit.tls import allow_unverified, environment_settings, tls_message
from visionone_actions.settings import Settings
from visionone_actions.table import Action, Kind

APP_NAME = "visionone-actions"
REDACTED = "Bearer ***"  # the Authorization header as a dry run shows it
DONE = {"succeeded", "failed", "rejected", "canceled"}
_REQUEST_ERRORS = {
    name
    for name, obj in vars(requests.exceptions).items()
    if isinstance(obj, type) and issubclass(obj, Exception)
}


class FatalError(Exception):
    """The run cannot go on (the key refused, no permission, API unreachable); one line, no key."""


@dataclass
class Outcome:
    """What happened to one input row (one request item)."""

    input: dict[str, Any]
    ok: bool = True
    status: int | None = None
    task_id: str | None = None
    response: Any = None
    error: dict[str, Any] | None = None
    task: dict[str, Any] | None = None
    file: str | None = None

    def to_json(self) -> dict[str, Any]:
        data = {
            "input": self.input,
            "ok": self.ok,
            "status": self.status,
            "task_id": self.task_id,
            "error": self.error,
            "task": self.task,
            "file": self.file,
            "response": self.response,
        }
        return {k: v for k, v in data.items() if v is not None or k in ("input", "ok")}


@dataclass
class DryRun:
    """The requests pytmv1 prepared, none sent."""

    requests: list[dict[str, Any]] = field(default_factory=list)


class _Stop(Exception):
    """Raised in place of sending a request (not one of the exceptions pytmv1 turns into a result)."""


def dump(value: Any) -> Any:
    """pytmv1 models as JSON values, with the API's field names."""
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json", by_alias=True, exclude_none=True)
    if isinstance(value, list):
        return [dump(item) for item in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return value


def read_records_as_sent(core: Any) -> None:
    """Let pytmv1 read activity and OAT lists without refusing shapes the API really sends.

    pytmv1 parses each record of these lists into a strict model: ``EmailActivity.mailFromAddresses``
    must be a list, ``EndpointActivity.eventSourceType`` an integer, and ``OatEvent.detail`` endpoint or
    email activity. Trend's field dictionary documents those fields as a string on some products and
    OATs whose detail is detection, network, cloud or identity data, so one such record failed the whole
    page. These lists are read into a model that keeps each record as the API sent it; every other call
    goes through pytmv1 unchanged. (``Core._process`` is pytmv1's private hook for every request; the
    actions tests run these commands against the simulator, which serves those shapes.)
    """
    from pytmv1.model.response import ListEmailActivityResp, ListEndpointActivityResp, ListOatsResp

    raw = _raw_list_model()
    tolerant = {ListEmailActivityResp: raw, ListEndpointActivityResp: raw, ListOatsResp: raw}
    process = core._process

    def _process(class_: Any, uri: Any, *args: Any, **kwargs: Any) -> Any:
        return process(tolerant.get(class_, class_), uri, *args, **kwargs)

    core._process = _process


@functools.cache
def _raw_list_model() -> Any:
    from pydantic import ConfigDict, Field, field_validator
    from pydantic.alias_generators import to_camel
    from pytmv1.model.response import BaseResponse

    class RawList(BaseResponse):
        """A page of records as the API sent them (plus its paging and count fields)."""

        model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow")
        next_link: str | None = None
        items: list[dict[str, Any]] = Field(default_factory=list)

        @field_validator("items", mode="before")
        @classmethod
        def no_items(cls, value: Any) -> Any:
            return [] if value is None else value

    return RawList


def check_fatal(error: dict[str, Any], action: Action, base_url: str) -> None:
    """Raise `FatalError` for what no other row could survive: a refused key (401), a role without the
    permission (403), a TLS failure, an unreachable API. ``error`` is ``{status, code, message}``."""
    status, code = error.get("status"), str(error.get("code") or "")
    message = error.get("message") or ""
    detail = f"{status} {code}: {message}".strip() if code else f"{status}: {message}"
    if status == 401:
        raise FatalError(
            f"Vision One refused the API key ({detail}); check api_key / TAP_VISIONONE_API_KEY and the "
            "region or api_url."
        )
    if status == 403:
        raise FatalError(
            f"The API key's role may not run {action.name} ({detail}); it needs: {action.permissions}."
        )
    if code == "SSLError":
        raise FatalError(tls_message(message, base_url))
    if code in _REQUEST_ERRORS:
        raise FatalError(f"Cannot reach Vision One at {base_url} ({code}: {message})")


def display_row(row: dict[str, Any]) -> dict[str, Any]:
    """A row as shown in the output: a file input is its path."""
    return {k: (v["path"] if isinstance(v, dict) and "content" in v else v) for k, v in row.items()}


def one_line(text: str, limit: int = 400) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Runner:
    def __init__(
        self,
        action: Action,
        settings: Settings,
        *,
        dry_run: bool = False,
        output_file: Path | None = None,
        progress: TextIO | None = None,
    ) -> None:
        self.action = action
        self.settings = settings
        self.dry_run = dry_run
        self.output_file = output_file
        self.progress = progress or sys.stderr
        self.captured = DryRun()
        self.client = self._client()

    # -- pytmv1 --------------------------------------------------------------------------------------

    def _client(self) -> Any:
        import pytmv1
        from pytmv1.core import Core

        logging.getLogger("pytmv1").setLevel(logging.CRITICAL + 1)  # it logs bodies; we print results
        settings = self.settings
        if self.dry_run:  # a client of its own: its requests stop before they are sent
            core = Core(APP_NAME, settings.api_key or "dry-run", settings.base_url, 1, 1, 10, 30)
            core._process = self._capture  # type: ignore[method-assign]
            return pytmv1.Client(core)
        client = pytmv1.init(
            APP_NAME,
            settings.api_key,
            settings.base_url,
            pool_connections=1,
            pool_maxsize=4,
            connect_timeout=10,
            read_timeout=max(1, int(settings.request_timeout)),
        )
        # pytmv1 sends through its HTTPAdapter, which knows neither verify_ssl nor REQUESTS_CA_BUNDLE
        # (it reads the proxy variables itself): hand it the CA bundle requests.get would use.
        verify, _ = environment_settings(settings.base_url, settings.verify_ssl)
        if not settings.verify_ssl:
            allow_unverified(lambda text: print(f"visionone-actions: warning: {text}", file=sys.stderr))
        adapter = client._core._adapter
        if verify is not True and not isinstance(adapter.send, functools.partial):
            adapter.send = functools.partial(adapter.send, verify=verify)
        read_records_as_sent(client._core)
        return client

    def _capture(self, class_: Any, uri: Any, method: Any = None, **kwargs: Any) -> Any:
        """Record the request pytmv1 would send (prepared by pytmv1 itself, so its headers are the ones
        sent), with the key redacted, and stop it."""
        from pytmv1.model.enum import HttpMethod, Status
        from pytmv1.model.response import SandboxSubmissionStatusResp

        uri = uri.value if isinstance(uri, Enum) else str(uri)
        prepared = self.client._core._prepare(uri, method or HttpMethod.GET, **dict(kwargs))
        headers = {name: str(value) for name, value in prepared.headers.items()}
        if "Authorization" in headers:
            headers["Authorization"] = REDACTED
        request: dict[str, Any] = {
            "host": self.settings.base_url,
            "method": prepared.method,
            "path": "/v3.0" + uri,
            "params": dump(dict(kwargs.get("params") or {})),
            "headers": headers,
        }
        if "json" in kwargs:
            request["body"] = dump(kwargs["json"])
        if kwargs.get("data"):
            request["form"] = dict(kwargs["data"])
        if kwargs.get("files"):
            request["files"] = {
                part: {"filename": name, "bytes": len(content), "content_type": content_type}
                for part, (name, content, content_type) in kwargs["files"].items()
            }
        self.captured.requests.append(request)
        if class_ is SandboxSubmissionStatusResp and self.action.call != "sandbox.get_submission_status":
            # pytmv1 polls the submission before it reads the result (--poll): answer "done", so that
            # the result's request is shown too
            request["note"] = "repeated every 2 s while the submission is queued or running (--poll)"
            return SandboxSubmissionStatusResp.model_construct(status=Status.SUCCEEDED)
        raise _Stop

    def _call(self, path: str) -> Callable[..., Any]:
        target = self.client
        for part in path.split("."):
            target = getattr(target, part)
        return target

    def _invoke(self, path: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return self._call(path)(*args, **kwargs)
        except _Stop:
            return None

    # -- errors --------------------------------------------------------------------------------------

    def _error(self, error: Any) -> dict[str, Any]:
        data = dump(error) if error is not None else {"message": "no answer"}
        if isinstance(data, dict):
            if not data.get("extra"):
                data.pop("extra", None)
            if "message" in data:
                data["message"] = self._scrub(one_line(data["message"]))
        return data

    def _scrub(self, text: str) -> str:
        key = self.settings.api_key
        return text.replace(key, "***") if key else text

    def _check_fatal(self, error: dict[str, Any]) -> None:
        check_fatal(error, self.action, self.settings.base_url)

    # -- running -------------------------------------------------------------------------------------

    def run(self, rows: list[dict[str, Any]]) -> list[Outcome] | DryRun:
        if self.action.kind is Kind.MULTI:
            outcomes = self._run_multi(rows)
        else:
            outcomes = [self._run_one(row, len(rows)) for row in rows]
        return self.captured if self.dry_run else outcomes

    def _batches(self, rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
        size = max(1, self.action.batch_size)
        for start in range(0, len(rows), size):
            yield rows[start : start + size]

    def _run_multi(self, rows: list[dict[str, Any]]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for batch in self._batches(rows):
            items = [self.action.build(row) for row in batch]
            result = self._invoke(self.action.call, *items)
            if result is None:  # dry run
                continue
            batch_outcomes = [Outcome(display_row(row)) for row in batch]
            outcomes += batch_outcomes
            if result.response is not None:
                for outcome, item in zip(batch_outcomes, result.response.items, strict=False):
                    data = dump(item)
                    outcome.status = data.pop("status", None)
                    outcome.task_id = data.pop("taskId", None)
                    outcome.response = data or None
                continue
            errors = [self._error(error) for error in result.errors]
            if len(errors) == len(batch) and len(batch) > 1:
                per_item = errors  # a 207 with a failed item: every item's own status
            else:  # the request as a whole failed (or its only item did)
                whole = errors[0] if errors else {"message": "no answer"}
                self._check_fatal(whole)
                per_item = [dict(whole) for _ in batch]
            for outcome, error in zip(batch_outcomes, per_item, strict=False):
                outcome.status = error.pop("status", None)
                outcome.task_id = error.pop("taskId", None)
                outcome.ok = outcome.status is not None and 200 <= outcome.status < 400
                outcome.error = None if outcome.ok else error
                if outcome.ok and error:
                    outcome.response = {
                        k: v for k, v in error.items() if k not in ("code", "message")
                    } or None
        return outcomes

    def _run_one(self, row: dict[str, Any], count: int) -> Outcome:
        outcome = Outcome(display_row(row))
        kwargs = self.action.build(row)
        if self.action.etag_call and not kwargs.get("etag"):
            kwargs["etag"] = self._etag(kwargs, outcome)
            if kwargs["etag"] is None:
                return outcome
        if self.action.kind is Kind.LIST:
            found: list[Any] = []
            result = self._invoke(self.action.call, found.append, **kwargs)
            if result is None:
                return outcome
            if self._failed(result, outcome):
                return outcome
            outcome.response = {"items": dump(found), "count": len(found)}
            return outcome
        result = self._invoke(self.action.call, **kwargs)
        if result is None or self._failed(result, outcome):
            return outcome
        if self.action.kind is Kind.DOWNLOAD:
            response = result.response
            content = response.content if hasattr(response, "content") else response.text.encode("utf-8")
            path = self._download_path(row, count)
            path.write_bytes(content)
            outcome.file = str(path)
            outcome.response = {"bytes": len(content)}
            return outcome
        data = dump(result.response)
        outcome.response = data if data != {} else None
        if self.action.wait == "sandbox" and isinstance(data, dict):
            outcome.task_id = data.get("id")
        return outcome

    def _failed(self, result: Any, outcome: Outcome) -> bool:
        if result.error is None and result.response is not None:
            return False
        error = self._error(result.error)
        self._check_fatal(error)
        outcome.ok, outcome.status, outcome.error = False, error.pop("status", None), error
        return True

    def _etag(self, kwargs: dict[str, Any], outcome: Outcome) -> str | None:
        """The resource's current ETag, for an update given without --if-match."""
        target = kwargs.get("alert_id") or kwargs.get("key_id")
        result = self._invoke(self.action.etag_call or "", target)
        if self.dry_run:  # the GET above was recorded, not sent
            return "<current ETag, fetched when run>"
        if self._failed(result, outcome):
            return None
        return result.response.etag

    def _download_path(self, row: dict[str, Any], count: int) -> Path:
        default = self.action.filename(row) if self.action.filename else f"{self.action.name}.bin"
        if self.output_file is None:
            return Path(default)
        if self.output_file.is_dir() or count > 1:
            return self.output_file / default
        return self.output_file

    # -- --wait ----------------------------------------------------------------------------------------

    def wait(self, outcomes: list[Outcome], timeout: float, interval: float) -> None:
        """Poll the tasks (or sandbox submissions) the run started until done or ``timeout`` seconds."""
        pending = {o.task_id: o for o in outcomes if o.ok and o.task_id}
        if not pending:
            return
        getter = (
            (lambda tid: self.client.task.get_result(tid, poll=False))
            if self.action.wait == "task"
            else self.client.sandbox.get_submission_status
        )
        progress = Progress(
            self.progress, len(pending), "task" if self.action.wait == "task" else "submission"
        )
        started = time.monotonic()
        statuses: dict[str, str] = {}
        while pending:
            for task_id, outcome in list(pending.items()):
                result = getter(task_id)
                if result.error is not None or result.response is None:
                    error = self._error(result.error)
                    self._check_fatal(error)
                    outcome.ok, outcome.error = False, error
                    statuses[task_id] = "error"
                    del pending[task_id]
                    continue
                outcome.task = dump(result.response)
                status = str(outcome.task.get("status"))
                statuses[task_id] = status
                if status in DONE:
                    del pending[task_id]
                    if status != "succeeded":
                        outcome.ok = False
                        task_error = outcome.task.get("error") or {}
                        outcome.error = {
                            "code": f"Task{status.capitalize()}",
                            "message": one_line(task_error.get("message") or f"the task ended {status}"),
                        }
            elapsed = time.monotonic() - started
            progress.show(statuses, elapsed)
            if not pending:
                break
            if elapsed + interval > timeout:
                for task_id, outcome in pending.items():
                    outcome.ok = False
                    outcome.error = {
                        "code": "WaitTimeout",
                        "message": f"still {statuses.get(task_id)} after {timeout:g}s (--timeout)",
                    }
                break
            time.sleep(interval)
        progress.close()


class Progress:
    """``waiting for 3 tasks: 1 queued, 2 succeeded (4s)`` on stderr: rewritten in place on a terminal,
    a new line whenever the counts change otherwise."""

    def __init__(self, stream: TextIO, total: int, noun: str) -> None:
        self.stream, self.total, self.noun = stream, total, noun
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.last = ""

    def show(self, statuses: dict[str, str], elapsed: float) -> None:
        counts: dict[str, int] = {}
        for status in statuses.values():
            counts[status] = counts.get(status, 0) + 1
        summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        noun = self.noun + ("s" if self.total != 1 else "")
        if self.tty:
            self.stream.write(f"\rwaiting for {self.total} {noun}: {summary} ({elapsed:.0f}s)\033[K")
            self.stream.flush()
        elif summary != self.last:
            self.stream.write(f"waiting for {self.total} {noun}: {summary} ({elapsed:.0f}s)\n")
            self.stream.flush()
        self.last = summary

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()
