"""``floe init``: floe.yaml from the dbt profile's targets, manifest.yaml, .gitignore."""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path

import pytest
import yaml

from floe_orchestration_core.compile.product import read_product_spec_file
from floe_registry.cli.app import main
from floe_registry.platform_manifest import load_manifest
from floe_registry.product_init import InitError, init_product, read_profile_targets

REPO_ROOT = Path(__file__).resolve().parents[3]
FLOE = REPO_ROOT / ".venv" / "bin" / "floe"

PROFILES = """\
shop:
  target: "{{ env_var('SHOP_TARGET', 'dev') }}"
  outputs:
    dev: {type: duckdb, path: "{{ env_var('SHOP_DB') }}", threads: 2}
    prod-eu:
      {type: postgres, host: db, user: x, password: "{{ env_var('PW') }}", dbname: d, schema: s}
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("DBT_PROFILES_DIR", raising=False)
    monkeypatch.delenv("SHOP_TARGET", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    folder = tmp_path / "shop"
    folder.mkdir()
    (folder / "dbt_project.yml").write_text(
        "name: shop_analytics\nversion: '2.1.0'\nprofile: shop\n", encoding="utf-8"
    )
    (folder / "profiles.yml").write_text(PROFILES, encoding="utf-8")
    return folder


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_floe_yaml_has_one_compute_target_per_dbt_target_and_validates(project: Path) -> None:
    result = init_product(project)

    spec, _ = read_product_spec_file(project / "floe.yaml")
    assert spec.name == "shop_analytics"
    assert spec.version == "2.1.0"
    assert spec.dbt.project_dir == "."
    assert spec.dbt.profiles_dir == "."
    assert spec.dbt.target == "dev"
    assert spec.compute is not None
    assert spec.compute.default == "dev"
    assert {name: (t.type, t.dbt_target) for name, t in spec.compute.targets.items()} == {
        "dev": ("duckdb", "dev"),
        "prod_eu": ("postgres", "prod-eu"),
    }
    assert dict(result.compute_targets) == {"dev": "duckdb", "prod_eu": "postgres"}
    assert result.written == (project / "floe.yaml", project / "manifest.yaml")


def test_no_secret_or_setting_of_the_profile_is_copied(project: Path) -> None:
    init_product(project)

    text = (project / "floe.yaml").read_text(encoding="utf-8")
    assert "PW" not in text
    assert "SHOP_DB" not in text
    assert "host" not in text


def test_manifest_yaml_writes_out_the_embedded_defaults(project: Path) -> None:
    init_product(project)

    manifest = load_manifest(project / "manifest.yaml")
    assert manifest.orchestrator.type == "dagster"
    assert manifest.storage.type == "sqlite"
    assert manifest.lineage is None
    assert "# lineage:" in (project / "manifest.yaml").read_text(encoding="utf-8")


def test_gitignore_gets_floe_state_once_and_keeps_its_lines(project: Path) -> None:
    (project / ".gitignore").write_text("target/", encoding="utf-8")  # no final newline

    first = init_product(project)
    second = init_product(project, force=True)

    lines = (project / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "target/"
    assert lines.count(".floe/") == 1
    assert first.gitignore_changed
    assert not second.gitignore_changed


def test_existing_files_are_not_overwritten_without_force(project: Path) -> None:
    (project / "floe.yaml").write_text("name: mine\n", encoding="utf-8")

    with pytest.raises(InitError, match=r"floe\.yaml already exists.*--force"):
        init_product(project)
    assert (project / "floe.yaml").read_text(encoding="utf-8") == "name: mine\n"
    assert not (project / "manifest.yaml").exists()

    init_product(project, force=True)
    assert read_product_spec_file(project / "floe.yaml")[0].name == "shop_analytics"


def test_the_default_target_comes_from_env_var_as_dbt_would_read_it(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOP_TARGET", "prod-eu")

    targets = read_profile_targets(project, "shop")

    assert targets.default == "prod-eu"
    init_product(project)
    spec, _ = read_product_spec_file(project / "floe.yaml")
    assert spec.compute is not None
    assert spec.compute.default == "prod_eu"
    assert spec.dbt.target == "prod-eu"


def test_profiles_are_found_as_dbt_finds_them(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "profiles.yml").write_text(
        "shop: {outputs: {ci: {type: duckdb}}}\n", encoding="utf-8"
    )
    home = tmp_path / "home" / ".dbt"
    home.mkdir(parents=True)
    (home / "profiles.yml").write_text("shop: {outputs: {laptop: {type: duckdb}}}\n")

    assert read_profile_targets(project, "shop", elsewhere).found_by == "option"
    monkeypatch.setenv("DBT_PROFILES_DIR", str(elsewhere))
    from_environment = read_profile_targets(project, "shop")
    assert (from_environment.found_by, from_environment.default) == ("environment", "ci")
    monkeypatch.delenv("DBT_PROFILES_DIR")
    assert read_profile_targets(project, "shop").found_by == "project"
    (project / "profiles.yml").unlink()
    from_home = read_profile_targets(project, "shop")
    assert (from_home.found_by, from_home.default) == ("home", "laptop")

    init_product(project)
    spec, _ = read_product_spec_file(project / "floe.yaml")
    assert spec.dbt.profiles_dir is None  # dbt finds ~/.dbt by itself at run time
    init_product(project, profiles_dir=elsewhere, force=True)
    spec, _ = read_product_spec_file(project / "floe.yaml")
    assert spec.dbt.profiles_dir == "../elsewhere"


@pytest.mark.parametrize(
    ("profiles", "message"),
    [
        ("other: {outputs: {dev: {type: duckdb}}}\n", r"no profile 'shop'.*profiles here: other"),
        ("shop: {target: dev}\n", "profile 'shop' has no outputs"),
        ("shop: {outputs: {dev: {path: x}}}\n", r"target 'dev', field 'type': every target needs"),
        ("shop: {target: prod, outputs: {dev: {type: duckdb}}}\n", "'prod', which is not one"),
        (
            'shop: {outputs: {dev: {type: "{% if true %}duckdb{% endif %}"}}}\n',
            "field 'type'",
        ),
        (
            "shop: {outputs: {dev: {type: \"{{ env_var('NOPE_UNSET') }}\"}}}\n",
            "'NOPE_UNSET' is not set and env_var\\('NOPE_UNSET'\\) has no default",
        ),
        ("shop: {outputs: {dev: {type: 3}}}\n", "field 'type': every target needs"),
    ],
)
def test_a_profile_floe_cannot_list_is_an_error_naming_the_field(
    project: Path, profiles: str, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NOPE_UNSET", raising=False)
    (project / "profiles.yml").write_text(profiles, encoding="utf-8")

    with pytest.raises(InitError, match=message):
        init_product(project)
    assert not (project / "floe.yaml").exists()


def test_a_folder_without_a_dbt_project_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InitError, match=r"no dbt_project\.yml"):
        init_product(tmp_path)


def test_a_dbt_project_without_a_profile_name_is_refused(project: Path) -> None:
    (project / "dbt_project.yml").write_text("name: shop\n", encoding="utf-8")

    with pytest.raises(InitError, match="'profile' must name the dbt profile"):
        init_product(project)


def test_target_names_become_unique_identifiers(project: Path) -> None:
    (project / "profiles.yml").write_text(
        "shop: {target: 1st, outputs: {1st: {type: duckdb}, a-b: {type: duckdb}, "
        "a_b: {type: duckdb}}}\n",
        encoding="utf-8",
    )

    result = init_product(project)

    assert list(result.compute_targets) == ["_1st", "a_b", "a_b_2"]
    written = yaml.safe_load((project / "floe.yaml").read_text(encoding="utf-8"))
    assert written["compute"]["targets"]["a_b"]["dbt_target"] == "a-b"
    assert written["compute"]["default"] == "_1st"


def test_init_command_reports_files_targets_and_the_next_command(project: Path) -> None:
    code, out, _ = _run("init", str(project))
    assert code == 0
    assert "wrote floe.yaml" in out
    assert "added .floe/ to .gitignore" in out
    assert "dev (duckdb) default, prod_eu (postgres)" in out
    assert f"next: floe run {project} --wait" in out

    code, out, err = _run("init", str(project), "--json")
    assert code == 2
    assert json.loads(err)["error"]["type"] == "InitError"

    code, out, _ = _run("init", str(project), "--force", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["compute_targets"] == {"dev": "duckdb", "prod_eu": "postgres"}
    assert data["default_compute_target"] == "dev"
    assert not data["gitignore_changed"]


def test_the_installed_command_starts_a_product_that_compiles(project: Path) -> None:
    if not FLOE.is_file():
        pytest.skip(f"the installed floe command is absent ({FLOE})")
    done = subprocess.run(
        [str(FLOE), "init"], cwd=project, capture_output=True, text=True, timeout=120, check=False
    )

    assert done.returncode == 0, done.stderr
    assert (project / ".gitignore").read_text(encoding="utf-8").splitlines()[-1] == ".floe/"
    again = subprocess.run(
        [str(FLOE), "init"], cwd=project, capture_output=True, text=True, timeout=120, check=False
    )
    assert again.returncode == 2
    assert "already exist" in again.stderr
