"""Pages waiting for their window keep each record's text: whole, one line each, compressed or not."""

from __future__ import annotations

import json

import pytest
import requests

from connector_kit import packed_pages
from connector_kit.json_body import json_body_items
from connector_kit.packed_pages import decode_record, encode_raw_page

RECORDS = [
    {"uuid": "a", "eventTime": 2, "text": "line one\nline two", "tags": ["x", "y"], "o": {"k": None}},
    {"uuid": "b", "eventTime": 1, "text": 'Zoë, "quoted"', "tags": [], "o": {"k": 1.5}},
]


def _response(body: bytes) -> requests.Response:
    response = requests.Response()
    response.status_code = 200
    response._content = body
    return response


def _sort_key(brief: dict) -> tuple:
    return (brief["eventTime"], brief["uuid"])


@pytest.mark.parametrize("indent", [None, 2])
def test_a_pages_records_keep_their_text_on_one_line_each(indent: int | None) -> None:
    body = json.dumps({"items": RECORDS, "nextLink": None}, indent=indent, ensure_ascii=False).encode()
    items = json_body_items(_response(body))
    assert items is not None
    page = encode_raw_page(items, _sort_key, ["uuid", "eventTime"], newlines=b"\n" in body)
    assert page.keys == [(2, "a"), (1, "b")]
    assert page.briefs == [{"uuid": "a", "eventTime": 2}, {"uuid": "b", "eventTime": 1}]
    texts = [bytes(text) for text in page.compressed().lines()]
    assert all(b"\n" not in text for text in texts)
    assert [decode_record(text) for text in texts] == RECORDS
    if indent is None:  # a compact body: the API's own bytes, not a re-encoding
        assert all(text in body for text in texts)


def test_a_page_beyond_the_budget_is_compressed_and_reads_back_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    body = json.dumps({"items": RECORDS}, ensure_ascii=False).encode()
    page = encode_raw_page(json_body_items(_response(body)) or [], _sort_key, ["uuid", "eventTime"])
    monkeypatch.setattr(packed_pages, "UNCOMPRESSED", packed_pages._Budget(0))
    packed = page.compressed()
    assert isinstance(packed.blob, bytes)  # compressed JSON lines
    assert [decode_record(line) for line in packed.lines()] == RECORDS


def test_held_pages_give_their_share_of_the_budget_back() -> None:
    body = json.dumps({"items": RECORDS}, ensure_ascii=False).encode()
    page = encode_raw_page(json_body_items(_response(body)) or [], _sort_key, ["uuid", "eventTime"])
    before = packed_pages.UNCOMPRESSED.held
    packed = page.compressed()
    assert packed_pages.UNCOMPRESSED.held - before == sum(len(bytes(text)) for text in page.texts) > 0
    del packed, page
    assert packed_pages.UNCOMPRESSED.held == before
