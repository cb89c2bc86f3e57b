"""The compiler checks the structure of every manifest field it reads, and refuses at a path.

Each case is one way a manifest can differ from what dbt writes; the refusal names the file,
the JSON path of the first bad field and what dbt writes there. The nulls dbt-core and dbt
Fusion do write are read as "not set".
"""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from floe_orchestration_core.compile import compile_artifacts
from floe_orchestration_core.compile.dependency_cycles import find_cycles
from floe_orchestration_core.compile.manifest import parse_manifest
from floe_orchestration_core.compile.manifest_json import (
    MAX_MANIFEST_BYTES,
    MAX_NESTING_DEPTH,
    decode_manifest,
    json_path,
    read_manifest_file,
)
from floe_orchestration_core.errors import (
    DuplicateUniqueIdError,
    InvalidManifestError,
    ManifestCycleError,
    quoted,
)

FIXTURES = Path(__file__).parent / "fixtures"
WHEN = datetime(2026, 1, 1, tzinfo=UTC)
MODEL = "model.shop.stg_orders"
TEST = "test.shop.unique_fct_orders_order_id"
SOURCE = "source.shop.app.customers"
EXPOSURE = "exposure.shop.orders_dashboard"


def _raw(shape: str = "v12") -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"manifest_{shape}.json").read_text())
    return data


def _set(data: dict[str, Any], path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    data = copy.deepcopy(data)
    parent: Any = data
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    return data


def _delete(data: dict[str, Any], path: tuple[str | int, ...]) -> dict[str, Any]:
    data = copy.deepcopy(data)
    parent: Any = data
    for key in path[:-1]:
        parent = parent[key]
    del parent[path[-1]]
    return data


def _refusal(data: dict[str, Any]) -> InvalidManifestError:
    with pytest.raises(InvalidManifestError) as raised:
        compile_artifacts(data, compiled_at=WHEN)
    return raised.value


# The variants ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("change", "path", "expected"),
    [
        (("del", ("nodes",)), "nodes", "an object keyed by unique_id"),
        (("set", ("nodes",), []), "nodes", "an object keyed by unique_id"),
        (("set", ("nodes", MODEL, "depends_on"), []), f'nodes["{MODEL}"].depends_on', "an object"),
        (("del", ("nodes", MODEL, "depends_on")), f'nodes["{MODEL}"].depends_on', "an object"),
        (
            ("del", ("nodes", MODEL, "depends_on", "nodes")),
            f'nodes["{MODEL}"].depends_on.nodes',
            "an array of unique_ids",
        ),
        (
            ("set", ("nodes", MODEL, "config", "materialized"), 1),
            f'nodes["{MODEL}"].config.materialized',
            "a string or null",
        ),
        (("set", ("nodes", MODEL, "config"), []), f'nodes["{MODEL}"].config', "an object or null"),
        (
            ("set", ("nodes", TEST, "depends_on", "nodes"), {"a": 1}),
            f'nodes["{TEST}"].depends_on.nodes',
            "an array of unique_ids",
        ),
        (("set", ("nodes", MODEL, "columns"), "id"), f'nodes["{MODEL}"].columns', "an object"),
        (("set", ("nodes", MODEL, "meta"), ["x"]), f'nodes["{MODEL}"].meta', "an object or null"),
        (("set", ("nodes", MODEL, "schema"), None), f'nodes["{MODEL}"].schema', "a string"),
        (("set", ("nodes", MODEL, "tags"), [1]), f'nodes["{MODEL}"].tags[0]', "a string"),
        (
            ("set", ("nodes", MODEL, "depends_on", "nodes"), [""]),
            f'nodes["{MODEL}"].depends_on.nodes[0]',
            "a non-empty string",
        ),
        (
            ("set", ("nodes", MODEL, "config", "enabled"), "no"),
            f'nodes["{MODEL}"].config.enabled',
            "a boolean",
        ),
        (
            ("set", ("nodes", MODEL, "version"), True),
            f'nodes["{MODEL}"].version',
            "a string, a number",
        ),
        (
            ("set", ("nodes", MODEL, "resource_type"), "modle"),
            f'nodes["{MODEL}"].resource_type',
            "one of",
        ),
        (
            ("set", ("nodes", MODEL, "unique_id"), "model.shop.x"),
            f'nodes["{MODEL}"].unique_id',
            "the key",
        ),
        (("del", ("nodes", MODEL, "config")), f'nodes["{MODEL}"].config', "an object or null"),
        (
            ("set", ("nodes", TEST, "test_metadata", "name"), 3),
            f'nodes["{TEST}"].test_metadata.name',
            "a non-empty string",
        ),
        (
            ("set", ("sources", SOURCE, "source_name"), None),
            f'sources["{SOURCE}"].source_name',
            "a non-empty string",
        ),
        (
            ("set", ("sources", SOURCE, "columns", "id"), "x"),
            f'sources["{SOURCE}"].columns.id',
            "an object (a column)",
        ),
        (
            ("set", ("exposures", EXPOSURE, "owner"), 3),
            f'exposures["{EXPOSURE}"].owner',
            "an object",
        ),
        (
            ("set", ("exposures", EXPOSURE, "owner", "email"), {}),
            f'exposures["{EXPOSURE}"].owner.email',
            "a string, an array",
        ),
        (("set", ("groups",), []), "groups", "an object keyed by unique_id or null"),
        (("set", ("disabled",), "x"), "disabled", "an object keyed by unique_id or null"),
        (("set", ("disabled",), []), "disabled", "an object keyed by unique_id or null"),
        (("set", ("metadata",), None), "metadata", "an object"),
        (("set", ("metadata", "adapter_type"), 5), "metadata.adapter_type", "a string or null"),
    ],
)
def test_a_field_that_is_not_what_dbt_writes_is_refused_at_its_json_path(
    change: tuple[Any, ...], path: str, expected: str
) -> None:
    data = _delete(_raw(), change[1]) if change[0] == "del" else _set(_raw(), change[1], change[2])
    refusal = _refusal(data)
    assert refusal.path == path
    assert refusal.expected.startswith(expected)
    assert str(refusal).startswith(f"manifest.json: {path}: expected {refusal.expected}, got ")


def test_the_refusal_names_the_json_type_found_never_the_value() -> None:
    refusal = _refusal(_set(_raw(), ("nodes", MODEL, "config", "materialized"), ["hunter2"]))
    assert "got an array" in str(refusal)
    assert "hunter2" not in str(refusal)


@pytest.mark.parametrize(
    "name", ["stg orders", "stg\norders", "stg\torders", "a/b", "a\\b", "a\u00a0b", ""]
)
def test_a_name_dbt_could_not_have_written_is_refused(name: str) -> None:
    refusal = _refusal(_set(_raw(), ("nodes", MODEL, "name"), name))
    assert refusal.path == f'nodes["{MODEL}"].name'
    assert "\n" not in str(refusal).split(": got ")[-1].split(";")[0]


@pytest.mark.parametrize("name", ["stg.orders", "stg-orders", "o'brien", "\U0001f600", "caf\u00e9"])
def test_other_names_are_the_orchestrators_to_judge(name: str) -> None:
    artifacts = compile_artifacts(_set(_raw(), ("nodes", MODEL, "name"), name), compiled_at=WHEN)
    assert name in {t.name for t in artifacts.transforms}


def test_a_unique_id_in_two_sections_is_refused_naming_it() -> None:
    data = _raw()
    data["sources"][MODEL] = {**data["sources"][SOURCE], "unique_id": MODEL}
    with pytest.raises(DuplicateUniqueIdError, match="is both in nodes and in sources") as raised:
        compile_artifacts(data, compiled_at=WHEN)
    assert raised.value.unique_id == MODEL


# Tolerated: what dbt and Fusion write --------------------------------------------------------
@pytest.mark.parametrize(
    "path",
    [
        ("nodes", MODEL, "config"),
        ("nodes", MODEL, "meta"),
        ("nodes", MODEL, "tags"),
        ("nodes", MODEL, "columns"),
        ("nodes", MODEL, "database"),
        ("nodes", MODEL, "alias"),
        ("nodes", MODEL, "description"),
        ("nodes", MODEL, "language"),
        ("nodes", MODEL, "group"),
        ("nodes", TEST, "test_metadata"),
        ("nodes", TEST, "attached_node"),
        ("nodes", TEST, "column_name"),
        ("sources", SOURCE, "config"),
        ("sources", SOURCE, "identifier"),
        ("exposures", EXPOSURE, "owner"),
        ("exposures", EXPOSURE, "url"),
        ("disabled",),
        ("groups",),
        ("unit_tests",),
        ("metadata", "project_name"),
    ],
)
def test_null_where_dbt_or_fusion_writes_null_reads_as_not_set(path: tuple[str, ...]) -> None:
    assert compile_artifacts(_set(_raw(), path, None), compiled_at=WHEN).transforms


def test_a_seed_of_dbt_before_1_5_has_depends_on_without_nodes() -> None:
    data = _set(_raw("v5"), ("nodes", "seed.shop.raw_orders", "depends_on"), {"macros": []})
    artifacts = compile_artifacts(data, compiled_at=WHEN)
    assert next(t for t in artifacts.transforms if t.name == "raw_orders").depends_on == ()


def test_columns_written_as_a_list_are_read_too() -> None:
    columns = [{"name": "id", "data_type": "int", "description": "key"}]
    artifacts = compile_artifacts(
        _set(_raw(), ("nodes", MODEL, "columns"), columns), compiled_at=WHEN
    )
    transform = next(t for t in artifacts.transforms if t.unique_id == MODEL)
    assert [(c.name, c.data_type) for c in transform.columns] == [("id", "int")]


def test_an_owner_of_another_type_stays_in_meta_and_is_no_owner() -> None:
    data = _set(_raw(), ("nodes", MODEL, "meta"), {"owner": {"team": "x"}, "owners": ["a@b.c", 3]})
    transform = next(
        t for t in compile_artifacts(data, compiled_at=WHEN).transforms if t.unique_id == MODEL
    )
    assert transform.owners == ("a@b.c",)
    assert transform.meta["owner"] == {"team": "x"}


def test_the_disabled_section_is_an_object_or_null_as_in_every_schema_v4_to_v12() -> None:
    refusal = _refusal(_set(_raw(), ("disabled",), [{"unique_id": "model.shop.gone"}]))
    assert refusal.path == "disabled"


# Dependencies and cycles ---------------------------------------------------------------------
def test_dependency_problems_are_listed_each_with_its_path() -> None:
    data = _raw()
    data["nodes"][MODEL]["depends_on"]["nodes"].append("model.shop.missing")
    data["exposures"][EXPOSURE]["depends_on"]["nodes"].append("model.shop.absent")
    refusal = _refusal(data)
    assert [path for path, _ in refusal.problems] == [
        f'nodes["{MODEL}"].depends_on.nodes',
        f'exposures["{EXPOSURE}"].depends_on.nodes',
    ]
    assert refusal.path == refusal.problems[0][0]


@pytest.mark.parametrize(
    ("extra", "cycle"),
    [
        ({MODEL: [MODEL]}, ["stg_orders"]),
        ({MODEL: ["model.shop.int_orders_enriched"]}, ["stg_orders", "int_orders_enriched"]),
        (
            {MODEL: ["model.shop.fct_orders"]},
            ["stg_orders", "int_orders_enriched", "fct_orders"],
        ),
    ],
)
def test_a_cycle_is_refused_at_compile_naming_its_models(
    extra: dict[str, list[str]], cycle: list[str]
) -> None:
    data = _raw()
    for uid, deps in extra.items():
        data["nodes"][uid]["depends_on"]["nodes"].extend(deps)
    with pytest.raises(ManifestCycleError) as raised:
        compile_artifacts(data, compiled_at=WHEN)
    assert raised.value.cycles == (tuple(cycle),)
    assert raised.value.path == f'nodes["{MODEL}"].depends_on.nodes'
    assert " -> ".join(repr(name) for name in [*cycle, cycle[0]]) in str(raised.value)


def test_two_separate_cycles_are_both_named() -> None:
    data = _raw()
    data["nodes"][MODEL]["depends_on"]["nodes"].append(MODEL)
    data["nodes"]["model.calendar_pkg.dim_dates"]["depends_on"]["nodes"].append(
        "model.calendar_pkg.dim_dates"
    )
    with pytest.raises(ManifestCycleError) as raised:
        compile_artifacts(data, compiled_at=WHEN)
    assert raised.value.cycles == (("stg_orders",), ("dim_dates",))


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.integers(0, 12), st.lists(st.integers(0, 12), max_size=3), max_size=12))
def test_cycles_found_are_real_and_every_cycle_is_found(edges: dict[int, list[int]]) -> None:
    upstreams = {str(n): [str(p) for p in ps] for n, ps in edges.items()}
    graph = nx.DiGraph()
    graph.add_nodes_from(upstreams)
    graph.add_edges_from((p, n) for n, ps in upstreams.items() for p in ps if p in upstreams)
    cycles = find_cycles(upstreams)
    for cycle in cycles:  # each is a real cycle, in dependency order
        for here, there in zip(cycle, [*cycle[1:], cycle[0]], strict=True):
            assert graph.has_edge(here, there)
    on_cycles = {n for c in nx.strongly_connected_components(graph) for n in c if len(c) > 1}
    on_cycles |= {n for n in graph if graph.has_edge(n, n)}
    assert bool(cycles) == bool(on_cycles)
    components = [
        c
        for c in nx.strongly_connected_components(graph)
        if len(c) > 1 or any(graph.has_edge(n, n) for n in c)
    ]
    assert len(cycles) == len(components)


# Decoding: size, depth, duplicates, JSON only -------------------------------------------------
def test_a_unique_id_written_twice_in_nodes_is_refused_naming_it(tmp_path: Path) -> None:
    node = json.dumps(_raw()["nodes"][MODEL])
    text = json.dumps(_raw()).replace('"nodes": {', f'"nodes": {{"{MODEL}": {node}, ', 1)
    path = tmp_path / "manifest.json"
    path.write_text(text)
    with pytest.raises(DuplicateUniqueIdError) as raised:
        compile_artifacts(path)
    assert raised.value.unique_id == MODEL
    assert raised.value.path == f'nodes["{MODEL}"]'
    assert str(raised.value).startswith(f"{path}: nodes[")


def test_a_key_written_twice_in_a_node_is_refused_at_its_path() -> None:
    text = json.dumps(_raw()).replace(
        '"name": "stg_orders"', '"name": "stg_orders", "name": "x"', 1
    )
    with pytest.raises(InvalidManifestError, match="appears twice in one object") as raised:
        decode_manifest(text.encode(), "m.json")
    assert raised.value.path == f'nodes["{MODEL}"].name'


@pytest.mark.parametrize("levels", [MAX_NESTING_DEPTH, MAX_NESTING_DEPTH + 1, 50_000])
def test_nesting_is_bounded_with_a_typed_error(levels: int) -> None:
    deep = "[" * (levels - 1) + "]" * (levels - 1)  # inside the top-level object: `levels` deep
    text = f'{{"deep": {deep}}}'.encode()
    if levels <= MAX_NESTING_DEPTH:
        assert decode_manifest(text) == {"deep": json.loads(deep)}
        return
    with pytest.raises(InvalidManifestError, match=f"{MAX_NESTING_DEPTH}-level limit") as raised:
        decode_manifest(text, "m.json")
    assert raised.value.expected == f"at most {MAX_NESTING_DEPTH} levels of nesting"
    if levels == MAX_NESTING_DEPTH + 1:
        assert raised.value.path == "deep" + "[0]" * (MAX_NESTING_DEPTH - 1)


def test_a_decoded_manifest_is_bounded_too() -> None:
    meta: dict[str, Any] = {}
    inner = meta
    for _ in range(MAX_NESTING_DEPTH):
        inner["a"] = {}
        inner = inner["a"]
    with pytest.raises(InvalidManifestError, match="level limit"):
        compile_artifacts(_set(_raw(), ("nodes", MODEL, "meta"), meta))


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_numbers_json_does_not_have_are_refused(constant: str) -> None:
    with pytest.raises(InvalidManifestError, match=re.escape(f"{constant} is not a JSON number")):
        decode_manifest(f'{{"x": {constant}}}'.encode())


def test_bytes_that_are_not_utf8_are_refused() -> None:
    with pytest.raises(InvalidManifestError, match="not UTF-8 text"):
        decode_manifest(b'{"x": "\xff"}')


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "manifest.json"
    with path.open("wb") as handle:  # sparse: the size without the bytes
        handle.truncate(MAX_MANIFEST_BYTES + 1)
    with pytest.raises(InvalidManifestError, match="larger than the 536,870,912-byte limit"):
        read_manifest_file(path)
    small = tmp_path / "small.json"
    small.write_text('{"a": 1}')
    with pytest.raises(InvalidManifestError, match="larger than the 4-byte limit"):
        read_manifest_file(small, max_bytes=4)


def test_a_directory_or_a_missing_file_is_refused_naming_it(tmp_path: Path) -> None:
    with pytest.raises(InvalidManifestError, match="is a directory"):
        read_manifest_file(tmp_path)
    with pytest.raises(InvalidManifestError, match="no such file"):
        read_manifest_file(tmp_path / "absent.json")


def test_json_paths_quote_keys_that_are_not_identifiers() -> None:
    assert json_path(()) == "$"
    assert json_path(("nodes", "model.a.b", "depends_on", "nodes", 0)) == (
        'nodes["model.a.b"].depends_on.nodes[0]'
    )
    assert json_path(("a\nb",)) == '["a\\nb"]'


def test_quoted_text_is_safe_to_print() -> None:
    assert quoted("orders") == "'orders'"
    assert quoted("a\nb") == "'a\\nb'"
    assert quoted("a\u202eb") == "'a\\u202eb'"
    assert quoted("x" * 100).endswith("\u2026'")


# Details of what is read ---------------------------------------------------------------------
def test_a_language_dbt_does_not_run_is_refused_at_the_nodes_path() -> None:
    refusal = _refusal(_set(_raw(), ("nodes", MODEL, "language"), "java"))
    assert refusal.path == f'nodes["{MODEL}"].language'


def test_disabled_sources_and_exposures_are_left_out_and_remembered() -> None:
    data = _set(_raw(), ("sources", SOURCE, "config"), {"enabled": False})
    data = _set(data, ("exposures", EXPOSURE, "config"), {"enabled": False})
    manifest = parse_manifest(data)
    assert manifest.sources == ()
    assert manifest.exposures == ()
    assert {SOURCE, EXPOSURE} <= manifest.disabled_ids


@pytest.mark.parametrize(
    ("owner", "expected"),
    [("data@shop.example", "data@shop.example"), ({"name": "Data team"}, "Data team"), ({}, "")],
)
def test_an_exposure_owner_is_a_string_an_email_or_a_name(owner: Any, expected: str) -> None:
    manifest = parse_manifest(_set(_raw(), ("exposures", EXPOSURE, "owner"), owner))
    assert manifest.exposures[0].owner == expected


def test_a_column_without_a_name_is_refused_in_a_list_and_named_by_its_key_in_an_object() -> None:
    refusal = _refusal(_set(_raw(), ("nodes", MODEL, "columns"), [{"data_type": "int"}]))
    assert refusal.path == f'nodes["{MODEL}"].columns[0].name'
    artifacts = compile_artifacts(
        _set(_raw(), ("nodes", MODEL, "columns"), {"id": {"data_type": "int"}}), compiled_at=WHEN
    )
    transform = next(t for t in artifacts.transforms if t.unique_id == MODEL)
    assert [c.name for c in transform.columns] == ["id"]


@pytest.mark.parametrize("section", ["nodes", "sources"])
def test_an_empty_package_name_is_refused(section: str) -> None:
    uid = MODEL if section == "nodes" else SOURCE
    refusal = _refusal(_set(_raw(), (section, uid, "package_name"), ""))
    assert refusal.path == f'{section}["{uid}"].package_name'


def test_a_top_level_that_is_a_mapping_but_not_a_dict_is_read() -> None:
    from types import MappingProxyType

    assert parse_manifest(MappingProxyType(_raw())).project_name == "shop"


def test_artifacts_the_model_refuses_are_named_by_their_manifest_path() -> None:
    # A safety net behind the reader: what the artifacts' model refuses is located in the
    # manifest too (here a source written by hand with an empty package name).
    from floe_orchestration_core.compile.compiler import _validate_artifacts

    document = json.loads(compile_artifacts(_raw(), compiled_at=WHEN).to_json())
    document["sources"][0]["package_name"] = ""
    with pytest.raises(InvalidManifestError) as raised:
        _validate_artifacts(document, "manifest.json", "floe.yaml")
    assert raised.value.path == f'sources["{SOURCE}"].package_name'
    document["sources"][0]["package_name"] = "shop"
    document["dbt"]["manifest_checksum"] = "not a checksum"
    with pytest.raises(InvalidManifestError) as raised:
        _validate_artifacts(document, "manifest.json", "floe.yaml")
    assert raised.value.path == "$"
    assert "dbt.manifest_checksum" in str(raised.value)
