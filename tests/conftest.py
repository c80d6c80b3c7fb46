"""Shared fixtures: the in-process API simulator on 127.0.0.1."""

from tests.simulator.fixtures import visionone_sim  # noqa: F401  (pytest fixture)
