"""The private Singer SDK members the adapter relies on still exist on the pinned SDK, as it uses them.

If an SDK release renames one, removes it or changes its parameters, this fails before anything else
does (the plugins would otherwise break in the middle of a sync, or silently stop overriding it).
"""

from __future__ import annotations

import ast
import inspect
import typing as t
from pathlib import Path

import pytest
from singer_sdk import RESTStream, Stream
from singer_sdk.sinks import Sink

from connector_kit import sdk_adapter
from connector_kit.sdk_adapter import PRIVATE_MEMBERS
from tap_visionone.tap import TapVisionOne

ROOT = Path(__file__).resolve().parents[2]
PLUGINS = ("connector_kit", "tap_visionone", "tap_workvivo", "target_csv_flat", "visionone_actions")


def _attribute_assigned_in_init(owner: type, name: str) -> bool:
    """``self.<name> = ...`` in the ``__init__`` of ``owner`` (attributes that exist only on instances)."""
    source = inspect.getsource(owner.__init__)
    tree = ast.parse(inspect.cleandoc("\n" + source) if source.startswith(" ") else source)
    return any(
        isinstance(node, ast.Attribute)
        and node.attr == name
        and isinstance(node.value, ast.Name)
        and node.value.id == "self"
        and isinstance(node.ctx, ast.Store)
        for node in ast.walk(tree)
    )


def _id(value: object) -> str:
    return getattr(value, "__name__", None) or str(value)


@pytest.mark.parametrize(("owner", "name", "params"), PRIVATE_MEMBERS, ids=_id)
def test_the_pinned_sdk_has_each_private_member(
    owner: type, name: str, params: tuple[str, ...] | None
) -> None:
    if params is None:
        assert _attribute_assigned_in_init(owner, name), f"{owner.__name__}.__init__ no longer sets {name}"
        return
    member = inspect.getattr_static(owner, name, None)
    if isinstance(member, property):  # the SDK's classproperty: its getter
        member = member.fget
    elif isinstance(member, staticmethod | classmethod):
        member = getattr(owner, name)
    assert callable(member), f"{owner.__name__}.{name} is gone from the SDK"
    assert tuple(inspect.signature(member).parameters) == params, f"{owner.__name__}.{name} changed"


def test_a_changed_signature_would_fail() -> None:
    """The check above can fail: a member with other parameters does not match."""
    assert tuple(inspect.signature(Stream._write_state_message).parameters) != ("self", "context")
    assert not _attribute_assigned_in_init(Sink, "_no_such_attribute")


def _private_sdk_uses(path: Path) -> set[str]:
    """Private members (``_name``, not dunder) a module defines or reaches on SDK-derived objects.

    Approximated by every ``._name`` attribute access and every ``def _name`` whose name is a private
    member of an SDK class: the plugins' own private helpers have other names.
    """
    sdk_private = {
        name
        for owner in (Stream, RESTStream, Sink, sdk_adapter.Target, sdk_adapter.PluginBase)
        for name in dir(owner)
        if name.startswith("_") and not name.startswith("__")
    } | {"_tap", "_stream_version", "_validator", "_key_properties", "_total_records_read"}
    tree = ast.parse(path.read_text(encoding="utf-8"))
    used = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in sdk_private:
            used.add(node.attr)
        if isinstance(node, ast.FunctionDef) and node.name in sdk_private:
            used.add(node.name)
    return used


def test_no_module_but_the_adapter_touches_a_private_sdk_member() -> None:
    offenders = {}
    for package in PLUGINS:
        for path in sorted((ROOT / package).rglob("*.py")):
            if path.name == "sdk_adapter.py":
                continue
            used = _private_sdk_uses(path)
            if used:
                offenders[str(path.relative_to(ROOT))] = sorted(used)
    assert offenders == {}


def test_the_adapter_lists_every_private_member_it_touches() -> None:
    used = _private_sdk_uses(ROOT / "connector_kit" / "sdk_adapter.py")
    listed = {name for _, name, _ in PRIVATE_MEMBERS}
    assert used <= listed, f"used but not listed in PRIVATE_MEMBERS: {sorted(used - listed)}"


def _tap(catalog: dict | None = None) -> TapVisionOne:
    config = {"api_key": "adapter-key", "start_date": "2024-10-01", "end_date": "2024-10-02"}
    return TapVisionOne(config=config, catalog=catalog, validate_config=True)


RECORD = {
    "uuid": "d-1",
    "eventTime": 1727740800000,
    "severity": "high",
    "endpointHostName": "host-1",
    "tags": ["XSAE.F1"],
    "detail": {"nested": {"deep": [1, {"x": None}]}},
}


def _messages(stream: Stream, generate: t.Callable) -> list[tuple]:
    return [(m.stream, m.record, m.version) for m in generate(stream, dict(RECORD))]


def test_records_with_every_property_selected_come_out_as_the_sdk_writes_them() -> None:
    """The adapter skips the SDK's per-record walk for deselected properties only when none is
    deselected: the messages are the SDK's own."""
    stream = _tap().streams["detections"]
    assert all(stream.mask.values())
    ours = _messages(stream, type(stream)._generate_record_messages)
    assert ours == _messages(stream, Stream._generate_record_messages)
    assert ours[0][1] == RECORD


def test_a_deselected_property_is_still_dropped() -> None:
    catalog = _tap().catalog_dict
    for entry in catalog["streams"]:
        for item in entry["metadata"]:
            if entry["tap_stream_id"] == "detections" and item["breadcrumb"] == ["properties", "severity"]:
                item["metadata"]["selected"] = False
    stream = _tap(catalog).streams["detections"]
    ours = _messages(stream, type(stream)._generate_record_messages)
    assert "severity" not in ours[0][1]
    assert ours == _messages(stream, Stream._generate_record_messages)


def test_the_pinned_sdks_record_loop_is_the_one_raw_records_pass_through() -> None:
    """A `RawRecord` holds only its brief as a dict: a new SDK whose record loop reads or writes more of
    a record must be read again before this hash is updated."""
    import hashlib

    source = inspect.getsource(Stream._sync_records)
    assert hashlib.sha256(source.encode()).hexdigest() == sdk_adapter.SDK_SYNC_RECORDS_SHA256


def _stream(config: dict | None = None, catalog: dict | None = None, name: str = "detections") -> Stream:
    settings = {
        "api_key": "adapter-key",
        "start_date": "2024-10-01",
        "end_date": "2024-10-02",
        **(config or {}),
    }
    return TapVisionOne(config=settings, catalog=catalog, validate_config=True).streams[name]


def test_records_pass_as_text_only_when_nothing_would_change_them() -> None:
    assert _stream().passes_text()
    catalog = _tap().catalog_dict
    for entry in catalog["streams"]:
        for item in entry["metadata"]:
            if entry["tap_stream_id"] == "detections" and item["breadcrumb"] == ["properties", "severity"]:
                item["metadata"]["selected"] = False
    assert not _stream(catalog=catalog).passes_text()  # a deselected property must be dropped
    assert not _stream({"stream_maps": {"detections": {"extra": "1"}}}).passes_text()
    assert not _stream({"stream_maps": {"detections": {"severity": "__NULL__"}}}).passes_text()
    assert not _stream({"flattening_enabled": True, "flattening_max_depth": 1}).passes_text()
    assert not _stream(name="audit_logs").passes_text()  # its post_process changes records
    assert not _stream({"batch_config": BATCH_CONFIG}).passes_text()  # BATCH files take the records


BATCH_CONFIG = {"encoding": {"format": "jsonl"}, "storage": {"root": "file:///tmp"}}


def test_a_raw_record_goes_out_as_its_text_with_the_sdks_message_fields() -> None:
    import io
    import json
    from contextlib import redirect_stdout

    from connector_kit.message_writer import BufferedMsgSpecWriter
    from connector_kit.packed_pages import RawRecord

    stream = _stream()
    text = json.dumps(RECORD, indent=None, ensure_ascii=True).encode()  # \u escapes, spaces: kept
    ours = list(stream._generate_record_messages(RawRecord({"uuid": "d-1"}, text)))
    sdks = list(Stream._generate_record_messages(stream, dict(RECORD)))
    out = io.StringIO()
    with redirect_stdout(out):
        writer = BufferedMsgSpecWriter()
        for message in ours + sdks:
            writer.write_message(message)
        writer.write_pending()
    raw_line, sdk_line = out.getvalue().splitlines()
    assert text in raw_line.encode()  # the text itself, not a re-encoding
    raw, sdk = json.loads(raw_line), json.loads(sdk_line)
    assert raw.pop("time_extracted") and sdk.pop("time_extracted")
    assert raw == sdk


# -- the record path of a target ---------------------------------------------------------------------


def test_the_pinned_sdks_record_path_is_the_one_identity_map_records_follows() -> None:
    """`IdentityMapRecords` repeats the steps of the SDK's `_process_record_message`: a new SDK that
    changes them must be read again before this hash is updated."""
    import hashlib

    from singer_sdk.target_base import Target

    source = inspect.getsource(Target._process_record_message)
    assert hashlib.sha256(source.encode()).hexdigest() == sdk_adapter.SDK_RECORD_PATH_SHA256


def _run_target(lean: bool, config: dict, messages: list[dict]) -> tuple[list[tuple], dict]:
    """Run a small target (the SDK's record path, or `IdentityMapRecords`') on `messages`: the records
    its sinks received, by stream, and the tallies."""
    import io
    import json

    from singer_sdk import typing as th
    from singer_sdk.sinks import BatchSink
    from singer_sdk.target_base import Target

    received: list[tuple] = []

    class RecordingSink(BatchSink):
        max_size = 3

        def process_record(self, record: dict, context: dict) -> None:
            received.append((self.stream_name, dict(record)))

        def process_batch(self, context: dict) -> None:
            received.append((self.stream_name, "drained"))

    bases = (sdk_adapter.IdentityMapRecords, Target) if lean else (Target,)
    target_class = type(
        "RecordingTarget",
        bases,
        {
            "name": "recording-target",
            "default_sink_class": RecordingSink,
            "config_jsonschema": th.PropertiesList(th.Property("x", th.StringType)).to_dict(),
        },
    )
    target = target_class(config=config, validate_config=False)
    lines = "".join(json.dumps(m) + "\n" for m in messages)
    target.listen(io.StringIO(lines))
    tallies = {name: sink._total_records_read for name, sink in target._sinks_active.items()}
    maps = target.mapper.stream_maps.get("s") or []
    tallies["identity map"] = len(maps) == 1 and sdk_adapter._is_identity(maps[0], "s")
    return received, tallies


_TIMES = ("_sdc_received_at", "_sdc_batched_at", "_sdc_sequence", "_sdc_sync_started_at")
_SCHEMA = {
    "type": "SCHEMA",
    "stream": "s",
    "key_properties": ["id"],
    "schema": {"properties": {"id": {"type": "integer"}, "a": {"type": ["integer", "null"]}}},
}
_RECORDS = [
    {"type": "RECORD", "stream": "s", "record": {"id": i, "a": i * 10, "_sdc_extracted_at": "2024-10-01"}}
    for i in range(7)
]


@pytest.mark.parametrize(
    "config",
    [
        {},  # the identity map: IdentityMapRecords' own steps
        {"stream_maps": {"s": {"a": None}}},  # a map that changes records (drops `a`): the SDK's way
        {"stream_maps": {"s": {"__alias__": "t"}}},  # another stream name: the SDK's way
        {"add_record_metadata": True},
    ],
    ids=["identity", "property-map", "alias", "sdc-metadata"],
)
def test_identity_map_records_hands_sinks_what_the_sdk_hands_them(config: dict) -> None:
    messages = [_SCHEMA, *_RECORDS, {"type": "STATE", "value": {"bookmarks": {}}}]
    ours = _run_target(True, config, messages)
    sdks = _run_target(False, config, messages)

    def without_times(run: tuple[list[tuple], dict]) -> tuple[list[tuple], dict]:
        records = [
            (name, {k: v for k, v in r.items() if k not in _TIMES})
            if isinstance(r, dict) else (name, r)
            for name, r in run[0]
        ]  # fmt: skip
        return records, run[1]

    assert without_times(ours) == without_times(sdks)
    records, tallies = ours
    # the identity map (IdentityMapRecords' own steps) unless a stream map is configured
    assert tallies.pop("identity map") is ("stream_maps" not in config)
    assert sum(isinstance(r, dict) for _, r in records) == 7 and sum(tallies.values()) == 7
    assert ("s", "drained") in records or ("t", "drained") in records  # batches of 3 were drained
    if not config:
        assert records[0] == ("s", {"id": 0, "a": 0})  # the SDK's metadata columns removed, as it does


def test_a_record_for_a_stream_without_schema_fails_as_in_the_sdk() -> None:
    from singer_sdk.exceptions import RecordsWithoutSchemaException

    for lean in (True, False):
        with pytest.raises(RecordsWithoutSchemaException):
            _run_target(lean, {}, [{"type": "RECORD", "stream": "nowhere", "record": {"id": 1}}])
