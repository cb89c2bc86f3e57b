"""The dbt resource answers its dbt version without starting dbt when dbt is this env's own."""

from __future__ import annotations

import sys
from importlib.metadata import version as installed_version
from pathlib import Path

import pytest
from packaging import version

from floe_orchestrator_dagster.dbt.resource import FloeDbtCliResource


def _resource(tmp_path: Path, executable: str) -> FloeDbtCliResource:
    (tmp_path / "dbt_project.yml").write_text("name: p\nprofile: p\n", encoding="utf-8")
    return FloeDbtCliResource(project_dir=str(tmp_path), dbt_executable=executable)


def test_own_dbt_version_comes_from_the_package_metadata(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    own = Path(sys.executable).with_name("dbt")
    if not own.is_file():
        pytest.skip(f"no dbt beside {sys.executable}")
    calls: list[object] = []
    import dagster_dbt.core.resource as dbt_resource_module

    monkeypatch.setattr(
        dbt_resource_module, "check_output", lambda *a, **k: calls.append(a), raising=False
    )
    resource = _resource(tmp_path, str(own))
    assert resource._cli_version == version.parse(installed_version("dbt-core"))
    assert calls == []  # no `dbt --version` subprocess


def test_another_executable_is_still_asked(tmp_path: Path) -> None:
    fake = tmp_path / "fusion-dbt"
    fake.write_text("#!/bin/sh\necho 'dbt-fusion 2.0.0-preview.5'\n", encoding="utf-8")
    fake.chmod(0o755)
    resource = _resource(tmp_path, str(fake))
    try:
        answer = resource._cli_version
    except AttributeError:
        pytest.skip("this dagster-dbt does not ask dbt for its version")
    assert answer == version.parse("2.0.0")
