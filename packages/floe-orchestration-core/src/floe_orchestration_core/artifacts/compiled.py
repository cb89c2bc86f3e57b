"""The compiled data product: :class:`CompiledArtifacts` and its product-wide settings.

The model validates fields and references between sections (compute targets, partitions,
Python assets, alert channels), not the transform graph's shape: see decision 0001.
"""

from __future__ import annotations

import difflib
from typing import Annotated, Any, Final, Literal

from pydantic import AwareDatetime, Field, StringConstraints, model_validator

from floe_orchestration_core.artifacts.alerting import AlertChannelConfig, MonitoringSettings
from floe_orchestration_core.artifacts.fields import (
    FrozenModel,
    Identifier,
    NonEmptyStr,
    Sha256,
    repeated_names,
)
from floe_orchestration_core.artifacts.ingestion import IngestionConfig
from floe_orchestration_core.artifacts.python_assets import PythonAssetConfig
from floe_orchestration_core.artifacts.runs import (
    FileArrivalSensor,
    PartitionConfig,
    RetryPolicy,
    ScheduleConfig,
    SensorConfig,
)
from floe_orchestration_core.artifacts.transforms import (
    ComputeTarget,
    ExposureConfig,
    SourceConfig,
    TransformConfig,
)

__all__ = [
    "SCHEMA_VERSION",
    "ArtifactsMetadata",
    "CompiledArtifacts",
    "DbtSettings",
    "LineageSettings",
]

SCHEMA_VERSION: Final = "2.1.0"
#: Every schema version this model reads: 2.1 added the optional ``ingestion`` section, so a
#: 2.0.0 document is read unchanged.
READABLE_SCHEMA_VERSIONS: Final = ("2.0.0", "2.1.0")


class LineageSettings(FrozenModel):
    """Where lineage goes. ``backend`` None means the platform manifest decides."""

    enabled: bool = True
    namespace: NonEmptyStr = "floe"
    backend: str | None = None


class ArtifactsMetadata(FrozenModel):
    product_name: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
    product_version: NonEmptyStr = "0.0.0"
    compiled_at: AwareDatetime
    source_hash: Sha256 = Field(description="sha256 of the manifest and floe.yaml bytes")
    floe_version: NonEmptyStr
    owners: tuple[str, ...] = ()
    description: str = ""


class DbtSettings(FrozenModel):
    project_name: NonEmptyStr
    project_dir: NonEmptyStr
    manifest_path: NonEmptyStr
    profiles_dir: str | None = None
    target: str | None = None
    manifest_checksum: Sha256
    manifest_schema_version: Annotated[str, StringConstraints(pattern=r"^v\d+$")]
    dbt_version: str | None = None
    adapter_type: str | None = None
    #: The slim manifest ``floe compile`` wrote beside the artifacts (see
    #: :mod:`floe_orchestration_core.compile.slim_manifest`), as given; None when not written.
    slim_manifest_path: str | None = None


class CompiledArtifacts(FrozenModel):
    """The compiled data product. Build with the compiler or :func:`load_artifacts`."""

    schema_version: Literal["2.0.0", "2.1.0"] = "2.1.0"
    metadata: ArtifactsMetadata
    dbt: DbtSettings
    compute_targets: tuple[ComputeTarget, ...] = Field(min_length=1)
    default_compute: Identifier
    transforms: tuple[TransformConfig, ...] = ()
    sources: tuple[SourceConfig, ...] = ()
    exposures: tuple[ExposureConfig, ...] = ()
    schedules: tuple[ScheduleConfig, ...] = ()
    sensors: tuple[SensorConfig, ...] = ()
    retry_policy: RetryPolicy = Field(default_factory=RetryPolicy)
    partitions: tuple[PartitionConfig, ...] = ()
    lineage: LineageSettings = Field(default_factory=LineageSettings)
    python_assets: tuple[PythonAssetConfig, ...] = ()
    ingestion: tuple[IngestionConfig, ...] = ()
    alert_channels: tuple[AlertChannelConfig, ...] = ()
    monitoring: MonitoringSettings = Field(default_factory=MonitoringSettings)

    @model_validator(mode="after")
    def _references_resolve(self) -> CompiledArtifacts:
        targets = [t.name for t in self.compute_targets]
        partitions = [p.name for p in self.partitions]
        problems = repeated_names(
            [
                ("compute_targets", targets),
                ("schedules", [s.name for s in self.schedules]),
                ("sensors", [s.name for s in self.sensors]),
                ("partitions", partitions),
                ("sources", [s.key for s in self.sources]),
                ("python_assets", [a.name for a in self.python_assets]),
                ("ingestion", [i.name for i in self.ingestion]),
                ("alert_channels", [c.name for c in self.alert_channels]),
            ]
        )
        known = ", ".join(targets)
        if self.default_compute not in targets:
            problems.append(
                f"default_compute: '{self.default_compute}' is not a compute target; "
                f"defined: {known}"
            )
        for index, transform in enumerate(self.transforms):
            if transform.compute not in targets:
                problems.append(
                    f"transforms[{index}].compute: transform '{transform.name}' runs on compute "
                    f"target '{transform.compute}', which is not defined; defined: {known}"
                )
            if transform.partition is not None and transform.partition not in partitions:
                problems.append(
                    f"transforms[{index}].partition: transform '{transform.name}' uses partition "
                    f"'{transform.partition}', which is not defined; defined: "
                    f"{', '.join(partitions) or 'none'}"
                )
        problems.extend(self._python_asset_problems(targets))
        problems.extend(self._ingestion_problems(targets))
        problems.extend(self._alert_channel_problems())
        if problems:
            # One line per problem, each "json.path: message"; format_pydantic_errors splits
            # them back into separate (path, message) pairs.
            raise ValueError("\n".join(problems))
        return self

    def _python_asset_problems(self, targets: list[str]) -> list[str]:
        problems: list[str] = []
        transforms = {t.name for t in self.transforms}
        sources = {s.key for s in self.sources}
        assets = {a.name for a in self.python_assets}
        producer: dict[str, str] = {}
        for index, asset in enumerate(self.python_assets):
            path = f"python_assets[{index}]"
            if asset.name in transforms:
                problems.append(
                    f"{path}.name: '{asset.name}' is also a dbt transform; give the Python asset "
                    "another name"
                )
            if asset.compute is not None and asset.compute not in targets:
                problems.append(
                    f"{path}.compute: '{asset.compute}' is not a compute target; defined: "
                    f"{', '.join(targets)}"
                )
            for j, key in enumerate(asset.produces):
                if key not in sources:
                    problems.append(
                        f"{path}.produces[{j}]: '{key}' is not a dbt source of the project "
                        f"(sources: {', '.join(sorted(sources)) or 'none'}); declare it in a "
                        "sources .yml file"
                    )
                elif producer.setdefault(key, asset.name) != asset.name:
                    problems.append(
                        f"{path}.produces[{j}]: source '{key}' is already produced by "
                        f"'{producer[key]}'; one asset produces a source"
                    )
            for j, upstream in enumerate(asset.depends_on):
                if upstream == asset.name:
                    problems.append(f"{path}.depends_on[{j}]: '{upstream}' depends on itself")
                elif upstream not in transforms | sources | assets:
                    problems.append(
                        f"{path}.depends_on[{j}]: '{upstream}' is neither a transform, a source "
                        "key ('source_name.table') nor a Python asset"
                    )
        if not problems and self.python_assets:
            cycle = self._python_asset_cycle()
            if cycle:
                problems.append(
                    "python_assets: a cycle through Python assets and dbt transforms: "
                    f"{' -> '.join(cycle)}; a Python asset cannot depend on what reads the "
                    "sources it produces"
                )
        return problems

    def _ingestion_problems(self, targets: list[str]) -> list[str]:
        """Destinations that are compute targets; streams that are dbt sources, each produced
        once (by one stream or one Python asset); entry names free among assets."""
        problems: list[str] = []
        sources = {s.key for s in self.sources}
        taken = {t.name for t in self.transforms} | {a.name for a in self.python_assets}
        producer = {
            key: f"Python asset '{a.name}'" for a in self.python_assets for key in a.produces
        }
        for index, entry in enumerate(self.ingestion):
            path = f"ingestion[{index}]"
            if entry.name in taken:
                problems.append(
                    f"{path}.name: '{entry.name}' is also a dbt transform or a Python asset; "
                    "give the ingestion another name"
                )
            if entry.destination.compute not in targets:
                problems.append(
                    f"{path}.destination.compute: '{entry.destination.compute}' is not a compute "
                    f"target; defined: {', '.join(targets)}"
                )
            for j, stream in enumerate(entry.streams):
                key = stream.source_key
                where = f"{path}.streams[{j}].source_key"
                label = f"stream '{stream.name}' of ingestion '{entry.name}'"
                if key is None:
                    continue
                if key not in sources:
                    problems.append(f"{where}: '{key}' is not a dbt source of the project")
                elif producer.setdefault(key, label) != label:
                    problems.append(
                        f"{where}: source '{key}' is already produced by {producer[key]}; one "
                        "stream or Python asset produces a source"
                    )
        return problems

    def _python_asset_cycle(self) -> list[str]:
        """One cycle of the graph transforms + sources + Python assets, or [] when acyclic."""
        import networkx as nx

        graph: Any = nx.DiGraph()
        for transform in self.transforms:
            for upstream in (*transform.depends_on, *transform.source_dependencies):
                graph.add_edge(upstream, transform.name)
        for asset in self.python_assets:
            graph.add_edges_from((upstream, asset.name) for upstream in asset.depends_on)
            graph.add_edges_from((asset.name, key) for key in asset.produces)
        try:
            edges = nx.find_cycle(graph, source=[a.name for a in self.python_assets])
        except nx.NetworkXNoCycle:
            return []
        return [str(edges[0][0]), *(str(edge[1]) for edge in edges)]

    def _alert_channel_problems(self) -> list[str]:
        # 'console' is always available: it needs no settings.
        channels = {c.name for c in self.alert_channels} | {"console"}
        known = ", ".join(sorted(channels)) or "none"
        problems: list[str] = []
        users: list[tuple[str, tuple[str, ...]]] = [
            ("monitoring.alert_channels", self.monitoring.alert_channels)
        ]
        users += [
            (f"sensors[{i}].alert_channels", s.alert_channels)
            for i, s in enumerate(self.sensors)
            if not isinstance(s, FileArrivalSensor)
        ]
        for path, names in users:
            problems.extend(
                f"{path}[{j}]: alert channel '{name}' is not defined; defined: {known}"
                for j, name in enumerate(names)
                if name not in channels
            )
        return problems

    # Lookups used by every adapter -------------------------------------------------------
    def transform(self, name: str) -> TransformConfig:
        """The transform called ``name``; KeyError naming close matches otherwise."""
        for transform in self.transforms:
            if transform.name == name:
                return transform
        close = difflib.get_close_matches(name, [t.name for t in self.transforms], n=3)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise KeyError(f"no transform named '{name}'{hint}")

    def compute_target(self, name: str) -> ComputeTarget:
        for target in self.compute_targets:
            if target.name == name:
                return target
        raise KeyError(
            f"no compute target named '{name}'; defined: "
            + ", ".join(t.name for t in self.compute_targets)
        )

    def to_json(self, *, indent: int | None = 2) -> str:
        """Serialise to JSON (the form :func:`load_artifacts` reads)."""
        return self.model_dump_json(indent=indent)
