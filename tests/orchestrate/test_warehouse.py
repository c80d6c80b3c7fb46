"""The code location with a warehouse loader: two tenants into one PostgreSQL database, a schema each."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from orchestrate.definitions import MeltanoProject, build_definitions
from orchestrate.tenants import load_tenants
from tests.meltano_plugins import ensure_installed
from tests.postgres_server import PostgresServer
from tests.simulator import Simulator

ROOT = Path(__file__).resolve().parents[2]
DAY, END = "2024-10-01", "2024-10-02"


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    ensure_installed("target-postgres")
    server = PostgresServer().start()
    try:
        yield server
    finally:
        server.stop()


def test_each_tenant_loads_into_its_own_schema(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, postgres: PostgresServer
) -> None:
    database = postgres.create_database("tenants")
    for name, value in postgres.target_config(database, "ignored").items():
        monkeypatch.setenv(f"TARGET_POSTGRES_{name.upper()}", str(value))  # the schema is the tenant's
    with (
        Simulator(seed=31, scale=60, start=DAY, days=2, api_key="key-e") as sim_e,
        Simulator(seed=32, scale=90, start=DAY, days=2, api_key="key-f") as sim_f,
    ):
        sims = {"tenant-e": sim_e, "tenant.f": sim_f}
        monkeypatch.setenv("KEY_E", "key-e")
        monkeypatch.setenv("KEY_F", "key-f")
        path = tmp_path / "tenants.json"
        path.write_text(json.dumps([
            {"name": name, "api_url": sim.base_url, "api_key_env": f"KEY_{name[-1].upper()}",
             "select": ["detections.*"]}
            for name, sim in sims.items()
        ]))  # fmt: skip
        project = MeltanoProject(
            project_dir=str(ROOT), loader="target-postgres",
            database_uri=f"sqlite:///{tmp_path / 'meltano.db'}",
        )  # fmt: skip
        job = build_definitions(load_tenants(path), DAY, project).resolve_job_def("visionone_sync_job")
        for name in sims:
            key = dg.MultiPartitionKey({"tenant": name, "day": DAY})
            result = job.execute_in_process(partition_key=key, resources={"meltano": project})
            assert result.success
            (materialization,) = result.asset_materializations_for_node("visionone_sync")
            assert materialization.metadata["schema"].value == project.schema(name)
        with postgres.connect(database) as conn:
            for name, sim in sims.items():
                schema = project.schema(name)
                query = f'SELECT count(*), count(DISTINCT uuid) FROM "{schema}".detections'
                count, distinct = conn.execute(query).fetchone()
                assert count == distinct == sim.expected_count("detections", DAY, END), name
            schemas = {row[0] for row in conn.execute("SELECT schema_name FROM information_schema.schemata")}
        assert {"visionone_tenant_e", "visionone_tenant_f"} <= schemas
        assert "visionone" not in schemas and "ignored" not in schemas  # nothing loaded outside them
        for sim in sims.values():
            assert {r["status"] for r in sim.requests} == {200}
