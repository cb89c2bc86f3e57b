"""Issue 14 through the installed ``floe`` command: compile faithfully or refuse.

One test (or one parametrized family) per bullet of the issue, each running ``floe`` as a
subprocess and asserting what a user sees: the exit code, the file and JSON path named on
stderr, the artifacts written (or not), the hint given. The variants are the kinds the issue's
fuzz found: sections and fields missing or of the wrong type, duplicate unique ids, cycles,
hostile names, deep nesting, secrets, ``null`` files, and product folders.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

FIXTURE = (
    Path(__file__).resolve().parents[2] / "floe-orchestration-core" / "tests" / "fixtures"
) / "manifest_v12.json"
MODEL = "model.shop.stg_orders"
TEST = "test.shop.unique_fct_orders_order_id"
SECRET = "hunter2-s3cr3t"


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str


@dataclass
class Floe:
    executable: Path
    cwd: Path

    def __call__(self, *args: str, cwd: Path | None = None) -> Result:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FLOE_")}
        done = subprocess.run(
            [str(self.executable), *args],
            cwd=cwd or self.cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        return Result(done.returncode, done.stdout, done.stderr)


@pytest.fixture
def floe(floe_command: Path, tmp_path: Path) -> Floe:
    return Floe(floe_command, tmp_path)


def _manifest() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(FIXTURE.read_text(encoding="utf-8"))
    return data


def _write(folder: Path, data: dict[str, Any] | str, name: str = "manifest.json") -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def _at(data: dict[str, Any], *path: str) -> dict[str, Any]:
    for key in path:
        data = data[key]
    return data


Change = Callable[[dict[str, Any]], None]

# The structural variants: each change, and the JSON path the refusal must name.
VARIANTS: dict[str, tuple[Change, str]] = {
    "nodes missing": (lambda m: m.pop("nodes"), "nodes"),
    "nodes a list": (lambda m: m.update(nodes=list(m["nodes"].values())), "nodes"),
    "depends_on a list": (
        lambda m: _at(m, "nodes", MODEL).update(depends_on=["seed.shop.raw_orders"]),
        f'nodes["{MODEL}"].depends_on',
    ),
    "depends_on missing": (
        lambda m: _at(m, "nodes", MODEL).pop("depends_on"),
        f'nodes["{MODEL}"].depends_on',
    ),
    "materialized an integer": (
        lambda m: _at(m, "nodes", MODEL, "config").update(materialized=1),
        f'nodes["{MODEL}"].config.materialized',
    ),
    "config a list": (
        lambda m: _at(m, "nodes", MODEL).update(config=[]),
        f'nodes["{MODEL}"].config',
    ),
    "test depends_on.nodes a mapping": (
        lambda m: _at(m, "nodes", TEST, "depends_on").update(nodes={MODEL: 1}),
        f'nodes["{TEST}"].depends_on.nodes',
    ),
    "columns a string": (
        lambda m: _at(m, "nodes", MODEL).update(columns="order_id"),
        f'nodes["{MODEL}"].columns',
    ),
    "meta a list": (lambda m: _at(m, "nodes", MODEL).update(meta=[]), f'nodes["{MODEL}"].meta'),
    "schema null": (
        lambda m: _at(m, "nodes", MODEL).update(schema=None),
        f'nodes["{MODEL}"].schema',
    ),
    "self-dependency": (
        lambda m: _at(m, "nodes", MODEL, "depends_on")["nodes"].append(MODEL),
        f'nodes["{MODEL}"].depends_on.nodes',
    ),
    "two-model cycle": (
        lambda m: _at(m, "nodes", MODEL, "depends_on")["nodes"].append(
            "model.shop.int_orders_enriched"
        ),
        f'nodes["{MODEL}"].depends_on.nodes',
    ),
    "a space in a name": (
        lambda m: _at(m, "nodes", MODEL).update(name="stg orders"),
        f'nodes["{MODEL}"].name',
    ),
    "a newline in a name": (
        lambda m: _at(m, "nodes", MODEL).update(name="stg\norders"),
        f'nodes["{MODEL}"].name',
    ),
    "../ in a name": (
        lambda m: _at(m, "nodes", MODEL).update(name="../orders"),
        f'nodes["{MODEL}"].name',
    ),
}


# Bullet 1: the structure of every field read, refused with its JSON path ----------------------
@pytest.mark.parametrize("variant", VARIANTS, ids=list(VARIANTS))
def test_a_malformed_manifest_is_refused_naming_the_file_and_the_json_path(
    floe: Floe, variant: str
) -> None:
    change, path = VARIANTS[variant]
    manifest = _manifest()
    change(manifest)
    file = _write(floe.cwd, manifest)

    human = floe("compile", "--dbt-manifest", str(file), "--no-product")
    machine = floe("compile", "--dbt-manifest", str(file), "--no-product", "--json")

    assert human.code == 2, human.stdout
    assert human.stderr.startswith(f"floe: error: {file}: {path}: ")
    assert "Traceback" not in human.stderr
    assert not (floe.cwd / "compiled_artifacts.json").exists(), "nothing is written"
    error = json.loads(machine.stderr)["error"]
    assert error["type"] in ("InvalidManifestError", "ManifestCycleError")
    assert error["problems"][0][0] == path


def test_an_unchanged_manifest_still_compiles_and_validates(floe: Floe) -> None:
    file = _write(floe.cwd, _manifest())
    compiled = floe("compile", "--dbt-manifest", str(file), "--no-product", "--json")
    assert compiled.code == 0, compiled.stderr
    assert json.loads(compiled.stdout)["transforms"] == 9
    validated = floe("validate", "--json")
    assert validated.code == 0, validated.stderr
    assert json.loads(validated.stdout)["orchestrator"] == "dagster"


# Bullet 2: cycles and duplicate unique ids, naming the models ---------------------------------
def test_a_cycle_is_refused_at_compile_naming_every_model_in_it(floe: Floe) -> None:
    manifest = _manifest()
    _at(manifest, "nodes", MODEL, "depends_on")["nodes"].append("model.shop.fct_orders")
    result = floe("compile", "--dbt-manifest", str(_write(floe.cwd, manifest)), "--no-product")
    assert result.code == 2
    assert "'stg_orders' -> 'int_orders_enriched' -> 'fct_orders' -> 'stg_orders'" in result.stderr


def test_a_unique_id_written_twice_is_refused_naming_it(floe: Floe) -> None:
    manifest = _manifest()
    node = json.dumps(manifest["nodes"][MODEL])
    text = json.dumps(manifest).replace('"nodes": {', f'"nodes": {{"{MODEL}": {node}, ', 1)
    file = _write(floe.cwd, text)
    result = floe("compile", "--dbt-manifest", str(file), "--no-product", "--json")
    assert result.code == 2
    error = json.loads(result.stderr)["error"]
    assert error["type"] == "DuplicateUniqueIdError"
    assert f"unique_id '{MODEL}' appears twice in nodes" in error["message"]


# Bullet 3: names checked by the orchestrator plugin; validate loads the definitions -----------
def test_names_dagster_refuses_fail_validate_naming_each_model_and_the_rule(floe: Floe) -> None:
    manifest = _manifest()
    _at(manifest, "nodes", MODEL)["name"] = "stg\U0001f600"
    _at(manifest, "nodes", "model.shop.fct_orders")["name"] = "o'orders"
    _at(manifest, "nodes", "model.shop.stg_customers")["name"] = "stg.customers"
    file = _write(floe.cwd, manifest)
    assert floe("compile", "--dbt-manifest", str(file), "--no-product").code == 0

    human = floe("validate")
    machine = floe("validate", "--json")

    assert human.code == 1
    assert human.stdout.startswith("INVALID: compiled_artifacts.json: 2 name problem(s)")
    assert "model 'stg\U0001f600' ('model.shop.stg_orders'): Dagster names ops" in human.stdout
    assert "model \"o'orders\" ('model.shop.fct_orders')" in human.stdout
    assert "stg.customers" not in human.stdout, "a dot is Dagster's to map, not refused"
    report = json.loads(machine.stdout)
    assert report["kind"] == "names"
    assert [p["path"] for p in report["problems"]] == ["transforms[2].name", "transforms[5].name"]


def test_a_dotted_name_validates_and_keeps_its_key(floe: Floe) -> None:
    manifest = _manifest()
    _at(manifest, "nodes", MODEL)["name"] = "stg.orders"
    file = _write(floe.cwd, manifest)
    assert floe("compile", "--dbt-manifest", str(file), "--no-product").code == 0
    result = floe("validate")
    assert result.code == 0, result.stdout
    assert "the definitions load in 'dagster'" in result.stdout


# Bullet 4: bounds, secrets, file names, the manifest.yaml hint --------------------------------
def test_fifty_thousand_levels_of_nesting_are_a_typed_error_not_a_crash(floe: Floe) -> None:
    text = json.dumps(_manifest())
    deep = "[" * 50_000 + "]" * 50_000
    file = _write(floe.cwd, text[:-1] + f', "deep": {deep}}}')
    result = floe("compile", "--dbt-manifest", str(file), "--no-product", "--json")
    assert result.code == 2
    error = json.loads(result.stderr)["error"]
    assert error["type"] == "InvalidManifestError"
    assert "128-level limit" in error["message"]
    assert "RecursionError" not in result.stderr


def test_a_manifest_over_the_size_limit_is_refused_before_it_is_read(floe: Floe) -> None:
    file = floe.cwd / "manifest.json"
    with file.open("wb") as handle:
        handle.truncate(512 * 1024 * 1024 + 1)  # sparse
    result = floe("compile", "--dbt-manifest", str(file), "--no-product")
    assert result.code == 2
    assert result.stderr.startswith(f"floe: error: {file}: the file is larger than the ")


@pytest.mark.parametrize("debug", [False, True], ids=["plain", "debug"])
def test_a_literal_password_in_floe_yaml_is_refused_and_never_echoed(
    floe: Floe, debug: bool
) -> None:
    manifest = _write(floe.cwd, _manifest())
    product = _write(
        floe.cwd,
        "name: shop\ncompute:\n  targets:\n"
        f"    duckdb: {{type: duckdb, properties: {{password: {SECRET}}}}}\n",
        "floe.yaml",
    )
    args = ["compile", "--dbt-manifest", str(manifest), "--product", str(product)]
    result = floe(*args, *(["--debug"] if debug else []))
    assert result.code == 2
    assert f"{product}: 1 invalid field(s)" in result.stderr
    assert "compute.targets.duckdb.properties.password: a secret must not be written" in (
        result.stderr
    )
    assert SECRET not in result.stderr + result.stdout
    assert ("Traceback" in result.stderr) is debug


@pytest.mark.parametrize("debug", [False, True], ids=["plain", "debug"])
def test_a_literal_password_in_manifest_yaml_is_never_echoed(floe: Floe, debug: bool) -> None:
    platform = _write(
        floe.cwd,
        "orchestrator: dagster\nstorage: {type: postgres, host: h, database: d, user: u, "
        f"password: {SECRET}}}\n",
        "manifest.yaml",
    )
    result = floe("helm", "values", "--manifest", str(platform), *(["--debug"] if debug else []))
    assert result.code == 2
    assert str(platform) in result.stderr
    assert SECRET not in result.stderr + result.stdout


def test_a_manifest_yaml_holding_null_gets_a_hint_about_manifest_yaml(floe: Floe) -> None:
    platform = _write(floe.cwd, "null\n", "manifest.yaml")
    result = floe("helm", "values", "--manifest", str(platform))
    assert result.code == 2
    assert result.stderr == (
        f"floe: error: {platform} holds no settings (the document is null); write at least "
        "'orchestrator: dagster'\n"
    )


# Bullet 5: product folders ---------------------------------------------------------------------
PRODUCT_YAML = """\
name: shop-product
compute:
  targets:
    duckdb: {type: duckdb, properties: {path: warehouse.duckdb}}
schedules:
  - {name: nightly, cron: "0 2 * * *", select: "*"}
sensors:
  - {type: run_failure, name: on_failure}
"""


def test_compile_in_a_product_folder_uses_its_floe_yaml_and_says_so(floe: Floe) -> None:
    product = floe.cwd / "shop"
    _write(product, _manifest(), "target/manifest.json")
    _write(product, PRODUCT_YAML, "floe.yaml")

    used = floe("compile", "--dbt-manifest", "target/manifest.json", "--json", cwd=product)
    human = floe("compile", "--dbt-manifest", "target/manifest.json", cwd=product)
    without = floe("compile", "--dbt-manifest", "target/manifest.json", "--no-product", cwd=product)
    from_outside = floe("compile", "--dbt-manifest", "shop/target/manifest.json", "--json")

    summary = json.loads(used.stdout)
    assert (summary["product"], summary["schedules"], summary["sensors"]) == ("shop-product", 1, 1)
    assert summary["product_file"] == "floe.yaml"
    assert "floe.yaml: floe.yaml (the dbt project's; --no-product compiles without it)" in (
        human.stdout
    )
    assert "0 schedules, 0 sensors" in without.stdout
    assert "floe.yaml: none (--no-product)" in without.stdout
    assert json.loads(from_outside.stdout)["product_file"] == "shop/floe.yaml"


def test_validate_in_a_product_folder_finds_the_products_artifacts(floe: Floe) -> None:
    product = floe.cwd / "shop"
    _write(product, _manifest(), "target/manifest.json")
    _write(product, PRODUCT_YAML, "floe.yaml")
    compiled = floe(
        "compile",
        "--dbt-manifest",
        "target/manifest.json",
        "-o",
        ".floe/compiled_artifacts.json",
        cwd=product,
    )
    assert compiled.code == 0, compiled.stderr

    result = floe("validate", "--json", cwd=product)
    nothing = floe("validate", cwd=floe.cwd)

    assert result.code == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["artifacts"] == ".floe/compiled_artifacts.json"
    assert nothing.code == 2
    assert "neither compiled_artifacts.json nor .floe/compiled_artifacts.json exists" in (
        nothing.stderr
    )
