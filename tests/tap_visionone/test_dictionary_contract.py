"""The contract between Trend's field dictionary and the tap's search-stream schemas.

For detections and the six activity searches: every field the dictionary lists is declared under the
API's name; every one of its samples, put in a record, passes the validator target-csv-flat uses (so a
real answer of that shape cannot stop a run); a ``dynamic`` field takes both a scalar and an array; and
the schema declares nothing beyond the dictionary but the few fields real answers are known to carry.
It fails when a schema drifts from the dictionary (``python -m tests.simulator.dictionary.schema``
rewrites the schemas from it).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from singer_sdk.exceptions import InvalidRecord

from target_csv_flat.validation import FastValidator
from tests.simulator.dictionary import EXTRA_API_FIELDS, SEARCH_STREAMS, fields
from tests.simulator.dictionary.schema import SCHEMA_DIR, build

SCHEMA_PATHS = {stream: SCHEMA_DIR / f"{stream}.json" for stream in SEARCH_STREAMS}
KEYS = {"uuid": "00000000-0000-4000-8000-000000000000", "eventTime": 1657781088000}


def schema_of(stream: str) -> dict:
    return json.loads(Path(SCHEMA_PATHS[stream]).read_text(encoding="utf-8"))


def validator(stream: str) -> FastValidator:
    return FastValidator(schema_of(stream))


def contract_figures(stream: str) -> dict[str, int]:
    """Dictionary fields, fields declared, samples validated: the figures the contract stands on."""
    schema = schema_of(stream)
    check = FastValidator(schema)
    samples = 0
    for field in fields(stream):
        for sample in field.samples:
            check.validate({**KEYS, field.name: sample})
            samples += 1
    return {
        "dictionary_fields": len(fields(stream)),
        "declared": len(schema["properties"]),
        "samples_validated": samples,
    }


@pytest.mark.parametrize("stream", SEARCH_STREAMS)
def test_every_dictionary_field_is_declared(stream: str) -> None:
    declared = schema_of(stream)["properties"]
    missing = [field.name for field in fields(stream) if field.name not in declared]
    assert not missing, f"{stream}: dictionary fields not in the schema: {missing}"


@pytest.mark.parametrize("stream", SEARCH_STREAMS)
def test_nothing_declared_beyond_the_dictionary_but_known_api_fields(stream: str) -> None:
    known = {field.name for field in fields(stream)} | set(EXTRA_API_FIELDS[stream]) | {"uuid", "eventTime"}
    invented = sorted(set(schema_of(stream)["properties"]) - known)
    assert not invented, f"{stream}: neither in the dictionary nor seen in real answers: {invented}"


@pytest.mark.parametrize("stream", SEARCH_STREAMS)
def test_every_sample_validates(stream: str) -> None:
    check = validator(stream)
    failures = []
    count = 0
    for field in fields(stream):
        for sample in field.samples:
            count += 1
            try:
                check.validate({**KEYS, field.name: sample})
            except InvalidRecord as exc:
                failures.append(f"{field.name}={sample!r}: {exc}")
    assert count > 0
    assert not failures, f"{stream}: {len(failures)} of {count} samples refused:\n" + "\n".join(failures[:20])


@pytest.mark.parametrize("stream", SEARCH_STREAMS)
def test_dynamic_fields_take_scalars_and_arrays(stream: str) -> None:
    check = validator(stream)
    for field in fields(stream):
        if not field.dynamic:
            continue
        scalar = field.samples[0] if field.samples else "x"
        if isinstance(scalar, list):
            scalar = scalar[0] if scalar else "x"
        check.validate({**KEYS, field.name: scalar})
        check.validate({**KEYS, field.name: [scalar]})
        check.validate({**KEYS, field.name: None})


@pytest.mark.parametrize("stream", SEARCH_STREAMS)
def test_replication_key_takes_the_shapes_the_dictionary_shows(stream: str) -> None:
    check = validator(stream)
    check.validate({"uuid": KEYS["uuid"], "eventTime": 1657781088000})  # epoch ms everywhere
    if stream == "cloud_activities":  # CloudTrail: ISO text; VPC flow logs: epoch ms
        check.validate({"uuid": KEYS["uuid"], "eventTime": "2022-07-06T22:28:06Z"})
    with pytest.raises(InvalidRecord):
        check.validate({"uuid": KEYS["uuid"], "eventTime": None})


@pytest.mark.parametrize("stream", SEARCH_STREAMS)
def test_committed_schema_is_what_the_dictionary_gives(stream: str) -> None:
    """Hand edits that the dictionary does not back are drift: regenerate instead."""
    current = schema_of(stream)
    assert build(stream, current) == current, (
        f"{stream}.json differs from the dictionary: run `python -m tests.simulator.dictionary.schema`"
    )


def test_known_mismatches_are_fixed() -> None:
    """The shapes real payloads showed and the first schemas refused."""
    detections = validator("detections")
    record = {
        **KEYS,
        "src": ["81.2.69.142"],
        "dst": ["10.10.10.10", "10.10.10.11"],
        "act": ["Block"],
        "actResult": ["Blocked"],
        "suser": ["a@example.com"],
        "fileSize": "59456",
        "rt": "2022-07-11T13:35:34+0000",
        "processFileHashSha1": "0" * 40,
        "policyName": "Default",
        "policyUuid": "11111111-1111-1111-1111-111111111111",
    }
    detections.validate(record)
    detections_schema = schema_of("detections")["properties"]
    assert "format" not in detections_schema["rt"]
    assert "processFileHash" not in detections_schema and "policy" not in detections_schema
    validator("email_activities").validate({**KEYS, "mailDirection": 1})
    validator("network_activities").validate({**KEYS, "respCode": "200"})
    identity = schema_of("identity_activities")["properties"]
    for name in (
        "principalName",
        "clientApp",
        "result",
        "resultReason",
        "locationCity",
        "locationCountry",
        "osName",
        "clientBrowser",
    ):
        assert name in identity, name
    validator("cloud_activities").validate(
        {**KEYS, "eventTime": "2022-07-06T22:28:06Z", "productCode": "sct", "requestParameters": '{"a": 1}'}
    )


def test_contract_figures_cover_every_stream() -> None:
    figures = {stream: contract_figures(stream) for stream in SEARCH_STREAMS}
    for stream, numbers in figures.items():
        assert numbers["declared"] >= numbers["dictionary_fields"] > 0, stream
        assert numbers["samples_validated"] > 0, stream


# Detections shaped like the public collectors' Vision One samples (values are ours): arrays where one
# product sends lists, ISO text where another sends epoch ms, fields the dictionary lacks.
REAL_SHAPED_DETECTIONS = [
    {
        "uuid": "6f1d0c1e-0000-4000-8000-000000000001", "eventTime": 1602724592000,
        "eventTimeDT": "2020-10-15T01:16:32+00:00", "productCode": "sao", "pname": "Apex One",
        "act": "Clean", "actResult": "Quarantined successfully", "cat": 50, "cccaRiskLevel": 3,
        "cnt": "1", "dpt": 53, "dst": ["203.0.113.7"], "src": ["198.51.100.4"],
        "endpointIp": ["198.51.100.4"], "fileName": ["invoice.pdf.exe"], "fileSize": "0",
        "objectCmd": ["cmd.exe /c whoami"], "objectSigner": ["Microsoft Windows"],
        "mitreMapping": ["T1090 (TA0005)"], "tacticId": ["TA0005"], "tags": ["XSAE.F2140"],
        "processFileHashSha1": "0" * 40, "rt": "2020-10-15T01:16:32.000Z",
        "rt_utc": "2020-10-15T01:16:32.000Z", "component": ["PATTERN_VSAPI 17.101.92"],
        "searchDL": "DDL",
    },
    {
        "uuid": "6f1d0c1e-0000-4000-8000-000000000002", "eventTime": 1657546534000,
        "eventTimeDT": "2022-07-11T13:35:34+00:00", "productCode": "sig", "tags": None,
        "act": ["Block"], "rt": "2022-07-11T13:35:34+0000", "urlCat": ["Newly Observed Domain"],
        "policyName": "default", "policyUuid": "11111111-2222-3333-4444-555555555555",
        "suser": ["ana@corp.example"], "clientIp": ["198.51.100.9"], "osName": "10.15.6",
        "sender": "Default cloud gateway", "searchDL": "DDL",
    },
]  # fmt: skip


def test_real_shaped_detections_land_in_the_csv(tmp_path: Path) -> None:
    """The defect that started this contract: the target refused `src: ['81.2.69.142']`."""
    from target_csv_flat.target import TargetCsvFlat

    schema = schema_of("detections")
    messages = [{"type": "SCHEMA", "stream": "detections", "schema": schema, "key_properties": ["uuid"]}]
    messages += [{"type": "RECORD", "stream": "detections", "record": r} for r in REAL_SHAPED_DETECTIONS]
    target = TargetCsvFlat(config={"output_path": str(tmp_path)})
    target.listen(io.StringIO("".join(json.dumps(m) + "\n" for m in messages)))
    with (tmp_path / "detections.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["uuid"] for row in rows] == [r["uuid"] for r in REAL_SHAPED_DETECTIONS]
    assert rows[0]["src"] == '["198.51.100.4"]' and rows[1]["act"] == '["Block"]'
    assert rows[0]["act"] == "Clean" and rows[1]["rt"] == "2022-07-11T13:35:34+0000"
    # fields Trend's dictionary does not list are kept, in the extra column
    assert json.loads(rows[0]["_extra"]) == {"component": ["PATTERN_VSAPI 17.101.92"], "searchDL": "DDL"}
