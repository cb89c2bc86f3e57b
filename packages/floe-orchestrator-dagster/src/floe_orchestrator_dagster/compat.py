"""Every Dagster and dagster-dbt internal this adapter uses, in one place.

dagster-dbt keeps its version shims in one ``compat.py``; so does this adapter. A name below is
not part of Dagster's or dagster-dbt's public API (a ``dagster._…`` module, or a dagster-dbt
module that ``dagster_dbt`` does not export), so a release may move or change it without notice.
Nothing else in ``floe_orchestrator_dagster`` imports such a name
(``tests/test_layout.py`` keeps it so).

**Checked against** Dagster 1.10.21 with dagster-dbt 0.26.21 (the oldest supported:
``nox -s "tests_dagster(dagster='1.10')"``) and Dagster 1.13.27 with dagster-dbt 0.29.27 (what
``uv.lock`` pins). When upgrading, check each row, then the behaviour the adapter relies on
without importing anything (the list after the table).

===================================  =========================================  =================
name here                            where it lives                             used by
===================================  =========================================  =================
``DISALLOWED_NAMES``                 ``dagster._core.definitions.utils``        reserved asset
                                                                                names
``suppress_dagster_warnings``        ``dagster._utils.warnings``                ``dbt.specs``
``UnresolvedAssetJobDefinition``     ``dagster._core.definitions.``             jobs (type only)
                                     ``unresolved_asset_job_definition``
``InstigatorStatus``,                ``dagster._core.scheduler.instigation``    ``floe status``
``InstigatorType``
``SqliteEventLogStorage``,           ``dagster._core.storage.event_log.``       the SQLite event
``sqlite_busy_timeout_seconds()``    ``sqlite.sqlite_event_log``                log (decision 7)
``ConfigurableClassData``            ``dagster._serdes``                        the same
``SQLITE_RUN_STORAGE``,              ``dagster._core.storage.runs`` /           ``dagster.yaml``
``SQLITE_SCHEDULE_STORAGE``,         ``.schedules``, ``dagster.core.``          (class paths)
``QUEUED_RUN_COORDINATOR``           ``run_coordinator``
``DAGSTER_DBT_SELECT_METADATA_KEY``  ``dagster_dbt.asset_utils``                ``dbt.specs``
``validate_asset_keys``              ``dagster_dbt.asset_utils.``               (decision 5)
                                     ``_validate_asset_keys``
``get_upstream_unique_ids``,         ``dagster_dbt.asset_utils``                the same
``is_non_asset_node``
``ASSET_RESOURCE_TYPES``             ``dagster_dbt.utils``                      the same
``default_asset_key_fn``,            ``dagster_dbt.asset_utils``                ``dbt.translator``
``default_description_fn``,
``get_node``
===================================  =========================================  =================

Relied on without an import (check these too):

- ``DbtCliResource._cli_version``, ``_initialize_dbt_core_adapter`` (0.27+) and
  ``_initialize_adapter`` (0.26) are overridden by ``dbt.resource.FloeDbtCliResource``;
- ``DbtCliInvocation.stream_raw_events`` is wrapped by ``lineage.dbt_events`` (``stream()``
  reads it); ``lineage.dbt_op`` reads ``DbtCliInvocation.manifest``, ``target_path`` and
  ``dagster_dbt_translator`` (parents' asset keys for ``dagster/column_lineage``);
- ``SqliteEventLogStorage._connect``, ``_initdb``, ``_initialized_dbs``, ``_db_lock`` and
  ``conn_string_for_shard`` are used by ``runtime.sqlite_events`` (decision 7);
- ``DagsterDbtTranslator.settings`` is read by ``dbt.specs``;
- rules copied rather than imported: Dagster's tag-key rule (``dagster._utils.tags``) in
  ``dbt.tags`` and its email rule (``dagster._core.utils.is_valid_email``) in ``dbt.translator``.

Each name is imported the first time it is used (module ``__getattr__``, PEP 562), never when
this module is: the SQLite event log runs in the webserver and the daemon, where dagster-dbt
(about 3 s to import) is never needed, and ``floe up`` writes ``dagster.yaml`` without
importing Dagster at all.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from dagster._core.definitions.unresolved_asset_job_definition import (
        UnresolvedAssetJobDefinition,
    )
    from dagster._core.definitions.utils import DISALLOWED_NAMES
    from dagster._core.scheduler.instigation import InstigatorStatus, InstigatorType
    from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
    from dagster._serdes import ConfigurableClassData
    from dagster._utils.warnings import suppress_dagster_warnings
    from dagster_dbt.asset_utils import (
        DAGSTER_DBT_SELECT_METADATA_KEY,
        default_asset_key_fn,
        default_description_fn,
        get_node,
        get_upstream_unique_ids,
        is_non_asset_node,
    )
    from dagster_dbt.asset_utils import _validate_asset_keys as validate_asset_keys
    from dagster_dbt.utils import ASSET_RESOURCE_TYPES

__all__ = [
    "ASSET_RESOURCE_TYPES",
    "DAGSTER_DBT_SELECT_METADATA_KEY",
    "DISALLOWED_NAMES",
    "QUEUED_RUN_COORDINATOR",
    "SQLITE_RUN_STORAGE",
    "SQLITE_SCHEDULE_STORAGE",
    "ConfigurableClassData",
    "InstigatorStatus",
    "InstigatorType",
    "SqliteEventLogStorage",
    "UnresolvedAssetJobDefinition",
    "default_asset_key_fn",
    "default_description_fn",
    "get_node",
    "get_upstream_unique_ids",
    "is_non_asset_node",
    "sqlite_busy_timeout_seconds",
    "suppress_dagster_warnings",
    "validate_asset_keys",
]

#: ``dagster.yaml`` class references (``module``, ``class``) of Dagster's SQLite storages.
SQLITE_RUN_STORAGE: Final = ("dagster._core.storage.runs", "SqliteRunStorage")
SQLITE_SCHEDULE_STORAGE: Final = ("dagster._core.storage.schedules", "SqliteScheduleStorage")
#: The queued run coordinator's class reference, in the form Dagster's ``dagster.yaml`` docs
#: give (``ConfigurableClassData`` maps the public ``dagster.core`` onto ``dagster._core``).
QUEUED_RUN_COORDINATOR: Final = ("dagster.core.run_coordinator", "QueuedRunCoordinator")

_SQLITE_EVENT_LOG: Final = "dagster._core.storage.event_log.sqlite.sqlite_event_log"
#: name here -> (module, attribute), imported on first use.
_INTERNALS: Final[dict[str, tuple[str, str]]] = {
    "DISALLOWED_NAMES": ("dagster._core.definitions.utils", "DISALLOWED_NAMES"),
    "suppress_dagster_warnings": ("dagster._utils.warnings", "suppress_dagster_warnings"),
    "UnresolvedAssetJobDefinition": (
        "dagster._core.definitions.unresolved_asset_job_definition",
        "UnresolvedAssetJobDefinition",
    ),
    "InstigatorStatus": ("dagster._core.scheduler.instigation", "InstigatorStatus"),
    "InstigatorType": ("dagster._core.scheduler.instigation", "InstigatorType"),
    "SqliteEventLogStorage": (_SQLITE_EVENT_LOG, "SqliteEventLogStorage"),
    "ConfigurableClassData": ("dagster._serdes", "ConfigurableClassData"),
    "DAGSTER_DBT_SELECT_METADATA_KEY": (
        "dagster_dbt.asset_utils",
        "DAGSTER_DBT_SELECT_METADATA_KEY",
    ),
    "validate_asset_keys": ("dagster_dbt.asset_utils", "_validate_asset_keys"),
    "get_upstream_unique_ids": ("dagster_dbt.asset_utils", "get_upstream_unique_ids"),
    "is_non_asset_node": ("dagster_dbt.asset_utils", "is_non_asset_node"),
    "ASSET_RESOURCE_TYPES": ("dagster_dbt.utils", "ASSET_RESOURCE_TYPES"),
    "default_asset_key_fn": ("dagster_dbt.asset_utils", "default_asset_key_fn"),
    "default_description_fn": ("dagster_dbt.asset_utils", "default_description_fn"),
    "get_node": ("dagster_dbt.asset_utils", "get_node"),
}


def sqlite_busy_timeout_seconds() -> float:
    """Dagster's SQLite busy timeout, read where it is defined when it is there (not in 1.10:
    30 s, the value later releases define)."""
    module = importlib.import_module(_SQLITE_EVENT_LOG)
    return float(getattr(module, "SQLITE_BUSY_TIMEOUT_SECONDS", 30))


def __getattr__(name: str) -> Any:
    """Import the internal ``name`` stands for, the first time it is asked for."""
    try:
        module, attribute = _INTERNALS[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value
