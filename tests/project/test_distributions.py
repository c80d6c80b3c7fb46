"""One distribution per plugin: each declares only its own dependencies, imports no other plugin, and
installs alone from its folder into a fresh environment."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
KIT = "connector_kit"
PLUGINS = ("tap_visionone", "tap_workvivo", "target_csv_flat", "visionone_actions")
DISTRIBUTIONS = {
    "connector_kit": "connector-kit",
    "tap_visionone": "tap-visionone",
    "tap_workvivo": "tap-workvivo",
    "target_csv_flat": "target-csv-flat",
    "visionone_actions": "visionone-actions",
}
# What each distribution may import beyond the standard library and itself, by top-level module.
IMPORT_NAMES = {"singer-sdk": "singer_sdk", "connector-kit": KIT, "pytmv1": "pytmv1"}


def project(folder: str) -> dict:
    return tomllib.loads((ROOT / folder / "pyproject.toml").read_text())["project"]


def declared(folder: str) -> set[str]:
    names = set()
    for requirement in project(folder)["dependencies"]:
        name = requirement.split(";")[0]
        for stop in "<>=~!=[ ":
            name = name.split(stop)[0]
        names.add(name.strip().lower())
    return names


def imported(folder: str) -> set[str]:
    """Top-level modules the folder's code imports (relative imports excluded)."""
    found = set()
    for path in (ROOT / folder).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module.split(".")[0])
    return found


def test_the_workspace_has_one_member_per_distribution() -> None:
    root = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert root["tool"]["uv"]["workspace"]["members"] == list(DISTRIBUTIONS)
    for folder, name in DISTRIBUTIONS.items():
        assert project(folder)["name"] == name
        assert (ROOT / folder / "README.md").stat().st_size > 1000, f"{folder}/README.md is not a user guide"


@pytest.mark.parametrize("folder", [KIT, *PLUGINS])
def test_no_plugin_imports_another(folder: str) -> None:
    others = set(PLUGINS) - {folder}
    assert imported(folder) & others == set()


def test_the_kit_imports_no_plugin_and_no_pytmv1() -> None:
    assert imported(KIT) & {*PLUGINS, "pytmv1"} == set()


@pytest.mark.parametrize("folder", PLUGINS)
def test_each_plugin_declares_what_it_imports(folder: str) -> None:
    deps = declared(folder)
    modules = imported(folder)
    for distribution, module in IMPORT_NAMES.items():
        if module in modules and module != folder:
            assert distribution in deps, f"{folder} imports {module} without depending on {distribution}"
    assert not {name for name in deps if name in DISTRIBUTIONS.values()} - {"connector-kit"}


def test_only_the_actions_cli_brings_pytmv1() -> None:
    assert [folder for folder in (KIT, *PLUGINS) if "pytmv1" in declared(folder)] == ["visionone_actions"]


def _uv() -> str:
    found = shutil.which("uv", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]))
    assert found, "uv is not installed (make test installs it)"
    return found


@pytest.mark.parametrize(
    ("folder", "script", "absent"),
    [
        (
            "target_csv_flat",
            "target-csv-flat",
            {"pytmv1", "tap-visionone", "tap-workvivo", "visionone-actions"},
        ),
        (
            "tap_visionone",
            "tap-visionone",
            {"pytmv1", "target-csv-flat", "tap-workvivo", "visionone-actions"},
        ),
    ],
)
def test_a_plugin_installs_alone_from_its_folder(
    tmp_path: Path, folder: str, script: str, absent: set
) -> None:
    """Not editable, without the workspace's sources: as `pip install ./connector_kit ./<folder>` would."""
    venv = tmp_path / "venv"
    env = {**os.environ, "VIRTUAL_ENV": str(venv)}
    env.pop("UV_PROJECT_ENVIRONMENT", None)
    run = {"cwd": tmp_path, "env": env, "capture_output": True, "text": True, "timeout": 300, "check": True}
    subprocess.run([_uv(), "venv", "-q", "--python", sys.executable, str(venv)], **run)
    install = [_uv(), "pip", "install", "-q", "--no-sources", str(ROOT / KIT), str(ROOT / folder)]
    subprocess.run(install, **run)
    listed = json.loads(subprocess.run([_uv(), "pip", "list", "--format", "json"], **run).stdout)
    names = {package["name"] for package in listed}
    assert {"connector-kit", DISTRIBUTIONS[folder], "singer-sdk"} <= names
    assert names & absent == set()
    about = subprocess.run([str(venv / "bin" / script), "--about", "--format", "json"], **run)
    assert json.loads(about.stdout)["name"] == script
    others = [module for module in PLUGINS if module != folder]
    probe = f"import importlib.util as u; print([m for m in {others!r} if u.find_spec(m)])"
    assert subprocess.run([str(venv / "bin" / "python"), "-c", probe], **run).stdout.strip() == "[]"
