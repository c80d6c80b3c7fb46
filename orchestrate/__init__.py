"""Dagster code location: `meltano run tap-visionone target-csv` fanned out by tenant and day."""
