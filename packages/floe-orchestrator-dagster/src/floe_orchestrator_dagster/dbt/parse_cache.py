"""dbt partial parsing per op: each ``@dbt_assets`` op keeps its own ``partial_parse.msgpack``.

dagster-dbt runs every ``dbt build`` in a fresh target folder and seeds it with
``target/partial_parse.msgpack``, the file the last plain ``dbt`` command wrote. dbt throws that
file away ("Unable to do partial parsing because config vars, config profile, or config
target have changed") whenever the command's ``--target``, profile or vars differ from the
command that wrote it — which is always the case for an op whose compute target uses another
dbt target, and whenever anyone ran ``dbt`` without ``--target`` in between. Every step then
re-parses the whole project.

:func:`parse_cache_target` gives the op its own unique target folder, seeded with the op's own
cached ``partial_parse.msgpack`` (``<target>/.floe_partial_parse/<op>.msgpack``) when there is
one; :func:`store_parse_cache` keeps the file dbt wrote there for the next run of that op.
Both are best-effort: a cache that cannot be read or written only costs a full parse.
"""

from __future__ import annotations

import logging
import os
import shutil
import uuid
from pathlib import Path

__all__ = ["parse_cache_target", "store_parse_cache"]

logger = logging.getLogger(__name__)

PARTIAL_PARSE = "partial_parse.msgpack"
CACHE_FOLDER = ".floe_partial_parse"


def _target_base() -> Path:
    return Path(os.environ.get("DBT_TARGET_PATH") or "target")


def _cache_file(project_dir: Path, op_name: str) -> Path:
    base = _target_base()
    base = base if base.is_absolute() else project_dir / base
    return base / CACHE_FOLDER / f"{op_name}.msgpack"


def parse_cache_target(project_dir: Path, op_name: str, run_id: str) -> Path:
    """A new target folder for one ``dbt`` invocation of ``op_name``, seeded from its cache.

    Returned as dagster-dbt expects ``target_path`` (relative to the project unless the
    configured target path is absolute).
    """
    relative = _target_base() / f"{op_name}-{run_id[:7]}-{uuid.uuid4().hex[:7]}"
    folder = relative if relative.is_absolute() else project_dir / relative
    cached = _cache_file(project_dir, op_name)
    if cached.is_file():
        try:
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(cached, folder / PARTIAL_PARSE)
        except OSError as exc:
            logger.debug("dbt parse cache of %s not used: %s", op_name, exc)
    return relative


def store_parse_cache(project_dir: Path, op_name: str, target_path: Path) -> None:
    """Keep the ``partial_parse.msgpack`` dbt wrote in ``target_path`` for ``op_name``."""
    folder = target_path if target_path.is_absolute() else project_dir / target_path
    written = folder / PARTIAL_PARSE
    if not written.is_file():
        return
    cached = _cache_file(project_dir, op_name)
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        temporary = cached.with_name(f".{cached.name}.{uuid.uuid4().hex[:8]}")
        shutil.copyfile(written, temporary)
        os.replace(temporary, cached)
    except OSError as exc:
        logger.debug("dbt parse cache of %s not stored: %s", op_name, exc)
