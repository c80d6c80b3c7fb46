"""The Dagster instance settings that keep runs apart: ``python -m orchestrate.instance TENANTS_FILE``.

Prints the ``concurrency:`` section of ``$DAGSTER_HOME/dagster.yaml`` for a tenants file. Dagster's run
queue (the daemon that ``dagster dev`` starts) then launches at most ``max_concurrent_runs`` runs of a
tenant at once (its key's rate limit is shared among them, see `Tenant.rate_limit_per_run`), and never
two runs of one partition (one tenant and day: one bookmark) at the same time. Every partition run
carries the tags these limits match: Dagster sets ``dagster/partition`` and ``dagster/partition/<dimension>``.
"""

from __future__ import annotations

import sys

import yaml

from orchestrate.tenants import Tenant, TenantsError, load_tenants

TENANT_TAG = "visionone/tenant"  # set on every run of a tenant (`orchestrate.definitions`)
PARTITION_TAG = "dagster/partition"


def concurrency_limits(tenants: list[Tenant]) -> list[dict]:
    """Tag limits for the run queue: one run per partition at a time, ``max_concurrent_runs`` per tenant."""
    return [
        {"key": PARTITION_TAG, "value": {"applyLimitPerUniqueValue": True}, "limit": 1},
        *({"key": TENANT_TAG, "value": t.name, "limit": t.max_concurrent_runs} for t in tenants),
    ]


def instance_settings(tenants: list[Tenant]) -> dict:
    """The part of dagster.yaml this code location needs."""
    return {"concurrency": {"runs": {"tag_concurrency_limits": concurrency_limits(tenants)}}}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0].startswith("-"):
        usage = "usage: python -m orchestrate.instance TENANTS_FILE > $DAGSTER_HOME/dagster.yaml"
        print(usage, file=sys.stderr)
        return 2
    try:
        tenants = load_tenants(args[0])
    except (TenantsError, OSError) as error:
        print(f"orchestrate.instance: error: {error}", file=sys.stderr)
        return 1
    sys.stdout.write("# Written by python -m orchestrate.instance: run limits per tenant and partition.\n")
    sys.stdout.write(yaml.safe_dump(instance_settings(tenants), sort_keys=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
