"""dbt packages: when ``dbt deps`` must run, real ``dbt deps`` for a local package (offline), and
the error for a package that cannot be fetched (the hub pointed at a closed local port)."""

from __future__ import annotations

import os
import socket
import sys
import time
from pathlib import Path

import pytest

from floe_registry.dbt_packages import DbtDepsError, packages_to_install, run_dbt_deps
from floe_registry.product_workspace import prepare_product

DBT = str(Path(sys.executable).with_name("dbt"))
LOCAL = "packages:\n  - local: vendor/calendar\n"
HUB = LOCAL + '  - package: dbt-labs/dbt_utils\n    version: [">=1.0.0", "<2.0.0"]\n'


def _project(tmp_path: Path, packages: str | None = LOCAL) -> Path:
    project = tmp_path / "shop"
    (project / "models").mkdir(parents=True)
    (project / "dbt_project.yml").write_text("name: shop\nprofile: shop\n")
    (project / "profiles.yml").write_text(
        "shop:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: shop.duckdb}\n"
    )
    (project / "models" / "orders.sql").write_text("select {{ calendar_year() }} as year\n")
    vendor = project / "vendor" / "calendar"
    (vendor / "macros").mkdir(parents=True)
    (vendor / "dbt_project.yml").write_text("name: calendar\nversion: '1.0.0'\n")
    (vendor / "macros" / "year.sql").write_text("{% macro calendar_year() %}2026{% endmacro %}\n")
    if packages is not None:
        (project / "packages.yml").write_text(packages)
    return project


def _older(path: Path, seconds: float = 10) -> None:
    earlier = time.time() - seconds
    os.utime(path, (earlier, earlier))


def test_a_project_without_packages_needs_no_deps(tmp_path: Path) -> None:
    assert packages_to_install(_project(tmp_path, None)) is None
    assert packages_to_install(_project(tmp_path / "b", "packages: []\n")) is None
    mesh = _project(tmp_path / "c", None)
    (mesh / "dependencies.yml").write_text("projects:\n  - name: core_platform\n")
    assert packages_to_install(mesh) is None


def test_why_deps_must_run(tmp_path: Path) -> None:
    project = _project(tmp_path)
    assert packages_to_install(project) == "packages.yml lists packages and there is no " + (
        "package-lock.yml"
    )
    lock = project / "package-lock.yml"
    lock.write_text("packages:\n  - local: vendor/calendar\n    name: calendar\nsha1_hash: x\n")
    _older(project / "packages.yml")
    assert packages_to_install(project) == (
        "the packages are not installed (dbt_packages/ is missing or empty)"
    )
    (project / "dbt_packages" / "other").mkdir(parents=True)
    assert packages_to_install(project) == (
        "package(s) calendar are not installed in dbt_packages/"
    )
    (project / "dbt_packages" / "calendar").mkdir()
    assert packages_to_install(project) is None
    (project / "packages.yml").write_text(LOCAL + "  - local: vendor/more\n")
    assert packages_to_install(project) == "packages.yml changed since package-lock.yml was written"


def test_dependencies_yml_and_the_install_path_are_read(tmp_path: Path) -> None:
    project = _project(tmp_path, None)
    (project / "dependencies.yml").write_text(LOCAL)
    (project / "dbt_project.yml").write_text(
        "name: shop\nprofile: shop\npackages-install-path: vendored\n"
    )
    (project / "package-lock.yml").write_text("packages:\n  - {local: x, name: calendar}\n")
    _older(project / "dependencies.yml")
    (project / "vendored" / "calendar").mkdir(parents=True)
    assert packages_to_install(project) is None


def test_a_local_package_installs_offline_and_the_product_parses(tmp_path: Path) -> None:
    project = _project(tmp_path)
    (project / "floe.yaml").write_text("name: shop\n")
    said: list[str] = []
    workspace, platform = prepare_product(project, progress=said.append)
    platform.close()
    assert said[0].startswith(f"dbt deps in {project} (packages.yml lists packages")
    assert any(line.startswith("dbt parse in") for line in said)
    assert (project / "dbt_packages" / "calendar" / "macros" / "year.sql").is_file()
    assert (project / "package-lock.yml").is_file()
    assert packages_to_install(project) is None
    assert workspace.artifacts_path.is_file()
    said.clear()
    prepare_product(project, progress=said.append)[1].close()
    assert not any(line.startswith("dbt deps") for line in said)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_a_package_that_cannot_be_fetched_is_named_with_how_to_vendor_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The hub is a closed port on this machine: dbt fails as it would without internet.
    monkeypatch.setenv("DBT_PACKAGE_HUB_URL", f"http://127.0.0.1:{_closed_port()}/")
    project = _project(tmp_path, HUB)
    with pytest.raises(DbtDepsError) as info:
        run_dbt_deps(project, None, None, DBT)
    assert info.value.packages == ("dbt-labs/dbt_utils (hub)",)
    message = str(info.value)
    assert "dbt could not fetch dbt-labs/dbt_utils (hub): External connection exception" in message
    assert "vendor/dbt_utils/" in message
    assert "'- package: dbt-labs/dbt_utils' in packages.yml with '- local: vendor/dbt_utils'" in (
        message
    )


def test_a_broken_packages_file_is_an_error_with_dbt_s_output(tmp_path: Path) -> None:
    project = _project(tmp_path, "packages:\n  - local: vendor/missing\n")
    with pytest.raises(DbtDepsError, match=r"'dbt deps' failed \(exit 2\).*fix packages\.yml"):
        run_dbt_deps(project, None, None, DBT)
