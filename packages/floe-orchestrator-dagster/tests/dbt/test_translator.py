"""The translator gives every asset floe's key, metadata, tags, owners, group and checks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from dagster import AssetKey

from floe_orchestration_core.artifacts import CompiledArtifacts
from floe_orchestration_core.testing import make_artifacts, make_source, make_transform
from floe_orchestrator_dagster.config import TranslatorSettings
from floe_orchestrator_dagster.dbt.manifest import ProjectManifest
from floe_orchestrator_dagster.dbt.translator import (
    FloeDagsterDbtTranslator,
    dagster_group_name,
    dagster_owners,
)
from floe_orchestrator_dagster.errors import TagCollisionError

_CHECKS = (
    {
        "name": "not_null_orders_id",
        "unique_id": "test.analytics.not_null_orders_id",
        "kind": "generic",
        "test_name": "not_null",
        "column": "id",
        "severity": "error",
        "attached_to": "orders",
        "references": ("orders",),
    },
    {
        "name": "recent_orders",
        "unique_id": "test.analytics.recent_orders",
        "kind": "singular",
        "test_name": "recent_orders",
        "severity": "warn",
        "attached_to": "orders",
        "references": ("orders",),
    },
)


def _artifacts() -> CompiledArtifacts:
    return make_artifacts(
        [
            make_transform(
                "orders",
                compute="heavy",
                schema="marts-eu",
                tags=("pii:email", "nightly"),
                owners=("ana@example.com", "Data Eng"),
                description="one row per order",
                quality_checks=_CHECKS,
            ),
            make_transform("stg", package_name="dep pkg", materialization="view"),
        ],
        sources=[make_source("raw.orders", tags=("landing",), schema="raw")],
    )


def _props(artifacts: CompiledArtifacts) -> Mapping[str, Mapping[str, Any]]:
    project = ProjectManifest.from_artifacts(artifacts)
    return {**project.nodes, **project.sources}


def test_every_transform_asset_carries_floes_metadata() -> None:
    artifacts = _artifacts()
    props = _props(artifacts)["model.analytics.orders"]
    metadata = FloeDagsterDbtTranslator(artifacts).get_metadata(props)
    assert metadata["floe/unique_id"] == "model.analytics.orders"
    assert metadata["floe/compute_target"] == "heavy"
    assert metadata["floe/schema"] == "marts-eu"
    assert metadata["floe/materialization"] == "table"
    assert metadata["dagster/table_name"] == "marts-eu.orders"  # dagster-dbt's is kept


def test_sources_carry_their_key_and_schema_but_no_compute_target() -> None:
    artifacts = _artifacts()
    props = _props(artifacts)["source.analytics.raw.orders"]
    translator = FloeDagsterDbtTranslator(artifacts)
    metadata = translator.get_metadata(props)
    assert metadata["floe/source_key"] == "raw.orders"
    assert metadata["floe/materialization"] == "source"
    assert "floe/compute_target" not in metadata
    assert translator.get_asset_key(props) == AssetKey(["raw", "orders"])
    assert translator.get_tags(props) == {"landing": ""}


def test_tags_are_mapped_and_prefixed_by_the_settings() -> None:
    artifacts = _artifacts()
    props = _props(artifacts)["model.analytics.orders"]
    translator = FloeDagsterDbtTranslator(artifacts, TranslatorSettings(tag_prefix="floe"))
    assert translator.get_tags(props) == {"floe/pii_email": "", "floe/nightly": ""}


def test_colliding_tags_fail_when_the_translator_is_built() -> None:
    artifacts = make_artifacts(
        [make_transform("a", tags=("pii:email",)), make_transform("b", tags=("pii_email",))]
    )
    with pytest.raises(TagCollisionError, match=r"'pii:email'.*'pii_email'"):
        FloeDagsterDbtTranslator(artifacts)


def test_owners_are_emails_or_teams() -> None:
    artifacts = _artifacts()
    props = _props(artifacts)["model.analytics.orders"]
    owners = FloeDagsterDbtTranslator(artifacts).get_owners(props)
    assert owners == ["ana@example.com", "team:Data Eng"]
    assert dagster_owners(["team:core", "team:", "x@y.io", "x@y.io"]) == [
        "team:core",
        "team:team:",
        "x@y.io",
    ]


@pytest.mark.parametrize(
    ("group_by", "orders_group", "stg_group", "source_group"),
    [
        ("compute", "heavy", "default", None),
        ("schema", "marts_eu", "main", "raw"),
        ("package", "analytics", "dep_pkg", "analytics"),
        ("none", None, None, None),
    ],
)
def test_group_names_follow_the_settings_and_are_valid(
    group_by: Any, orders_group: str | None, stg_group: str | None, source_group: str | None
) -> None:
    artifacts = _artifacts()
    props = _props(artifacts)
    translator = FloeDagsterDbtTranslator(artifacts, TranslatorSettings(group_by=group_by))
    assert translator.get_group_name(props["model.analytics.orders"]) == orders_group
    assert translator.get_group_name(props["model.dep pkg.stg"]) == stg_group
    assert translator.get_group_name(props["source.analytics.raw.orders"]) == source_group
    assert dagster_group_name("") is None


def test_the_key_prefix_leads_every_key() -> None:
    artifacts = _artifacts()
    props = _props(artifacts)
    translator = FloeDagsterDbtTranslator(artifacts, TranslatorSettings(key_prefix=("acme", "x")))
    assert translator.get_asset_key(props["model.analytics.orders"]) == AssetKey(
        ["acme", "x", "orders"]
    )
    assert translator.get_asset_key(props["source.analytics.raw.orders"]) == AssetKey(
        ["acme", "x", "raw", "orders"]
    )


def test_error_checks_block_and_warn_checks_do_not() -> None:
    artifacts = _artifacts()
    props = _props(artifacts)
    translator = FloeDagsterDbtTranslator(artifacts)
    assert translator.is_blocking(
        "test.analytics.not_null_orders_id", props["model.analytics.orders"]
    )
    assert not translator.is_blocking(
        "test.analytics.recent_orders", props["model.analytics.orders"]
    )
    relaxed = FloeDagsterDbtTranslator(artifacts, TranslatorSettings(blocking_error_checks=False))
    assert not relaxed.is_blocking(
        "test.analytics.not_null_orders_id", props["model.analytics.orders"]
    )


def test_a_subclass_overrides_one_method_as_the_docs_show() -> None:
    class FinanceGroups(FloeDagsterDbtTranslator):
        def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
            transform = self.transform_for(dbt_resource_props)
            if transform is not None and "nightly" in transform.tags:
                return "finance"
            return super().get_group_name(dbt_resource_props)

    artifacts = _artifacts()
    props = _props(artifacts)
    translator = FinanceGroups(artifacts)
    assert translator.get_group_name(props["model.analytics.orders"]) == "finance"
    assert translator.get_group_name(props["model.dep pkg.stg"]) == "default"
