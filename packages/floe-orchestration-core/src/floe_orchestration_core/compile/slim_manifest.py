"""A slim dbt manifest written beside the compiled artifacts, so code servers skip the full one.

A dbt ``manifest.json`` holds every macro, doc, disabled node and child/parent map of the
project (66 MB at 10,000 models); an orchestrator adapter building definitions reads only the
nodes the artifacts know, and only some keys of each. :func:`write_slim_manifest` keeps exactly
that:

- the sections ``metadata`` (``dbt_schema_version``, ``project_id``, ``project_name``,
  ``generated_at``, ``adapter_type``), ``nodes``, ``sources`` and ``groups``;
- in ``nodes``, the artifacts' transforms and quality checks (tests); in ``sources``, the
  artifacts' sources; every other node (macros, analyses, disabled nodes, ...) is left out;
- every key of a node except :data:`DROPPED_NODE_KEYS` (keys no adapter reads);
- ``metadata.floe_manifest_checksum``: the sha256 of the full manifest it was cut from (the
  artifacts' ``dbt.manifest_checksum``), so a reader can tell a slim manifest from another
  compilation apart.

The artifacts reference the file in ``dbt.slim_manifest_path`` (as given, like
``dbt.manifest_path``). An adapter uses it only while the full manifest is unchanged (or gone):
once dbt rewrites ``target/manifest.json``, the full manifest is the truth again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from floe_orchestration_core.artifacts import CompiledArtifacts
from floe_orchestration_core.compile.manifest import read_manifest_file
from floe_orchestration_core.errors import CompileError

__all__ = [
    "CHECKSUM_KEY",
    "DROPPED_NODE_KEYS",
    "slim_manifest",
    "slim_manifest_path_for",
    "write_slim_manifest",
]

#: ``metadata`` key of a slim manifest: the sha256 of the full manifest it was cut from.
CHECKSUM_KEY = "floe_manifest_checksum"

#: Keys of dbt nodes that no adapter reads (neither to build definitions nor at run time).
DROPPED_NODE_KEYS: tuple[str, ...] = (
    "access",
    "build_path",
    "compiled_path",
    "config_call_dict",
    "constraints",
    "contract",
    "created_at",
    "deferred",
    "deprecation_date",
    "doc_blocks",
    "docs",
    "functions",
    "latest_version",
    "metrics",
    "patch_path",
    "primary_key",
    "refs",
    "sources",
    "time_spine",
    "unrendered_config",
    "unrendered_config_call_dict",
)

_METADATA_KEYS = (
    "dbt_schema_version",
    "project_id",
    "project_name",
    "generated_at",
    "adapter_type",
)


def slim_manifest_path_for(artifacts_path: str | Path) -> Path:
    """Where ``floe compile -o <artifacts_path>`` puts the slim manifest: beside it,
    ``compiled_artifacts.json`` → ``compiled_artifacts.dbt_manifest.json``."""
    path = Path(artifacts_path)
    return path.with_name(f"{path.stem}.dbt_manifest.json")


def _slim_node(node: object) -> object:
    if not isinstance(node, Mapping):
        return node  # the adapter normalises (or ignores) what is not a node
    return {key: value for key, value in node.items() if key not in DROPPED_NODE_KEYS}


def slim_manifest(artifacts: CompiledArtifacts, manifest: Mapping[str, Any]) -> dict[str, Any]:
    """The slim manifest of ``artifacts`` cut from the decoded full ``manifest`` (see above)."""
    nodes_in = manifest.get("nodes")
    sources_in = manifest.get("sources")
    nodes_in = nodes_in if isinstance(nodes_in, Mapping) else {}
    sources_in = sources_in if isinstance(sources_in, Mapping) else {}
    wanted = [t.unique_id for t in artifacts.transforms]
    wanted += [c.unique_id for t in artifacts.transforms for c in t.quality_checks]
    wanted += [c.unique_id for s in artifacts.sources for c in s.quality_checks]
    metadata_in = manifest.get("metadata")
    metadata = (
        {k: metadata_in[k] for k in _METADATA_KEYS if k in metadata_in}
        if isinstance(metadata_in, Mapping)
        else {}
    )
    metadata[CHECKSUM_KEY] = artifacts.dbt.manifest_checksum
    groups = manifest.get("groups")
    return {
        "metadata": metadata,
        "nodes": {uid: _slim_node(nodes_in[uid]) for uid in wanted if uid in nodes_in},
        "sources": {
            s.unique_id: _slim_node(sources_in[s.unique_id])
            for s in artifacts.sources
            if s.unique_id in sources_in
        },
        "groups": dict(groups) if isinstance(groups, Mapping) else {},
    }


def _dumps(document: Mapping[str, Any]) -> bytes:
    try:
        import orjson
    except ImportError:  # pragma: no cover - orjson is optional for the core
        return json.dumps(document, separators=(",", ":"), default=str).encode()
    return orjson.dumps(document, default=str)


def write_slim_manifest(
    artifacts: CompiledArtifacts,
    out_path: str | Path,
    *,
    manifest: str | Path | Mapping[str, Any] | None = None,
) -> CompiledArtifacts:
    """Write the slim manifest of ``artifacts`` to ``out_path``; the artifacts referencing it.

    ``manifest`` is the full manifest (path or decoded mapping); by default
    ``artifacts.dbt.manifest_path`` (relative to the current directory). The returned artifacts
    have ``dbt.slim_manifest_path = str(out_path)``; write those, not the ones given.
    """
    if manifest is None:
        manifest = artifacts.dbt.manifest_path
    data: Any = read_manifest_file(manifest)[1] if isinstance(manifest, str | Path) else manifest
    if not isinstance(data, Mapping):
        raise CompileError(f"{manifest}: expected a JSON object at the top level")
    out = Path(out_path)
    try:
        out.write_bytes(_dumps(slim_manifest(artifacts, data)))
    except OSError as exc:
        raise CompileError(f"{out}: cannot write the slim manifest ({exc.strerror})") from exc
    dbt = artifacts.dbt.model_copy(update={"slim_manifest_path": str(out_path)})
    return artifacts.model_copy(update={"dbt": dbt})
