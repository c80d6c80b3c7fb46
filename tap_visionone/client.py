"""The Vision One REST client: base URL per region, bearer auth, paging, errors, retries, limits.

Every stream of the tap derives from :class:`VisionOneStream`. Streams that the API lets us
read by time range derive from :class:`WindowedStream`, which cuts the sync range into windows,
fetches them concurrently through the tap's one rate limiter and emits them in order; lists the
API only returns whole derive from :class:`FullTableStream`.
"""

from __future__ import annotations

import html
import re
import threading
import typing as t
from collections.abc import Generator, Iterable
from datetime import datetime, timedelta
from functools import cached_property
from http import HTTPStatus
from urllib.parse import ParseResult, urlsplit

import requests
from requests.utils import requote_uri
from singer_sdk import RESTStream
from singer_sdk.authenticators import BearerTokenAuthenticator
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError
from singer_sdk.pagination import BaseHATEOASPaginator

from tap_visionone.errors import (
    AuthError,
    ForbiddenError,
    StreamFailedError,
    VisionOneError,
    WindowFailedError,
)
from tap_visionone.windows import (
    Window,
    fetch_in_order,
    format_api_time,
    from_epoch_ms,
    parse_api_time,
    plan_windows,
)

if t.TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

    from tap_visionone.tap import RunSettings

# Vision One's regional API hosts (automation.trendmicro.com "Regional domains").
REGIONS: dict[str, str] = {
    "us": "https://api.xdr.trendmicro.com",
    "eu": "https://api.eu.xdr.trendmicro.com",
    "au": "https://api.au.xdr.trendmicro.com",
    "in": "https://api.in.xdr.trendmicro.com",
    "sg": "https://api.sg.xdr.trendmicro.com",
    "jp": "https://api.xdr.trendmicro.co.jp",
    "mea": "https://api.mea.xdr.trendmicro.com",
    "uk": "https://api.uk.xdr.trendmicro.com",
    "usgov": "https://api.usgov.xdr.trendmicro.com",
}

RETRY_BASE_SECONDS = 0.5
RETRY_CAP_SECONDS = 60.0
MAX_TRIES = 5
_TAGS = re.compile(r"<[^>]+>")
_ERRNO = re.compile(r"\[Errno -?\d+\] ([^'\")\]]+)|Error\(-?\d+, '([^']+)'\)")


class SyncStopped(VisionOneError):
    """Raised in a worker whose sync was stopped because another window failed."""


def response_body(response: requests.Response) -> t.Any:
    """Parse a response's JSON once; paginator and parser both need it."""
    cached = getattr(response, "_visionone_body", None)
    if cached is None:
        cached = response.json()
        response._visionone_body = cached  # type: ignore[attr-defined]
    return cached


def describe_error(response: requests.Response, secret: str | None = None) -> str:
    """Summarise an error answer in one short line, whatever its shape.

    Vision One answers ``{"error": {"code", "message"}}``; a 401 has been seen as a flat
    ``{"message", "code"}``; gateways answer HTML. The key is masked if a body echoes it.
    """
    text = ""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict):
            code, message = error.get("code"), error.get("message")
            text = " ".join(str(part) for part in (code, message) if part not in (None, ""))
            if code is not None and message:
                text = f"{code}: {message}"
    if not text:
        raw = html.unescape(_TAGS.sub(" ", response.text or ""))
        text = " ".join(raw.split())[:200] or (response.reason or "")
    if secret:
        text = text.replace(secret, "***")
    return f"HTTP {response.status_code} {text}".strip()


def retry_after_seconds(exception: BaseException | None) -> float | None:
    """The server's ``Retry-After`` (seconds form) on a retriable error, if it sent one."""
    response = getattr(exception, "response", None)
    if response is None:
        return None
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


class NextLinkPaginator(BaseHATEOASPaginator):
    """Follows ``nextLink`` until a page has none (Vision One's paging for every list)."""

    def get_next_url(self, response: requests.Response) -> str | None:
        body = response_body(response)
        return body.get("nextLink") if isinstance(body, dict) else None


class VisionOneStream(RESTStream):
    """Base for every Vision One stream: one client, one limiter, one error map.

    Subclasses say how the API filters them: ``filter_header`` (``TMV1-Query`` for searches,
    ``TMV1-Filter`` for most lists) or ``filter_param`` (the ``filter`` query parameter of
    response tasks and custom scripts), ``page_sizes`` (the allowed ``top`` values, the largest
    used unless a setting picks one; empty when the API chooses), and ``options``, the
    ``stream_options`` keys the stream takes (name -> description, for ``--about``).
    """

    records_jsonpath = "$.items[*]"
    filter_header: t.ClassVar[str | None] = None
    filter_param: t.ClassVar[str | None] = None
    page_sizes: t.ClassVar[tuple[int, ...]] = ()
    options: t.ClassVar[dict[str, str]] = {}
    fixed_params: t.ClassVar[dict[str, str]] = {}

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self._local = threading.local()
        self._stop = threading.Event()

    @property
    def settings(self) -> RunSettings:
        return self._tap.run_settings  # type: ignore[attr-defined]

    @property
    def url_base(self) -> str:
        return self.settings.base_url

    @cached_property
    def authenticator(self) -> BearerTokenAuthenticator:
        return BearerTokenAuthenticator(token=self.config["api_key"])

    def option(self, name: str) -> str | None:
        """This stream's ``stream_options.<stream>.<name>``, if set."""
        value = self.settings.stream_options.get(self.name, {}).get(name)
        return None if value is None or str(value).strip() == "" else str(value).strip()

    @classmethod
    def check_options(cls, options: dict[str, t.Any]) -> None:
        """Validate this stream's ``stream_options`` before any request (SettingsError)."""

    @property
    def filter_value(self) -> str | None:
        """The filter sent with every page: the stream's ``filter`` option."""
        return self.option("filter")

    @property
    def page_size(self) -> int | None:
        return max(self.page_sizes) if self.page_sizes else None

    @property
    def http_headers(self) -> dict[str, str]:
        # The filter header must be sent again with every nextLink page.
        headers = {"Accept": "application/json"}
        value = self.filter_value
        if self.filter_header and value:
            headers[self.filter_header] = value
        return headers

    def get_url_params(self, context: Context | None, next_page_token: t.Any) -> dict[str, t.Any]:
        params: dict[str, t.Any] = dict(context) if context else {}
        params.update(self.fixed_params)
        if self.page_size:
            params["top"] = self.page_size
        value = self.filter_value
        if self.filter_param and value:
            params[self.filter_param] = value
        select = self.select_fields
        if select:
            params["select"] = select
        return params

    @property
    def select_fields(self) -> str | None:
        """``select`` as the API takes it, always with the keys the tap needs to track records."""
        select = self.option("select")
        if not select:
            return None
        fields = [f.strip() for f in select.split(",") if f.strip()]
        needed = [*self.primary_keys, *([self.replication_key] if self.replication_key else [])]
        return ",".join(dict.fromkeys([*needed, *fields]))

    @property
    def settings_hint(self) -> str:
        """The settings a refused request most likely comes from, for the error line."""
        names = [f"`stream_options.{self.name}.{option}`" for option in self.options]
        return ", ".join([*names, "`start_date`", "`end_date`"])

    def get_records(self, context: Context | None) -> Iterable[dict[str, t.Any]]:
        """Read the stream; a 403 skips it with one warning unless ``fail_on_forbidden``."""
        try:
            yield from self.read_records(context)
        except ForbiddenError as exc:
            if self.settings.fail_on_forbidden:
                raise
            self._tap.forbidden_streams[self.name] = str(exc)  # type: ignore[attr-defined]
            self.logger.warning(
                "%s: skipped, %s (the rest of the sync goes on; set fail_on_forbidden to stop instead).",
                self.name,
                exc,
            )

    def read_records(self, context: Context | None) -> Iterable[dict[str, t.Any]]:
        yield from super().get_records(context)

    @cached_property
    def user_agent(self) -> str:
        from tap_visionone import __version__

        return f"tap-visionone/{__version__}"

    @property
    def timeout(self) -> int:
        return int(self.settings.request_timeout)

    @property
    def requests_session(self) -> requests.Session:
        """One session per worker thread: sessions are not documented as thread-safe."""
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.verify = self.settings.verify_ssl
            self._local.session = session
        return session

    def get_new_paginator(self) -> NextLinkPaginator:
        return NextLinkPaginator()

    def get_http_request(self, *, page: t.Any) -> t.Any:
        """Send ``nextLink``'s path and query to our own base URL.

        Like pytmv1, only the path and query of ``nextLink`` are used, so the key is never
        sent to a host other than the configured one; raw spaces are re-quoted.
        """
        request = super().get_http_request(page=page)
        token: ParseResult | None = page.next_page_token
        if token:
            path = token.path
            if "/v3.0/" in path:
                path = path[path.index("/v3.0/") :]
            request.url = requote_uri(self.url_base + path + (f"?{token.query}" if token.query else ""))
            request.params = {}
        return request

    def parse_response(self, response: requests.Response) -> Iterable[dict]:
        body = response_body(response)
        items = body.get("items") if isinstance(body, dict) else None
        yield from items or []

    def validate_response(self, response: requests.Response) -> None:
        """401/403 are fatal at once; 429, 5xx and unreadable bodies are retried."""
        status = response.status_code
        if status >= HTTPStatus.BAD_REQUEST:
            self._raise_for_error(response, describe_error(response, self.config.get("api_key")))
        try:
            body = response_body(response)
        except ValueError as exc:
            raise RetriableAPIError(f"HTTP {status} with a body that is not JSON ({exc})", response) from exc
        if not isinstance(body, dict):
            raise RetriableAPIError(f"HTTP {status} with a JSON body that is not an object", response)

    def _raise_for_error(self, response: requests.Response, detail: str) -> t.NoReturn:
        """Map an error status to the exception that decides retry or stop (``detail`` has no key)."""
        status = response.status_code
        if status == HTTPStatus.UNAUTHORIZED:
            raise AuthError(
                f"Vision One rejected the API key ({detail}): check the `api_key` setting "
                "(TAP_VISIONONE_API_KEY) and that it belongs to the region in `region`/`api_url`."
            )
        if status == HTTPStatus.FORBIDDEN:
            raise ForbiddenError(
                f"Vision One refused {self.path} ({detail}): "
                "the role of the key in `api_key` lacks the permission for this API"
            )
        if status == HTTPStatus.TOO_MANY_REQUESTS or status >= HTTPStatus.INTERNAL_SERVER_ERROR:
            raise RetriableAPIError(detail, response)
        raise FatalAPIError(
            f"Vision One refused the request to {self.path} ({detail}): "
            f"check the {self.settings_hint} settings."
        )

    def _request(
        self, prepared_request: requests.PreparedRequest, context: Context | None
    ) -> requests.Response:
        """Every attempt, retries included, passes the tap's shared rate limiter first."""
        if not self._tap.rate_limiter.acquire(self._stop):  # type: ignore[attr-defined]
            raise SyncStopped("stopped")
        return super()._request(prepared_request, context)

    def backoff_wait_generator(self) -> Generator[float, t.Any, None]:
        """Wait ``Retry-After`` when the server names it, else exponentially longer."""
        attempt = 0
        exception = yield  # type: ignore[misc]
        while True:
            wait = retry_after_seconds(exception)
            if wait is None:
                wait = min(RETRY_BASE_SECONDS * 2**attempt, RETRY_CAP_SECONDS)
            attempt += 1
            exception = yield wait

    def backoff_max_tries(self) -> int:
        return MAX_TRIES

    def backoff_handler(self, details: t.Any) -> None:
        """One plain line per retry, naming the window; never the request headers."""
        exception = details.get("exception")
        args = details.get("args") or ()
        context = args[1] if len(args) > 1 else None
        where = f" for window {'..'.join(map(str, context.values()))}" if isinstance(context, dict) else ""
        self.logger.warning(
            "%s: %s%s; retry %d/%d in %.1f s",
            self.name,
            explain_exception(exception, self.settings.request_timeout),
            where,
            details.get("tries", 0),
            MAX_TRIES - 1,
            details.get("wait") or 0.0,
        )


def explain_exception(exception: BaseException | None, timeout: float) -> str:
    """A short reason for a failed attempt, for logs and the final error line."""
    if isinstance(exception, RetriableAPIError):
        return str(exception)
    if isinstance(exception, requests.exceptions.Timeout):
        return f"no answer within request_timeout={timeout:g} s"
    if isinstance(exception, requests.exceptions.ConnectionError):
        # urllib3 wraps the OS error twice; people need the host and the OS's reason, not the URL.
        inner = exception.args[0] if exception.args else exception
        text = str(getattr(inner, "reason", inner))
        errno = _ERRNO.search(text)
        detail = (errno.group(1) or errno.group(2)).strip() if errno else text[:120]
        request = getattr(exception, "request", None)
        host = urlsplit(request.url).netloc if request is not None and request.url else "the API"
        return f"connection to {host} failed ({detail})"
    return f"{type(exception).__name__}: {exception}"[:200]


class WindowedStream(VisionOneStream):
    """An incremental stream read in time windows, fetched in parallel, emitted in order.

    The bookmark is the end of the last window whose records were all emitted (in the unit of
    the replication key: epoch ms for searches, an ISO date-time otherwise), so a killed run
    resumes at its first unfinished window. Records never move the bookmark themselves: some
    endpoints answer newest first, so a window is only done when its last page has arrived.
    """

    is_sorted = True
    epoch_ms_key: t.ClassVar[bool] = False  # True where the replication key is epoch milliseconds
    retention: t.ClassVar[timedelta | None] = None  # how far back the API serves data, if limited

    def _increment_stream_state(self, latest_record: t.Any, *, context: Context | None = None) -> None:
        """Bookmarks move per window in :meth:`_complete_window`, not per record."""

    def window_params(self, window: Window) -> dict[str, t.Any]:
        """Query parameters that select one window; endpoints name them differently."""
        return {"startDateTime": window.start_param, "endDateTime": window.end_param}

    def sort_key(self, record: dict) -> tuple:
        value = record.get(self.replication_key or "")
        if not self.epoch_ms_key:  # ISO strings in one format sort as they read
            return (str(value or ""), str(record.get(self.primary_keys[0], "")))
        return (value if isinstance(value, int | float) else 0, str(record.get(self.primary_keys[0], "")))

    def sync_range(self, context: Context | None) -> tuple[datetime, datetime]:
        """``[bookmark or start_date, end)``, clipped to what the API still keeps."""
        start, end = self.settings.start, self.settings.end
        bookmark = self.bookmark_time(context)
        if bookmark is not None:
            start = max(start, bookmark)
        if self.retention is not None and start < end - self.retention:
            # The API refuses older starts (400); an hour's margin covers the run's own duration.
            kept = end - self.retention + timedelta(hours=1)
            self.logger.warning(
                "%s: the API keeps %d days of data; starting at %s instead of %s.",
                self.name,
                self.retention.days,
                format_api_time(kept),
                format_api_time(start),
            )
            start = kept
        return start, end

    def read_records(self, context: Context | None) -> Iterable[dict[str, t.Any]]:
        start, end = self.sync_range(context)
        windows = plan_windows(start, end, self.settings.window_size) if start < end else []
        if not windows:
            self.logger.info(
                "%s: nothing to fetch, already synced up to %s", self.name, format_api_time(start)
            )
            return
        self.logger.info(
            "%s: fetching %s..%s in %d windows of %s with %d workers",
            self.name,
            format_api_time(start),
            format_api_time(end),
            len(windows),
            self.settings.window_size_text,
            self.settings.max_workers,
        )
        self._stop = threading.Event()
        total = 0
        done = fetch_in_order(
            windows, self._fetch_window, max_workers=self.settings.max_workers, stop=self._stop
        )
        for number, (window, records) in enumerate(done, start=1):
            records.sort(key=self.sort_key)
            yield from records
            total += len(records)
            self._complete_window(context, window)
            self.logger.info(
                "%s: window %s complete, %d records (%d/%d windows, %d records so far)",
                self.name,
                window,
                len(records),
                number,
                len(windows),
                total,
            )

    def bookmark_time(self, context: Context | None) -> datetime | None:
        """The saved bookmark as a UTC datetime, whichever unit it was saved in."""
        state = self.get_context_state(context)
        value = state.get("replication_key_value")
        if state.get("replication_key") != self.replication_key or value is None:
            return None
        if isinstance(value, int | float) and not isinstance(value, bool):
            return from_epoch_ms(value)
        return parse_api_time(str(value))

    def bookmark_value(self, window: Window) -> int | str:
        return window.end_ms if self.epoch_ms_key else window.end_param

    def _fetch_window(self, window: Window) -> list[dict]:
        context = self.window_params(window)  # the window's query parameters; also the metrics context
        try:
            return list(self.request_records(context))  # the SDK calls post_process as it emits them
        except (AuthError, SyncStopped):
            raise
        except FatalAPIError as exc:
            raise WindowFailedError(f"{self.name}: window {window} failed: {exc}") from None
        except (RetriableAPIError, requests.exceptions.RequestException, ConnectionError) as exc:
            raise WindowFailedError(
                f"{self.name}: window {window} failed after {MAX_TRIES} attempts: "
                f"{explain_exception(exc, self.settings.request_timeout)}; the bookmark stays at "
                f"{window.start_param}, so the next run starts with this window."
            ) from None
        except (RuntimeError, ValueError) as exc:  # a looping nextLink; an unreadable page
            raise WindowFailedError(f"{self.name}: window {window} failed: {exc}") from None

    def _complete_window(self, context: Context | None, window: Window) -> None:
        """Move the bookmark to the window's end and emit STATE, now that all its records are out."""
        state = self.get_context_state(context)
        state["replication_key"] = self.replication_key
        state["replication_key_value"] = self.bookmark_value(window)
        self.state_manager.is_flushed = False
        self._write_state_message()


class FullTableStream(VisionOneStream):
    """A list the API only returns whole (accounts, keys, scripts, objects, endpoints).

    Every run reads it all again, one page after another, through the same limiter and
    retries; a failure ends the run with one line naming the stream.
    """

    replication_key = None

    def read_records(self, context: Context | None) -> Iterable[dict[str, t.Any]]:
        self._stop = threading.Event()
        count = 0
        try:
            for record in super().read_records(context):
                count += 1
                yield record
        except (AuthError, SyncStopped):
            raise
        except FatalAPIError as exc:
            raise StreamFailedError(f"{self.name}: {exc}") from None
        except (RetriableAPIError, requests.exceptions.RequestException, ConnectionError) as exc:
            raise StreamFailedError(
                f"{self.name}: failed after {MAX_TRIES} attempts: "
                f"{explain_exception(exc, self.settings.request_timeout)}"
            ) from None
        except (RuntimeError, ValueError) as exc:
            raise StreamFailedError(f"{self.name}: {exc}") from None
        self.logger.info("%s: %d records", self.name, count)
