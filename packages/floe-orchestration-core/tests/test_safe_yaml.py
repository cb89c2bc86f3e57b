"""The safe YAML reader: size bound, alias bombs, duplicate keys, shapes and PyYAML errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from floe_orchestration_core.errors import ProductSpecError
from floe_orchestration_core.safe_yaml import (
    MAX_BYTES,
    MAX_EXPANDED_NODES,
    YamlLines,
    load_yaml_document,
    load_yaml_mapping,
    read_bounded,
    with_lines,
)


def _billion_laughs(levels: int, fan_out: int = 10) -> str:
    lines = ['a0: &a0 ["lol"]']
    for level in range(1, levels + 1):
        refs = ", ".join(f"*a{level - 1}" for _ in range(fan_out))
        lines.append(f"a{level}: &a{level} [{refs}]")
    return "\n".join(lines) + "\n"


def test_plain_mapping_is_parsed_with_safe_types() -> None:
    data = load_yaml_mapping("name: shop\nversion: '1.0'\nstart: 2024-01-01\nthreads: 4\n")
    assert data["name"] == "shop"
    assert data["version"] == "1.0"
    assert str(data["start"]) == "2024-01-01"
    assert data["threads"] == 4


def test_alias_bomb_is_refused_naming_the_limit() -> None:
    with pytest.raises(ProductSpecError, match=f"more than {MAX_EXPANDED_NODES:,} nodes"):
        load_yaml_mapping(_billion_laughs(levels=6), origin="bomb.yaml")


def test_alias_bomb_refusal_names_the_file() -> None:
    with pytest.raises(ProductSpecError, match=r"^bomb\.yaml: "):
        load_yaml_mapping(_billion_laughs(levels=9), origin="bomb.yaml")


def test_modest_aliases_are_accepted_and_expanded() -> None:
    data = load_yaml_mapping(_billion_laughs(levels=3))
    assert len(data["a3"]) == 10
    assert data["a3"][0][0][0] == ["lol"]


def test_recursive_alias_is_refused() -> None:
    with pytest.raises(ProductSpecError, match="recursive alias"):
        load_yaml_mapping("loop: &loop [1, *loop]\n")


def test_recursive_alias_in_a_mapping_is_refused() -> None:
    with pytest.raises(ProductSpecError, match="recursive alias"):
        load_yaml_mapping("loop: &loop {inner: *loop}\n")


def test_duplicate_key_names_the_key_and_both_lines() -> None:
    text = "name: shop\ncompute:\n  default: duckdb\nname: other\n"
    with pytest.raises(ProductSpecError, match=r"line 4: duplicate key 'name' \(first .* line 1\)"):
        load_yaml_mapping(text)


def test_duplicate_key_on_one_line_is_refused() -> None:
    with pytest.raises(ProductSpecError, match="duplicate key 'a'"):
        load_yaml_mapping("outer: {a: 1, a: 2}\n")


def test_nested_duplicate_key_is_refused() -> None:
    text = "compute:\n  targets:\n    duckdb: {type: duckdb}\n    duckdb: {type: postgres}\n"
    with pytest.raises(ProductSpecError, match="line 4: duplicate key 'duckdb'"):
        load_yaml_mapping(text)


def test_merge_keys_keep_their_yaml_meaning() -> None:
    text = "base: &base {type: duckdb, threads: 4}\nheavy:\n  <<: *base\n  threads: 8\n"
    assert load_yaml_mapping(text)["heavy"] == {"type": "duckdb", "threads": 8}


def test_empty_document_says_the_file_is_empty() -> None:
    with pytest.raises(ProductSpecError, match=r"^floe\.yaml is empty"):
        load_yaml_mapping("# only a comment\n")


def test_top_level_list_is_refused() -> None:
    with pytest.raises(ProductSpecError, match=r"top level must be a mapping.*got a list"):
        load_yaml_mapping("- a\n- b\n")


def test_top_level_scalar_is_refused() -> None:
    with pytest.raises(ProductSpecError, match="got a single value"):
        load_yaml_mapping("just text\n")


def test_python_object_tags_are_refused() -> None:
    with pytest.raises(ProductSpecError, match="python/object"):
        load_yaml_mapping("x: !!python/object/apply:os.system ['true']\n")


def test_syntax_error_names_line_and_column() -> None:
    with pytest.raises(ProductSpecError, match=r"floe\.yaml: line 2, column \d+: "):
        load_yaml_mapping("name: shop\n  bad: [unclosed\n")


def test_undefined_alias_is_a_spec_error() -> None:
    with pytest.raises(ProductSpecError, match="alias"):
        load_yaml_mapping("a: *nothing\n")


def test_deep_nesting_is_refused_not_a_crash() -> None:
    with pytest.raises(ProductSpecError, match="nested too deeply"):
        load_yaml_mapping("a: " + "[" * 20_000 + "]" * 20_000 + "\n")


def test_file_over_the_size_limit_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "floe.yaml"
    path.write_bytes(b"# " + b"x" * MAX_BYTES + b"\n")
    with pytest.raises(ProductSpecError, match="larger than the 1,048,576-byte limit"):
        read_bounded(path)


def test_file_at_the_limit_is_read(tmp_path: Path) -> None:
    path = tmp_path / "floe.yaml"
    path.write_bytes(b"a" * 100)
    assert read_bounded(path, limit=100) == b"a" * 100


def test_missing_file_says_how_to_proceed(tmp_path: Path) -> None:
    with pytest.raises(ProductSpecError, match="no such file; create it"):
        read_bounded(tmp_path / "floe.yaml")


def test_directory_instead_of_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ProductSpecError, match="is a directory"):
        read_bounded(tmp_path)


# Positions ------------------------------------------------------------------------------------
POSITIONED = """\
name: shop
compute:
  targets:
    "my-target": {type: duckdb}
base: &base
  cron: "0 2 * * *"
schedules:
  - name: nightly
    <<: *base
  - name: hourly
"""


def test_lines_give_each_written_field_and_the_closest_parent_of_a_missing_one() -> None:
    lines = load_yaml_document(POSITIONED, origin="floe.yaml").lines

    assert lines.line_of("name") == 1
    assert lines.line_of('compute.targets["my-target"].type') == 4
    assert lines.line_of("schedules[0].name") == 8
    assert lines.line_of("schedules[1]") == 10
    assert lines.line_of("schedules[1].cron") == 10  # missing: its item's line
    assert lines.line_of("schedules[0].cron") == 6  # merged: where the anchor writes it
    assert lines.line_of("nothing.here") is None
    assert lines.line_of("$") is None


@pytest.mark.parametrize(
    ("path", "parts"),
    [
        ("schedules[0].cron", ("schedules", 0, "cron")),
        ('compute.targets["a \\"b\\""].type', ("compute", "targets", 'a "b"', "type")),
        ("$", None),
        (".name", None),
        ("name: free text", None),
    ],
)
def test_field_paths_split_as_schema_errors_write_them(
    path: str, parts: tuple[str | int, ...] | None
) -> None:
    assert YamlLines.parts(path) == parts


def test_with_lines_prefixes_known_lines_only() -> None:
    lines = load_yaml_document("name: shop\nretry: {max_retries: -1}\n").lines

    assert with_lines([("retry.max_retries", "bad"), ("$", "whole")], lines) == [
        "line 2: retry.max_retries: bad",
        "$: whole",
    ]
    assert with_lines([("retry", "bad")], None) == ["retry: bad"]
