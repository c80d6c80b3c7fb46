"""The windowed sync both taps need: throttled, retried requests and time windows emitted in order.

:class:`ThrottledStream` sends every attempt through the tap's one rate limiter, on one HTTP
session per worker thread, retrying 429/5xx/timeouts with ``Retry-After`` or exponential waits.
:class:`TimeWindowedStream` cuts the sync range into windows, fetches them concurrently and emits
them in order, moving the bookmark to a window's end only once all its records are out. The API
specifics (auth, paging, error map) stay in each tap's own client.
"""

from __future__ import annotations

import ctypes
import html
import json
import re
import threading
import typing as t
import zlib
from collections.abc import Generator, Iterable
from datetime import datetime, timedelta
from urllib.parse import ParseResult, urlsplit

import requests
from requests.utils import requote_uri
from singer_sdk import RESTStream
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError

from tap_visionone.errors import AuthError, TapError, TLSError, WindowFailedError
from tap_visionone.tls import environment_settings, tls_message
from tap_visionone.windows import (
    Window,
    fetch_in_order,
    format_api_time,
    from_epoch_ms,
    parse_api_time,
    plan_windows,
    record_time_ms,
)

if t.TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

RETRY_BASE_SECONDS = 0.5
RETRY_CAP_SECONDS = 60.0
MAX_TRIES = 5
_TAGS = re.compile(r"<[^>]+>")
_COMPACT = json.JSONEncoder(separators=(",", ":"))  # records wait as text
LOOSE_PAGE = 1000  # records packed together when a stream's pages do not arrive packed
PAGE_GATE = threading.Lock()  # one page of parsed records at a time, whichever worker: bounds memory


def _glibc() -> t.Any:
    try:
        libc = ctypes.CDLL("libc.so.6")
        return libc if hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt") else None
    except OSError:  # not glibc: nothing to tune
        return None


_LIBC = _glibc()
if _LIBC is not None:
    # Pages of JSON are 10-20 MB buffers. glibc raises its mmap threshold after freeing the first
    # one, and later buffers are carved from the heap, which then cannot shrink: fix the threshold
    # (M_MMAP_THRESHOLD) so that big buffers are always mapped and unmapped, and keep the arenas
    # of the worker threads few (M_ARENA_MAX).
    _LIBC.mallopt(-3, 1 << 20)
    _LIBC.mallopt(-8, 2)
_TRIM = _LIBC.malloc_trim if _LIBC is not None else None


def release_free_memory() -> None:
    """Give freed heap pages back to the system (glibc keeps them per thread arena otherwise).

    Records are freed a window at a time by several threads; without this the tap's resident
    memory stayed about twice what Python had allocated.
    """
    if _TRIM is not None:
        _TRIM(0)


class PackedPage(t.NamedTuple):
    """A page of records waiting for its window's turn: zlib-compressed JSON lines.

    A detection takes ~6.6 KB as a dict, ~2 KB as JSON and ~0.3 KB compressed; a busy tenant's
    windows (thousands of records each, up to ``2 * max_workers`` of them waiting) stay small.
    """

    keys: list[tuple]  # each record's sort key, in page order
    briefs: list[dict]  # each record's primary keys and replication key, for checks and errors
    blob: bytes

    def lines(self) -> list[str]:
        return zlib.decompress(self.blob).decode().split("\n") if self.keys else []


class EncodedPage(t.NamedTuple):
    """A `PackedPage` before compression."""

    keys: list[tuple]
    briefs: list[dict]
    text: bytes

    def compressed(self) -> PackedPage:
        return PackedPage(self.keys, self.briefs, zlib.compress(self.text, 1))


_ERRNO = re.compile(r"\[Errno -?\d+\] ([^'\")\]]+)|Error\(-?\d+, '([^']+)'\)")


class SyncStopped(TapError):
    """Raised in a worker whose sync was stopped (an earlier window failed, or the sync ended)."""


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


def retry_wait(exception: BaseException | None, attempt: int, rate_window: float | None = None) -> float:
    """Seconds to wait before retry ``attempt`` (0-based) of a failed request.

    The server's ``Retry-After`` wins. A 429 without one waits out the API's rate-limit counting window
    (``rate_window``): retrying sooner only spends the next window's requests on more 429s. Anything
    else backs off exponentially, up to a minute.
    """
    wait = retry_after_seconds(exception)
    if wait is not None:
        return wait
    response = getattr(exception, "response", None)
    if rate_window is not None and getattr(response, "status_code", None) == 429:
        return rate_window
    return min(RETRY_BASE_SECONDS * 2**attempt, RETRY_CAP_SECONDS)


def status_line(response: requests.Response, text: str, secret: str | None = None) -> str:
    """``HTTP <status> <text>`` for an error answer; without ``text``, the page's own words (a gateway's
    HTML), not repeating the status it usually starts with. A key the body echoes is masked."""
    if not text:
        raw = html.unescape(_TAGS.sub(" ", response.text or ""))
        text = " ".join(raw.split())[:200] or (response.reason or "")
        text = text.removeprefix(str(response.status_code)).strip()
    if secret:
        text = text.replace(secret, "***")
    return f"HTTP {response.status_code} {text}".strip()


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


class ThrottledStream(RESTStream):
    """A REST stream whose requests share the tap's limiter and retry policy, safely from threads."""

    # How long the API counts requests for its rate limit, if known: a 429 without Retry-After waits it out.
    rate_window_seconds: t.ClassVar[float | None] = None

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self._local = threading.local()
        self._stop = threading.Event()

    @property
    def settings(self) -> t.Any:
        """The tap's checked settings (base_url, start, end, window_size, max_workers, ...)."""
        return self._tap.run_settings  # type: ignore[attr-defined]

    @property
    def url_base(self) -> str:
        return self.settings.base_url

    @property
    def timeout(self) -> int:
        return int(self.settings.request_timeout)

    @property
    def requests_session(self) -> requests.Session:
        """One session per worker thread: sessions are not documented as thread-safe."""
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.verify, proxies = environment_settings(self.url_base, self.settings.verify_ssl)
            session.proxies.update(proxies)
            self._local.session = session
        return session

    def get_records(self, context: Context | None) -> Iterable[dict[str, t.Any]]:
        yield from self.read_records(context)

    def read_records(self, context: Context | None) -> Iterable[dict[str, t.Any]]:
        """How the stream reads its records; subclasses read windows instead of one request chain."""
        yield from super().get_records(context)

    def next_link_path(self, path: str) -> str:
        """The part of a next-page link's path to append to our own base URL."""
        return path

    def get_http_request(self, *, page: t.Any) -> t.Any:
        """Send a next-page link's path and query to our own base URL.

        Like pytmv1, only the path and query of the link are used, so the credentials are never
        sent to a host other than the configured one; raw spaces are re-quoted.
        """
        request = super().get_http_request(page=page)
        token: ParseResult | None = page.next_page_token
        if token:
            path = self.next_link_path(token.path)
            request.url = requote_uri(self.url_base + path + (f"?{token.query}" if token.query else ""))
            request.params = {}
        return request

    def _request(
        self, prepared_request: requests.PreparedRequest, context: Context | None
    ) -> requests.Response:
        """Every attempt, retries included, passes the tap's shared rate limiter first."""
        if not self._tap.rate_limiter.acquire(self._stop):  # type: ignore[attr-defined]
            raise SyncStopped("stopped")
        try:
            return super()._request(prepared_request, context)
        except requests.exceptions.SSLError as exc:  # not retried: a certificate does not fix itself
            raise TLSError(tls_message(exc, self.url_base)) from None

    def backoff_wait_generator(self) -> Generator[float, t.Any, None]:
        """Wait ``Retry-After`` when the server names it, the rate window on a bare 429, else exponentially
        longer (:func:`retry_wait`)."""
        attempt = 0
        exception = yield  # type: ignore[misc]
        while True:
            wait = retry_wait(exception, attempt, self.rate_window_seconds)
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


class TimeWindowedStream(ThrottledStream):
    """An incremental stream read in time windows, fetched in parallel, emitted in order.

    The bookmark is the end of the last window whose records were all emitted (in the unit of
    the replication key: epoch ms for searches, an ISO date-time otherwise), so a killed run
    resumes at its first unfinished window. Records never move the bookmark themselves: some
    endpoints answer newest first, so a window is only done when its last page has arrived.
    """

    is_sorted = True
    key_unit: t.ClassVar[str] = "iso"  # the replication key's unit: "ms" or "s" since the epoch, or "iso"
    retention: t.ClassVar[timedelta | None] = None  # how far back the API serves data, if limited

    def _increment_stream_state(self, latest_record: t.Any, *, context: Context | None = None) -> None:
        """Bookmarks move per window in :meth:`_complete_window`, not per record."""

    def window_params(self, window: Window) -> dict[str, t.Any]:
        """Query parameters that select one window; endpoints name them differently."""
        return {"startDateTime": window.start_param, "endDateTime": window.end_param}

    def sort_key(self, record: dict) -> tuple:
        """Records of a window in time order, whatever shape each one's time has (unreadable ones first:
        :meth:`check_replication_key` stops their window before anything is emitted)."""
        moment = record_time_ms(record.get(self.replication_key or ""), self.key_unit)
        return (moment if moment is not None else -1, str(record.get(self.primary_keys[0], "")))

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
            windows,
            self._fetch_window,
            max_workers=self.settings.max_workers,
            stop=self._stop,
            fatal=(AuthError,),
        )
        for number, (window, pages) in enumerate(done, start=1):
            order = sorted((key, p, i) for p, page in enumerate(pages) for i, key in enumerate(page.keys))
            lines = [page.lines() for page in pages]
            del pages
            self._emitting = window
            for _, p, i in order:
                yield json.loads(lines[p][i])
            count = len(order)
            total += count
            del lines, order
            self._complete_window(context, window)
            release_free_memory()
            self.logger.info(
                "%s: window %s complete, %d records (%d/%d windows, %d records so far)",
                self.name,
                window,
                count,
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
            return from_epoch_ms(value * 1000 if self.key_unit == "s" else value)
        return parse_api_time(str(value))

    def bookmark_value(self, window: Window) -> int | str:
        if self.key_unit == "ms":
            return window.end_ms
        if self.key_unit == "s":
            return window.end_ms // 1000
        return window.end_param

    def pack(self, records: list[dict]) -> PackedPage:
        """Records as a `PackedPage` (compact JSON has no raw newline, so lines split them back)."""
        return self.encode(records).compressed()

    def encode(self, records: list[dict]) -> EncodedPage:
        """First half of `pack`: JSON lines, so the dicts can go (zlib then runs without the GIL)."""
        names = [*self.primary_keys, *([self.replication_key] if self.replication_key else [])]
        return EncodedPage(
            [self.sort_key(record) for record in records],
            [{name: record.get(name) for name in names} for record in records],
            "\n".join(_COMPACT.encode(record) for record in records).encode(),
        )

    def _fetch_window(self, window: Window) -> list[PackedPage]:
        """A window's records, packed, waiting for their turn to be emitted.

        Pages may arrive packed already (Vision One packs them as it parses them, under
        `PAGE_GATE`); loose records are packed here a page at a time.
        """
        context = self.window_params(window)  # the window's query parameters; also the metrics context
        pages: list[PackedPage] = []
        loose: list[dict] = []
        try:
            for record in self.request_records(context):  # the SDK calls post_process as it emits them
                if isinstance(record, PackedPage):
                    pages.append(record)
                    continue
                loose.append(record)
                if len(loose) >= LOOSE_PAGE:
                    pages.append(self.pack(loose))
                    loose = []
            if loose:
                pages.append(self.pack(loose))
            for page in pages:
                for brief in page.briefs:
                    self.check_replication_key(window, brief)
            return pages
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

    def check_replication_key(self, window: Window, record: dict) -> None:
        """Stop at a record whose replication key cannot be read as a time, before any record of its
        window is emitted: the window's order and the bookmark depend on it. (Other fields are the
        target's to validate.)"""
        replication_key = self.replication_key or ""
        value = record.get(replication_key) if replication_key else None
        if value is None or record_time_ms(value, self.key_unit) is not None:
            return
        number = {"ms": "epoch milliseconds or ", "s": "epoch seconds or "}.get(self.key_unit, "")
        expected = f"a date-time ({number}ISO 8601 text)"
        keys = ", ".join(f"{key}={record.get(key)!r}" for key in self.primary_keys)
        raise WindowFailedError(
            f"{self.name}: window {window} failed: record {keys}: field {replication_key}: "
            f"{value!r} is not {expected}; the bookmark stays at {window.start_param}."
        )

    def _process_record(self, record: dict, *args: t.Any, **kwargs: t.Any) -> None:
        """Never emit a record without its primary key (checked after ``post_process``, which may derive
        it): downstream de-duplication needs it. The window's STATE is not written, so the bookmark
        stays before the window."""
        missing = [key for key in self.primary_keys if record.get(key) in (None, "")]
        if missing:
            window = getattr(self, "_emitting", None)
            where = f"window {window} failed: " if window is not None else ""
            stays = f"; the bookmark stays at {window.start_param}" if window is not None else ""
            replication_key = self.replication_key
            when = f" ({replication_key}={record.get(replication_key)!r})" if replication_key else ""
            raise WindowFailedError(
                f"{self.name}: {where}a record{when} has no `{missing[0]}` (its primary key){stays}."
            )
        super()._process_record(record, *args, **kwargs)

    def _complete_window(self, context: Context | None, window: Window) -> None:
        """Move the bookmark to the window's end and emit STATE, now that all its records are out."""
        state = self.get_context_state(context)
        state["replication_key"] = self.replication_key
        state["replication_key_value"] = self.bookmark_value(window)
        self.state_manager.is_flushed = False
        self._write_state_message()
