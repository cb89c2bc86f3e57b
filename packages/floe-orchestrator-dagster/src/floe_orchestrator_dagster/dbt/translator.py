"""``FloeDagsterDbtTranslator``: dagster-dbt's translator, carrying floe's metadata.

It knows every :class:`TransformConfig` and :class:`SourceConfig` of the artifacts by dbt
unique_id and is configured by one frozen
:class:`~floe_orchestrator_dagster.config.TranslatorSettings`.
Each ``get_*`` method is small and overridable, in the style of dagster-dbt's own translator:

.. code-block:: python

    from floe_orchestrator_dagster import FloeDagsterDbtTranslator

    class MyTranslator(FloeDagsterDbtTranslator):
        def get_group_name(self, dbt_resource_props):
            transform = self.transform_for(dbt_resource_props)
            if transform is not None and "finance" in transform.tags:
                return "finance"
            return super().get_group_name(dbt_resource_props)

What it gives every asset (on top of what dagster-dbt adds: ``dagster_dbt/*``, the table
name and column schema — unless ``settings.dbt_table_metadata`` is off —, ``dagster/kind``):

- **key**: dagster-dbt's key (``meta.dagster.asset_key``, else the configured schema and the
  name, else the name; a versioned model's alias), after ``settings.key_prefix``;
- **metadata**: :class:`~floe_orchestrator_dagster.metadata.FloeAssetMetadata` of the
  transform (``floe/unique_id``, ``floe/compute_target``, ``floe/schema`` — the schema the
  relation is written to, ``""`` when dbt has none —, ``floe/materialization``) or of the
  source (``floe/unique_id``, ``floe/schema``, ``floe/materialization`` = ``"source"``,
  ``floe/source_key``: sources have no compute target);
- **tags**: the dbt tags through :mod:`floe_orchestrator_dagster.dbt.tags` (one mapping for the
  whole product, so a collision fails at generation time);
- **description**: the dbt description, without the raw SQL dagster-dbt appends unless
  ``settings.sql_in_description``;
- **owners**: a valid email or ``team:`` string is kept; anything else becomes ``team:<owner>``
  (Dagster accepts only these two forms; ``"Data Eng"`` → ``"team:Data Eng"``);
- **group**: by ``settings.group_by``: the compute target, the schema, the dbt package, or none
  (Dagster's ``default`` group); characters outside ``A-Z a-z 0-9 _`` become ``_``. Sources
  have no compute target: under ``"compute"`` they are in the default group;
- **checks**: every dbt test floe attached to a transform or source is an asset check (a
  source's checks belong to the ``@dbt_assets`` whose selection runs them); error-severity
  ones are *blocking* when ``settings.blocking_error_checks`` (a failure stops the assets
  downstream), warn-severity ones never are. ``settings.enable_asset_checks=False`` turns
  checks off (tests still run and are reported as observations by dagster-dbt).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from dagster import AssetCheckSpec, AssetKey, AssetSpec
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings

from floe_orchestration_core.artifacts import (
    CompiledArtifacts,
    QualityCheck,
    Severity,
    SourceConfig,
    TransformConfig,
)
from floe_orchestrator_dagster.compat import default_asset_key_fn, default_description_fn, get_node
from floe_orchestrator_dagster.config import TranslatorSettings
from floe_orchestrator_dagster.dbt.nodes import dbt_name
from floe_orchestrator_dagster.dbt.tags import TagMapper
from floe_orchestrator_dagster.metadata import FloeAssetMetadata

if TYPE_CHECKING:
    from dagster_dbt import DbtProject

__all__ = [
    "FloeDagsterDbtTranslator",
    "asset_key_for",
    "dagster_group_name",
    "dagster_owners",
    "dbt_translator_settings",
]

#: Dagster's own email rule (``dagster._core.utils.is_valid_email``, 1.10-1.13).
_EMAIL: Final = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Z|a-z]{2,7}\b")
_NOT_NAME: Final = re.compile(r"[^A-Za-z0-9_]")


def dagster_owners(owners: Sequence[str]) -> list[str]:
    """Owners Dagster accepts: emails and ``team:`` strings kept, others ``team:<owner>``.

    >>> dagster_owners(["ana@example.com", "Data Eng", "team:core", " "])
    ['ana@example.com', 'team:Data Eng', 'team:core']
    """
    mapped: dict[str, None] = {}
    for owner in owners:
        text = owner.strip()
        if not text:
            continue
        if _EMAIL.fullmatch(text) or (text.startswith("team:") and len(text) > len("team:")):
            mapped[text] = None
        else:
            mapped[f"team:{text}"] = None
    return list(mapped)


def dagster_group_name(name: str | None) -> str | None:
    """A valid Dagster group name: characters outside ``A-Z a-z 0-9 _`` become ``_``."""
    if not name:
        return None
    return _NOT_NAME.sub("_", name)


def dbt_translator_settings(settings: TranslatorSettings) -> DagsterDbtTranslatorSettings:
    """dagster-dbt's settings for floe's.

    Asset checks as configured, for tests on sources too (sources are assets of the
    definitions); ``enable_source_metadata`` (where dagster-dbt has it) off: it only serves
    remapping keys by table name, which floe does not use, and costs a pass over every source.
    """
    known = {f.name for f in dataclasses.fields(DagsterDbtTranslatorSettings)}
    options: dict[str, Any] = {
        "enable_asset_checks": settings.enable_asset_checks,
        "enable_source_tests_as_checks": settings.enable_asset_checks,
    }
    if "enable_source_metadata" in known:
        options["enable_source_metadata"] = False
    return DagsterDbtTranslatorSettings(**options)


def asset_key_for(
    item: TransformConfig | SourceConfig, settings: TranslatorSettings | None = None
) -> AssetKey:
    """The asset key of a transform or source when no manifest says more.

    The translator's rule applied to what the artifacts know: ``meta.dagster.asset_key``;
    else ``[source_name, table]`` for a source, the alias for a versioned model, the name
    otherwise; then ``settings.key_prefix``. (With a manifest, a model's configured schema
    also leads its key, as dagster-dbt does: the definitions ask the translator.)
    """
    if isinstance(item, SourceConfig):
        props: dict[str, Any] = {
            "resource_type": "source",
            "source_name": item.source_name,
            "name": item.name,
            "meta": item.meta,
            "config": {},
        }
    else:
        props = {
            "resource_type": item.resource_type.value,
            "name": dbt_name(item),
            "version": item.version,
            "alias": item.alias or item.name,
            "meta": item.meta,
            "config": {},
        }
    key: AssetKey = default_asset_key_fn(props)
    prefix = (settings or TranslatorSettings()).key_prefix
    return key.with_prefix(list(prefix)) if prefix else key


class FloeDagsterDbtTranslator(DagsterDbtTranslator):
    """Translates dbt nodes into Dagster assets with floe's metadata (see the module docstring).

    >>> from floe_orchestration_core.testing import make_artifacts, make_transform
    >>> translator = FloeDagsterDbtTranslator(make_artifacts([make_transform("orders")]))
    >>> translator.transform("model.analytics.orders").name
    'orders'
    """

    def __init__(
        self, artifacts: CompiledArtifacts, settings: TranslatorSettings | None = None
    ) -> None:
        self.floe_settings = settings if settings is not None else TranslatorSettings()
        super().__init__(dbt_translator_settings(self.floe_settings))
        self._transforms = {t.unique_id: t for t in artifacts.transforms}
        self._sources = {s.unique_id: s for s in artifacts.sources}
        self._checks: dict[str, QualityCheck] = {}
        self.tag_mapper = TagMapper(prefix=self.floe_settings.tag_prefix)
        for transform in artifacts.transforms:
            owner = f"{transform.resource_type.value} '{transform.name}'"
            self.tag_mapper.register(transform.tags, owner=owner)
            self._checks.update((c.unique_id, c) for c in transform.quality_checks)
        for source in artifacts.sources:
            self.tag_mapper.register(source.tags, owner=f"source '{source.key}'")
            self._checks.update((c.unique_id, c) for c in source.quality_checks)

    # Lookups ------------------------------------------------------------------------------
    def transform(self, unique_id: str) -> TransformConfig | None:
        """The transform with dbt ``unique_id``, None for any other node."""
        return self._transforms.get(unique_id)

    def source(self, unique_id: str) -> SourceConfig | None:
        """The source with dbt ``unique_id``, None for any other node."""
        return self._sources.get(unique_id)

    def transform_for(self, dbt_resource_props: Mapping[str, Any]) -> TransformConfig | None:
        """The transform a dbt node stands for (None for sources, tests, …)."""
        return self._transforms.get(str(dbt_resource_props.get("unique_id")))

    def source_for(self, dbt_resource_props: Mapping[str, Any]) -> SourceConfig | None:
        """The source a dbt node stands for (None for anything else)."""
        return self._sources.get(str(dbt_resource_props.get("unique_id")))

    # Asset attributes ---------------------------------------------------------------------
    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        """dagster-dbt's key with ``settings.key_prefix`` in front.

        Example: put sources under ``raw``::

            def get_asset_key(self, dbt_resource_props):
                key = super().get_asset_key(dbt_resource_props)
                if dbt_resource_props["resource_type"] == "source":
                    return key.with_prefix("raw")
                return key
        """
        key = super().get_asset_key(dbt_resource_props)
        prefix = self.floe_settings.key_prefix
        return key.with_prefix(list(prefix)) if prefix else key

    def get_metadata(self, dbt_resource_props: Mapping[str, Any]) -> Mapping[str, Any]:
        """dagster-dbt's metadata (unless ``settings.dbt_table_metadata`` is off) plus
        ``floe/*`` (see the module docstring)."""
        metadata: dict[str, Any] = (
            dict(super().get_metadata(dbt_resource_props))
            if self.floe_settings.dbt_table_metadata
            else {}
        )
        transform = self.transform_for(dbt_resource_props)
        if transform is not None:
            metadata.update(FloeAssetMetadata.for_transform(transform).to_metadata())
            return metadata
        source = self.source_for(dbt_resource_props)
        if source is not None:
            metadata.update(FloeAssetMetadata.for_source(source).to_metadata())
        return metadata

    def get_tags(self, dbt_resource_props: Mapping[str, Any]) -> Mapping[str, str]:
        """The dbt tags mapped by :mod:`floe_orchestrator_dagster.dbt.tags`."""
        transform = self.transform_for(dbt_resource_props)
        if transform is not None:
            return self.tag_mapper.tags_for(transform.tags, owner=f"'{transform.name}'")
        source = self.source_for(dbt_resource_props)
        tags = source.tags if source is not None else dbt_resource_props.get("tags") or ()
        return self.tag_mapper.tags_for(tags)

    def get_owners(self, dbt_resource_props: Mapping[str, Any]) -> Sequence[str] | None:
        """The transform's owners as Dagster owners (:func:`dagster_owners`), else dagster-dbt's."""
        transform = self.transform_for(dbt_resource_props)
        if transform is not None:
            return dagster_owners(transform.owners) or None
        owners = super().get_owners(dbt_resource_props)
        return dagster_owners(list(owners)) or None if owners else None

    def get_description(self, dbt_resource_props: Mapping[str, Any]) -> str:
        """The dbt description; with ``settings.sql_in_description``, dagster-dbt's (which adds
        the raw SQL when the manifest has it)."""
        if self.floe_settings.sql_in_description:
            return super().get_description(dbt_resource_props)
        return str(default_description_fn(dbt_resource_props, display_raw_sql=False))

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        """The group chosen by ``settings.group_by`` (see the module docstring)."""
        group_by = self.floe_settings.group_by
        if group_by == "none":
            return None
        transform = self.transform_for(dbt_resource_props)
        source = self.source_for(dbt_resource_props)
        if group_by == "compute":
            return transform.compute if transform is not None else None
        if group_by == "schema":
            schema = (
                transform.schema_name
                if transform is not None
                else source.schema_name
                if source is not None
                else dbt_resource_props.get("schema")
            )
            return dagster_group_name(schema)
        package = dbt_resource_props.get("package_name")
        return dagster_group_name(str(package) if package else None)

    # Checks -------------------------------------------------------------------------------
    def quality_check(self, test_unique_id: str) -> QualityCheck | None:
        """The floe quality check of the dbt test ``test_unique_id``, if floe knows it."""
        return self._checks.get(test_unique_id)

    def is_blocking(self, test_unique_id: str, dbt_resource_props: Mapping[str, Any]) -> bool:
        """Whether the check of this test blocks downstream assets when it fails.

        Error-severity tests block when ``settings.blocking_error_checks``; warn never does.
        """
        if not self.floe_settings.blocking_error_checks:
            return False
        check = self.quality_check(test_unique_id)
        if check is not None:
            return check.severity is Severity.ERROR
        severity = (dbt_resource_props.get("config") or {}).get("severity") or "error"
        return str(severity).lower() == "error"

    def get_asset_check_spec(
        self,
        asset_spec: AssetSpec,
        manifest: Mapping[str, Any],
        unique_id: str,
        project: DbtProject | None,
    ) -> AssetCheckSpec | None:
        """dagster-dbt's check spec for a test, blocking per :meth:`is_blocking`."""
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        if spec is None:
            return None
        blocking = self.is_blocking(unique_id, self.get_resource_props(manifest, unique_id))
        if spec.blocking == blocking:
            return spec
        return AssetCheckSpec(
            name=spec.name,
            asset=spec.asset_key,
            description=spec.description,
            additional_deps=spec.additional_deps,
            blocking=blocking,
            metadata=spec.metadata,
            automation_condition=spec.automation_condition,
        )

    def get_resource_props(self, manifest: Mapping[str, Any], unique_id: str) -> Mapping[str, Any]:
        """The node of ``unique_id`` (dagster-dbt 0.26 has no such method: defined here)."""
        return get_node(manifest, unique_id)
