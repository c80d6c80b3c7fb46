"""tap-visionone into real warehouses: a PostgreSQL server on 127.0.0.1 and an embedded DuckDB file.

Each test loads a range, then runs again incrementally from a bookmark rewound by half a day, so
the second run's windows overlap rows already loaded (as after a crash mid-window). The table must
then hold exactly the simulator's records for the whole range: none missing, no primary key twice.
Full-table streams loaded twice (an API key deleted in between) must hold the current list once.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml

from tests.postgres_server import PostgresServer
from tests.simulator import Simulator
from tests.tap_runner import ALL, PipelineRun, run_pipeline

FIRST_END, SECOND_END = "2024-10-03T00:00:00Z", "2024-10-04T00:00:00Z"
REWOUND_BOOKMARK = 1727870400000  # 2024-10-02T12:00:00Z: half a day before the first run's end


def loader_settings(name: str) -> dict:
    """A loader's settings with the values meltano.yml gives them."""
    project = yaml.safe_load((Path(__file__).resolve().parents[2] / "meltano.yml").read_text())
    loader = next(p for p in project["plugins"]["loaders"] if p["name"] == name)
    return {s["name"]: s["value"] for s in loader["settings"] if "value" in s}


def duckdb_settings() -> dict:
    """target-duckdb's settings as meltano.yml gives them (add_metadata_columns is load-bearing)."""
    return loader_settings("target-duckdb")


def postgres_settings(server: PostgresServer, database: str) -> dict:
    """target-postgres's settings as meltano.yml gives them (load_method, hard_delete), on `server`."""
    return {**loader_settings("target-postgres"), **server.target_config(database, "visionone")}


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def warehouse_sim() -> Iterator[Simulator]:
    with Simulator(seed=21, scale=300, start="2024-10-01", days=3, api_key="warehouse-key") as sim:
        yield sim


def tap_config(sim: Simulator, end: str) -> dict:
    return {
        "api_key": "warehouse-key",
        "api_url": sim.base_url,
        "start_date": "2024-10-01",
        "end_date": end,
        "window_size": "6h",
        "page_size": 500,
        "rate_limit_per_minute": 0,
    }


# target-duckdb 0.8.0 cannot load a field that is text in one record and a list in another (it writes the
# text unquoted into a JSON column): meltano.yml's DuckDB job passes such fields on as JSON text.
AS_JSON_TEXT = {"union_fields_as_json_text": True}


def load_twice_with_overlap(
    tmp_path: Path, sim: Simulator, target: str, target_config: dict, mapper_config: dict | None = None
) -> list[PipelineRun]:
    first = run_pipeline(
        tmp_path, tap_config(sim, FIRST_END), target, target_config, mapper_config=mapper_config
    )
    assert first.tap_returncode == 0, first.tap_stderr
    assert first.target_returncode == 0, first.target_stderr
    state = first.last_state
    assert state["bookmarks"]["detections"]["replication_key_value"] == 1727913600000  # 2024-10-03
    state["bookmarks"]["detections"]["replication_key_value"] = REWOUND_BOOKMARK
    second = run_pipeline(
        tmp_path, tap_config(sim, SECOND_END), target, target_config, state=state, mapper_config=mapper_config
    )
    assert second.tap_returncode == 0, second.tap_stderr
    assert second.target_returncode == 0, second.target_stderr
    return [first, second]


def test_postgres_incremental_load_with_overlap(
    tmp_path: Path, postgres: PostgresServer, warehouse_sim: Simulator
) -> None:
    database = postgres.create_database("visionone")
    config = postgres_settings(postgres, database)
    load_twice_with_overlap(tmp_path, warehouse_sim, "target-postgres", config)
    expected = warehouse_sim.detection_ids("2024-10-01", SECOND_END)
    with postgres.connect(database) as conn:
        total, distinct = conn.execute(
            "SELECT count(*), count(DISTINCT uuid) FROM visionone.detections"
        ).fetchone()
        assert total == distinct == len(expected)
        loaded = {row[0] for row in conn.execute("SELECT uuid FROM visionone.detections")}
        assert loaded == expected
        # a field whose shape varies by product arrives as JSON (text or list), timestamps as timestamps
        shapes = conn.execute(
            'SELECT src, "eventTime", "eventTimeDT" FROM visionone.detections WHERE src IS NOT NULL'
        ).fetchall()
        assert {type(src) for src, _, _ in shapes} >= {str, list}, {type(src) for src, _, _ in shapes}
        assert all(isinstance(time, int) and event_dt.year == 2024 for _, time, event_dt in shapes)


def test_duckdb_incremental_load_with_overlap(tmp_path: Path, warehouse_sim: Simulator) -> None:
    import duckdb

    path = tmp_path / "warehouse.duckdb"
    config = {**duckdb_settings(), "filepath": str(path)}
    load_twice_with_overlap(tmp_path, warehouse_sim, "target-duckdb", config, AS_JSON_TEXT)
    expected = warehouse_sim.detection_ids("2024-10-01", SECOND_END)
    with duckdb.connect(str(path), read_only=True) as conn:
        total, distinct = conn.execute(
            "SELECT count(*), count(DISTINCT uuid) FROM visionone.detections"
        ).fetchone()
        assert total == distinct == len(expected)
        loaded = {row[0] for row in conn.execute("SELECT uuid FROM visionone.detections").fetchall()}
        assert loaded == expected
        # `src` is text on some products and a list on others: JSON text, read back with DuckDB's JSON
        kinds = conn.execute(
            "SELECT DISTINCT json_type(src::JSON) FROM visionone.detections WHERE src IS NOT NULL"
        ).fetchall()
        assert {kind for (kind,) in kinds} == {"VARCHAR", "ARRAY"}, kinds


EVERY_STREAM_END = "2024-10-02T00:00:00Z"


def expected_counts(sim: Simulator) -> dict[str, int]:
    from tap_visionone.streams import STREAMS

    counts = {s.name: sim.expected_count(s.name, "2024-10-01", EVERY_STREAM_END) for s in STREAMS}
    assert all(counts.values()), counts  # a stream without records would prove nothing
    return counts


def load_every_stream(
    tmp_path: Path, sim: Simulator, target: str, target_config: dict, mapper_config: dict | None = None
) -> None:
    config = tap_config(sim, EVERY_STREAM_END)
    run = run_pipeline(tmp_path, config, target, target_config, streams=ALL, mapper_config=mapper_config)
    assert run.tap_returncode == 0, run.tap_stderr[-3000:]
    assert run.target_returncode == 0, run.target_stderr[-3000:]


def test_every_stream_loads_into_postgres(
    tmp_path: Path, postgres: PostgresServer, warehouse_sim: Simulator
) -> None:
    database = postgres.create_database("everything")
    config = postgres_settings(postgres, database)
    load_every_stream(tmp_path, warehouse_sim, "target-postgres", config)
    with postgres.connect(database) as conn:
        for stream, count in expected_counts(warehouse_sim).items():
            loaded = conn.execute(f"SELECT count(*) FROM visionone.{stream}").fetchone()[0]
            assert loaded == count, stream
        # nested alert objects stay queryable JSON
        scope = conn.execute('SELECT "impactScope" FROM visionone.workbench_alerts LIMIT 1').fetchone()[0]
        assert isinstance(scope, dict) and "entities" in scope


def test_every_stream_loads_into_duckdb(tmp_path: Path, warehouse_sim: Simulator) -> None:
    import duckdb

    path = tmp_path / "everything.duckdb"
    load_every_stream(
        tmp_path,
        warehouse_sim,
        "target-duckdb",
        {**duckdb_settings(), "filepath": str(path)},
        AS_JSON_TEXT,
    )
    with duckdb.connect(str(path), read_only=True) as conn:
        for stream, count in expected_counts(warehouse_sim).items():
            loaded = conn.execute(f"SELECT count(*) FROM visionone.{stream}").fetchone()[0]
            assert loaded == count, stream


# --------------------------------------------------------------------------- full-table streams, twice

FULL_TABLE_KEYS = {"iam_accounts": "id", "api_keys": "id", "endpoints": "agentGuid"}


def load_full_tables_twice(tmp_path: Path, target: str, target_config: dict) -> tuple[Simulator, str]:
    """Two runs of the full-table streams; between them an administrator deletes one API key."""
    sim = Simulator(seed=22, scale=100, start="2024-10-01", days=1, api_key="warehouse-key").start()
    streams = list(FULL_TABLE_KEYS)
    try:
        first = run_pipeline(
            tmp_path, tap_config(sim, EVERY_STREAM_END), target, target_config, streams=streams
        )
        assert first.tap_returncode == 0 and first.target_returncode == 0, first.target_stderr[-3000:]
        deleted = sim.expected("api_keys")[0]["id"]
        answer = requests.post(
            f"{sim.base_url}/v3.0/iam/apiKeys/delete",
            json=[{"id": deleted}],
            headers={"Authorization": "Bearer warehouse-key"},
            timeout=10,
        )
        assert answer.status_code == 207, answer.text
        second = run_pipeline(
            tmp_path, tap_config(sim, EVERY_STREAM_END), target, target_config, streams=streams
        )
        assert second.tap_returncode == 0 and second.target_returncode == 0, second.target_stderr[-3000:]
    finally:
        sim.stop()
    return sim, deleted


def test_full_table_streams_loaded_twice_into_postgres_hold_one_live_copy(
    tmp_path: Path, postgres: PostgresServer
) -> None:
    database = postgres.create_database("fulltable")
    sim, deleted = load_full_tables_twice(tmp_path, "target-postgres", postgres_settings(postgres, database))
    with postgres.connect(database) as conn:
        for stream, key in FULL_TABLE_KEYS.items():
            expected = {r[key] for r in sim.expected(stream)}
            total, distinct, live = conn.execute(
                f'SELECT count(*), count(DISTINCT "{key}"), count(*) FILTER (WHERE _sdc_deleted_at IS NULL) '
                f"FROM visionone.{stream}"
            ).fetchone()
            assert total == distinct == live == len(expected), stream
            assert {r[0] for r in conn.execute(f'SELECT "{key}" FROM visionone.{stream}')} == expected
        versions = conn.execute(
            "SELECT count(DISTINCT _sdc_table_version) FROM visionone.iam_accounts"
        ).fetchone()
        assert versions == (1,)  # the second run's version only
        gone = conn.execute("SELECT count(*) FROM visionone.api_keys WHERE id = %s", [deleted]).fetchone()
        assert gone == (0,)


def test_full_table_streams_loaded_twice_into_duckdb_keep_one_row_per_key(tmp_path: Path) -> None:
    """target-duckdb ignores ACTIVATE_VERSION: upserts on the key keep one copy, deleted rows stay."""
    import duckdb

    path = tmp_path / "fulltable.duckdb"
    sim, deleted = load_full_tables_twice(
        tmp_path, "target-duckdb", {**duckdb_settings(), "filepath": str(path)}
    )
    with duckdb.connect(str(path), read_only=True) as conn:
        for stream, key in FULL_TABLE_KEYS.items():
            expected = {r[key] for r in sim.expected(stream)}
            total, distinct = conn.execute(
                f'SELECT count(*), count(DISTINCT "{key}") FROM visionone.{stream}'
            ).fetchone()
            assert total == distinct == len(expected) + (stream == "api_keys"), stream
        kept = conn.execute("SELECT count(*) FROM visionone.api_keys WHERE id = ?", [deleted]).fetchone()
        assert kept == (1,)
