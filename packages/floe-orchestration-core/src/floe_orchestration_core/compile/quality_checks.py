"""Quality checks: which transform or source each dbt test belongs to, and its check fields.

The compiler (:mod:`floe_orchestration_core.compile`) calls :func:`attach_quality_checks`
once per compile and puts each returned list in the ``quality_checks`` of the transform or
source it is keyed by. The rules (``kind`` is generic when the test has ``test_metadata``,
else singular):

- Parents = the test's ``depends_on.nodes`` that are transforms or sources. A test whose parents
  are all disabled (or which reads none) has no target and is left out.
- Attached to: ``attached_node`` (v10+) when it is a parent; else the only parent; else the
  parent named by ``file_key_name`` (``models.<name>`` / ``sources.<source_name>``) when exactly
  one parent matches; else the downstream-most parent (deepest in the transform graph, sources
  being upstream of everything; ties broken by name). ``references`` lists every parent.
- ``test_name`` = the generic test (``namespace.name`` for package tests) or the singular test's
  name; ``column`` = ``test_metadata.kwargs.column_name`` or the node's ``column_name``;
  ``severity`` = ``config.severity`` (any case; default ``error``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from floe_orchestration_core.compile.manifest_json import json_path
from floe_orchestration_core.compile.manifest_records import DbtManifest, TestRecord
from floe_orchestration_core.errors import quoted

__all__ = ["attach_quality_checks"]


def attach_quality_checks(
    manifest: DbtManifest,
    *,
    transforms: Mapping[str, str],
    sources: Mapping[str, str],
    check_dependencies: Callable[[TestRecord], object],
    problems: list[tuple[str, str]],
) -> dict[str, list[dict[str, Any]]]:
    """QualityCheck fields by the unique_id of the transform or source each test belongs to.

    ``transforms`` maps the unique_id of every transform to its name and ``sources`` that of
    every source to its key: a test's parents are among them. ``check_dependencies(test)`` is
    called for each test, in manifest order, before the test is mapped, so the compiler can
    report edges it cannot resolve alongside the problems found here (a severity dbt does not
    accept), which are appended to ``problems`` as ``(json_path, message)`` pairs.
    """
    targets = _Targets(manifest, transforms, sources)
    by_target: dict[str, list[dict[str, Any]]] = {}
    for test in manifest.tests:
        check_dependencies(test)
        parents = [d for d in dict.fromkeys(test.depends_on) if d in transforms or d in sources]
        if not parents:
            continue
        severity = (test.severity or "error").lower()
        if severity not in ("error", "warn"):
            problems.append(
                (
                    json_path(("nodes", test.unique_id, "config", "severity")),
                    f"test {quoted(test.unique_id)} has severity {quoted(test.severity or '')}; "
                    "dbt accepts error or warn",
                )
            )
        target = targets.attach(test, parents)
        by_target.setdefault(target, []).append(
            {
                "name": test.name,
                "unique_id": test.unique_id,
                "kind": "singular" if test.test_name is None else "generic",
                "test_name": test.test_name or test.name,
                "column": test.column_name,
                "severity": severity,
                "attached_to": targets.label(target),
                "references": [targets.label(p) for p in parents],
                "description": test.description,
                "tags": test.tags,
            }
        )
    return by_target


class _Targets:
    """The transforms and sources a test can be attached to, and the attachment rule."""

    def __init__(
        self, manifest: DbtManifest, transforms: Mapping[str, str], sources: Mapping[str, str]
    ) -> None:
        self.manifest = manifest
        self.transforms = transforms
        self.sources = sources
        self._depth: dict[str, int] | None = None
        self._hint_names = {  # how a test's file_key_name ("models.x", "sources.y") names parents
            "models": {n.unique_id: n.name for n in manifest.nodes},
            "sources": {s.unique_id: s.source_name for s in manifest.sources},
        }

    def label(self, uid: str) -> str:
        """The transform name or source key of ``uid``."""
        return self.transforms.get(uid) or self.sources[uid]

    def attach(self, test: TestRecord, parents: list[str]) -> str:
        """The unique_id of the parent ``test`` is attached to (rules in the module docstring)."""
        if test.attached_node is not None and test.attached_node in parents:
            return test.attached_node
        if len(parents) == 1:
            return parents[0]
        kind, _, named = (test.file_key_name or "").partition(".")
        by_name = self._hint_names.get(kind, {})
        hinted = [p for p in parents if by_name.get(p) == named]
        if len(hinted) == 1:
            return hinted[0]
        if self._depth is None:
            self._depth = self._depths()
        depth = self._depth
        return min(parents, key=lambda p: (-depth.get(p, -1), self.label(p)))

    def _depths(self) -> dict[str, int]:
        """Longest distance of each transform from a root of the graph (Kahn's algorithm)."""
        parents = {
            n.unique_id: [d for d in n.depends_on if d in self.transforms]
            for n in self.manifest.nodes
        }
        children: dict[str, list[str]] = {uid: [] for uid in parents}
        waiting = {uid: len(ps) for uid, ps in parents.items()}
        for uid, ps in parents.items():
            for parent in ps:
                children[parent].append(uid)
        depth = dict.fromkeys(parents, 0)
        ready = [uid for uid, count in waiting.items() if count == 0]
        while ready:
            uid = ready.pop()
            for child in children[uid]:
                depth[child] = max(depth[child], depth[uid] + 1)
                waiting[child] -= 1
                if waiting[child] == 0:
                    ready.append(child)
        return depth
