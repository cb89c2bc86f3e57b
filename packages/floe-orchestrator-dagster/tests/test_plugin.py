"""DagsterOrchestratorPlugin: cheap import, configuration, Helm values and spans.

Definitions themselves are covered by the contract suite (``tests/contract``) and the
definitions tests; this file covers what the facade itself owns.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from floe_orchestration_core.errors import PluginError
from floe_orchestration_core.resources import get_preset
from floe_orchestration_core.testing import make_artifacts, make_source, make_transform
from floe_orchestrator_dagster import __version__
from floe_orchestrator_dagster.config import DagsterAdapterConfig, TranslatorSettings
from floe_orchestrator_dagster.deploy.helm import build_helm_values, deployment_name, image_values
from floe_orchestrator_dagster.errors import HelmValuesError
from floe_orchestrator_dagster.plugin import TRACER_NAME, DagsterOrchestratorPlugin

HELM_SPECS = Path(__file__).resolve().parents[4] / "shared" / "specs" / "dagster-helm"
CLOSED_PORT_URL = "http://127.0.0.1:9"


def _run_fresh(code: str) -> dict[str, Any]:
    """Run ``code`` in a fresh interpreter; it prints one JSON document, returned here."""
    completed = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


# Import cost ------------------------------------------------------------------------------
def test_importing_the_plugin_class_imports_neither_dagster_nor_dagster_dbt_nor_pydantic() -> None:
    loaded = _run_fresh(
        """
        import json, sys
        from floe_orchestrator_dagster.plugin import DagsterOrchestratorPlugin
        name = DagsterOrchestratorPlugin.metadata.name
        heavy = ("dagster", "dagster_dbt", "pydantic", "opentelemetry", "networkx", "dbt")
        print(json.dumps({"name": name, "loaded": sorted(
            m for m in sys.modules if m.split(".")[0] in heavy)}))
        """
    )
    assert loaded == {"name": "dagster", "loaded": []}


def test_loading_the_entry_point_imports_no_dagster_and_gives_the_plugin_class() -> None:
    loaded = _run_fresh(
        """
        import json, sys
        from importlib.metadata import entry_points
        (entry,) = [e for e in entry_points(group="floe.orchestrators") if e.name == "dagster"]
        plugin_class = entry.load()
        print(json.dumps({"class": plugin_class.__qualname__,
                          "dagster": "dagster" in sys.modules}))
        """
    )
    assert loaded == {"class": "DagsterOrchestratorPlugin", "dagster": False}


def test_metadata_names_the_plugin_and_its_api_version() -> None:
    metadata = DagsterOrchestratorPlugin.metadata
    assert (metadata.name, metadata.version, metadata.floe_api_version) == (
        "dagster",
        __version__,
        "1.0",
    )
    assert {c.value for c in DagsterOrchestratorPlugin.capabilities} == {
        "local_runtime",
        "run_launcher",
    }


# Configuration ----------------------------------------------------------------------------
def test_default_configuration() -> None:
    settings = DagsterOrchestratorPlugin().settings
    assert settings == DagsterAdapterConfig()
    assert settings.webserver_url == "http://127.0.0.1:3000"
    assert settings.translator == TranslatorSettings(
        enable_asset_checks=True,
        blocking_error_checks=True,
        group_by="compute",
        key_prefix=(),
        tag_prefix="",
    )


def test_configuration_from_a_mapping_is_validated_into_the_model() -> None:
    plugin = DagsterOrchestratorPlugin(
        {
            "webserver_url": "https://dagster.example.com/prefix/",
            "translator": {"group_by": "schema", "key_prefix": ["analytics"], "tag_prefix": "floe"},
        }
    )
    assert plugin.settings.webserver_url == "https://dagster.example.com/prefix"
    assert plugin.settings.translator.group_by == "schema"
    assert plugin.settings.translator.key_prefix == ("analytics",)
    assert plugin.settings.translator.tag_prefix == "floe"


def test_a_config_model_instance_is_used_as_given() -> None:
    config = DagsterAdapterConfig(translator=TranslatorSettings(enable_asset_checks=False))
    assert DagsterOrchestratorPlugin(config).settings is config


@pytest.mark.parametrize(
    ("config", "named"),
    [
        ({"webserver": "http://x:3000"}, "config.webserver"),
        ({"translator": {"group": "schema"}}, "config.translator.group"),
        ({"translator": {"group_by": "owner"}}, "config.translator.group_by"),
        ({"webserver_url": "dagster:3000"}, "config.webserver_url"),
        ({"translator": {"key_prefix": ["a/b"]}}, "config.translator.key_prefix"),
        ({"translator": {"tag_prefix": "floe/"}}, "config.translator.tag_prefix"),
    ],
)
def test_invalid_configuration_is_refused_naming_the_field(
    config: Mapping[str, Any], named: str
) -> None:
    with pytest.raises(PluginError) as caught:
        DagsterOrchestratorPlugin(config)
    assert named in str(caught.value)
    assert "dagster" in str(caught.value)


def test_configuration_is_frozen() -> None:
    settings = DagsterOrchestratorPlugin().settings
    with pytest.raises(ValueError, match="frozen"):
        settings.webserver_url = "http://other:3000"  # type: ignore[misc]


# Helm values ------------------------------------------------------------------------------
def _load_schema(name: str) -> dict[str, Any]:
    path = HELM_SPECS / name
    if not path.is_file():
        pytest.skip(f"{path} is absent: the official Dagster chart schemas live in ../shared")
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return schema


def _resolve(schema: Mapping[str, Any], node: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/definitions/"):
        return _resolve(schema, schema["definitions"][ref.removeprefix("#/definitions/")])
    options = [option for option in node.get("anyOf", []) if option.get("type") != "null"]
    if len(options) == 1:  # "X or null": the X
        return _resolve(schema, options[0])
    return node


def _k8s_resources_problems(path: str, value: Any) -> list[str]:
    """The Kubernetes ResourceRequirements shape (the chart refers to it remotely)."""
    if not isinstance(value, dict) or not set(value) <= {"requests", "limits"}:
        return [f"{path}: not a Kubernetes resources block: {value!r}"]
    return [
        f"{path}.{part}: {amounts!r} is not a mapping of cpu/memory to quantity strings"
        for part, amounts in value.items()
        if not isinstance(amounts, dict)
        or not set(amounts) <= {"cpu", "memory"}
        or not all(isinstance(v, str) for v in amounts.values())
    ]


_JSON_TYPES: Mapping[str, type | tuple[type, ...]] = {
    "string": str,
    "integer": int,
    "boolean": bool,
    "array": list,
    "object": dict,
}


def _schema_problems(
    schema: Mapping[str, Any], node: Mapping[str, Any], path: str, value: Any
) -> list[str]:
    """Every emitted key or value of ``value`` that ``node`` (in ``schema``) does not allow."""
    node = _resolve(schema, node)
    if str(node.get("$ref", "")).endswith("io.k8s.api.core.v1.ResourceRequirements"):
        return _k8s_resources_problems(path, value)
    expected = node.get("type")
    if isinstance(expected, str) and not isinstance(value, _JSON_TYPES[expected]):
        return [f"{path}: expected {expected}, got {type(value).__name__} {value!r}"]
    problems: list[str] = []
    if isinstance(value, dict):
        properties = node.get("properties", {})
        for key, item in value.items():
            if key not in properties:
                problems.append(f"{path}.{key}: not a key of the official chart")
            else:
                problems.extend(_schema_problems(schema, properties[key], f"{path}.{key}", item))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            problems.extend(_schema_problems(schema, node["items"], f"{path}[{index}]", item))
    return problems


@pytest.mark.parametrize("size", ["small", "medium", "large"])
@pytest.mark.parametrize("image", ["ghcr.io/acme/sales:1.2.0", "registry:5000/sales"])
def test_every_emitted_helm_key_exists_in_the_official_chart_schemas(size: str, image: str) -> None:
    chart = _load_schema("values.schema.json")
    subchart = _load_schema("user-deployments.values.schema.json")
    values = build_helm_values(
        size=size,
        resources=get_preset(size),
        artifacts=make_artifacts(product_name="sales_analytics"),
        image=image,
    )
    assert _schema_problems(chart, chart, "values", values) == []
    deployments = values["dagster-user-deployments"]["deployments"]
    assert _schema_problems(subchart, subchart, "subchart", {"deployments": deployments}) == []


def test_a_deployment_with_an_image_has_every_field_the_chart_requires() -> None:
    chart = _load_schema("values.schema.json")
    required = set(chart["definitions"]["UserDeployment"]["required"])
    image_required = set(chart["definitions"]["Image"]["required"])
    values = build_helm_values(
        size="small",
        resources=get_preset("small"),
        artifacts=make_artifacts(product_name="sales"),
        image="ghcr.io/acme/sales:1.2.0",
    )
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    assert required <= set(deployment)
    assert image_required <= set(deployment["image"])


def test_helm_values_apply_the_size_resources_to_every_workload() -> None:
    plugin = DagsterOrchestratorPlugin()
    values = plugin.get_helm_values(
        size="large", artifacts=make_artifacts(product_name="Sales.v2"), image="acme/sales"
    )
    expected = get_preset("large").to_kubernetes()
    assert values["dagsterWebserver"]["resources"] == expected
    assert values["dagsterDaemon"]["resources"] == expected
    user_deployments = values["dagster-user-deployments"]
    assert user_deployments["enabled"] is True
    (deployment,) = user_deployments["deployments"]
    assert deployment == {
        "name": "sales-v2",
        "port": 3030,
        "dagsterApiGrpcArgs": ["--python-file", "definitions.py"],
        "resources": expected,
        "image": {"repository": "acme/sales", "pullPolicy": "IfNotPresent"},
    }
    assert values["runLauncher"]["config"]["k8sRunLauncher"]["resources"] == expected


def test_helm_values_without_artifacts_size_only_the_services() -> None:
    values = DagsterOrchestratorPlugin().get_helm_values(size="small")
    assert set(values) == {"dagsterWebserver", "dagsterDaemon", "runLauncher"}
    assert values["dagsterDaemon"]["resources"] == get_preset("small").to_kubernetes()


def test_helm_value_blocks_are_independent_copies() -> None:
    values = build_helm_values(size="small", resources=get_preset("small"), artifacts=None)
    values["dagsterWebserver"]["resources"]["limits"]["cpu"] = "99"
    assert values["dagsterDaemon"]["resources"]["limits"]["cpu"] != "99"


@pytest.mark.parametrize(
    ("product", "name"),
    [
        ("sales", "sales"),
        ("Sales_Analytics.v2", "sales-analytics-v2"),
        ("a" * 60, "a" * 40),
        ("9lives", "9lives"),
        ("x" * 39 + "_tail", "x" * 39),
    ],
)
def test_deployment_names_are_dns_labels_derived_from_the_product(product: str, name: str) -> None:
    assert deployment_name(product) == name


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("sales", {"repository": "sales", "pullPolicy": "IfNotPresent"}),
        (
            "acme/sales:1.0",
            {"repository": "acme/sales", "tag": "1.0", "pullPolicy": "IfNotPresent"},
        ),
        (
            "localhost:5000/sales",
            {"repository": "localhost:5000/sales", "pullPolicy": "IfNotPresent"},
        ),
        (
            "localhost:5000/sales:dev",
            {"repository": "localhost:5000/sales", "tag": "dev", "pullPolicy": "IfNotPresent"},
        ),
    ],
)
def test_image_references_split_into_repository_and_tag(
    image: str, expected: dict[str, str]
) -> None:
    assert image_values(image) == expected


@pytest.mark.parametrize("image", ["", "acme/sales@sha256:abc", "acme sales", "acme/sales:"])
def test_malformed_images_are_refused_with_an_example(image: str) -> None:
    with pytest.raises(HelmValuesError, match="repository\\[:tag\\]"):
        image_values(image)


def test_an_image_without_artifacts_is_refused() -> None:
    with pytest.raises(HelmValuesError, match="artifacts"):
        build_helm_values(
            size="small", resources=get_preset("small"), artifacts=None, image="acme/sales:1"
        )


def test_resource_requirements_are_the_core_presets() -> None:
    plugin = DagsterOrchestratorPlugin()
    for size in ("small", "medium", "large"):
        assert plugin.get_resource_requirements(size) == get_preset(size)


# Spans ------------------------------------------------------------------------------------
@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    yield exporter
    exporter.clear()


@pytest.fixture
def traced_plugin(exporter: InMemorySpanExporter) -> DagsterOrchestratorPlugin:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return DagsterOrchestratorPlugin(tracer_provider=provider)


def _adapter_spans(exporter: InMemorySpanExporter) -> dict[str, ReadableSpan]:
    spans = exporter.get_finished_spans()
    for span in spans:
        assert span.instrumentation_scope is not None
        assert span.instrumentation_scope.name == TRACER_NAME
    return {span.name: span for span in spans}


def test_schedule_job_opens_a_span_with_the_cron_and_timezone(
    traced_plugin: DagsterOrchestratorPlugin, exporter: InMemorySpanExporter
) -> None:
    traced_plugin.schedule_job("nightly_build", "15 2 * * *", "Europe/Berlin")
    span = _adapter_spans(exporter)["dagster.schedule_job"]
    assert span.attributes is not None
    assert dict(span.attributes) == {
        "floe.job": "nightly_build",
        "floe.cron": "15 2 * * *",
        "floe.timezone": "Europe/Berlin",
    }


def test_helm_values_and_resources_open_spans_with_the_size(
    traced_plugin: DagsterOrchestratorPlugin, exporter: InMemorySpanExporter
) -> None:
    traced_plugin.get_helm_values(
        size="medium", artifacts=make_artifacts(product_name="sales"), image="acme/sales:1"
    )
    spans = _adapter_spans(exporter)
    assert set(spans) == {"dagster.get_resource_requirements", "dagster.get_helm_values"}
    helm = spans["dagster.get_helm_values"].attributes
    assert helm is not None
    assert (helm["floe.size"], helm["floe.product"]) == ("medium", "sales")
    resources = spans["dagster.get_resource_requirements"].attributes
    assert resources is not None
    assert resources["floe.cpu_limit"] == get_preset("medium").cpu_limit


def test_a_failed_connection_check_is_traced_as_unsuccessful(
    traced_plugin: DagsterOrchestratorPlugin, exporter: InMemorySpanExporter
) -> None:
    result = traced_plugin.validate_connection(CLOSED_PORT_URL, timeout=2)
    assert result.success is False
    attributes = _adapter_spans(exporter)["dagster.validate_connection"].attributes
    assert attributes is not None
    assert attributes["floe.url"] == CLOSED_PORT_URL
    assert attributes["floe.success"] is False
    assert attributes["floe.url_is_default"] is False


def test_create_definitions_span_counts_assets_checks_and_compute_targets(
    traced_plugin: DagsterOrchestratorPlugin, exporter: InMemorySpanExporter
) -> None:
    artifacts = make_artifacts(
        [
            make_transform("stg_orders", compute="duckdb"),
            make_transform("inline", depends_on=["stg_orders"], materialization="ephemeral"),
            make_transform("orders", depends_on=["inline"], compute="warehouse"),
        ],
        default_compute="duckdb",
    )
    traced_plugin.create_definitions(artifacts)
    span = _adapter_spans(exporter)["dagster.create_definitions"]
    assert span.status.status_code is not StatusCode.ERROR
    attributes = span.attributes
    assert attributes is not None
    assert attributes["floe.asset_count"] == 2  # the ephemeral model builds no asset
    assert attributes["floe.asset_check_count"] == 0
    # "inline" runs on "default", but an ephemeral model builds nothing there.
    assert tuple(attributes["floe.compute_targets"]) == ("duckdb", "warehouse")  # type: ignore[arg-type]


def test_a_failing_hook_marks_its_span_as_an_error(
    traced_plugin: DagsterOrchestratorPlugin, exporter: InMemorySpanExporter
) -> None:
    from floe_orchestration_core.artifacts import PartitionConfig, ScheduleConfig

    artifacts = make_artifacts(
        [make_transform("daily_events", partition="d"), make_transform("hourly", partition="h")],
        partitions=(
            PartitionConfig(name="d", granularity="daily", start="2024-01-01"),
            PartitionConfig(name="h", granularity="hourly", start="2024-01-01"),
        ),
        schedules=(ScheduleConfig(name="mixed", cron="0 0 * * *"),),
    )
    with pytest.raises(ValueError, match="mixed"):
        traced_plugin.create_definitions(artifacts)
    span = _adapter_spans(exporter)["dagster.create_definitions"]
    assert span.status.status_code is StatusCode.ERROR


def test_the_plugin_never_installs_a_global_tracer_provider(
    traced_plugin: DagsterOrchestratorPlugin,
) -> None:
    before = trace.get_tracer_provider()
    traced_plugin.schedule_job("nightly_build", "0 2 * * *")
    DagsterOrchestratorPlugin().schedule_job("nightly_build", "0 2 * * *")
    assert trace.get_tracer_provider() is before
    assert not isinstance(before, TracerProvider)


# Definitions metadata ---------------------------------------------------------------------
def test_definitions_record_the_product_and_its_ephemeral_transforms() -> None:
    import dagster as dg

    from floe_orchestrator_dagster.plugin import EPHEMERAL_TRANSFORMS_KEY, PRODUCT_KEY

    artifacts = make_artifacts(
        [
            make_transform("stg_orders", source_dependencies=("raw.orders",)),
            make_transform(
                "order_totals",
                depends_on=["stg_orders"],
                source_dependencies=("raw.fx",),
                materialization="ephemeral",
            ),
            make_transform("orders", depends_on=["order_totals"]),
        ],
        sources=[make_source("raw.orders"), make_source("raw.fx")],
        product_name="sales",
    )
    definitions = DagsterOrchestratorPlugin().create_definitions(artifacts)
    assert isinstance(definitions, dg.Definitions)
    assert definitions.metadata[PRODUCT_KEY] == dg.MetadataValue.text("sales 0.0.0")
    recorded = definitions.metadata[EPHEMERAL_TRANSFORMS_KEY]
    assert isinstance(recorded, dg.JsonMetadataValue)
    assert recorded.data == {
        "order_totals": {
            "unique_id": "model.analytics.order_totals",
            "depends_on": ["stg_orders"],
            "source_dependencies": ["raw.fx"],
        }
    }
    # The merge keeps everything build_definitions made.
    assert definitions.resolve_asset_graph().materializable_asset_keys
