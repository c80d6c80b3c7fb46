"""The simulator's HTTP side: a threaded HTTP/1.1 server on 127.0.0.1 that plays Vision One v3.0 and,
under ``/v1/siem/``, the Workvivo SIEM API (:mod:`tests.simulator.workvivo`).

Every request goes through the same gate, in the order a real gateway would apply it: path, method,
bearer key, the key's role (403 on paths made :meth:`Simulator.forbid`), scripted faults, the 60-second
rate limit (counted per API path, as Vision One counts per API), random faults, then the endpoint
itself (list routes in :mod:`tests.simulator.world`, write and by-id routes by method + path template in
:mod:`tests.simulator.routes`); then ``latency_ms`` (plus a stall for ``timeout`` faults) before the
answer. Requests are recorded with their body (key redacted; see :attr:`Simulator.requests`) so tests
can assert what a client sent; ``/_simulator/stats`` is the only unauthenticated path.

Workvivo paths pass the same gate with Workvivo's credentials (bearer token, then the ``Workvivo-Id``
header) and Laravel's ``{"message": ...}`` error bodies; their rate limit counts per route (every
``/v1/siem/{from}/{to}`` together) and ``fail_windows`` matches their ``from`` segment by instant.
"""

from __future__ import annotations

import hashlib
import hmac
import socket
import struct
import sys
import threading
import time
import traceback
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from tests.simulator import bodies, routes, tls, wire, workvivo
from tests.simulator.common import Answer, ApiError, Call, PageToken, TokenCodec, header_text, to_datetime
from tests.simulator.data import parse_time
from tests.simulator.faults import Fault, FaultPlan
from tests.simulator.paging import Pager
from tests.simulator.query import parse
from tests.simulator.ratelimit import SlidingWindow
from tests.simulator.world import PATHS, World

HEALTH_PATH = "/v3.0/healthcheck/connectivity"
STATS_PATH = "/_simulator/stats"
API_PATHS = (*PATHS.values(), HEALTH_PATH)
REDACTED = "REDACTED"
JSON_TYPE = "application/json; charset=utf-8"
_ERROR_CODES = {
    400: "BadRequest",
    401: "InvalidCredentials",
    403: "AccessDenied",
    404: "NotFound",
    405: "MethodNotAllowed",
    408: "RequestTimeout",
    409: "Conflict",
    412: "PreconditionFailed",
    413: "RequestEntityTooLarge",
    428: "PreconditionRequired",
    429: "TooManyRequests",
    500: "InternalServerError",
}
_GATEWAY_STATUSES = {502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}
_CONNECTION_ERRORS = (ConnectionError, TimeoutError)


@dataclass
class SimulatorConfig:
    """Knobs that tests may change while the server runs (``rate_limit_per_minute`` is per API path).

    ``task_polls_to_finish``: GETs of a new response task before its final status (queued, then running;
    0 = final at once); ``task_final_status``: that status (succeeded, failed, rejected, canceled,
    pendingApproval); ``sandbox_polls_to_finish``: GETs a sandbox submission stays running. Each is read
    when the task or submission is created. ``retry_after``: whether Vision One's 429s name a
    ``Retry-After`` (false: they do not, and a client must wait out the 60-second window itself).
    ``fault_retry_after``: the seconds a *fault* 429 (`Simulator.fail_next`, `fail_windows`) names in its
    ``Retry-After``, on both APIs (0: retry at once, for tests that are not about the wait); the rate
    limit's own 429s name the time left in its window instead. ``count_factor``: searches with
    ``mode=countOnly`` answer their true count times this (an API whose counts are estimates; a tap must
    treat counts as a plan and still page through every record).
    """

    latency_ms: float = 0
    rate_limit_per_minute: int = 0
    fault_rate: float = 0.0
    fault_stall_seconds: float = 5.0
    task_polls_to_finish: int = 2
    task_final_status: str = "succeeded"
    sandbox_polls_to_finish: int = 2
    retry_after: bool = True
    fault_retry_after: float = 1
    count_factor: float = 1.0


class Headers(dict[str, str]):
    """Request headers as received, looked up case-insensitively (as HTTP header names are)."""

    def _key(self, name: object) -> object:
        if isinstance(name, str):
            for key in self.keys():
                if key.lower() == name.lower():
                    return key
        return name

    def __getitem__(self, name: str) -> str:
        return super().__getitem__(self._key(name))  # type: ignore[arg-type]

    def __contains__(self, name: object) -> bool:
        return super().__contains__(self._key(name))

    def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
        return super().get(self._key(name), default)  # type: ignore[arg-type]


@dataclass
class Reply:
    status: int
    body: bytes | bytearray  # a search page is written into a bytearray (tests.simulator.wire.dumps)
    content_type: str = JSON_TYPE
    headers: tuple[tuple[str, str], ...] = ()


def json_reply(status: int, body: Any, headers: tuple[tuple[str, str], ...] = ()) -> Reply:
    return Reply(status, wire.dumps(body), JSON_TYPE, headers)


def answer_reply(answer: Answer) -> Reply:
    """A write endpoint's :class:`Answer` on the wire (no body: empty, as for 201/204)."""
    if answer.body is None:
        return Reply(answer.status, b"", answer.content_type or JSON_TYPE, answer.headers)
    if isinstance(answer.body, bytes | str) and answer.content_type:
        data = answer.body.encode("utf-8") if isinstance(answer.body, str) else answer.body
        return Reply(answer.status, data, answer.content_type, answer.headers)
    return json_reply(answer.status, answer.body, answer.headers)


def error_reply(
    status: int,
    message: str | None = None,
    *,
    retry_after: float | None = 1,
    headers: tuple[tuple[str, str], ...] = (),
) -> Reply:
    """The API's error envelope (429s with ``Retry-After`` unless it is None), or a gateway's HTML page
    for 502/503/504."""
    if status in _GATEWAY_STATUSES:
        text = f"{status} {_GATEWAY_STATUSES[status]}"
        return Reply(
            status, f"<html><body><h1>{text}</h1></body></html>".encode(), "text/html; charset=utf-8"
        )
    if status == 429 and retry_after is not None:
        headers = (*headers, ("Retry-After", f"{retry_after:g}"))
    if message is None:
        message = "Too many API requests" if status == 429 else f"Simulated error {status}."
    return json_reply(
        status, {"error": {"code": _ERROR_CODES.get(status, "Error"), "message": message}}, headers
    )


def workvivo_reply(status: int, body: Any, headers: tuple[tuple[str, str], ...] = ()) -> Reply:
    return Reply(status, workvivo.encode(body), "application/json", headers)


def workvivo_error(
    status: int,
    message: str | None = None,
    *,
    retry_after: float = 1,
    limit: int = 0,
    headers: tuple[tuple[str, str], ...] = (),
) -> Reply:
    """Laravel's ``{"message": ...}`` (429s with ``Retry-After``), or a gateway's HTML page for 502-504."""
    if status in _GATEWAY_STATUSES:
        return error_reply(status)
    if status == 429:
        headers = (*headers, ("Retry-After", f"{retry_after:g}"), ("X-RateLimit-Limit", str(limit)))
        headers = (*headers, ("X-RateLimit-Remaining", "0"))
    text = message or workvivo.MESSAGES.get(status, f"Simulated error {status}.")
    return workvivo_reply(status, {"message": text}, headers)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive; every answer carries Content-Length
    timeout = 60  # idle keep-alive connections are dropped after this
    server: _Server

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def version_string(self) -> str:
        return "visionone-simulator"

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.simulator.verbose:
            sys.stderr.write(f"simulator: {self.address_string()} {format % args}\n")

    def _handle(self) -> None:
        sim = self.server.simulator
        arrived = time.time()
        split = urlsplit(self.path)
        params = {k: v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        declared = self.headers.get("Content-Length", "0")
        raw = b""
        if declared.isdigit() and int(declared):
            raw = self.rfile.read(int(declared))  # keep the connection usable whatever we answer
        body = bodies.parse(self.headers.get("Content-Type"), raw)
        if split.path == STATS_PATH and self.command == "GET":
            self._send(json_reply(200, sim.stats()))
            return
        headers = Headers(
            (name, REDACTED if name.lower() == "authorization" else header_text(value) or "")
            for name, value in self.headers.items()
        )
        try:
            fault, reply = sim.answer(self.command, split.path, params, self.headers, body)
        except Exception:  # a simulator bug: say so loudly, but still answer like a server would
            sys.stderr.write(
                f"simulator: error answering {self.command} {self.path}:\n{traceback.format_exc()}"
            )
            fault, reply = None, error_reply(500, "Simulator error.")
        entry = {
            "method": self.command,
            "path": split.path,
            "query": params,
            "headers": headers,
            "body": bodies.summary(body),
            "status": 0 if fault == "reset" else reply.status,
            "fault": fault,
            "time": arrived,
        }
        sim.record(entry)
        delay = sim.config.latency_ms / 1000 + (sim.config.fault_stall_seconds if fault == "timeout" else 0)
        if delay > 0 and sim.sleep(delay):
            self.close_connection = True
            return
        if fault == "reset":
            self._reset()
            return
        if fault == "cut":
            self._send(reply, cut=True)
            return
        self._send(reply)

    def _send(self, reply: Reply, *, cut: bool = False) -> None:
        """Send ``reply``; ``cut``: announce its full length, send half of the body, close the connection."""
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            for name, value in reply.headers:
                self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(reply.body[: len(reply.body) // 2] if cut else reply.body)
            if cut:
                self.wfile.flush()
                self.close_connection = True
        except _CONNECTION_ERRORS:
            self.close_connection = True  # the client gave up (e.g. its read timeout during a stall)

    def _reset(self) -> None:
        """Drop the connection with a TCP reset and no answer at all."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128
    simulator: Simulator

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Client disconnects are normal here (timeouts, resets); anything else is a simulator bug."""
        error = sys.exc_info()[1]
        if isinstance(error, OSError) or self.simulator.stopping:
            return
        sys.stderr.write(f"simulator: error while serving {client_address}:\n{traceback.format_exc()}")


class Simulator:
    """Vision One v3.0 on ``127.0.0.1``: start it (or use ``with``), point a client at ``base_url``."""

    def __init__(
        self,
        seed: int = 1,
        scale: int = 200,
        start: str | date = "2024-10-01",
        days: int = 3,
        api_key: str = "sim-key",
        latency_ms: float = 0,
        rate_limit_per_minute: int = 0,
        fault_rate: float = 0.0,
        fault_stall_seconds: float = 5.0,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        verbose: bool = False,
        now: str | datetime | None = None,
        workvivo_id: str = "sim-org",
        workvivo_token: str = "sim-workvivo-token",
        workvivo_per_day: int | None = None,
        tls: bool = False,
    ) -> None:
        self.world = World(seed, scale, start, days, now)
        per_day = max(24, scale // 4) if workvivo_per_day is None else workvivo_per_day
        self.workvivo = workvivo.SiemEvents(seed, per_day, self.world.start_day, days)
        self._workvivo_id = workvivo_id
        self._workvivo_token = workvivo_token.encode()
        self.dataset = self.world.detections
        self.config = SimulatorConfig(latency_ms, rate_limit_per_minute, fault_rate, fault_stall_seconds)
        self.verbose = verbose
        self._api_key = api_key.encode()
        self._host, self._port = host, port
        self.tls = tls  # https with a self-signed certificate (tests.simulator.tls.cert_file())
        self._faults = FaultPlan(seed)
        self._limiters: dict[str, SlidingWindow] = {}
        self._forbidden: set[str] = set()
        self._codec = TokenCodec(hashlib.sha256(f"skipToken:{seed}:{scale}:{start}:{days}".encode()).digest())
        self._requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> Simulator:
        if self._server is not None:
            return self
        self._stopping.clear()
        server = _Server((self._host, self._port), _Handler)
        server.simulator = self
        if self.tls:
            server.socket = tls.server_context().wrap_socket(
                server.socket, server_side=True, do_handshake_on_connect=False
            )
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="visionone-simulator",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._stopping.set()  # wakes handlers that sleep for latency or a stall
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def sleep(self, seconds: float) -> bool:
        """Sleep unless the simulator stops first; True when it is stopping."""
        return self._stopping.wait(seconds)

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the simulator is not running; call start() or use it as a context manager")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self._host}:{self.port}"

    # -- data, with the endpoint's semantics (start inclusive, end exclusive) ------------------------

    def _rows(self, start: str | date | datetime | None, end: str | date | datetime | None, query: str):
        start_ms = None if start is None else parse_time(start)
        end_ms = None if end is None else parse_time(end)
        return self.dataset.matching(parse(query), start_ms, end_ms)

    def count_detections(
        self,
        start: str | date | datetime | None = None,
        end: str | date | datetime | None = None,
        query: str = "*",
    ) -> int:
        return len(self._rows(start, end, query))

    def detection_ids(
        self,
        start: str | date | datetime | None = None,
        end: str | date | datetime | None = None,
        query: str = "*",
    ) -> set[str]:
        return {row[1] for row in self._rows(start, end, query)}

    def records(
        self,
        start: str | date | datetime | None = None,
        end: str | date | datetime | None = None,
        query: str = "*",
    ) -> list[dict[str, Any]]:
        """Full records, newest first, as the endpoint would return them (read-only: values are shared)."""
        return self.dataset.records(self._rows(start, end, query))

    @property
    def now(self) -> datetime:
        """The simulator's clock for defaults and limits (default: midnight after the last data day)."""
        return self.world.now

    def expected(
        self,
        stream: str,
        start: str | date | datetime | None = None,
        end: str | date | datetime | None = None,
        **options: Any,
    ) -> list[dict[str, Any]]:
        """The API records a tap should receive for ``stream`` (a key of ``PATHS``) with default filters.

        Windowed streams: records whose replication-key field lies in ``[start, end)`` (oat_detections also
        needs ``detectedDateTime`` in the 365 days before ``end``; options ``detected_start`` /
        ``detected_end`` change that). Full-table streams: every record (the window is ignored).
        Read-only: values are shared with the server. ``siem_events`` (Workvivo) is
        :meth:`workvivo_events`.
        """
        if stream == workvivo.STREAM:
            return self.workvivo_events(start, end)
        return self.world.expected(stream, start, end, **options)

    def expected_count(
        self,
        stream: str,
        start: str | date | datetime | None = None,
        end: str | date | datetime | None = None,
    ) -> int:
        return len(self.expected(stream, start, end))

    def workvivo_events(
        self,
        start: str | date | datetime | int | None = None,
        end: str | date | datetime | int | None = None,
    ) -> list[dict[str, Any]]:
        """Workvivo SIEM events with ``start <= created_at_timestamp < end``, oldest first (``id`` breaks
        ties), as ``GET /v1/siem/{from}/{to}`` returns them; ints are epoch seconds. Copies."""
        rows = self.workvivo.between(_epoch_seconds(start), _epoch_seconds(end))
        return [dict(row) for row in rows]

    def workvivo_count(
        self,
        start: str | date | datetime | int | None = None,
        end: str | date | datetime | int | None = None,
    ) -> int:
        return len(self.workvivo.between(_epoch_seconds(start), _epoch_seconds(end)))

    def last_logons(self) -> dict[str, str | None]:
        """IAM account email -> ISO time of its last successful console log on in the audit logs, or None."""
        return self.world.last_logons()

    def forbid(self, *paths: str) -> None:
        """Answer 403 AccessDenied on these API paths (as for a key whose role lacks the permission).

        A path is a list path (``PATHS``, every method on it) or a route template of
        :mod:`tests.simulator.routes` such as ``/v3.0/response/tasks/{id}``.
        """
        known = (*API_PATHS, *routes.TEMPLATES)
        unknown = [p for p in paths if p not in known]
        if unknown:
            raise ValueError(f"not API paths: {', '.join(unknown)}; paths: {', '.join(known)}")
        with self._lock:
            self._forbidden.update(paths)

    def allow(self, *paths: str) -> None:
        """Undo :meth:`forbid` for these paths, or for every path when called without arguments."""
        with self._lock:
            if paths:
                self._forbidden.difference_update(paths)
            else:
                self._forbidden.clear()

    # -- faults and introspection -------------------------------------------------------------------

    def fail_next(self, n: int, status: Fault = 503) -> None:
        """The next ``n`` authenticated requests answer ``status`` (or ``"timeout"`` / ``"reset"``, or play a
        content fault of :mod:`tests.simulator.faults`: ``"truncated"``, ``"cut"``, ``"loop"``, ``"no-key"``,
        ``"bad-record"``)."""
        self._faults.fail_next(n, status)

    def fail_windows(
        self, start_iso: str | int, status: Fault = 503, *, times: int | None = None, counts: bool = True
    ) -> None:
        """Every authenticated request whose ``startDateTime`` or ``ingestedStartDateTime`` is ``start_iso``
        answers ``status``; so does every Workvivo request whose ``from`` segment is that instant
        (``start_iso`` may also be epoch seconds, which match Workvivo requests only). ``times``: only
        the first that many such requests fail; ``counts=False``: ``mode=countOnly`` requests do not."""
        self._faults.fail_windows(start_iso, status, times=times, counts=counts)

    def clear_faults(self) -> None:
        self._faults.clear()

    @property
    def requests(self) -> list[dict[str, Any]]:
        """A snapshot of the requests received so far, oldest first (``/_simulator/stats`` excluded).

        Each is ``{method, path, query (first value per name), headers (case-insensitive lookup,
        Authorization "REDACTED"), body, status (0 for a reset), fault (None, a status, "timeout",
        "reset"), time (epoch seconds of arrival)}``; a ``timeout`` fault records the status answered after
        the stall. ``body`` is None when empty, the parsed value for JSON, for multipart a dict of field ->
        text (password fields "REDACTED") or, for a file part, ``{filename, contentType, bytes}``, else
        the text (``{"invalid": True}`` for unparseable JSON / multipart).
        """
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    def record(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._requests.append(entry)

    def stats(self) -> dict[str, Any]:
        with self._lock:
            by_status = Counter(str(r["status"]) for r in self._requests)
            return {"requests": len(self._requests), "by_status": dict(sorted(by_status.items()))}

    # -- the gate ----------------------------------------------------------------------------------

    def _authorized(self, header: str | None) -> bool:
        scheme, _, key = (header or "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(key.strip().encode(), self._api_key)

    def answer(
        self, method: str, path: str, params: dict[str, str], headers: Any, body: Any = None
    ) -> tuple[Fault | None, Reply]:
        """Decide the answer to one request: ``(fault or None, reply)``; no I/O, no sleeping.

        ``body`` is the request body as :func:`tests.simulator.bodies.parse` gives it.
        """
        if path.startswith(workvivo.PREFIX):
            return self._answer_workvivo(method, path, params, headers)
        route, args, methods = routes.match(method, path)
        if path in API_PATHS:
            methods = ["GET", *methods]
        if not methods:
            return None, error_reply(404, f"Resource not found: {path}")
        if route is None and not (method == "GET" and path in API_PATHS):
            allow = ", ".join(dict.fromkeys(methods))
            return None, error_reply(
                405, f"Method {method} is not allowed on {path}.", headers=(("Allow", allow),)
            )
        if not self._authorized(headers.get("Authorization")):
            return None, error_reply(401, "Invalid or expired API key.")
        api = route.template if route is not None else path  # what rate limits and forbid count
        with self._lock:
            forbidden = api in self._forbidden
            limiter = self._limiters.setdefault(api, SlidingWindow(60.0))
        if forbidden:
            return None, error_reply(403, f"The API key's role lacks the permission for {api}.")
        fault = self._faults.scripted(
            params.get("startDateTime"),
            params.get("ingestedStartDateTime"),
            count=params.get("mode") == "countOnly",
        )
        if fault is None:
            wait = limiter.acquire(self.config.rate_limit_per_minute)
            if wait:
                return None, error_reply(429, retry_after=wait if self.config.retry_after else None)
            fault = self._faults.draw(self.config.fault_rate)
        if isinstance(fault, int):
            wait = self.config.fault_retry_after if self.config.retry_after else None
            return fault, error_reply(fault, retry_after=wait)
        try:
            if route is not None:
                call = Call(
                    path,
                    params,
                    headers,
                    self.now,
                    Pager(self._codec, self.base_url),
                    method,
                    body,
                    args,
                    self.config,
                )
                return fault, answer_reply(route.handler(self.world, call))
            if path == HEALTH_PATH:
                return fault, json_reply(200, {"status": "available"})
            handler = self.world.route(path)
            assert handler is not None, path
            call = Call(path, params, headers, self.now, Pager(self._codec, self.base_url))
            listed = handler(self.world, call)
            if self.config.count_factor != 1 and isinstance(listed, dict) and "totalCount" in listed:
                listed = {"totalCount": int(listed["totalCount"] * self.config.count_factor)}
            if fault in ("loop", "no-key", "bad-record") and isinstance(listed, dict):
                listed = self._spoil(fault, path, params, listed)
            reply = json_reply(200, listed)
            if fault == "truncated":
                reply.body = reply.body[: len(reply.body) // 2]
            return fault, reply
        except ApiError as exc:
            return fault, json_reply(exc.status, exc.body())

    def _spoil(self, fault: Fault, path: str, params: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        """A list answer with a content fault played (see :mod:`tests.simulator.faults`); a shallow copy."""
        body = dict(body)
        items = list(body.get("items") or [])
        if fault == "loop":
            token = params.get("skipToken")
            if token:  # not the first page: link back to the first page of the same sequence
                first = PageToken(0, self._codec.decode(token).binding)
                link = {**params, "skipToken": self._codec.encode(first)}
                query_string = "&".join(f"{k}={quote(v, safe=':,')}" for k, v in link.items())
                body["nextLink"] = f"{self.base_url}{path}?{query_string}"
            return body
        if not items:
            return body
        middle = len(items) // 2
        record = dict(items[middle])  # records are shared with the dataset: never change them in place
        if fault == "no-key":
            record.pop("uuid" if "uuid" in record else "id", None)
        elif "eventTime" in record:
            record["eventTime"] = {"$date": record["eventTime"]}  # neither epoch ms nor ISO text
        items[middle] = record
        body["items"] = items
        return body

    def _answer_workvivo(
        self, method: str, path: str, params: dict[str, str], headers: Any
    ) -> tuple[Fault | None, Reply]:
        """The gate for ``/v1/siem/{from}/{to}``: route, method, token, organisation, faults, rate limit."""
        parts = workvivo.segments(path)
        if parts is None:
            return None, workvivo_error(404, f"The route {path.lstrip('/')} could not be found.")
        if method not in ("GET", "HEAD"):
            route = path.lstrip("/")
            message = f"The {method} method is not supported for route {route}. Supported methods: GET, HEAD."
            return None, workvivo_error(405, message, headers=(("Allow", "GET, HEAD"),))
        scheme, _, token = (headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            token.strip().encode(), self._workvivo_token
        ):
            return None, workvivo_error(401)
        organisation = (header_text(headers.get("Workvivo-Id")) or "").strip()
        if not organisation:
            return None, workvivo_error(400, workvivo.MISSING_ID)
        if organisation != self._workvivo_id:
            return None, workvivo_error(403)
        with self._lock:
            limiter = self._limiters.setdefault(workvivo.ROUTE, SlidingWindow(60.0))
        fault = self._faults.scripted(epoch=workvivo.start_epoch(parts))
        if fault is None:
            limit = self.config.rate_limit_per_minute
            wait = limiter.acquire(limit)
            if wait:
                return None, workvivo_error(429, retry_after=wait, limit=limit)
            fault = self._faults.draw(self.config.fault_rate)
        if isinstance(fault, int):
            return fault, workvivo_error(fault, retry_after=self.config.fault_retry_after)
        try:
            body = workvivo.list_events(self.workvivo, parts, params, self.base_url + path)
        except workvivo.WorkvivoError as exc:
            return fault, workvivo_reply(exc.status, exc.body())
        return fault, workvivo_reply(200, body)


def _epoch_seconds(value: str | date | datetime | int | None) -> int | None:
    if value is None or isinstance(value, int):
        return value
    return int(to_datetime(value).timestamp())
