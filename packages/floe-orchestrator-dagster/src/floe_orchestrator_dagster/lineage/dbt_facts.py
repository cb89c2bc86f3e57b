"""What a dbt invocation built, measured: column lineage and row counts of its models.

:class:`BuildFacts` turns, for each model dbt built, its compiled SQL and its parents' real
columns (:mod:`~floe_orchestrator_dagster.lineage.warehouse`) into column lineage
(:mod:`~floe_orchestrator_dagster.lineage.column_lineage`), and the rows it wrote into a row
count, in the two forms floe reports them:

- OpenLineage facets on the model's output: ``columnLineage`` (fields and dataset-level
  inputs, with transformation types) and ``outputStatistics`` (``rowCount``);
- :class:`NodeFacts` for Dagster: the same column mapping by parent node (the op turns it
  into ``dagster/column_lineage`` with the parents' asset keys) and ``dagster/row_count``.

Row counts: the adapter's own count of rows written when it gives one (seeds on every
adapter; tables and incremental models on Postgres: ``SELECT 4``); on DuckDB, which reports
none, a ``count(*)`` of each built table after the dbt process exited. Views get none.

Column lineage costs sqlglot's import (done on a thread while dbt runs) and a few
milliseconds per model; an invocation spends at most :data:`COLUMN_LINEAGE_BUDGET_SECONDS`
on it, models beyond get none (one DEBUG line). A model sqlglot cannot parse or resolve gets
none, with one DEBUG line; nothing here raises.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final

import attrs

from floe_orchestration_core.lineage import Dataset
from floe_orchestration_core.lineage.jobs import ProductLineage
from floe_orchestrator_dagster.lineage.column_lineage import (
    ColumnLineage,
    InputColumn,
    RelationKey,
    column_lineage,
    warm_up,
)
from floe_orchestrator_dagster.lineage.warehouse import WarehouseSnapshot, read_warehouse

__all__ = ["COLUMN_LINEAGE_BUDGET_SECONDS", "BuildFacts", "NodeFacts", "relation_key"]

logger = logging.getLogger(__name__)

#: Longest time one dbt invocation spends on column lineage (its models' SQL through sqlglot).
COLUMN_LINEAGE_BUDGET_SECONDS: Final = 2.0
_MAX_SQL_CHARS: Final = 256_000
_NOT_COUNTED: Final = frozenset({"view", "ephemeral", "materialized_view"})


@attrs.frozen
class NodeFacts:
    """A built node's row count and, per output column, its ``(parent unique id, column)``."""

    row_count: int | None = None
    columns: Mapping[str, tuple[tuple[str, str], ...]] | None = None


def relation_key(props: Mapping[str, Any]) -> RelationKey | None:
    """The (database, schema, table) of a manifest node or source, lower case."""
    table = props.get("identifier") if props.get("resource_type") == "source" else None
    table = table or props.get("alias") or props.get("name")
    schema = props.get("schema")
    if not table or not schema:
        return None
    return (str(props.get("database") or "").lower(), str(schema).lower(), str(table).lower())


def _dataset_key(dataset: Dataset) -> RelationKey | None:
    parts = dataset.name.lower().split(".")
    return (parts[0], parts[1], parts[2]) if len(parts) == 3 else None


class BuildFacts:
    """Facts of the nodes one dbt invocation built (see the module docstring)."""

    def __init__(
        self, model: ProductLineage, manifest: Mapping[str, Any], project_dir: Path
    ) -> None:
        self._model = model
        self._nodes: Mapping[str, Any] = manifest.get("nodes", {}) or {}
        self._sources: Mapping[str, Any] = manifest.get("sources", {}) or {}
        self._dialect = str((manifest.get("metadata") or {}).get("adapter_type") or "")
        self._project_dir = project_dir
        self._spent = 0.0
        self._over_budget = False
        self._unique_ids: dict[RelationKey, str] = {}
        for unique_id, props in (*self._nodes.items(), *self._sources.items()):
            key = relation_key(props)
            if key is not None:
                self._unique_ids.setdefault(key, unique_id)
        if any(props.get("resource_type") == "model" for props in self._nodes.values()):
            threading.Thread(target=_warm_up, name="floe-sqlglot-import", daemon=True).start()

    def materialization(self, unique_id: str) -> str:
        config = (self._nodes.get(unique_id) or {}).get("config") or {}
        transform = self._model.transforms_by_id.get(unique_id)
        return str(config.get("materialized") or (transform.materialization if transform else ""))

    def counted(self, unique_id: str) -> bool:
        """Whether a row count is taken for ``unique_id`` (not for views)."""
        return self.materialization(unique_id) not in _NOT_COUNTED

    def parents(self, unique_id: str) -> set[RelationKey]:
        """The relations ``unique_id``'s SQL reads (through ephemeral models, which dbt inlines)."""
        found: set[RelationKey] = set()
        pending, seen = [unique_id], {unique_id}
        while pending:
            props = self._nodes.get(pending.pop()) or {}
            for parent in (props.get("depends_on") or {}).get("nodes") or []:
                parent_props = self._nodes.get(parent) or self._sources.get(parent)
                if parent_props is None or parent in seen:
                    continue
                seen.add(parent)
                if (parent_props.get("config") or {}).get("materialized") == "ephemeral":
                    pending.append(parent)
                elif (key := relation_key(parent_props)) is not None:
                    found.add(key)
        return found

    def compiled_sql(self, target_path: Path | None, unique_id: str) -> str | None:
        """The node's compiled SQL, as dbt wrote it into the invocation's target folder."""
        node = self._nodes.get(unique_id)
        if target_path is None or not isinstance(node, Mapping):
            return None
        if node.get("resource_type") == "seed":
            return None
        original = str(node.get("original_file_path") or "")
        path = str(node.get("path") or "")
        if not original or not path:
            return None
        relative = (
            original
            if os.path.basename(path) == os.path.basename(original)
            else os.path.join(original, path)
        )
        package = str(node.get("package_name") or "")
        file = target_path / "compiled" / package / relative
        try:
            text = file.read_text(encoding="utf-8")
        except OSError:
            return None
        return text[:_MAX_SQL_CHARS] if text.strip() else None

    def output_key(self, unique_id: str) -> RelationKey | None:
        return relation_key(self._nodes.get(unique_id) or {})

    def read(
        self, compute_name: str | None, unique_ids: Iterable[str], *, count: bool
    ) -> WarehouseSnapshot | None:
        """The warehouse's columns of the parents of ``unique_ids`` (and, with ``count``,
        the row counts of the tables among them)."""
        compute = self._model.compute(compute_name)
        if compute is None:
            return None
        ids = list(unique_ids)
        relations = {key for uid in ids for key in self.parents(uid)}
        counted = {
            key for uid in ids if count and self.counted(uid) and (key := self.output_key(uid))
        }
        dbt = self._model.artifacts.dbt
        profiles_dir = Path(dbt.profiles_dir) if dbt.profiles_dir else None
        if profiles_dir is not None and not profiles_dir.is_absolute():
            profiles_dir = Path.cwd() / profiles_dir  # as the dbt resource resolves it
        return read_warehouse(
            compute,
            self._project_dir,
            relations=relations,
            count=counted,
            profiles_dir=profiles_dir,
            dbt_target=dbt.target,
        )

    def lineage(
        self, unique_id: str, sql: str | None, snapshot: WarehouseSnapshot | None
    ) -> ColumnLineage | None:
        """The column lineage of model ``unique_id`` (None: no SQL, no schema, over budget,
        or sqlglot could not parse it)."""
        if sql is None or snapshot is None or not self._dialect:
            return None
        if self._over_budget:
            return None
        schema = {
            key: snapshot.columns[key] for key in self.parents(unique_id) if key in snapshot.columns
        }
        started = time.monotonic()
        try:
            found = column_lineage(sql, dialect=self._dialect, schema=schema)
        except Exception as exc:
            logger.debug(
                "lineage: no column lineage for %s: sqlglot could not resolve its SQL (%s: %s)",
                unique_id,
                type(exc).__name__,
                str(exc)[:300],
            )
            found = None
        self._spent += time.monotonic() - started
        if self._spent > COLUMN_LINEAGE_BUDGET_SECONDS:
            self._over_budget = True
            logger.debug(
                "lineage: column lineage took %.1f s in this dbt invocation; later models get none",
                self._spent,
            )
        return found

    def output_facets(
        self,
        inputs: Iterable[Dataset],
        output: Dataset,
        lineage: ColumnLineage | None,
        rows: int | None,
    ) -> dict[str, Any]:
        """``columnLineage`` and ``outputStatistics`` for ``output`` (whatever is known)."""
        facets: dict[str, Any] = {}
        if lineage is not None:
            named = {key: d for d in inputs if (key := _dataset_key(d)) is not None}

            def field(column: InputColumn) -> dict[str, Any]:
                dataset = named.get(column.relation)
                return {
                    "namespace": dataset.namespace if dataset else output.namespace,
                    "name": dataset.name if dataset else ".".join(column.relation),
                    "field": column.column,
                    "transformations": [
                        {"type": kind, "subtype": subtype}
                        for kind, subtype in column.transformations
                    ],
                }

            facets["columnLineage"] = {
                "fields": {
                    name: {"inputFields": [field(c) for c in columns]}
                    for name, columns in lineage.fields.items()
                },
                "dataset": [field(c) for c in lineage.dataset],
            }
        if rows is not None:
            facets["outputStatistics"] = {"rowCount": rows}
        return facets

    def node_facts(self, lineage: ColumnLineage | None, rows: int | None) -> NodeFacts:
        """The Dagster side of the same facts (parents by unique id)."""
        if lineage is None:
            return NodeFacts(row_count=rows)
        columns = {
            name: tuple(
                (self._unique_ids[c.relation], c.column)
                for c in inputs
                if c.relation in self._unique_ids
            )
            for name, inputs in lineage.fields.items()
        }
        return NodeFacts(row_count=rows, columns=columns)


def _warm_up() -> None:
    try:
        warm_up()
    except Exception:  # sqlglot missing or broken: column lineage will say so per model
        logger.debug("lineage: importing sqlglot failed", exc_info=True)
