"""RECORDs wait in stdout's buffer; any other message flushes them, records first, so a target never
holds a STATE whose records it has not been given."""

from __future__ import annotations

import io
import json

import pytest
from singer_sdk.singerlib import RecordMessage, StateMessage

from connector_kit.message_writer import BufferedMsgSpecWriter


class CountingStdout(io.TextIOWrapper):
    flushes = 0

    def flush(self) -> None:
        type(self).flushes += 1
        super().flush()


def test_records_are_flushed_by_the_next_state(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = io.BytesIO()
    stdout = CountingStdout(raw, encoding="utf-8", write_through=False)
    CountingStdout.flushes = 0
    monkeypatch.setattr("sys.stdout", stdout)
    writer = BufferedMsgSpecWriter()
    for n in range(3):
        writer.write_message(RecordMessage(stream="s", record={"id": n, "x": "ä"}))
    assert CountingStdout.flushes == 0
    writer.write_message(StateMessage(value={"bookmarks": {"s": {"id": 2}}}))
    assert CountingStdout.flushes == 1
    lines = [json.loads(line) for line in raw.getvalue().decode().splitlines()]
    assert [line["type"] for line in lines] == ["RECORD", "RECORD", "RECORD", "STATE"]
    assert lines[2]["record"] == {"id": 2, "x": "ä"}


def test_a_text_only_stdout_gets_the_same_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    text = io.StringIO()
    monkeypatch.setattr("sys.stdout", text)
    BufferedMsgSpecWriter().write_message(RecordMessage(stream="s", record={"id": 1}))
    assert json.loads(text.getvalue())["record"] == {"id": 1}
