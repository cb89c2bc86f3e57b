"""Compile faithfully or refuse: malformed variants of real manifests, against an oracle.

Each example is a real manifest (the shared corpus, v5-v12, and the core's fixtures, v4-v12
and Fusion) changed one way (:mod:`floe_orchestration_core.testing.manifest_mutations`: a type
swapped, a field or section deleted, a unique_id or key written twice, a dependency cycle, a
hostile name, deep nesting). The property:

- compile succeeds ⇒ the artifacts' graph (transform unique_ids, each transform's upstream
  transforms and sources, materialization, compute) and quality checks (which transform or
  source each is attached to) equal what :func:`oracle` reads from the same manifest;
- compile fails ⇒ the error is an :class:`InvalidManifestError` naming the JSON path (and the
  file, for a manifest read from bytes);
- and the oracle refusing (it cannot read the manifest without losing something) ⇒ compile
  fails too: nothing is dropped in silence.

:func:`oracle` is a separate, deliberately plain reader written from dbt's manifest format and
floe's documented rules; it shares no code with the compiler. Time and memory per case are
measured by ``benchmarks/bench_compile_mutations.py`` (docs/benchmarks.md), not asserted here.
"""

from __future__ import annotations

import functools
import json
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st

from floe_orchestration_core.artifacts import CompiledArtifacts
from floe_orchestration_core.compile import compile_artifacts
from floe_orchestration_core.errors import InvalidManifestError
from floe_orchestration_core.testing.manifest_mutations import ManifestCase, manifest_cases

FIXTURES = Path(__file__).parent / "fixtures"
CORPUS = Path(__file__).resolve().parents[3].parent / "shared" / "corpus" / "dbt-manifests"
MANIFESTS = sorted(FIXTURES.glob("manifest_*.json")) + (
    sorted(CORPUS.glob("*.json")) if CORPUS.is_dir() else []
)
WHEN = datetime(2026, 1, 1, tzinfo=UTC)
PRODUCT = {"name": "mutated", "compute": {"targets": {"main": {"type": "duckdb"}}}}
TRANSFORM_TYPES = ("model", "seed", "snapshot")
DEFAULT_MATERIALIZATION = {"model": "view", "seed": "seed", "snapshot": "snapshot"}
_WORK = Path(tempfile.mkdtemp(prefix="floe-mutations-"))


# The oracle -----------------------------------------------------------------------------------
class RefusedError(Exception):
    """The oracle cannot read the manifest without losing or inventing something."""


@dataclass(frozen=True)
class Expected:
    transforms: dict[str, tuple[str, frozenset[str], frozenset[str], str, str]]
    checks: dict[str, str]


def _object(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise RefusedError(f"not an object: {type(value).__name__}")
    return value


def _optional_object(value: Any) -> dict[str, Any]:
    return {} if value is None else _object(value)


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise RefusedError(f"not a string: {type(value).__name__}")
    return value


def _name(value: Any) -> str:
    name = _string(value)
    if not name or not name.isprintable() or any(c in name for c in " /\\"):
        raise RefusedError(f"not a name dbt writes: {name!r}")
    return name


def _unique_ids(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(i, str) and i for i in value):
        raise RefusedError("depends_on.nodes is not a list of unique ids")
    return value


def _enabled(entry: dict[str, Any]) -> bool:
    enabled = _optional_object(entry.get("config")).get("enabled", True)
    if not isinstance(enabled, bool):
        raise RefusedError("config.enabled is not a boolean")
    return enabled


def _transform_name(node: dict[str, Any]) -> str:
    name = _name(node["name"])
    version = node.get("version")
    if version is None or version == "":
        return name
    if isinstance(version, bool) or not isinstance(version, str | int | float):
        raise RefusedError("version is neither a string nor a number")
    return _name(f"{name}_v{version}")


class _Reading:
    """One plain reading of a manifest (see :func:`oracle`)."""

    def __init__(self, root: dict[str, Any]) -> None:
        self.nodes = _object(root["nodes"])
        raw_sources = _object(root["sources"])
        _object(root["exposures"])
        if set(self.nodes) & set(raw_sources):
            raise RefusedError("a unique id in nodes and sources")
        self.disabled = set(_optional_object(root.get("disabled")))
        self.known: set[str] = set()
        for section in ("metrics", "semantic_models", "saved_queries", "unit_tests", "groups"):
            self.known.update(_optional_object(root.get(section)))
        self.transforms: dict[str, dict[str, Any]] = {}
        self.tests: dict[str, dict[str, Any]] = {}
        for uid, raw in self.nodes.items():
            self._add_node(uid, _object(raw))
        self.sources = {uid: _object(raw) for uid, raw in raw_sources.items()}
        self.source_keys: dict[str, str] = {}
        for uid, source in self.sources.items():
            if _enabled(source):
                self.source_keys[uid] = f"{_name(source['source_name'])}.{_name(source['name'])}"
            else:
                self.disabled.add(uid)
        self.names = {uid: _transform_name(node) for uid, node in self.transforms.items()}
        for labels in (self.names, self.source_keys):
            if len(set(labels.values())) != len(labels):
                raise RefusedError("two transforms (or sources) with one name")

    def _add_node(self, uid: str, node: dict[str, Any]) -> None:
        if "config" not in node:
            raise RefusedError("a node without config")
        kind = _string(node["resource_type"])
        if not _enabled(node):
            self.disabled.add(uid)
        elif kind in TRANSFORM_TYPES:
            self.transforms[uid] = node
        elif kind == "test":
            self.tests[uid] = node
        else:
            self.known.add(uid)

    def label(self, uid: str) -> str:
        return self.names.get(uid) or self.source_keys[uid]

    def upstream(self, uid: str, node: dict[str, Any], *, test: bool) -> list[str]:
        if node.get("resource_type") == "seed":  # dbt < 1.5 writes seeds' depends_on without nodes
            deps = _unique_ids(_optional_object(node.get("depends_on")).get("nodes", []))
        else:
            deps = _unique_ids(_object(node["depends_on"])["nodes"])
        for dep in deps:
            if dep in self.disabled and not test:
                raise RefusedError(f"{uid} depends on disabled {dep}")
            if not (
                dep in self.names
                or dep in self.source_keys
                or dep in self.disabled
                or dep in self.known
            ):
                raise RefusedError(f"{uid} depends on unknown {dep}")
        return deps

    def graph(self) -> tuple[dict[str, Any], dict[str, int]]:
        graph = nx.DiGraph()
        graph.add_nodes_from(self.transforms)
        expected: dict[str, Any] = {}
        for uid, node in self.transforms.items():
            deps = self.upstream(uid, node, test=False)
            graph.add_edges_from((dep, uid) for dep in deps if dep in self.names)
            materialized = _optional_object(node["config"]).get("materialized")
            if materialized is not None and not isinstance(materialized, str):
                raise RefusedError("config.materialized is not a string")
            expected[uid] = (
                self.names[uid],
                frozenset(self.names[d] for d in deps if d in self.names),
                frozenset(self.source_keys[d] for d in deps if d in self.source_keys),
                materialized or DEFAULT_MATERIALIZATION[node["resource_type"]],
                "main",
            )
        if not nx.is_directed_acyclic_graph(graph):
            raise RefusedError("a dependency cycle")
        depth = dict.fromkeys(self.transforms, 0)
        for uid in nx.topological_sort(graph):
            for child in graph.successors(uid):
                depth[child] = max(depth[child], depth[uid] + 1)
        return expected, depth

    def checks(self, depth: dict[str, int]) -> dict[str, str]:
        checks: dict[str, str] = {}
        for uid, node in self.tests.items():
            _name(node["name"])
            severity = _optional_object(node["config"]).get("severity")
            if severity is not None and _string(severity).lower() not in ("error", "warn"):
                raise RefusedError("a severity dbt does not accept")
            deps = self.upstream(uid, node, test=True)
            parents = list(
                dict.fromkeys(d for d in deps if d in self.names or d in self.source_keys)
            )
            if parents:
                checks[uid] = self.label(self.attached(node, parents, depth))
        return checks

    def attached(self, test: dict[str, Any], parents: list[str], depth: dict[str, int]) -> str:
        """dbt's attached_node, else the only parent, else the one file_key_name names, else
        the deepest parent (sources first of all; ties: by label)."""
        attached = test.get("attached_node")
        if attached in parents:
            return str(attached)
        if len(parents) == 1:
            return parents[0]
        hint = test.get("file_key_name")
        kind, _, named = hint.partition(".") if isinstance(hint, str) else ("", "", "")
        section = {"models": self.transforms, "sources": self.sources}.get(kind, {})
        key = "name" if kind == "models" else "source_name"
        hinted = [p for p in parents if p in section and section[p].get(key) == named]
        if len(hinted) == 1:
            return hinted[0]
        return min(parents, key=lambda p: (-depth.get(p, -1), self.label(p)))


def oracle(manifest: Any) -> Expected:
    """The graph and check attachment of ``manifest``, read plainly; :class:`RefusedError`
    (or a KeyError/TypeError from reading it plainly) when it cannot be read without loss."""
    reading = _Reading(_object(manifest))
    transforms, depth = reading.graph()
    return Expected(transforms, reading.checks(depth))


def observed(artifacts: CompiledArtifacts) -> Expected:
    transforms = {
        t.unique_id: (
            t.name,
            frozenset(t.depends_on),
            frozenset(t.source_dependencies),
            t.materialization,
            t.compute,
        )
        for t in artifacts.transforms
    }
    checks = {c.unique_id: t.name for t in artifacts.transforms for c in t.quality_checks}
    checks |= {c.unique_id: s.key for s in artifacts.sources for c in s.quality_checks}
    return Expected(transforms, checks)


# The property ---------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _manifest(path: Path) -> tuple[dict[str, Any], bytes]:
    raw = path.read_bytes()
    return json.loads(raw), raw


def _compile(case: ManifestCase, index: int) -> CompiledArtifacts:
    if case.text is not None:
        path = _WORK / f"manifest_{index}.json"
        path.write_bytes(case.text)
        return compile_artifacts(path, product=PRODUCT, compiled_at=WHEN)
    assert case.data is not None
    return compile_artifacts(case.data, product=PRODUCT, compiled_at=WHEN)


def _oracle_of(case: ManifestCase) -> Expected | str:
    data = case.data
    if data is None:
        assert case.text is not None
        try:
            data = json.loads(case.text)  # duplicates collapse here: the oracle sees one
        except RecursionError:
            return "too deep for Python's decoder"
    try:
        return oracle(data)
    except (RefusedError, KeyError, TypeError, AttributeError) as exc:
        return f"{type(exc).__name__}: {exc}"


def check_case(case: ManifestCase, index: int = 0) -> None:
    note(f"{case.kind}: {case.detail}")
    expected = _oracle_of(case)
    refusal: InvalidManifestError | None = None
    try:
        artifacts = _compile(case, index)
    except InvalidManifestError as exc:
        refusal = exc
    event(f"{case.kind}: {'refused' if refusal is not None else 'compiled'}")
    if refusal is not None:
        note(f"refused: {refusal}")
        assert refusal.path, "a refusal names the JSON path"
        assert refusal.path == "$" or refusal.path in str(refusal), "the message shows the path"
        if case.text is not None:
            assert str(refusal).startswith(str(_WORK)), "a refusal names the file"
        return
    assert isinstance(expected, Expected), f"compiled what the oracle refuses ({expected})"
    assert case.kind not in ("duplicate", "cycle", "deep_nesting"), "must be refused"
    assert observed(artifacts) == expected


@pytest.mark.parametrize("path", MANIFESTS, ids=[p.stem for p in MANIFESTS])
@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_compile_of_a_mutated_manifest_is_faithful_or_refused_at_a_json_path(
    path: Path, data: Any
) -> None:
    manifest, raw = _manifest(path)
    case = data.draw(manifest_cases(manifest, raw), label="case")
    check_case(case)


@pytest.mark.parametrize("path", MANIFESTS, ids=[p.stem for p in MANIFESTS])
def test_the_oracle_reads_every_unmutated_manifest_as_the_compiler_does(path: Path) -> None:
    manifest, _ = _manifest(path)
    expected = oracle(manifest)
    artifacts = compile_artifacts(path, product=PRODUCT, compiled_at=WHEN)
    assert observed(artifacts) == expected
    assert expected.transforms, "the oracle sees transforms"
