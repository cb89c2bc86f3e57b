"""``prepare_product``: finding floe.yaml and manifest.yaml, the stale-manifest rule, real
``dbt parse``, and compiling to ``.floe/compiled_artifacts.json`` only when it changed."""

from __future__ import annotations

import io
import json
import os
import shutil
import time
from pathlib import Path

import pytest

from floe_registry.product_workspace import (
    DbtParseError,
    ProductNotFoundError,
    locate_product,
    manifest_is_stale,
    prepare_product,
)

REPO_ROOT = Path(__file__).resolve().parents[3]
PRODUCT = REPO_ROOT / "integration" / "dagster_product"


def _project(tmp_path: Path, dbt_project: str = "name: shop\nprofile: shop\n") -> Path:
    project = tmp_path / "shop"
    (project / "models").mkdir(parents=True)
    (project / "dbt_project.yml").write_text(dbt_project)
    (project / "models" / "orders.sql").write_text("select 1 as id\n")
    return project


def _manifest_after(project: Path, seconds: float = 0.0) -> Path:
    manifest = project / "target" / "manifest.json"
    manifest.parent.mkdir(exist_ok=True)
    manifest.write_text("{}")
    later = time.time() + seconds
    os.utime(manifest, (later, later))
    return manifest


def _touch_later(path: Path, manifest: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
    later = manifest.stat().st_mtime + 5
    os.utime(path, (later, later))


# The stale-manifest rule ----------------------------------------------------------------------
def test_a_missing_manifest_is_stale(tmp_path: Path) -> None:
    project = _project(tmp_path)
    assert manifest_is_stale(project / "target" / "manifest.json", project, None)


def test_a_manifest_newer_than_every_project_file_is_fresh(tmp_path: Path) -> None:
    project = _project(tmp_path)
    manifest = _manifest_after(project, seconds=5)
    assert not manifest_is_stale(manifest, project, None)


@pytest.mark.parametrize(
    "changed",
    [
        "models/orders.sql",
        "models/marts/schema.yml",
        "seeds/raw.csv",
        "snapshots/snap.sql",
        "macros/m.sql",
        "tests/t.sql",
        "analyses/a.sql",
        "dbt_project.yml",
        "packages.yml",
        "profiles.yml",
    ],
)
def test_a_project_file_newer_than_the_manifest_makes_it_stale(
    tmp_path: Path, changed: str
) -> None:
    project = _project(tmp_path)
    manifest = _manifest_after(project)
    _touch_later(project / changed, manifest)
    assert manifest_is_stale(manifest, project, None)


def test_files_outside_the_project_inputs_do_not_make_it_stale(tmp_path: Path) -> None:
    project = _project(tmp_path)
    manifest = _manifest_after(project)
    _touch_later(project / "README.md", manifest)
    _touch_later(project / "logs" / "dbt.log", manifest)
    _touch_later(project / ".floe" / "compiled_artifacts.json", manifest)
    assert not manifest_is_stale(manifest, project, None)


def test_profiles_yml_is_watched_in_the_profiles_folder(tmp_path: Path) -> None:
    project = _project(tmp_path)
    profiles = tmp_path / "profiles"
    manifest = _manifest_after(project)
    _touch_later(profiles / "profiles.yml", manifest)
    assert manifest_is_stale(manifest, project, profiles)


def test_configured_model_paths_replace_the_default_folders(tmp_path: Path) -> None:
    project = _project(tmp_path, "name: shop\nprofile: shop\nmodel-paths: [transformations]\n")
    manifest = _manifest_after(project)
    _touch_later(project / "models" / "old.sql", manifest)  # no longer a model path
    assert not manifest_is_stale(manifest, project, None)
    _touch_later(project / "transformations" / "new.sql", manifest)
    assert manifest_is_stale(manifest, project, None)


# Locating -------------------------------------------------------------------------------------
def test_a_missing_product_folder_names_it(tmp_path: Path) -> None:
    with pytest.raises(ProductNotFoundError, match="nowhere"):
        locate_product(tmp_path / "nowhere")


def test_the_platform_manifest_is_looked_up_product_first_then_cwd_then_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    product = _project(tmp_path)
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    workspace, platform = locate_product(product)
    platform.close()
    assert workspace.platform_manifest_path is None  # defaults
    assert workspace.storage.sqlite_dir == product / ".floe" / "instance"

    (elsewhere / "manifest.yaml").write_text("orchestrator: dagster\n")
    workspace, platform = locate_product(product)
    platform.close()
    assert workspace.platform_manifest_path == elsewhere / "manifest.yaml"

    (product / "manifest.yaml").write_text(
        "orchestrator: dagster\nstorage: {type: sqlite, path: state/instance}\n"
    )
    workspace, platform = locate_product(product)
    platform.close()
    assert workspace.platform_manifest_path == product / "manifest.yaml"
    assert workspace.storage.sqlite_dir == product / "state" / "instance"
    assert workspace.environment["FLOE_PLATFORM_MANIFEST"] == str(product / "manifest.yaml")

    explicit = tmp_path / "explicit.yaml"
    explicit.write_text(
        "orchestrator: dagster\nstorage: {type: postgres, host: db, database: d, user: u, "
        "password_env: PG_PASS}\n"
    )
    workspace, platform = locate_product(product, manifest=explicit)
    platform.close()
    assert workspace.platform_manifest_path == explicit
    storage = workspace.storage
    assert (storage.kind, storage.host, storage.password_env) == ("postgres", "db", "PG_PASS")


# Parsing and compiling with real dbt ------------------------------------------------------------
@pytest.fixture
def product(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    copy = tmp_path / "product"
    shutil.copytree(PRODUCT, copy, ignore=shutil.ignore_patterns("target", "logs", "*.duckdb*"))
    monkeypatch.setenv("FLOE_IT_DUCKDB_PATH", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.chdir(tmp_path)
    return copy


@pytest.mark.slow
def test_prepare_parses_a_fresh_product_and_compiles_with_absolute_paths(product: Path) -> None:
    progress: list[str] = []
    workspace, platform = prepare_product(product, progress=progress.append)
    platform.close()
    assert any(line.startswith("dbt parse") for line in progress)
    assert (product / "target" / "manifest.json").is_file()
    document = json.loads(workspace.artifacts_path.read_text())
    assert workspace.artifacts_path == product / ".floe" / "compiled_artifacts.json"
    assert document["dbt"]["project_dir"] == str(product)
    assert document["dbt"]["profiles_dir"] == str(product)
    assert workspace.product_name == "floe-dagster-it"

    # Unchanged product: no parse, and the artifacts file is left alone.
    written = workspace.artifacts_path.stat().st_mtime_ns
    progress.clear()
    workspace, platform = prepare_product(product, progress=progress.append)
    platform.close()
    assert progress == []
    assert workspace.artifacts_path.stat().st_mtime_ns == written

    # A changed model: parsed again.
    model = next((product / "models").rglob("*.sql"))
    _touch_later(model, product / "target" / "manifest.json")
    progress.clear()
    workspace, platform = prepare_product(product, progress=progress.append)
    platform.close()
    assert any(line.startswith("dbt parse") for line in progress)


@pytest.mark.slow
def test_a_failing_dbt_parse_is_a_typed_error_with_dbts_output(product: Path) -> None:
    (product / "models" / "broken.sql").write_text("select {{ ref('no_such_model') }}\n")
    with pytest.raises(DbtParseError) as caught:
        prepare_product(product)
    assert "'dbt parse' failed" in str(caught.value)
    assert "no_such_model" in caught.value.output


def test_a_product_without_a_dbt_project_says_where_it_looked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "floe.yaml").write_text("name: shop\ndbt: {project_dir: dbt}\n")
    with pytest.raises(ProductNotFoundError, match=r"no dbt_project\.yml in .*dbt"):
        prepare_product(tmp_path)


# The commands on a product that is not running -------------------------------------------------
def _floe(*argv: str) -> tuple[int, str, str]:
    from floe_registry.cli.app import main

    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_down_of_a_product_that_is_not_running_is_not_an_error(tmp_path: Path) -> None:
    project = _project(tmp_path)
    code, out, err = _floe("down", str(project))
    assert (code, err) == (0, "")
    assert out == "shop is not running\n"


def test_status_json_of_a_stopped_product_lists_stopped_services(tmp_path: Path) -> None:
    project = _project(tmp_path)
    code, out, _ = _floe("status", str(project), "--json")
    assert code == 0
    status = json.loads(out)
    assert status["running"] is False
    assert [(s["name"], s["running"]) for s in status["services"]] == [
        ("webserver", False),
        ("daemon", False),
    ]
    assert any("no compiled artifacts" in w for w in status["warnings"])


def test_a_product_whose_orchestrator_lacks_the_capability_is_refused(tmp_path: Path) -> None:
    from floe_orchestration_core.testing.fakes import InMemoryOrchestrator
    from floe_registry.loading import register

    project = _project(tmp_path)
    (project / "manifest.yaml").write_text("orchestrator: in_memory\n")
    with register(InMemoryOrchestrator):
        code, _, err = _floe("status", str(project))
    assert code == 2
    assert "the product's orchestrator 'in_memory' does not provide local_runtime" in err
