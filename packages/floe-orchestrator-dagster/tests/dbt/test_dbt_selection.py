"""Each group of transforms gets a short dbt selection that selects it and nothing else.

The selections are checked with dbt-core's own selector (through dagster-dbt's public
``build_dbt_asset_specs``), on a manifest holding every group.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

from dagster_dbt import build_dbt_asset_specs

from floe_orchestrator_dagster.dbt.selection import ALL, flat_fqn, plan_selections


def _manifest(fqns: Mapping[str, tuple[str, ...]], ephemeral: frozenset[str]) -> dict[str, Any]:
    nodes = {
        uid: {
            "unique_id": uid,
            "resource_type": "model",
            "name": fqn[-1],
            "package_name": fqn[0],
            "fqn": list(fqn),
            "original_file_path": "/".join(("models", *fqn[1:])) + ".sql",
            "config": {
                "materialized": "ephemeral" if uid in ephemeral else "table",
                "enabled": True,
            },
            "depends_on": {"nodes": []},
            "tags": [],
            "meta": {},
            "description": "",
            "columns": {},
        }
        for uid, fqn in fqns.items()
    }
    return {
        "metadata": {"adapter_type": "duckdb", "project_name": "pkg"},
        "nodes": nodes,
        "sources": {},
        "exposures": {},
        "metrics": {},
        "groups": {},
        "child_map": {uid: [] for uid in nodes},
        "parent_map": {uid: [] for uid in nodes},
    }


def _selected(manifest: dict[str, Any], select: str) -> set[str]:
    specs = build_dbt_asset_specs(manifest=manifest, select=select)
    return {str(spec.metadata["dagster_dbt/unique_id"]) for spec in specs}


def _check(
    fqns: Mapping[str, tuple[str, ...]], label_of: Mapping[str, Hashable | None]
) -> dict[Any, Any]:
    ephemeral = frozenset(uid for uid, label in label_of.items() if label is None)
    manifest = _manifest(fqns, ephemeral)
    selections = plan_selections(fqns, label_of)
    for label, selection in selections.items():
        expected = {uid for uid, other in label_of.items() if other == label}
        assert _selected(manifest, selection.select) == expected, (label, selection)
    return selections


def test_one_group_holding_everything_selects_all() -> None:
    fqns = {"m.pkg.a": ("pkg", "a"), "m.pkg.b": ("pkg", "staging", "b")}
    selections = _check(fqns, {"m.pkg.a": "x", "m.pkg.b": "x"})
    assert selections["x"].select == ALL


def test_ephemeral_models_do_not_prevent_selecting_everything() -> None:
    selections = plan_selections(
        {"m.pkg.a": ("pkg", "a"), "m.pkg.e": ("pkg", "e")}, {"m.pkg.a": "x", "m.pkg.e": None}
    )
    assert selections == {"x": selections["x"]}
    assert selections["x"].select == ALL


def test_folders_of_one_group_become_one_criterion_each() -> None:
    fqns = {
        "m.pkg.s1": ("pkg", "staging", "s1"),
        "m.pkg.s2": ("pkg", "staging", "s2"),
        "m.pkg.f1": ("pkg", "marts", "finance", "f1"),
        "m.pkg.c1": ("pkg", "marts", "core", "c1"),
        "m.pkg.c2": ("pkg", "marts", "core", "c2"),
        "m.pkg.e": ("pkg", "marts", "finance", "e"),
    }
    labels: dict[str, Hashable | None] = {
        "m.pkg.s1": "small",
        "m.pkg.s2": "small",
        "m.pkg.f1": "heavy",
        "m.pkg.c1": "small",
        "m.pkg.c2": "small",
        "m.pkg.e": None,
    }
    selections = _check(fqns, labels)
    assert selections["small"].select == "pkg.marts.core pkg.staging"
    assert selections["heavy"].select == "pkg.marts.finance"
    assert ("pkg", "staging") in selections["small"].prefixes


def test_a_mixed_folder_is_selected_model_by_model() -> None:
    fqns = {f"m.pkg.{n}": ("pkg", "models", n) for n in ("a", "b", "c")}
    selections = _check(fqns, {"m.pkg.a": 1, "m.pkg.b": 2, "m.pkg.c": 1})
    assert selections[1].select == "pkg.models.a pkg.models.c"
    assert selections[2].select == "pkg.models.b"


def test_a_folder_that_other_packages_repeat_is_split_into_its_models() -> None:
    # dbt also matches "pkg.staging" against fqns without their package: dep.pkg.staging.x
    fqns = {
        "m.pkg.a": ("pkg", "staging", "a"),
        "m.dep.x": ("dep", "pkg", "staging", "x"),
        "m.pkg.b": ("pkg", "other", "b"),
    }
    selections = _check(fqns, {"m.pkg.a": "one", "m.dep.x": "two", "m.pkg.b": "two"})
    assert selections["one"].select == "pkg.staging.a"


def test_dotted_segments_are_flattened_as_dbt_does() -> None:
    assert flat_fqn(["pkg", "a.b", "c"]) == ("pkg", "a", "b", "c")
