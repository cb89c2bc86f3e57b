"""``floe compile`` and ``floe validate`` in-process: which floe.yaml, which artifacts, and
validate's name and definitions checks through a registered orchestrator plugin."""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from floe_orchestration_core.artifacts import CompiledArtifacts
from floe_orchestration_core.plugin import NameProblem, PluginMetadata
from floe_orchestration_core.testing.fakes import InMemoryOrchestrator
from floe_registry.cli.app import main
from floe_registry.loading import register

FIXTURE = (
    Path(__file__).resolve().parents[2] / "floe-orchestration-core" / "tests" / "fixtures"
) / "manifest_v12.json"
PRODUCT_YAML = (
    "name: shop-product\ncompute:\n  targets:\n    duckdb: {type: duckdb}\n"
    'schedules:\n  - {name: nightly, cron: "0 2 * * *", select: "*"}\n'
)


class _NamingOrchestrator(InMemoryOrchestrator):
    """Refuses names holding an 'x'; cannot load definitions holding an asset 'broken'."""

    metadata = PluginMetadata(name="naming", version="1", floe_api_version="1.0")

    def _check_names(self, artifacts: CompiledArtifacts) -> Iterable[NameProblem]:
        problems = [
            NameProblem("model", t.name, "no 'x' here", t.unique_id)
            for t in artifacts.transforms
            if "x" in t.name
        ]
        problems += [
            NameProblem("quality check", c.name, "no 'x' here", c.unique_id)
            for s in artifacts.sources
            for c in s.quality_checks
            if "x" in c.name
        ]
        return problems

    def _load_definitions(self, definitions: Any) -> Any:
        if "broken" in definitions.assets:
            raise RuntimeError("the repository does not resolve")
        return definitions


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "manifest.yaml").write_text("orchestrator: naming\n", encoding="utf-8")
    with register(_NamingOrchestrator):
        yield tmp_path


def _main(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def _product(folder: Path, manifest: dict[str, Any] | None = None) -> Path:
    target = folder / "target"
    target.mkdir(parents=True, exist_ok=True)
    data = manifest or json.loads(FIXTURE.read_text(encoding="utf-8"))
    (target / "manifest.json").write_text(json.dumps(data), encoding="utf-8")
    (folder / "floe.yaml").write_text(PRODUCT_YAML, encoding="utf-8")
    return target / "manifest.json"


def test_compile_reads_the_dbt_projects_floe_yaml_and_says_which(work: Path) -> None:
    manifest = _product(work / "shop")
    code, out, err = _main("compile", "--dbt-manifest", str(manifest), "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["product_file"] == str(work / "shop" / "floe.yaml")
    assert (summary["product"], summary["schedules"]) == ("shop-product", 1)


def test_compile_falls_back_to_this_folders_floe_yaml(work: Path) -> None:
    manifest = _product(work / "shop")
    (work / "shop" / "floe.yaml").rename(work / "floe.yaml")
    code, out, _ = _main("compile", "--dbt-manifest", str(manifest))
    assert code == 0
    assert "floe.yaml: floe.yaml (this folder's; --no-product compiles without it)" in out


def test_compile_without_any_floe_yaml_says_where_it_looked(work: Path) -> None:
    manifest = _product(work / "shop")
    (work / "shop" / "floe.yaml").unlink()
    code, out, _ = _main("compile", "--dbt-manifest", str(manifest))
    assert code == 0
    assert f"floe.yaml: none ({work / 'shop' / 'floe.yaml'} and floe.yaml absent)" in out
    code, out, _ = _main("compile", "--dbt-manifest", str(manifest), "--no-product")
    assert "floe.yaml: none (--no-product)" in out


def test_compile_with_an_explicit_product_names_it(work: Path) -> None:
    manifest = _product(work / "shop")
    product = work / "shop" / "floe.yaml"
    code, out, _ = _main("compile", "--dbt-manifest", str(manifest), "--product", str(product))
    assert code == 0
    assert f"floe.yaml: {product}\n" in out


def test_validate_reads_the_products_artifacts_and_loads_them(work: Path) -> None:
    manifest = _product(work)
    assert (
        _main("compile", "--dbt-manifest", str(manifest), "-o", ".floe/compiled_artifacts.json")[0]
        == 0
    )
    code, out, err = _main("validate", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert (report["artifacts"], report["orchestrator"]) == (
        ".floe/compiled_artifacts.json",
        "naming",
    )
    code, out, _ = _main("validate")
    assert out.endswith("; the definitions load in 'naming'\n")


def test_validate_prefers_compiled_artifacts_here(work: Path) -> None:
    manifest = _product(work)
    _main("compile", "--dbt-manifest", str(manifest), "-o", ".floe/compiled_artifacts.json")
    _main("compile", "--dbt-manifest", str(manifest))
    code, out, _ = _main("validate", "--json")
    assert code == 0
    assert json.loads(out)["artifacts"] == "compiled_artifacts.json"


def test_validate_without_artifacts_says_where_it_looked(work: Path) -> None:
    code, _, err = _main("validate")
    assert code == 2
    assert "neither compiled_artifacts.json nor .floe/compiled_artifacts.json exists" in err


def test_validate_lists_every_name_the_orchestrator_refuses_with_its_path(work: Path) -> None:
    data = json.loads(FIXTURE.read_text(encoding="utf-8"))
    data["nodes"]["model.shop.stg_orders"]["name"] = "stg_xorders"
    data["nodes"]["test.shop.source_not_null_app_customers_id"]["name"] = "xsource_test"
    manifest = _product(work, data)
    assert _main("compile", "--dbt-manifest", str(manifest))[0] == 0
    code, out, _ = _main("validate", "--json")
    human = _main("validate")[1]
    assert code == 1
    report = json.loads(out)
    assert report["kind"] == "names"
    assert [p["path"] for p in report["problems"]] == [
        "transforms[2].name",
        "sources[0].quality_checks[0].name",
    ]
    assert human.startswith("INVALID: compiled_artifacts.json: 2 name problem(s)\n")
    assert "  transforms[2].name: model 'stg_xorders' ('model.shop.stg_orders'): no 'x' here" in (
        human
    )


def test_validate_reports_definitions_that_do_not_load(work: Path) -> None:
    data = json.loads(FIXTURE.read_text(encoding="utf-8"))
    data["nodes"]["model.shop.stg_orders"]["name"] = "broken"
    manifest = _product(work, data)
    assert _main("compile", "--dbt-manifest", str(manifest), "--no-product")[0] == 0
    code, out, _ = _main("validate", "--json")
    assert code == 1
    report = json.loads(out)
    assert report["kind"] == "definitions"
    assert report["problems"][0]["message"].startswith(
        "the definitions of orchestrator 'naming' do not load: orchestrator plugin 'naming' "
        "failed in _load_definitions: RuntimeError: the repository does not resolve"
    )


def test_validate_can_skip_the_plugin(work: Path) -> None:
    data = json.loads(FIXTURE.read_text(encoding="utf-8"))
    data["nodes"]["model.shop.stg_orders"]["name"] = "stg_xorders"
    manifest = _product(work, data)
    _main("compile", "--dbt-manifest", str(manifest))
    (work / "manifest.yaml").write_text("orchestrator: absent_plugin\n", encoding="utf-8")
    code, out, err = _main("validate", "--skip-definitions", "--json")
    assert code == 0, err
    assert "orchestrator" not in json.loads(out)
