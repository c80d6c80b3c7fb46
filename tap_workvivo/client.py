"""The Workvivo SIEM client: organisation and bearer headers, ``links.next`` paging, the error map.

Limiter, retries and window fan-out come from :mod:`connector_kit.windowed`, which both taps share.
"""

from __future__ import annotations

import typing as t
from collections.abc import Iterable
from datetime import timedelta
from functools import cached_property
from http import HTTPStatus

import requests
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError
from singer_sdk.pagination import BaseHATEOASPaginator

from connector_kit.error_text import status_line
from connector_kit.errors import AuthError
from connector_kit.json_body import json_body
from connector_kit.windowed import TimeWindowedStream

if t.TYPE_CHECKING:
    from connector_kit.window_plan import Window


def describe_error(response: requests.Response, secret: str | None = None) -> str:
    """One short line for an error answer: Workvivo's ``{"message": ...}``, or a gateway's page."""
    text = ""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("message"):
        text = str(body["message"])
    return status_line(response, text, secret)


class NextPagePaginator(BaseHATEOASPaginator):
    """Follows ``links.next`` when an answer has one (the public samples show none; be ready)."""

    def get_next_url(self, response: requests.Response) -> str | None:
        links = json_body(response).get("links")
        return links.get("next") if isinstance(links, dict) else None


class WorkvivoStream(TimeWindowedStream):
    """A Workvivo stream read in time windows that the API takes as path segments (epoch seconds)."""

    records_jsonpath = "$.data[*]"
    key_unit = "s"

    @cached_property
    def user_agent(self) -> str:
        from tap_workvivo import __version__

        return f"tap-workvivo/{__version__}"

    @property
    def http_headers(self) -> dict[str, str]:
        return {
            "Accept": "application/json",
            "Workvivo-Id": self.settings.workvivo_id,
            "Authorization": f"Bearer {self.settings.api_token}",
        }

    @property
    def max_window(self) -> timedelta:
        """``window_size`` (1 hour by default): Workvivo's public example reads an hour per call and shows
        no paging, so a longer range might be cut short without a next link. An hour that does page is
        split among the workers like any full window."""
        return self.settings.window_size

    def window_params(self, window: Window) -> dict[str, t.Any]:
        return {"from": int(window.start.timestamp()), "to": int(window.end.timestamp())}

    def get_url_params(self, context: t.Any, next_page_token: t.Any) -> dict[str, t.Any]:
        return {}  # the window is in the path; a next page's link carries its own query

    def get_new_paginator(self) -> NextPagePaginator:
        return NextPagePaginator()

    def parse_response(self, response: requests.Response) -> Iterable[dict]:
        yield from json_body(response).get("data") or []

    def validate_response(self, response: requests.Response) -> None:
        """401/403 stop at once; 429, 5xx and unreadable bodies are retried; other 4xx stop."""
        status = response.status_code
        if status >= HTTPStatus.BAD_REQUEST:
            detail = describe_error(response, self.settings.api_token)
            if status == HTTPStatus.UNAUTHORIZED:
                raise AuthError(
                    f"Workvivo rejected the API token ({detail}): check the `api_token` setting "
                    "(TAP_WORKVIVO_API_TOKEN) and that it belongs to `api_url`'s region."
                )
            if status == HTTPStatus.FORBIDDEN:
                raise AuthError(
                    f"Workvivo refused the request ({detail}): check the `workvivo_id` setting "
                    "(TAP_WORKVIVO_WORKVIVO_ID) and that the token's user has API access."
                )
            if status == HTTPStatus.TOO_MANY_REQUESTS or status >= HTTPStatus.INTERNAL_SERVER_ERROR:
                raise RetriableAPIError(detail, response)
            raise FatalAPIError(
                f"Workvivo refused the request ({detail}): check the `start_date`, `end_date` and "
                "`window_size` settings."
            )
        json_body(response)  # a body that is not a JSON object is retried
