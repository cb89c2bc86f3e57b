"""Errors of floe orchestration: one base, one error per port.

Every error a user can meet names the thing that is wrong and what would be right. Adapters
raise these (or subclasses) with ``raise ... from exc`` at their boundary so the cause is kept.

Hierarchy::

    FloeError
    ├── ArtifactsError          (ValueError)  CompiledArtifacts could not be loaded/validated
    ├── CompileError            (ValueError)  a dbt manifest or floe.yaml could not be compiled
    │   ├── ProductSpecError                  floe.yaml itself is invalid
    │   └── InvalidManifestError              manifest.json is not what dbt writes (JSON path)
    │       ├── DuplicateUniqueIdError        one unique_id twice
    │       └── ManifestCycleError            transforms depend on each other in a cycle
    ├── ValidationError         (ValueError)  the transform graph is invalid
    │   ├── CycleError
    │   ├── DuplicateTransformError
    │   ├── UnknownDependencyError
    │   └── InvalidNameError                  a name the orchestrator cannot carry
    ├── SelectionError          (ValueError)  a dbt-style selector is malformed
    ├── SchedulingError         (ValueError)
    │   ├── InvalidCronError
    │   └── InvalidTimezoneError
    ├── ResourceError           (ValueError)  bad quantity, request > limit, unknown size
    ├── LineageError
    ├── ConnectivityError
    ├── PluginError
    ├── PythonAssetError                      a product's Python asset cannot be loaded or failed
    ├── DbtProfileError         (ValueError)  profiles.yml missing, unreadable, or not renderable
    │   └── ProfileVariableMissingError       env_var() names an unset variable, no default
    ├── WarehouseError                        no connection to a compute target's warehouse
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
    "DbtProfileError",
    "DuplicateTransformError",
    "DuplicateUniqueIdError",
    "FloeError",
    "IngestionConfigError",
    "IngestionError",
    "InvalidCronError",
    "InvalidManifestError",
    "InvalidNameError",
    "InvalidTimezoneError",
    "LineageError",
    "ManifestCycleError",
    "PluginError",
    "ProductSpecError",
    "ProfileVariableMissingError",
    "PythonAssetError",
    "ResourceError",
    "RuntimeServiceError",
    "SchedulingError",
    "SelectionError",
    "UnknownDependencyError",
    "ValidationError",
    "WarehouseError",
    "quoted",
]

#: Longest piece of user text (a name, a key) quoted in a message.
_QUOTE_LIMIT = 80


def quoted(text: str, limit: int = _QUOTE_LIMIT) -> str:
    """``text`` quoted as Python's ``repr`` quotes it, safe to print in a message: characters
    that are not printable (a newline, a bidirectional override, ...) are escaped, a quote
    inside picks the other quote, and a text longer than ``limit`` is cut with ``…``
    (``'orders'``, ``'a\\nb'``, ``"o'brien"``)."""
    return repr(text if len(text) <= limit else text[: limit - 1] + "\u2026")


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


class InvalidManifestError(CompileError):
    """A dbt ``manifest.json`` does not hold what dbt writes there (for the schema version it
    declares), so compiling it could only give wrong artifacts.

    ``file`` names the manifest, ``path`` is the JSON path of the first bad field (``$`` for
    the whole document, e.g. ``nodes["model.shop.orders"].config.materialized``), ``expected``
    says what would be right. ``problems`` holds one ``(json_path, message)`` pair per problem
    when several are reported at once (dependencies on missing nodes, repeated names).
    """

    def __init__(
        self,
        message: str,
        *,
        file: str,
        path: str,
        expected: str,
        problems: Sequence[tuple[str, str]] = (),
    ) -> None:
        super().__init__(message)
        self.file = file
        self.path = path
        self.expected = expected
        self.problems: tuple[tuple[str, str], ...] = tuple(problems) or ((path, expected),)


class DuplicateUniqueIdError(InvalidManifestError):
    """One dbt unique_id appears twice (two keys of one JSON object, or in two sections):
    dbt writes each node once, so one of them would be lost. ``unique_id`` names it."""

    def __init__(self, message: str, *, file: str, path: str, unique_id: str) -> None:
        super().__init__(
            message, file=file, path=path, expected=f"unique_id {quoted(unique_id)} once"
        )
        self.unique_id = unique_id


class ManifestCycleError(InvalidManifestError):
    """Transforms depend on each other in a cycle (a self-dependency included); dbt refuses
    such a project. ``cycles`` lists each cycle's transform names, in dependency order."""

    def __init__(
        self, message: str, *, file: str, path: str, cycles: Sequence[Sequence[str]]
    ) -> None:
        super().__init__(message, file=file, path=path, expected="no dependency cycle")
        self.cycles: tuple[tuple[str, ...], ...] = tuple(tuple(c) for c in cycles)


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


class InvalidNameError(ValidationError):
    """Names of the artifacts the selected orchestrator cannot carry (a model whose asset key
    Dagster refuses, ...). ``problems`` holds one sentence per name, naming the model and the
    rule; ``names`` the offending names and ``unique_ids`` their dbt unique_ids ("" when none)
    in the same order."""

    def __init__(
        self,
        message: str,
        problems: Sequence[str],
        names: Sequence[str],
        unique_ids: Sequence[str] = (),
    ) -> None:
        super().__init__(message, problems)
        self.names: tuple[str, ...] = tuple(names)
        self.unique_ids: tuple[str, ...] = tuple(unique_ids) or ("",) * len(self.names)


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


class DbtProfileError(FloeError, ValueError):
    """A dbt profile cannot be read the way dbt reads it: ``profiles.yml`` is missing or
    invalid, it lacks the project's profile or the target, or a value cannot be rendered."""


class ProfileVariableMissingError(DbtProfileError):
    """``env_var('NAME')`` without a default, and ``NAME`` is not set; ``variable`` names it and
    ``profiles_file`` is the ``profiles.yml`` that reads it."""

    def __init__(self, message: str, *, variable: str, profiles_file: str) -> None:
        super().__init__(message)
        self.variable = variable
        self.profiles_file = profiles_file


class WarehouseError(FloeError):
    """A compute target's warehouse cannot be reached the way it was asked for: no DuckDB file
    (``warehouse_path()`` of a server warehouse), an adapter floe has no connection for, or a
    missing driver. The message names the compute target and the fix."""


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
