"""The product's Python steps beside the dbt transforms: ingestion, publication, other."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from floe_orchestration_core.artifacts.fields import FrozenModel, Identifier

__all__ = ["FunctionRef", "PythonAssetConfig"]

FunctionRef = Annotated[
    str,
    StringConstraints(pattern=r"^[^:]+\.py:[A-Za-z_][A-Za-z0-9_]*$"),
    Field(description="'path/to/file.py:function', the path relative to dbt.project_dir's base"),
]


class PythonAssetConfig(FrozenModel):
    """A Python step of the product beside the dbt transforms: ingestion, publication, other.

    ``function`` is called with one argument, an
    :class:`~floe_orchestration_core.python_assets.AssetRunContext`, and may return a mapping of
    metadata (row counts, paths) to record. An asset that ``produces`` dbt sources
    (``'source_name.table'``) is the asset of those sources: dbt models reading them run after it.
    ``depends_on`` names transforms, source keys or other Python assets that must run first.
    """

    name: Identifier
    kind: Literal["ingestion", "publication", "python"] = "python"
    function: FunctionRef
    produces: tuple[str, ...] = ()
    depends_on: tuple[str, ...] = ()
    inputs: tuple[str, ...] = Field(
        default=(), description="files or folders read (relative paths), for lineage"
    )
    outputs: tuple[str, ...] = Field(
        default=(), description="files or folders written (relative paths), for lineage"
    )
    compute: Identifier | None = Field(
        default=None, description="compute target whose properties the function gets"
    )
    description: str = ""
    tags: tuple[str, ...] = ()

    @property
    def file(self) -> str:
        """The Python file part of :attr:`function`."""
        return self.function.rsplit(":", 1)[0]

    @property
    def callable_name(self) -> str:
        """The function name part of :attr:`function`."""
        return self.function.rsplit(":", 1)[1]
