"""The dbt sources of the definitions: the ones some asset reads, as ``AssetSpec``s.

Every dbt source that an asset reads (directly or through ephemeral models) is declared with
the key, metadata, group, tags and owners the translator gives it, so sources are upstream
assets of the repository rather than dangling keys; a source nobody reads is no asset
(``@dbt_assets`` creates none either).
"""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg

from floe_orchestration_core.artifacts import CompiledArtifacts, SourceConfig
from floe_orchestrator_dagster.dbt.manifest import ProjectManifest
from floe_orchestrator_dagster.dbt.translator import FloeDagsterDbtTranslator

__all__ = ["read_sources", "source_specs"]


def read_sources(artifacts: CompiledArtifacts) -> list[SourceConfig]:
    """The sources some asset reads: directly, or through ephemeral models (as dagster-dbt
    connects them). Only these are declared as assets, as ``@dbt_assets`` itself creates keys
    for exactly these; the others are listed in the Definitions' metadata
    (:func:`~floe_orchestrator_dagster.definitions.build.with_product_metadata`)."""
    by_name = {t.name: t for t in artifacts.transforms}
    read: set[str] = set()
    seen: set[str] = set()
    pending = [t for t in artifacts.transforms if not t.is_ephemeral]
    while pending:
        transform = pending.pop()
        read.update(transform.source_dependencies)
        for parent in transform.depends_on:
            upstream = by_name.get(parent)
            if upstream is not None and upstream.is_ephemeral and parent not in seen:
                seen.add(parent)
                pending.append(upstream)
    return [s for s in artifacts.sources if s.key in read]


def source_specs(
    sources: Sequence[SourceConfig],
    project: ProjectManifest,
    translator: FloeDagsterDbtTranslator,
) -> list[dg.AssetSpec]:
    specs: list[dg.AssetSpec] = []
    for source in sources:
        props = project.sources[source.unique_id]
        specs.append(
            dg.AssetSpec(
                key=translator.get_asset_key(props),
                description=source.description or f"dbt source {source.key}",
                metadata=translator.get_metadata(props),
                group_name=translator.get_group_name(props),
                tags=translator.get_tags(props),
                owners=translator.get_owners(props),
            )
        )
    return specs
