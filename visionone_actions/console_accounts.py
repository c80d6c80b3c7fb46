"""Vision One console accounts (IAM): the requests pytmv1 0.11 does not wrap.

``disable-console-account``/``enable-console-account`` send ``PATCH /v3.0/iam/accounts/{id}`` and
``remove-console-account`` sends ``DELETE /v3.0/iam/accounts/{id}`` (both answer 204), one row at a time; a
row given by e-mail is first looked up with ``GET /v3.0/iam/accounts`` and a ``TMV1-Filter`` (the id is
what the API acts on, and an e-mail can change). These go through the taps' HTTP code, not a second stack:
connector_kit's `ThrottledSession` (the rate limiter; TLS failures as `TLSError`), its `RetryPolicy`
(429/5xx, timeouts and resets retried with ``Retry-After`` or jittered backoff), `tls` (CA bundle, proxies,
``verify_ssl``) and `error_text` (one line for a gateway's page or a dead connection).

connector_kit's retry loop lives in the Singer SDK's backoff hooks of `ThrottledStream`, which a CLI has no
stream for; the loop here asks the same `RetryPolicy` how long to wait and when to give up.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TextIO
from urllib.parse import quote

import requests

from connector_kit.error_text import explain_exception, status_line
from connector_kit.errors import TLSError
from connector_kit.ratelimit import RateLimiter
from connector_kit.retries import DEFAULT_RETRIES, RetryPolicy
from connector_kit.throttled import ThrottledSession
from connector_kit.tls import allow_unverified, environment_settings
from connector_kit.visionone_errors import error_envelope
from visionone_actions.runner import APP_NAME, DryRun, FatalError, Outcome, check_fatal, display_row, one_line
from visionone_actions.settings import Settings
from visionone_actions.table import Action

ACCOUNTS_PATH = "/v3.0/iam/accounts"
RATE_WINDOW = 60.0  # Vision One counts requests per API per 60 s; a bare 429 waits it out
PER_MINUTE = 450  # the taps' default: under the documented 500 per API per minute
REDACTED = "Bearer ***"


def filter_email(email: str) -> str:
    """``email eq '...'`` with quotes doubled, as Vision One's OData-like ``TMV1-Filter`` escapes them."""
    return "email eq '" + email.replace("'", "''") + "'"


def account_path(account_id: str) -> str:
    return f"{ACCOUNTS_PATH}/{quote(account_id, safe='')}"


class ConsoleAccounts:
    """Runs one console-account action's rows; with ``dry_run``, records each request instead of sending."""

    def __init__(
        self,
        action: Action,
        settings: Settings,
        *,
        dry_run: bool = False,
        retries: RetryPolicy = DEFAULT_RETRIES,
        sleep: Callable[[float], None] = time.sleep,
        progress: TextIO | None = None,
    ) -> None:
        self.action = action
        self.settings = settings
        self.dry_run = dry_run
        self.retries = retries
        self.sleep = sleep
        self.progress = progress or sys.stderr
        self.captured = DryRun()
        self.session = None if dry_run else self._session()

    def _session(self) -> ThrottledSession:
        base_url = self.settings.base_url
        never_stopped = threading.Event()  # the run ends with the process, not by a stop signal
        session = ThrottledSession(RateLimiter(per_minute=PER_MINUTE), lambda: never_stopped, base_url)
        session.verify, proxies = environment_settings(base_url, self.settings.verify_ssl)
        session.proxies.update(proxies)
        if not self.settings.verify_ssl:
            allow_unverified(lambda text: print(f"{APP_NAME}: warning: {text}", file=sys.stderr))
        return session

    # -- running ---------------------------------------------------------------------------------------

    def run(self, rows: list[dict[str, Any]]) -> list[Outcome] | DryRun:
        outcomes = [self._run_one(row) for row in rows]
        return self.captured if self.dry_run else outcomes

    def _run_one(self, row: dict[str, Any]) -> Outcome:
        outcome = Outcome(display_row(row))
        request = self.action.build(row)
        account = {"id": row["id"]} if row.get("id") else self._lookup(row["email"], outcome)
        if account is None:
            return outcome
        path = account_path(account["id"]) if "id" in account else f"{ACCOUNTS_PATH}/<id of {row['email']}>"
        response, unanswered = self._send(request["method"], path, body=request.get("body"))
        if response is None:  # dry run
            return outcome
        outcome.status = response.status_code
        outcome.response = {k: v for k, v in account.items() if k in ("id", "email", "role", "status")}
        if response.status_code == 404 and request["method"] == "DELETE" and unanswered:
            outcome.response["note"] = "already gone: an earlier attempt was sent but its answer was lost"
            return outcome
        if response.status_code >= 400:
            self._fail(outcome, response)
        return outcome

    def _lookup(self, email: str, outcome: Outcome) -> dict[str, Any] | None:
        """The account with this e-mail (``{}`` in a dry run), or None with ``outcome`` failed."""
        response, _ = self._send("GET", ACCOUNTS_PATH, headers={"TMV1-Filter": filter_email(email)})
        if response is None:
            return {}
        if response.status_code >= 400:
            self._fail(outcome, response)
            return None
        try:
            items = response.json().get("items") or []
        except (ValueError, AttributeError):
            items = None
        if not isinstance(items, list):
            outcome.ok, outcome.status = False, response.status_code
            outcome.error = {"code": "UnreadableAnswer", "message": f"GET {ACCOUNTS_PATH} sent no items list"}
            return None
        found = [item for item in items if isinstance(item, dict) and item.get("id")]
        if len(found) == 1:
            return found[0]
        outcome.ok = False
        if not found:
            message = f"no console account has the e-mail {email}"
            outcome.error = {"code": "AccountNotFound", "message": message}
        else:
            ids = ", ".join(str(item["id"]) for item in found)
            outcome.error = {
                "code": "AmbiguousEmail",
                "message": f"{len(found)} console accounts have the e-mail {email} ({ids}); give --id",
            }
        return None

    def _fail(self, outcome: Outcome, response: requests.Response) -> None:
        """An error answer as the item's error; a refused key or role stops the run (`check_fatal`)."""
        error = self._api_error(response)
        check_fatal({"status": response.status_code, **error}, self.action, self.settings.base_url)
        outcome.ok, outcome.status, outcome.error = False, response.status_code, error

    def _api_error(self, response: requests.Response) -> dict[str, Any]:
        """``{code, message}`` from Vision One's envelope, its flat 401 form, or a gateway's page."""
        code, message = error_envelope(response)
        if not message:
            message = status_line(response, "", self.settings.api_key or None)
        if code is None or isinstance(code, int):
            code = response.reason.replace(" ", "") if response.reason else f"HTTP{response.status_code}"
        return {"code": str(code), "message": self._scrub(one_line(str(message)))}

    def _scrub(self, text: str) -> str:
        key = self.settings.api_key
        return text.replace(key, "***") if key else text

    # -- HTTP ------------------------------------------------------------------------------------------

    def _headers(self, extra: dict[str, str] | None, body: Any) -> dict[str, str]:
        headers = {"Accept": "application/json", "User-Agent": APP_NAME}
        if body is not None:
            headers["Content-Type"] = "application/json"
        return {**headers, **(extra or {})}

    def _send(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        body: Any = None,
    ) -> tuple[requests.Response | None, bool]:
        """The final answer (None in a dry run) and whether an earlier attempt went unanswered.

        429 and 5xx answers, timeouts and dropped connections are retried as `RetryPolicy` says; the last
        error answer is returned once it gives up, and a connection that never answered stops the run.
        """
        headers = self._headers(headers, body)
        if self.dry_run:
            request: dict[str, Any] = {
                "host": self.settings.base_url,
                "method": method,
                "path": path,
                "params": {},
                "headers": {"Authorization": REDACTED, **headers},
            }
            if body is not None:
                request["body"] = body
            self.captured.requests.append(request)
            return None, False
        assert self.session is not None
        # UTF-8 header values (a filter on 田中.太郎@corp.example): http.client would refuse them as latin-1.
        wire = {name: value.encode("utf-8") for name, value in headers.items()}
        wire["Authorization"] = f"Bearer {self.settings.api_key}".encode()
        url = self.settings.base_url + path
        started, attempts, unanswered = time.monotonic(), 0, False
        while True:
            attempts += 1
            failure: BaseException
            try:
                response = self.session.request(
                    method, url, headers=wire, json=body, timeout=self.settings.request_timeout
                )
            except TLSError as exc:
                raise FatalError(str(exc)) from None
            except (requests.exceptions.Timeout, requests.exceptions.ConnectionError) as exc:
                failure, response, unanswered = exc, None, True
            except requests.exceptions.RequestException as exc:
                reason = explain_exception(exc, self.settings.request_timeout)
                raise FatalError(f"{method} {path}: {reason}") from None
            else:
                if response.status_code != 429 and response.status_code < 500:
                    return response, unanswered
                failure = requests.exceptions.HTTPError(response=response)
            wait = self.retries.jittered_wait(failure, attempts - 1, RATE_WINDOW)
            failing_for = time.monotonic() - started
            if self.retries.gives_up(attempts, failing_for + wait):
                if response is not None:
                    return response, unanswered
                reason = explain_exception(failure, self.settings.request_timeout)
                summary = self.retries.summary(attempts, failing_for)
                raise FatalError(f"Cannot reach Vision One at {self.settings.base_url} {summary}: {reason}")
            if response is not None:
                error = self._api_error(response)
                why = error["message"]
                if not why.startswith("HTTP "):
                    why = f"HTTP {response.status_code} {error['code']}: {why}"
            else:
                why = explain_exception(failure, self.settings.request_timeout)
            retry = f"retry {attempts} in {wait:.1f} s"
            self.progress.write(f"{APP_NAME}: {method} {path}: {one_line(why, 200)}; {retry}\n")
            self.progress.flush()
            self.sleep(wait)
