"""Manifest records into artifact fields: the rules of
:mod:`floe_orchestration_core.compile.compiler` ("What becomes what", "Transforms") applied to
a :class:`DbtManifest`, collecting every problem as a ``(json_path, message)`` pair so that
one :class:`~floe_orchestration_core.errors.InvalidManifestError` lists them all.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError as PydanticValidationError

from floe_orchestration_core.artifacts import TransformConfig, format_pydantic_errors
from floe_orchestration_core.compile.dependency_cycles import find_cycles
from floe_orchestration_core.compile.manifest_json import json_path
from floe_orchestration_core.compile.manifest_records import ColumnRecord, DbtManifest, NodeRecord
from floe_orchestration_core.compile.quality_checks import attach_quality_checks
from floe_orchestration_core.errors import InvalidManifestError, ManifestCycleError, quoted

__all__ = ["RecordMapper", "transform_name"]

_DEFAULT_MATERIALIZATION = {"seed": "seed", "snapshot": "snapshot", "model": "view"}


def transform_name(node: NodeRecord) -> str:
    """A transform's name: the node's name, ``name_v<version>`` for versioned models."""
    return node.name if node.version is None else f"{node.name}_v{node.version}"


_SOURCE_FIELDS = (
    *("unique_id", "source_name", "name", "package_name", "database", "schema"),
    *("identifier", "loader", "description", "tags", "meta"),
)
_EXPOSURE_FIELDS = ("name", "unique_id", "type", "owner", "url", "description")


def _columns(columns: tuple[ColumnRecord, ...]) -> list[dict[str, Any]]:
    return [
        {"name": c.name, "data_type": c.data_type, "description": c.description} for c in columns
    ]


class RecordMapper:
    """Maps manifest records to artifact fields (rules in the module docstring), collecting
    every problem in :attr:`problems` so that one error lists them all."""

    def __init__(self, manifest: DbtManifest) -> None:
        self.manifest = manifest
        self.problems: list[tuple[str, str]] = []
        self.names = self._unique(
            {n.unique_id: transform_name(n) for n in manifest.nodes}, "transform", "nodes"
        )
        self.keys = self._unique(
            {s.unique_id: s.key for s in manifest.sources}, "source", "sources"
        )

    def _unique(self, labels: dict[str, str], kind: str, section: str) -> dict[str, str]:
        first: dict[str, str] = {}
        for uid, label in labels.items():
            owner = first.setdefault(label, uid)
            if owner != uid:
                self.problems.append(
                    (
                        json_path((section, uid, "name")),
                        f"{quoted(owner)} and {quoted(uid)} are both {kind} {quoted(label)}; "
                        f"rename (or disable) one: floe never renames, and every {kind} name "
                        "must be unique",
                    )
                )
        return labels

    def dependencies(
        self,
        owner: str,
        depends_on: tuple[str, ...],
        *,
        section: str = "nodes",
        drop_disabled: bool = False,
    ) -> tuple[list[str], list[str]]:
        """(transform names, source keys) ``owner`` reads; problems for lost edges."""
        transforms: dict[str, None] = {}
        sources: dict[str, None] = {}
        where = (section, owner, "depends_on", "nodes")  # a JSON path, written on a problem
        for dep in depends_on:
            if dep in self.names:
                transforms[self.names[dep]] = None
            elif dep in self.keys:
                sources[self.keys[dep]] = None
            elif dep in self.manifest.disabled_ids:
                if not drop_disabled:
                    self.problems.append(
                        (
                            json_path(where),
                            f"{quoted(owner)} depends on {quoted(dep)}, which is disabled; "
                            "enable it or remove the reference (dbt refuses such a project: "
                            "the manifest is inconsistent)",
                        )
                    )
            elif dep not in self.manifest.other_ids:
                self.problems.append(
                    (
                        json_path(where),
                        f"{quoted(owner)} depends on {quoted(dep)}, which is not in the "
                        "manifest; re-generate the manifest with 'dbt parse'",
                    )
                )
        return list(transforms), list(sources)

    def refuse_cycles(self) -> None:
        """:class:`ManifestCycleError` naming the transforms of every dependency cycle."""
        cycles = find_cycles({n.unique_id: n.depends_on for n in self.manifest.nodes})
        if not cycles:
            return
        named = [[self.names[uid] for uid in cycle] for cycle in cycles]
        listing = "; ".join(
            " -> ".join(quoted(name) for name in [*cycle, cycle[0]]) for cycle in named
        )
        origin = self.manifest.origin
        path = json_path(("nodes", cycles[0][0], "depends_on", "nodes"))
        raise ManifestCycleError(
            f"{origin}: {path}: transforms depend on each other in a cycle: {listing}; dbt "
            "refuses such a project: remove the reference that closes the cycle and re-generate "
            "the manifest with 'dbt parse'",
            file=origin,
            path=path,
            cycles=named,
        )

    def raise_problems(self) -> None:
        """One :class:`InvalidManifestError` listing every problem found, if any."""
        if not self.problems:
            return
        origin = self.manifest.origin
        listing = "\n".join(f"  {path}: {message}" for path, message in self.problems)
        path, first = self.problems[0]
        raise InvalidManifestError(
            f"{origin}: {len(self.problems)} problem(s):\n{listing}",
            file=origin,
            path=path,
            expected=first,
            problems=self.problems,
        )

    def quality_checks(self) -> dict[str, list[dict[str, Any]]]:
        """QualityCheck fields by the unique_id of the transform or source they belong to."""
        return attach_quality_checks(
            self.manifest,
            transforms=self.names,
            sources=self.keys,
            check_dependencies=lambda test: self.dependencies(
                test.unique_id, test.depends_on, drop_disabled=True
            ),
            problems=self.problems,
        )

    def transforms(
        self, checks: Mapping[str, list[dict[str, Any]]], default_compute: str
    ) -> list[TransformConfig]:
        transforms: list[TransformConfig] = []
        for node in self.manifest.nodes:
            depends, source_deps = self.dependencies(node.unique_id, node.depends_on)
            fields = {
                "name": self.names[node.unique_id],
                "unique_id": node.unique_id,
                "resource_type": node.resource_type,
                "package_name": node.package_name,
                "path": node.path,
                "database": node.database,
                "schema": node.schema,
                "alias": node.alias,
                "materialization": node.materialized
                or _DEFAULT_MATERIALIZATION[node.resource_type],
                "language": (node.language or "sql").lower(),
                "version": node.version,
                "depends_on": depends,
                "source_dependencies": source_deps,
                "compute": default_compute,
                "tags": node.tags,
                "meta": node.meta,
                "description": node.description,
                "owners": node.owners,
                "columns": _columns(node.columns),
                "quality_checks": checks.get(node.unique_id, ()),
            }
            try:
                transforms.append(TransformConfig.model_validate(fields))
            except PydanticValidationError as exc:
                self.problems.extend(
                    (json_path(("nodes", node.unique_id)) + f".{path}", message)
                    for path, message in format_pydantic_errors(exc)
                )
        return transforms

    def sources(self, checks: Mapping[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
        return [
            {
                **{field: getattr(s, field) for field in _SOURCE_FIELDS},
                "key": s.key,
                "columns": _columns(s.columns),
                "quality_checks": checks.get(s.unique_id, ()),
            }
            for s in self.manifest.sources
        ]

    def exposures(self) -> list[dict[str, Any]]:
        exposures: list[dict[str, Any]] = []
        for e in self.manifest.exposures:
            depends, source_deps = self.dependencies(e.unique_id, e.depends_on, section="exposures")
            fields = {field: getattr(e, field) for field in _EXPOSURE_FIELDS}
            exposures.append({**fields, "depends_on": depends, "source_dependencies": source_deps})
        return exposures
