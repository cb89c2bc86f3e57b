"""Errors of floe orchestration: one base, one error per port.

Every error a user can meet names the thing that is wrong and what would be right. Adapters
raise these (or subclasses) with ``raise ... from exc`` at their boundary so the cause is kept.

Hierarchy::

    FloeError
    ├── ArtifactsError          (ValueError)  CompiledArtifacts could not be loaded/validated
    ├── CompileError            (ValueError)  a dbt manifest or floe.yaml could not be compiled
    │   └── ProductSpecError                  floe.yaml itself is invalid
    ├── ValidationError         (ValueError)  the transform graph is invalid
    │   ├── CycleError
    │   ├── DuplicateTransformError
    │   └── UnknownDependencyError
    ├── SelectionError          (ValueError)  a dbt-style selector is malformed
    ├── SchedulingError         (ValueError)
    │   ├── InvalidCronError
    │   └── InvalidTimezoneError
    ├── ResourceError           (ValueError)  bad quantity, request > limit, unknown size
    ├── LineageError
    ├── ConnectivityError
    ├── PluginError
    ├── PythonAssetError                      a product's Python asset cannot be loaded or failed
    ├── AlertError                            an alert channel is misconfigured
    ├── IngestionError                        an ingestion connector failed (retry may help)
    │   └── IngestionConfigError  (ValueError)  a connector is misconfigured (retry cannot help)
    └── RuntimeServiceError                   a local runtime service cannot start/stop
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "AlertError",
    "ArtifactsError",
    "CompileError",
    "ConnectivityError",
    "CycleError",
    "DuplicateTransformError",
    "FloeError",
    "IngestionConfigError",
    "IngestionError",
    "InvalidCronError",
    "InvalidTimezoneError",
    "LineageError",
    "PluginError",
    "ProductSpecError",
    "PythonAssetError",
    "ResourceError",
    "RuntimeServiceError",
    "SchedulingError",
    "SelectionError",
    "UnknownDependencyError",
    "ValidationError",
]


class FloeError(Exception):
    """Base of every error raised by floe orchestration."""


class ArtifactsError(FloeError, ValueError):
    """CompiledArtifacts could not be loaded or failed schema validation.

    ``problems`` holds one ``(json_path, message)`` pair per invalid field, for example
    ``("transforms[3].compute", "compute target 'big' is not defined; defined: duckdb")``.
    """

    def __init__(self, message: str, problems: Sequence[tuple[str, str]] = ()) -> None:
        super().__init__(message)
        self.problems: tuple[tuple[str, str], ...] = tuple(problems)


class CompileError(FloeError, ValueError):
    """A dbt manifest (or the product around it) could not be compiled into artifacts."""


class ProductSpecError(CompileError):
    """``floe.yaml`` is unreadable, too large, unsafe, or does not match the product schema.

    ``problems`` holds ``(json_path, message)`` pairs as for :class:`ArtifactsError`.
    """

    def __init__(self, message: str, problems: Sequence[tuple[str, str]] = ()) -> None:
        super().__init__(message)
        self.problems: tuple[tuple[str, str], ...] = tuple(problems)


class ValidationError(FloeError, ValueError):
    """The transform graph described by artifacts is not a valid DAG.

    ``problems`` lists every problem found (all of them, not only the first), each a
    sentence naming the models involved.
    """

    def __init__(self, message: str, problems: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.problems: tuple[str, ...] = tuple(problems) or (message,)


class CycleError(ValidationError):
    """Transforms depend on each other in a cycle; ``cycles`` lists each cycle's models."""

    def __init__(self, message: str, cycles: Sequence[Sequence[str]]) -> None:
        super().__init__(message)
        self.cycles: tuple[tuple[str, ...], ...] = tuple(tuple(c) for c in cycles)


class DuplicateTransformError(ValidationError):
    """Two or more transforms share one name; ``duplicates`` maps name → unique_ids."""

    def __init__(self, message: str, duplicates: dict[str, tuple[str, ...]]) -> None:
        super().__init__(message)
        self.duplicates = dict(duplicates)


class UnknownDependencyError(ValidationError):
    """A transform depends on a transform that does not exist."""


class SelectionError(FloeError, ValueError):
    """A dbt-style selector is malformed or uses an unsupported method."""


class SchedulingError(FloeError, ValueError):
    """A schedule is invalid."""


class InvalidCronError(SchedulingError):
    """A cron expression is malformed, out of range, or can never fire."""


class InvalidTimezoneError(SchedulingError):
    """A timezone is not an IANA timezone name; the message lists close matches."""


class ResourceError(FloeError, ValueError):
    """A resource quantity or size is invalid (bad quantity, request above limit, unknown size)."""


class LineageError(FloeError):
    """A lineage backend failed in a way its caller must know about (configuration, not I/O)."""


class ConnectivityError(FloeError):
    """A connection check could not be carried out.

    Raised only for misuse (a bad timeout or URL), never for a down server: a down server is a
    failed :class:`~floe_orchestration_core.connectivity.ValidationResult`.
    """


class PluginError(FloeError):
    """A plugin is malformed or misbehaves (wrong metadata, broken contract)."""


class PythonAssetError(FloeError):
    """A Python asset of the product: its file or function is missing, or it returned junk."""


class AlertError(FloeError, ValueError):
    """An alert channel is misconfigured (for example its secret's variable is unset)."""


class IngestionError(FloeError):
    """An ingestion connector failed while it ran (a source or destination that did not answer,
    a connector process that crashed). ``retryable`` says whether running it again may help."""

    retryable: bool = True


class IngestionConfigError(IngestionError, ValueError):
    """An ingestion entry is misconfigured (an unknown stream, a config the connector refuses,
    a missing secret variable): running it again cannot help, so it is never retried."""

    retryable = False


class RuntimeServiceError(FloeError):
    """A local runtime service (webserver, daemon) cannot start, answer or stop."""
