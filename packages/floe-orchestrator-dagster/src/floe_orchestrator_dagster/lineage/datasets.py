"""The run-time side of the one lineage model: the product's model, and what run time adds.

What every job reads and writes, its name and its facets come from the core's
:class:`~floe_orchestration_core.lineage.jobs.ProductLineage` (design-time export uses the
same one). Run time adds what only a run knows, in the emitters: the compiled SQL
(``sql`` job facet), column lineage (``columnLineage``) and row counts
(``outputStatistics``) of what was built, the dbt invocation (``dbt_run``, ``dbt_version``
run facets). A dbt node the artifacts do not know (a package's model compiled after them) is
named from dbt's own ``node_relation`` by :func:`unknown_node_job`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from floe_orchestration_core.artifacts import CompiledArtifacts
from floe_orchestration_core.lineage.jobs import JobLineage, ProductLineage, job_type_facets

__all__ = ["product_lineage", "unknown_node_job"]


def product_lineage(
    artifacts: CompiledArtifacts, base_dir: Path, namespace: str, asset_dir: Path | None = None
) -> ProductLineage:
    """The lineage model of ``artifacts``: seeds' files relative to ``base_dir`` (the dbt
    project), Python assets' files to ``asset_dir`` (where they run)."""
    return ProductLineage(artifacts, base_dir, namespace, asset_dir=asset_dir)


def unknown_node_job(
    model: ProductLineage, node_info: Mapping[str, Any], unique_id: str
) -> JobLineage:
    """The job of a dbt node the artifacts do not know, from dbt's ``node_info``."""
    relation = node_info.get("node_relation") or {}
    name = str(node_info.get("node_name") or unique_id.rsplit(".", maxsplit=1)[-1])
    kind = str(node_info.get("resource_type") or unique_id.split(".", maxsplit=1)[0])
    output = model.relation(
        None, relation.get("database"), relation.get("schema"), str(relation.get("alias") or name)
    )
    return JobLineage(
        job_namespace=model.namespace,
        job_name=f"{model.product}.{kind}.{name}",
        outputs=(output,),
        job_facets=job_type_facets("DBT", kind.upper()),
    )
