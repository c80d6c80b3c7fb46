"""Dagster definitions: one `meltano run tap-visionone target-csv` per (tenant, day) partition.

Load with ``dagster dev -m orchestrate.definitions``. Read from the environment: the tenants file
``VISIONONE_TENANTS_FILE`` (default ``tenants.yml`` at the repository root, see :mod:`orchestrate.tenants`),
the first day ``VISIONONE_FIRST_DAY`` (default 2024-01-01), the Meltano project
``VISIONONE_MELTANO_PROJECT`` (default the repository root), the CSV folder ``VISIONONE_OUTPUT_ROOT``
(default ``output/tenants``, relative to the project), the loader ``VISIONONE_LOADER`` (default
``target-csv``; ``target-postgres`` loads each tenant into its own schema) and Meltano's
``MELTANO_STATE_BACKEND_URI``.
Tests build their own with :func:`build_definitions`.
"""

# no `from __future__ import annotations`: Dagster reads the annotations of the asset at run time

import csv
import json
import os
import re
import subprocess
import sys
import tempfile
import typing as t
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg

from orchestrate.instance import TENANT_TAG
from orchestrate.selection import project_patterns, split_patterns
from orchestrate.tenants import Tenant, load_tenants

ROOT = Path(__file__).resolve().parents[1]
MELTANO = Path(sys.executable).parent / "meltano"
TAP = "tap-visionone"
WAREHOUSES = ("target-postgres", "target-duckdb")  # loaders given a schema per tenant
OUTPUT_ROOT = "output/tenants"
# Inherited settings that must never reach a tenant's run: each run gets exactly its own tenant's values.
SCRUBBED = ("TAP_VISIONONE_API_KEY", "TAP_VISIONONE_API_URL", "TAP_VISIONONE_REGION",
            "TAP_VISIONONE_START_DATE", "TAP_VISIONONE_END_DATE", "TAP_VISIONONE__SELECT",
            "TARGET_CSV_OUTPUT_PATH", "TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA",
            "TARGET_DUCKDB_DEFAULT_TARGET_SCHEMA")  # fmt: skip
INVENTORY = "inventory"  # the unit (state ID suffix part, folder) of a tenant's full-table lists


class MeltanoProject(dg.ConfigurableResource):
    """Where and how `meltano run` is started."""

    project_dir: str = str(ROOT)
    output_root: str = OUTPUT_ROOT  # relative to project_dir; one folder per tenant and day below it
    database_uri: str | None = None  # MELTANO_DATABASE_URI (default: the project's .meltano/meltano.db)
    state_backend_uri: str | None = None  # MELTANO_STATE_BACKEND_URI, e.g. file:///srv/state, s3://b/p
    environment: str | None = None  # meltano --environment
    loader: str = "target-csv"  # what follows tap-visionone in `meltano run` (mappers first, if any)
    schema_prefix: str = "visionone_"  # warehouse loaders: each tenant's tables in schema <prefix><tenant>
    timeout_seconds: int = 6 * 3600

    def output_dir(self, tenant: str, day: str) -> Path:
        return Path(self.project_dir, self.output_root, tenant, day)

    def pipeline(self) -> tuple[str, ...]:
        return (TAP, *self.loader.split())

    def schema(self, tenant: str) -> str:
        """The tenant's schema in a warehouse: the prefix and the name, lower case, `_` for `-` and `.`."""
        return self.schema_prefix + re.sub(r"[^a-z0-9_]", "_", tenant.lower())


def state_id_suffix(tenant: str, unit: str) -> str:
    """``<tenant>-<day>`` for a day, ``<tenant>-inventory`` for the full-table lists: never shared."""
    return f"{tenant}-{unit}"


def run_env(
    tenant: Tenant,
    day: date | None,
    project: MeltanoProject,
    now: datetime | None = None,
    *,
    select: list[str] | None = None,
    folder: Path | None = None,
) -> dict[str, str]:
    """The environment of one partition's `meltano run`: only this tenant's key, URL, streams and day."""
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
    env["TAP_VISIONONE_API_KEY"] = tenant.api_key()
    if tenant.api_url:
        env["TAP_VISIONONE_API_URL"] = tenant.api_url
    if tenant.region:
        env["TAP_VISIONONE_REGION"] = tenant.region
    if day is not None:
        env["TAP_VISIONONE_START_DATE"] = day.isoformat()
        end = day + timedelta(days=1)
        now = now or datetime.now(UTC)
        if datetime(end.year, end.month, end.day, tzinfo=UTC) <= now:
            env["TAP_VISIONONE_END_DATE"] = end.isoformat()
        # else: today, still open; the tap stops at now minus `lag`, the next hourly run goes on from there
    env["TAP_VISIONONE_RATE_LIMIT_PER_MINUTE"] = str(tenant.rate_limit_per_run())
    patterns = select if select is not None else list(tenant.select)
    if patterns:
        env["TAP_VISIONONE__SELECT"] = json.dumps(patterns)
    unit = day.isoformat() if day is not None else INVENTORY
    env["TARGET_CSV_OUTPUT_PATH"] = str(folder or project.output_dir(tenant.name, unit))
    for loader in set(project.pipeline()) & set(WAREHOUSES):
        env[f"{loader.upper().replace('-', '_')}_DEFAULT_TARGET_SCHEMA"] = project.schema(tenant.name)
    if project.database_uri:
        env["MELTANO_DATABASE_URI"] = project.database_uri
    if project.state_backend_uri:
        env["MELTANO_STATE_BACKEND_URI"] = project.state_backend_uri
    return env


@contextmanager
def private_run_dir(project_dir: str, env: dict[str, str], pipeline: tuple[str, ...]) -> Iterator[Path]:
    """A Meltano system folder of the run's own, for the time of the run (set in ``env``).

    `meltano run` writes each plugin's config (the API key included), catalog (the selection) and
    state to ``.meltano/run/<plugin>/`` of the project, the same files for every run: two runs at once
    (two tenants, or two days of one) would read each other's key, streams and bookmark. Each run gets
    a folder whose ``run/`` is its own and whose other entries (the installed plugins, logs) link to
    the project's ``.meltano``; Meltano's database stays the project's (or ``MELTANO_DATABASE_URI``).
    """
    shared = Path(project_dir, ".meltano")
    missing = [p for p in pipeline if not any(shared.glob(f"*/{p}/venv"))]
    if missing:
        msg = f"not installed in {project_dir}: {', '.join(missing)}; run `meltano install` there first"
        raise dg.Failure(description=msg, allow_retries=False)
    with tempfile.TemporaryDirectory(prefix="meltano-run-") as folder:
        own = Path(folder)
        for entry in shared.iterdir() if shared.is_dir() else []:
            if entry.name not in ("run", "meltano.db"):
                (own / entry.name).symlink_to(entry)
        (own / "run").mkdir()
        env["MELTANO_SYS_DIR_ROOT"] = str(own)
        env.setdefault("MELTANO_DATABASE_URI", f"sqlite:///{shared / 'meltano.db'}")
        yield own


def meltano_command(suffix: str, project: MeltanoProject) -> list[str]:
    environment = [f"--environment={project.environment}"] if project.environment else []
    # --no-install: the plugins are installed once (`meltano install`), not by runs racing each other
    run = [str(MELTANO), *environment, "run", "--no-install", f"--state-id-suffix={suffix}"]
    return [*run, *project.pipeline()]


def csv_rows(folder: Path) -> dict[str, int]:
    """Data rows (header excluded) per CSV file of `folder`, by file stem."""
    counts: dict[str, int] = {}
    for path in sorted(folder.glob("*.csv")) if folder.is_dir() else []:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            counts[path.stem] = max(0, sum(1 for _ in csv.reader(handle)) - 1)
    return counts


RETRY_POLICY = dg.RetryPolicy(
    max_retries=3, delay=60, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)
"""A failed partition is run again after about 1, 2 and 4 minutes; each attempt starts at the
partition's bookmark, so it fetches only what the failed attempt did not commit."""


def sync(
    context: dg.AssetExecutionContext,
    meltano: MeltanoProject,
    tenant: Tenant,
    unit: str,
    select: list[str],
    day: date | None = None,
) -> dg.MaterializeResult:
    """One `meltano run` for ``tenant`` (a ``day``, or its full-table lists when None), then its metadata."""
    folder = meltano.output_dir(tenant.name, unit)
    if not select:
        context.log.info("tenant %s: no stream of this kind is selected; nothing to run", tenant.name)
        return dg.MaterializeResult(metadata={"rows": 0, "streams": "none selected"})
    suffix = state_id_suffix(tenant.name, unit)
    command = meltano_command(suffix, meltano)
    before = csv_rows(folder)
    context.log.info("running %s for tenant %s (%s)", " ".join(command[1:]), tenant.name, unit)
    env = run_env(tenant, day, meltano, select=select, folder=folder)
    with private_run_dir(meltano.project_dir, env, meltano.pipeline()):
        run = subprocess.run(
            command, cwd=meltano.project_dir, env=env,
            capture_output=True, text=True, timeout=meltano.timeout_seconds, check=False,
        )  # fmt: skip
    if run.returncode != 0:
        tail = "\n".join(run.stderr.splitlines()[-40:])
        errors = [line for line in run.stderr.splitlines() if "error" in line.lower()][-3:]
        raise dg.Failure(
            description=(
                f"meltano run failed for tenant {tenant.name} ({unit}), exit {run.returncode}: "
                + " | ".join(errors)
            ),
            metadata={"stderr_tail": dg.MetadataValue.text(tail)},
        )
    metadata: dict[str, t.Any] = {
        "state_id_suffix": suffix,
        "select": ", ".join(select),
        "rate_limit_per_minute": tenant.rate_limit_per_run(),
        "pipeline": " ".join(meltano.pipeline()),
    }
    if "target-csv" in meltano.pipeline():
        after = csv_rows(folder)
        added = {stream: after[stream] - before.get(stream, 0) for stream in after}
        metadata.update(
            {
                "rows": sum(added.values()),  # added by this run (a full-table list replaces its file)
                **{f"rows/{stream}": n for stream, n in sorted(added.items())},
                "rows_in_partition": sum(after.values()),  # this run's and earlier runs' (or attempts')
                "output_path": dg.MetadataValue.path(str(folder)),
            }
        )
    else:  # a warehouse: its rows are counted there
        metadata["schema"] = meltano.schema(tenant.name)
    return dg.MaterializeResult(metadata=metadata)


def build_definitions(
    tenants: list[Tenant],
    first_day: str = "2024-01-01",
    project: MeltanoProject | None = None,
    retry_policy: dg.RetryPolicy | None = RETRY_POLICY,
) -> dg.Definitions:
    """The two assets of every tenant: its days (time-windowed streams) and its lists (full-table)."""
    project = project or MeltanoProject()
    by_name = {t.name: t for t in tenants}
    fallback = project_patterns(project.project_dir)  # meltano.yml's selection, for tenants without one
    selection = {t.name: split_patterns(list(t.select) or fallback) for t in tenants}
    tenant_partitions = dg.StaticPartitionsDefinition(list(by_name))
    days = dg.MultiPartitionsDefinition(
        {
            "tenant": tenant_partitions,
            # end_offset=1: today's partition exists (for the hourly live sync) while it is still open
            "day": dg.DailyPartitionsDefinition(start_date=first_day, end_offset=1),
        }
    )

    def tenant_asset(name: str, partitions_def: dg.PartitionsDefinition, description: str):
        return dg.asset(
            name=name,
            partitions_def=partitions_def,
            group_name="visionone",
            description=description,
            kinds={"meltano", "csv"},
            retry_policy=retry_policy,
        )

    def tenant_job(name: str, asset: dg.AssetsDefinition, tenant_of: t.Callable[[str], str]):
        """Each run carries `visionone/tenant` (launched by a schedule, the UI or a backfill), which the
        run queue's per-tenant limit matches (orchestrate.instance). One step a run: in its process."""
        assert asset.partitions_def is not None
        tags = dg.PartitionedConfig(
            asset.partitions_def,
            run_config_for_partition_key_fn=lambda _key: {},
            tags_for_partition_key_fn=lambda key: {TENANT_TAG: tenant_of(key)},
        )
        return dg.define_asset_job(name, selection=[asset], config=tags, executor_def=dg.in_process_executor)

    @tenant_asset(
        "visionone_sync", days, "A tenant's time-windowed streams of one UTC day (detections, alerts, ...)."
    )
    def visionone_sync(context: dg.AssetExecutionContext, meltano: MeltanoProject) -> dg.MaterializeResult:
        key = context.partition_key
        assert isinstance(key, dg.MultiPartitionKey)
        tenant, day = by_name[key.keys_by_dimension["tenant"]], key.keys_by_dimension["day"]
        return sync(context, meltano, tenant, day, selection[tenant.name][0], date.fromisoformat(day))

    @tenant_asset(
        "visionone_inventory", tenant_partitions, "A tenant's full-table lists (IAM accounts, endpoints...)."
    )
    def visionone_inventory(
        context: dg.AssetExecutionContext, meltano: MeltanoProject
    ) -> dg.MaterializeResult:
        tenant = by_name[context.partition_key]
        return sync(context, meltano, tenant, INVENTORY, selection[tenant.name][1])

    job = tenant_job("visionone_sync_job", visionone_sync, lambda key: key.split("|")[-1])
    inventory_job = tenant_job("visionone_inventory_job", visionone_inventory, lambda key: key)

    @dg.schedule(job=job, cron_schedule="0 * * * *", execution_timezone="UTC", name="visionone_hourly")
    def visionone_hourly(context: dg.ScheduleEvaluationContext):
        """Every hour: today's partition of every tenant; in the first hour of a day, also yesterday's
        (closed now: its last stretch is fetched up to midnight)."""
        now = context.scheduled_execution_time.astimezone(UTC)
        days = [now.date()] + ([now.date() - timedelta(days=1)] if now.hour == 0 else [])
        for day in days:
            for name in by_name:
                partition = dg.MultiPartitionKey({"tenant": name, "day": day.isoformat()})
                yield dg.RunRequest(
                    run_key=f"{name}|{day.isoformat()}|{now:%Y-%m-%dT%H}",
                    partition_key=partition,
                    tags={TENANT_TAG: name},
                )

    @dg.schedule(
        job=inventory_job,
        cron_schedule="30 0 * * *",
        execution_timezone="UTC",
        name="visionone_inventory_daily",
    )
    def visionone_inventory_daily(context: dg.ScheduleEvaluationContext):
        """Every day at 00:30 UTC: every tenant's full-table lists, each replacing its previous copy."""
        day = context.scheduled_execution_time.astimezone(UTC).date()
        for name in by_name:
            yield dg.RunRequest(
                run_key=f"{name}|{day.isoformat()}", partition_key=name, tags={TENANT_TAG: name}
            )

    return dg.Definitions(
        assets=[visionone_sync, visionone_inventory],
        jobs=[job, inventory_job],
        schedules=[visionone_hourly, visionone_inventory_daily],
        resources={"meltano": project},
    )


def _from_environment() -> dg.Definitions:
    tenants_file = os.environ.get("VISIONONE_TENANTS_FILE", str(ROOT / "tenants.yml"))
    project = MeltanoProject(
        project_dir=os.environ.get("VISIONONE_MELTANO_PROJECT", str(ROOT)),
        output_root=os.environ.get("VISIONONE_OUTPUT_ROOT") or OUTPUT_ROOT,
        loader=os.environ.get("VISIONONE_LOADER") or "target-csv",
        state_backend_uri=os.environ.get("MELTANO_STATE_BACKEND_URI") or None,
    )
    return build_definitions(
        load_tenants(tenants_file), os.environ.get("VISIONONE_FIRST_DAY", "2024-01-01"), project
    )


# `dagster dev -m orchestrate.definitions` finds `defs`; without a tenants file there is nothing to load.
if os.environ.get("VISIONONE_TENANTS_FILE") or (ROOT / "tenants.yml").exists():
    defs = _from_environment()
