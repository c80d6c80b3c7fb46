"""Throttled, retried HTTP for REST streams that read from several threads at once.

Every attempt (retries included) passes the plugin's one rate limiter in `ThrottledSession.send`, on
one HTTP session per worker thread; 429/5xx/timeouts are retried through the SDK's ``backoff_*``
hooks with ``Retry-After`` or exponential waits (`RetryPolicy`). The API specifics (auth, paging,
error map) stay in each tap's own client.
"""

from __future__ import annotations

import threading
import time
import typing as t
from collections.abc import Generator, Iterable
from urllib.parse import ParseResult

import requests
from requests.utils import requote_uri
from singer_sdk import RESTStream
from singer_sdk.helpers.conform import TypeConformanceLevel

from connector_kit.error_text import GIVEN_UP, Failure, explain_exception, final_failure
from connector_kit.errors import SyncStopped, TLSError
from connector_kit.retries import RetryPolicy
from connector_kit.sdk_adapter import plugin_of
from connector_kit.tls import environment_settings, tls_message

if t.TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

    from connector_kit.packed_pages import EncodedPage
    from connector_kit.ratelimit import RateLimiter


class ThrottledSession(requests.Session):
    """A session whose every request first takes a slot of the plugin's rate limiter.

    ``stopped`` (an event of the stream's current sync) ends a wait for a slot: the request is then
    not sent and `SyncStopped` is raised. A certificate that fails verification is a `TLSError`, which
    is not retried: it does not fix itself.
    """

    def __init__(self, limiter: RateLimiter, stopped: t.Callable[[], threading.Event], base_url: str) -> None:
        super().__init__()
        self._limiter = limiter
        self._stopped = stopped
        self._base_url = base_url

    def send(self, request: requests.PreparedRequest, **kwargs: t.Any) -> requests.Response:  # type: ignore[override]
        if not self._limiter.acquire(self._stopped()):
            raise SyncStopped("stopped")
        try:
            return super().send(request, **kwargs)
        except requests.exceptions.SSLError as exc:
            raise TLSError(tls_message(exc, self._base_url)) from None


class ThrottledStream(RESTStream):
    """A REST stream whose requests share the plugin's limiter and retry policy, safely from threads.

    The plugin provides ``run_settings`` (base_url, request_timeout, verify_ssl, retries, ...) and
    ``rate_limiter``; see `connector_kit.tap_base.ConnectorTap`.
    """

    # How long the API counts requests for its rate limit, if known: a 429 without Retry-After waits it out.
    rate_window_seconds: t.ClassVar[float | None] = None
    # Records arrive as the API's JSON, already of the JSON types their schemas name (checked by the
    # schema tests against Trend's field dictionary); the SDK's per-record conforming walk was most of
    # the tap's CPU time and changed nothing.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self._local = threading.local()
        self.stop_event = threading.Event()

    @property
    def settings(self) -> t.Any:
        """The plugin's checked settings (base_url, start, end, window_size, max_workers, ...)."""
        return plugin_of(self).run_settings

    @property
    def retries(self) -> RetryPolicy:
        return self.settings.retries

    @property
    def url_base(self) -> str:
        return self.settings.base_url

    @property
    def timeout(self) -> float:
        return self.settings.request_timeout  # a number of seconds, as set: int() made 0.5 s into 0

    @property
    def requests_session(self) -> requests.Session:
        """One session per worker thread: sessions are not documented as thread-safe."""
        session = getattr(self._local, "session", None)
        if session is None:
            session = ThrottledSession(plugin_of(self).rate_limiter, lambda: self.stop_event, self.url_base)
            session.verify, proxies = environment_settings(self.url_base, self.settings.verify_ssl)
            session.proxies.update(proxies)
            self._local.session = session
        return session

    def get_records(self, context: Context | None) -> Iterable[dict[str, t.Any]]:
        yield from self.read_records(context)

    def read_records(self, context: Context | None) -> Iterable[dict[str, t.Any]]:
        """How the stream reads its records; subclasses read windows instead of one request chain."""
        yield from super().get_records(context)

    def pack_items(self, items: list[dict]) -> EncodedPage | None:
        """A page's records, packed while the page is parsed, if the stream keeps records packed
        (`TimeWindowedStream` does, until their window's turn); None: the items stay as they are."""
        return None

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

    def final_failure(self, exception: BaseException) -> Failure | None:
        """Why a read failed for good (`error_text.final_failure`), or None to let ``exception`` go on."""
        return final_failure(exception, timeout=self.settings.request_timeout)

    def backoff_wait_generator(self) -> Generator[float, t.Any, None]:
        """Wait ``Retry-After`` when the server names it, the rate window on a bare 429, else exponentially
        longer with jitter (`RetryPolicy`); stop (the request then fails with its last error) once the
        policy gives up, noting on that error how long it was retried (`GIVEN_UP`)."""
        policy, started, attempts = self.retries, time.monotonic(), 0
        exception = yield  # type: ignore[misc]
        while True:
            attempts += 1
            wait = policy.jittered_wait(exception, attempts - 1, self.rate_window_seconds)
            failing_for = time.monotonic() - started
            if policy.gives_up(attempts, failing_for + wait):
                if exception is not None:
                    setattr(exception, GIVEN_UP, policy.summary(attempts, failing_for))
                return
            exception = yield wait

    def backoff_max_tries(self) -> int | None:
        """No count of the SDK's own: `backoff_wait_generator` decides when to give up."""
        return None

    def backoff_jitter(self, value: float) -> float:
        """The waits are jittered by `RetryPolicy.jittered_wait` (the SDK would add up to a second to
        every wait, ``Retry-After`` included)."""
        return value

    def backoff_handler(self, details: t.Any) -> None:
        """One plain line per retry, naming the window; never the request headers."""
        exception = details.get("exception")
        args = details.get("args") or ()
        context = args[1] if len(args) > 1 else None
        where = f" for window {'..'.join(map(str, context.values()))}" if isinstance(context, dict) else ""
        policy = self.retries
        budget = f" (for up to {policy.retry_for:g} s)"
        if policy.max_tries > 0:
            budget = f"/{policy.max_tries - 1}"
        response = getattr(exception, "response", None)
        asked = response is not None and bool(getattr(response, "headers", {}).get("Retry-After"))
        self.logger.warning(
            "%s: %s%s; retry %d%s in %.1f s%s",
            self.name,
            explain_exception(exception, self.settings.request_timeout),
            where,
            details.get("tries", 0),
            budget,
            details.get("wait") or 0.0,
            ", as the API asked (Retry-After)" if asked else "",
        )
