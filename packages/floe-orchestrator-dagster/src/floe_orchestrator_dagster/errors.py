"""Errors of the Dagster adapter: one base, one class per problem others must catch.

Hierarchy (all are :class:`~floe_orchestration_core.errors.FloeError`, so the core's
template methods let them pass through unchanged)::

    DagsterAdapterError
    ├── TagCollisionError       (ValueError)  two floe tags map to one Dagster tag key
    ├── DbtProjectMissingError                 a run needs the dbt project, which is absent
    ├── DbtManifestError                       the dbt manifest is unreadable or not the one
    │                                          compiled
    ├── JobDefinitionError      (ValueError)  a schedule's job cannot be built as asked
    ├── HelmValuesError         (ValueError)  chart values cannot be derived as asked
    └── DagsterCompatibilityError             the installed Dagster lacks a needed API

Every message names the thing that is wrong and what would be right. A name Dagster would
refuse is the core's :class:`~floe_orchestration_core.errors.InvalidNameError`, raised by the
plugin's ``check_names`` (:mod:`floe_orchestrator_dagster.definitions.names`).
"""

from __future__ import annotations

from floe_orchestration_core.errors import FloeError

__all__ = [
    "DagsterAdapterError",
    "DagsterCompatibilityError",
    "DbtManifestError",
    "DbtProjectMissingError",
    "HelmValuesError",
    "JobDefinitionError",
    "TagCollisionError",
]


class DagsterAdapterError(FloeError):
    """Base of every error raised by the Dagster adapter."""


class TagCollisionError(DagsterAdapterError, ValueError):
    """Two distinct floe tags map to the same Dagster tag key once invalid characters are
    replaced; raised when definitions are generated, naming both tags and the shared key."""


class DbtProjectMissingError(DagsterAdapterError):
    """A run (or anything that invokes dbt) needs the dbt project directory, which does not
    exist; definitions built from the manifest alone load, but cannot execute."""


class DbtManifestError(DagsterAdapterError):
    """The dbt manifest cannot be used: unreadable, not JSON, or not the one compiled."""


class JobDefinitionError(DagsterAdapterError, ValueError):
    """A job or schedule cannot be built from the artifacts as asked, e.g. a schedule whose
    selection mixes two partitionings (Dagster runs one partitioning per job)."""


class HelmValuesError(DagsterAdapterError, ValueError):
    """Helm values cannot be derived as asked, e.g. an image reference that is not
    ``repository[:tag]``."""


class DagsterCompatibilityError(DagsterAdapterError):
    """The installed Dagster/dagster-dbt lacks an API this adapter needs; the message names
    the supported range (Dagster 1.10 through 1.13)."""
