"""The Vision One REST client: base URL per region, bearer auth, TMV1 filters, nextLink paging, errors.

Every stream of the tap derives from :class:`VisionOneStream`. Streams that the API lets us
read by time range derive from :class:`WindowedStream`, which adds the window fan-out of
:mod:`connector_kit.windowed` (shared with tap-workvivo, as are its limiter and retries); lists
the API only returns whole derive from :class:`FullTableStream`.
"""

from __future__ import annotations

import threading
import typing as t
from collections.abc import Iterable
from functools import cached_property
from http import HTTPStatus

import requests
from singer_sdk.authenticators import BearerTokenAuthenticator
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError
from singer_sdk.pagination import BaseHATEOASPaginator

from connector_kit.error_text import status_line
from connector_kit.errors import AuthError, ForbiddenError, StreamFailedError
from connector_kit.json_body import json_body, json_body_items, replace_body
from connector_kit.packed_pages import PAGE_GATE, EncodedPage, encode_raw_page
from connector_kit.sdk_adapter import activate_version, begin_version, plugin_of
from connector_kit.throttled import ThrottledStream
from connector_kit.visionone_errors import error_envelope
from connector_kit.visionone_regions import REGIONS
from connector_kit.windowed import TimeWindowedStream

__all__ = ["REGIONS", "FullTableStream", "VisionOneStream", "WindowedStream"]

if t.TYPE_CHECKING:
    from singer_sdk.helpers.types import Context


def describe_error(response: requests.Response, secret: str | None = None) -> str:
    """Summarise an error answer in one short line, whatever its shape.

    Vision One answers ``{"error": {"code", "message"}}``; a 401 has been seen as a flat
    ``{"message", "code"}``; gateways answer HTML. The key is masked if a body echoes it.
    """
    code, message = error_envelope(response)
    text = " ".join(str(part) for part in (code, message) if part not in (None, ""))
    if code is not None and message:
        text = f"{code}: {message}"
    return status_line(response, text, secret)


class NextLinkPaginator(BaseHATEOASPaginator):
    """Follows ``nextLink`` until a page has none (Vision One's paging for every list).

    A link already followed in this page sequence is a loop: the SDK only notices a link that
    repeats the one just followed, so a cycle over two or more pages (``2 -> 1 -> 2 -> ...``) would
    run forever, re-reading the same records. Any repeat stops the sequence with a ``RuntimeError``.
    """

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self._followed: dict[str, int] = {}  # link -> the page number it led to

    def get_next_url(self, response: requests.Response) -> str | None:
        link = json_body(response).get("nextLink")
        if link:
            if link in self._followed:
                raise RuntimeError(
                    f"the API's nextLink loops: page {self.count} links back to page {self._followed[link]}, "
                    "already read; stopped instead of reading the same records again"
                )
            self._followed[link] = self.count + 1
        return link


class VisionOneStream(ThrottledStream):
    """Base for every Vision One stream: one client, one limiter, one error map.

    Subclasses say how the API filters them: ``filter_header`` (``TMV1-Query`` for searches,
    ``TMV1-Filter`` for most lists) or ``filter_param`` (the ``filter`` query parameter of
    response tasks and custom scripts), ``page_sizes`` (the allowed ``top`` values, the largest
    used unless a setting picks one; empty when the API chooses), and ``options``, the
    ``stream_options`` keys the stream takes (name -> description, for ``--about``).
    """

    records_jsonpath = "$.items[*]"
    rate_window_seconds = 60.0  # Vision One counts requests per API per 60 s; a 429 may omit Retry-After
    filter_header: t.ClassVar[str | None] = None
    filter_param: t.ClassVar[str | None] = None
    page_sizes: t.ClassVar[tuple[int, ...]] = ()
    options: t.ClassVar[dict[str, str]] = {}
    fixed_params: t.ClassVar[dict[str, str]] = {}

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
            plugin_of(self).forbidden_streams[self.name] = str(exc)
            self.logger.warning(
                "%s: skipped, %s (the rest of the sync goes on; set fail_on_forbidden to stop instead).",
                self.name,
                exc,
            )

    @cached_property
    def user_agent(self) -> str:
        from tap_visionone import __version__

        return f"tap-visionone/{__version__}"

    def get_new_paginator(self) -> NextLinkPaginator:
        return NextLinkPaginator()

    def parse_response(self, response: requests.Response) -> Iterable[t.Any]:
        """The page's items (packed for windowed streams), each let go as soon as it is handed on."""
        body = json_body(response)
        items = body.get("items")
        replace_body(response, {"nextLink": body.get("nextLink"), "totalCount": body.get("totalCount")})
        if not items:
            return
        items.reverse()
        while items:
            yield items.pop()

    def validate_response(self, response: requests.Response) -> None:
        """401/403 are fatal at once; 429, 5xx and unreadable bodies are retried.

        A page of 5,000 detections is ~13 MB of JSON and ~33 MB of dicts, and the SDK keeps a
        response until the next one has arrived. So the body is parsed under `PAGE_GATE` (one page
        at a time across workers; parsing holds the GIL anyway), a windowed stream's items are packed
        there and then (`encode_items`: as the API's text, never as dicts), and the raw bytes are
        dropped.
        """
        status = response.status_code
        if status >= HTTPStatus.BAD_REQUEST:
            self._raise_for_error(response, describe_error(response, self.config.get("api_key")))
        with PAGE_GATE:
            encoded = self.encode_items(response)
            response._content = b""  # type: ignore[attr-defined]  # parsed; nothing reads it again
        if encoded is not None:
            json_body(response)["items"] = [encoded.compressed()]

    def encode_items(self, response: requests.Response) -> EncodedPage | None:
        """Parse the body (`json_body`) and take its items out packed (`pack_items`), under `PAGE_GATE`;
        None when they stay in the body as dicts."""
        body = json_body(response)
        items = body.get("items")
        if not isinstance(items, list):
            return None
        encoded = self.pack_items([item for item in items if isinstance(item, dict)])
        if encoded is not None:
            del body["items"]
        return encoded

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

    def next_link_path(self, path: str) -> str:
        # nextLink may name another host or prefix; Vision One paths start at /v3.0/.
        return path[path.index("/v3.0/") :] if "/v3.0/" in path else path


class WindowedStream(TimeWindowedStream, VisionOneStream):
    """A Vision One stream read in time windows (see :class:`TimeWindowedStream`)."""

    def window_total(self, first_page: requests.Response) -> int | None:
        """The ``totalCount`` that workbench alerts and OAT detections answer on every page."""
        total = json_body(first_page).get("totalCount")
        return total if isinstance(total, int) and not isinstance(total, bool) and total >= 0 else None

    def encode_items(self, response: requests.Response) -> EncodedPage | None:
        """The page's items packed straight from the API's text (`encode_raw_page`): a record is
        parsed into a dict once, when its window's turn comes, instead of here and again then."""
        newlines = b"\n" in response.content  # compact bodies (the API's) need no item re-written
        items = json_body_items(response)
        if items is None:  # no list of items, or a body msgspec cannot take: the standard way
            return super().encode_items(response)
        names = [*self.primary_keys, *([self.replication_key] if self.replication_key else [])]
        return encode_raw_page(items, self.sort_key, names, newlines=newlines)


class FullTableStream(VisionOneStream):
    """A list the API only returns whole (accounts, keys, scripts, objects, endpoints).

    Every run reads it all again, one page after another, through the same limiter and
    retries; a failure ends the run with one line naming the stream.

    Each read is a new Singer table version: its RECORDs carry ``version`` and, once the last
    page has been written, ``ACTIVATE_VERSION`` tells the target to replace the previous copy
    with this one (`table_versions`). A read that fails or is cut short never activates, so the
    target keeps the last complete copy.
    """

    replication_key = None

    def read_records(self, context: Context | None) -> Iterable[dict[str, t.Any]]:
        self.stop_event = threading.Event()
        count = 0
        version = begin_version(self)
        try:
            for record in super().read_records(context):
                count += 1
                yield record
        except Exception as exc:
            failure = self.final_failure(exc)
            if failure is None:
                raise
            raise StreamFailedError(
                f"{self.name}: {'failed ' if failure.retried else ''}{failure.reason}"
            ) from None
        self.logger.info("%s: %d records", self.name, count)
        if self.selected:
            activate_version(self, version)
