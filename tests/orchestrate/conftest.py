"""The code location runs `meltano run --no-install`: the plugins must be installed first, as
`make orchestrate` does."""

from __future__ import annotations

import pytest

from tests.meltano_plugins import ensure_installed


@pytest.fixture(autouse=True, scope="session")
def meltano_plugins() -> None:
    ensure_installed("tap-visionone", "target-csv")
