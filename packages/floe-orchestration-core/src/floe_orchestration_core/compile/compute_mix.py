"""Which mixes of compute targets can run, refused at compile time when they cannot.

dbt runs each compute target's transforms with that target's profile, so a transform reads
only relations its own warehouse holds. What works:

- **Several dbt targets of one warehouse** (one adapter, one database or DuckDB file): a
  model on one reads a model built by another (different threads, memory, roles).
- **Different adapters, or different warehouses of one adapter, only where each part runs on
  its own**: no transform reads a transform or a produced source of another warehouse.

Refused, with one line per problem (each naming both ends, their compute targets and how to
fix it):

- a transform that reads (``ref``, also through ephemeral models) a transform on another
  warehouse;
- a transform that reads a source a Python asset produces on another warehouse (the asset
  writes through its own compute target's connection);
- a test that reads transforms of two warehouses (a ``relationships`` test across them).

A warehouse is the adapter type plus what the compute target's properties say of where it is
(``path`` for DuckDB; ``host``, ``port`` and ``database`` otherwise), compared only when both
targets say it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from floe_orchestration_core.artifacts import PythonAssetConfig, TransformConfig
from floe_orchestration_core.errors import ProductSpecError

__all__ = ["check_compute_mix"]

_WHERE_KEYS = {"duckdb": ("path",)}
_SERVER_KEYS = ("host", "port", "database")
_FIX = (
    "dbt on one warehouse cannot read another's relations: run both on compute targets of one "
    "warehouse (compute.overrides in floe.yaml), or split the product where no edge crosses"
)


class _Warehouses:
    def __init__(self, targets: Sequence[Mapping[str, Any]]) -> None:
        self.targets = {str(t["name"]): t for t in targets}

    def type(self, compute: str) -> str:
        return str(self.targets[compute]["type"]).lower()

    def label(self, compute: str) -> str:
        return f"compute target '{compute}' ({self.targets[compute]['type']})"

    def apart(self, first: str, second: str) -> bool:
        """Whether two compute targets are different warehouses (see the module docstring)."""
        if first == second:
            return False
        kind = self.type(first)
        if kind != self.type(second):
            return True
        properties = [dict(self.targets[c].get("properties") or {}) for c in (first, second)]
        for key in _WHERE_KEYS.get(kind, _SERVER_KEYS):
            values = [p.get(key) for p in properties]
            if None not in values and str(values[0]) != str(values[1]):
                return True
        return False


def _reads(transform: TransformConfig, by_name: Mapping[str, TransformConfig]) -> set[str]:
    """Non-ephemeral transforms ``transform`` reads, through ephemeral ones."""
    found: set[str] = set()
    seen: set[str] = set()
    pending = [transform]
    while pending:
        for name in pending.pop().depends_on:
            upstream = by_name.get(name)
            if upstream is None or name in seen:
                continue
            seen.add(name)
            if upstream.is_ephemeral:
                pending.append(upstream)
            else:
                found.add(name)
    return found


def _transform_reads(transforms: Sequence[TransformConfig], warehouses: _Warehouses) -> list[str]:
    by_name = {t.name: t for t in transforms}
    problems: list[str] = []
    for transform in transforms:
        if transform.is_ephemeral:
            continue
        for name in sorted(_reads(transform, by_name)):
            upstream = by_name[name]
            if warehouses.apart(transform.compute, upstream.compute):
                problems.append(
                    f"'{transform.name}' on {warehouses.label(transform.compute)} reads "
                    f"'{name}' on {warehouses.label(upstream.compute)}"
                )
        for check in transform.quality_checks:
            for name in check.references:
                other = by_name.get(name)
                if other is None or other is transform:
                    continue
                if warehouses.apart(transform.compute, other.compute):
                    problems.append(
                        f"test '{check.name}' of '{transform.name}' on "
                        f"{warehouses.label(transform.compute)} reads '{other.name}' on "
                        f"{warehouses.label(other.compute)}"
                    )
    return problems


def _source_reads(
    transforms: Sequence[TransformConfig],
    python_assets: Sequence[PythonAssetConfig],
    default_compute: str,
    warehouses: _Warehouses,
) -> list[str]:
    producers = {
        key: (asset.name, asset.compute or default_compute)
        for asset in python_assets
        for key in asset.produces
    }
    problems: list[str] = []
    for transform in transforms:
        for key in transform.source_dependencies:
            if key not in producers:
                continue
            asset, compute = producers[key]
            if warehouses.apart(transform.compute, compute):
                problems.append(
                    f"'{transform.name}' on {warehouses.label(transform.compute)} reads source "
                    f"'{key}', which python asset '{asset}' writes on {warehouses.label(compute)}"
                )
    return problems


def check_compute_mix(
    transforms: Sequence[TransformConfig],
    targets: Sequence[Mapping[str, Any]],
    default_compute: str,
    python_assets: Sequence[PythonAssetConfig],
    origin: str,
) -> None:
    """:class:`ProductSpecError` listing every read across warehouses (see the module doc)."""
    warehouses = _Warehouses(targets)
    if len(warehouses.targets) < 2:
        return
    problems = _transform_reads(transforms, warehouses)
    problems += _source_reads(transforms, python_assets, default_compute, warehouses)
    if problems:
        listing = "\n".join(f"  {problem}" for problem in problems)
        raise ProductSpecError(
            f"{origin}: {len(problems)} read(s) across warehouses that dbt cannot run:\n"
            f"{listing}\n{_FIX}",
            [("compute", problem) for problem in problems],
        )
