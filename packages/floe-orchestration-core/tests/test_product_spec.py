"""FloeProductSpec: the floe.yaml schema, its loader, and errors by JSON path."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from floe_orchestration_core.compile.product import (
    FileArrivalSensorSpec,
    FloeProductSpec,
    RunFailureSensorSpec,
    load_product_spec,
    parse_product_spec_text,
    read_product_spec_file,
)
from floe_orchestration_core.errors import ProductSpecError

FULL_SPEC = """\
name: retail-analytics
version: 1.2.0
description: "Retail analytics"
owners: [data-team@example.com]
dbt:
  project_dir: .
  profiles_dir: .
  target: dev
compute:
  default: duckdb
  targets:
    duckdb: {type: duckdb, dbt_target: dev, threads: 4}
    duckdb_heavy: {type: duckdb, dbt_target: heavy, threads: 8, properties: {memory_limit: 4GB}}
  overrides:
    - select: "tag:heavy fct_orders+"
      compute: duckdb_heavy
schedules:
  - {name: daily, cron: "0 8 * * *", timezone: America/New_York, select: "*", enabled: true}
sensors:
  - {type: file_arrival, name: landing_files, path: data/landing, pattern: "*.csv",
     select: "+stg_orders"}
  - {type: run_failure, name: on_failure, alert_channels: [console]}
retry: {max_retries: 3, delay_seconds: 10, backoff: exponential, jitter: plus_minus}
partitions:
  - {name: daily_events, granularity: daily, start: 2024-01-01, timezone: UTC,
     select: "tag:daily", start_var: min_date, end_var: max_date}
lineage: {namespace: retail, backend: openlineage, enabled: true}
"""


def _problems(exc: pytest.ExceptionInfo[ProductSpecError]) -> dict[str, str]:
    return dict(exc.value.problems)


def test_full_example_parses_every_section() -> None:
    spec = parse_product_spec_text(FULL_SPEC)
    assert spec.name == "retail-analytics"
    assert spec.version == "1.2.0"
    assert spec.dbt.target == "dev"
    assert spec.compute is not None
    assert spec.compute.default_target == "duckdb"
    assert spec.compute.targets["duckdb_heavy"].properties == {"memory_limit": "4GB"}
    assert spec.compute.overrides[0].compute == "duckdb_heavy"
    assert spec.schedules[0].timezone == "America/New_York"
    assert isinstance(spec.sensors[0], FileArrivalSensorSpec)
    assert isinstance(spec.sensors[1], RunFailureSensorSpec)
    assert spec.retry.backoff == "exponential"
    assert spec.partitions[0].start == date(2024, 1, 1)
    assert spec.lineage.namespace == "retail"


def test_every_section_is_optional() -> None:
    spec = load_product_spec({})
    assert spec.name is None
    assert spec.version == "0.0.0"
    assert spec.compute is None
    assert spec.schedules == ()


def test_unknown_key_is_refused_with_its_path() -> None:
    with pytest.raises(ProductSpecError) as exc:
        load_product_spec({"compute": {"targets": {"duckdb": {"type": "duckdb", "thread": 4}}}})
    assert "compute.targets.duckdb.thread" in _problems(exc)


def test_unknown_top_level_key_is_refused() -> None:
    with pytest.raises(ProductSpecError) as exc:
        load_product_spec({"schedule": []})
    assert "schedule" in _problems(exc)


def test_default_compute_must_be_a_defined_target() -> None:
    with pytest.raises(ProductSpecError) as exc:
        load_product_spec({"compute": {"default": "spark", "targets": {"duckdb": {"type": "x"}}}})
    assert _problems(exc)["compute.default"] == (
        "compute target 'spark' is not defined; defined: duckdb"
    )


def test_default_compute_is_required_with_several_targets() -> None:
    targets = {"a": {"type": "duckdb"}, "b": {"type": "duckdb"}}
    with pytest.raises(ProductSpecError) as exc:
        load_product_spec({"compute": {"targets": targets}})
    assert "several compute targets are defined (a, b)" in _problems(exc)["compute.default"]


def test_single_target_is_the_default_without_naming_it() -> None:
    spec = load_product_spec({"compute": {"targets": {"only": {"type": "duckdb"}}}})
    assert spec.compute is not None
    assert spec.compute.default_target == "only"


def test_override_naming_an_unknown_target_lists_the_defined_ones() -> None:
    compute = {
        "default": "duckdb",
        "targets": {"duckdb": {"type": "duckdb"}, "big": {"type": "duckdb"}},
        "overrides": [{"select": "tag:x", "compute": "huge"}],
    }
    with pytest.raises(ProductSpecError) as exc:
        load_product_spec({"compute": compute})
    assert _problems(exc)["compute.overrides[0].compute"] == (
        "compute target 'huge' is not defined; defined: duckdb, big"
    )


def test_invalid_cron_is_reported_at_its_floe_yaml_path() -> None:
    with pytest.raises(ProductSpecError) as exc:
        load_product_spec({"schedules": [{"name": "daily", "cron": "61 * * * *"}]})
    assert "minute value 61 is out of range" in _problems(exc)["schedules[0].cron"]


def test_invalid_timezone_is_reported_at_its_floe_yaml_path() -> None:
    schedule = {"name": "daily", "cron": "0 8 * * *", "timezone": "Mars/Base"}
    with pytest.raises(ProductSpecError) as exc:
        load_product_spec({"schedules": [schedule]})
    assert "unknown timezone 'Mars/Base'" in _problems(exc)["schedules[0].timezone"]


def test_partition_timezone_is_validated() -> None:
    partition = {
        "name": "p",
        "granularity": "daily",
        "start": "2024-01-01",
        "select": "*",
        "timezone": "Nowhere",
    }
    with pytest.raises(ProductSpecError) as exc:
        load_product_spec({"partitions": [partition]})
    assert "partitions[0].timezone" in _problems(exc)


def test_sensor_type_selects_its_fields() -> None:
    with pytest.raises(ProductSpecError) as exc:
        load_product_spec({"sensors": [{"type": "run_failure", "name": "s", "path": "x"}]})
    assert "sensors[0].path" in _problems(exc)


def test_unknown_sensor_type_is_refused() -> None:
    with pytest.raises(ProductSpecError) as exc:
        load_product_spec({"sensors": [{"type": "webhook", "name": "s"}]})
    assert "sensors[0]" in _problems(exc)


def test_repeated_schedule_names_are_refused() -> None:
    schedule = {"name": "daily", "cron": "0 8 * * *"}
    with pytest.raises(ProductSpecError) as exc:
        load_product_spec({"schedules": [schedule, schedule]})
    assert _problems(exc)["schedules"] == "names must be unique; repeated: daily"


def test_float_version_asks_for_quotes() -> None:
    with pytest.raises(ProductSpecError, match=r'quote it \(version: "1.1"\)'):
        parse_product_spec_text("version: 1.10\n")


def test_integer_version_is_kept_as_text() -> None:
    assert parse_product_spec_text("version: 2\n").version == "2"


def test_product_name_must_be_a_valid_name() -> None:
    with pytest.raises(ProductSpecError) as exc:
        load_product_spec({"name": "my product!"})
    assert "name" in _problems(exc)


def test_error_message_names_the_file_and_each_path(tmp_path: Path) -> None:
    path = tmp_path / "floe.yaml"
    path.write_text("schedules:\n  - {name: daily, cron: 'not a cron'}\nretry: {max_retries: -1}\n")
    with pytest.raises(ProductSpecError) as exc:
        load_product_spec(str(path))
    message = str(exc.value)
    assert message.startswith(f"{path}: 2 invalid field(s):")
    assert "  line 2: schedules[0].cron: " in message
    assert "  line 3: retry.max_retries: " in message


def test_each_invalid_field_is_listed_with_the_line_it_is_written_on(tmp_path: Path) -> None:
    path = tmp_path / "floe.yaml"
    path.write_text(
        "name: shop\n"
        "compute:\n"
        "  targets:\n"
        "    duckdb:\n"
        "      type: duckdb\n"
        "      threads: 0\n"
        "schedules:\n"
        "  - name: nightly\n"
        "    cron: '0 2 * * *'\n"
        "    select: '*'\n"
        "    extra: 1\n"
        "  - {name: hourly, select: '*'}\n"
    )
    with pytest.raises(ProductSpecError) as exc:
        load_product_spec(str(path))
    listing = str(exc.value).splitlines()[1:]
    assert (
        "  line 6: compute.targets.duckdb.threads: Input should be greater than or equal to 1"
        in listing
    )
    assert "  line 11: schedules[0].extra: Extra inputs are not permitted" in listing
    # A missing field points at the closest part of its path that is written.
    assert "  line 12: schedules[1].cron: Field required" in listing
    assert exc.value.problems[0][0] == "compute.targets.duckdb.threads"  # paths stay plain


def test_a_mapping_given_as_an_object_is_listed_without_lines() -> None:
    with pytest.raises(ProductSpecError) as exc:
        load_product_spec({"retry": {"max_retries": -1}})
    assert "\n  retry.max_retries: " in str(exc.value)


def test_file_loader_returns_the_bytes_it_read(tmp_path: Path) -> None:
    path = tmp_path / "floe.yaml"
    path.write_text(FULL_SPEC)
    spec, raw = read_product_spec_file(path)
    assert raw == FULL_SPEC.encode()
    assert spec.name == "retail-analytics"


def test_non_utf8_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "floe.yaml"
    path.write_bytes(b"name: caf\xe9\n")
    with pytest.raises(ProductSpecError, match="not UTF-8"):
        load_product_spec(path)


def test_spec_is_frozen() -> None:
    spec = load_product_spec({"name": "shop"})
    with pytest.raises(ValueError, match="frozen"):
        spec.name = "other"  # type: ignore[misc]


def test_canonical_bytes_do_not_depend_on_key_order() -> None:
    first: dict[str, Any] = {"name": "a", "owners": ["x"], "version": "1"}
    second: dict[str, Any] = {"version": "1", "owners": ["x"], "name": "a"}
    assert FloeProductSpec.model_validate(first).canonical_bytes() == (
        FloeProductSpec.model_validate(second).canonical_bytes()
    )


def test_non_mapping_source_is_refused() -> None:
    with pytest.raises(ProductSpecError, match="expected a path or a mapping, got list"):
        load_product_spec([("name", "x")])  # type: ignore[arg-type]
