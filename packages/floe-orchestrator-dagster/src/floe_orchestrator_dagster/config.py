"""Configuration of the Dagster adapter: :class:`DagsterAdapterConfig`.

The plugin declares this model by import path
(``config_model = "floe_orchestrator_dagster.config:DagsterAdapterConfig"``), so pydantic is
imported only when a plugin is constructed, never when the plugin class is discovered.

Both models are frozen and refuse unknown keys, so a typo in ``manifest.yaml`` is an error
naming the key instead of a silently ignored setting.

>>> config = DagsterAdapterConfig.model_validate({"translator": {"group_by": "schema"}})
>>> config.translator.group_by
'schema'
>>> config.webserver_url
'http://127.0.0.1:3000'
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from floe_orchestrator_dagster.errors import HelmValuesError

__all__ = ["DagsterAdapterConfig", "GroupBy", "TranslatorSettings", "split_image_reference"]

#: How assets are grouped in the Dagster UI (see :attr:`TranslatorSettings.group_by`).
GroupBy = Literal["compute", "schema", "package", "none"]


class TranslatorSettings(BaseModel):
    """The one settings object of the adapter's ``DagsterDbtTranslator`` subclass.

    Every switch that changes how dbt nodes become Dagster assets lives here, not in keyword
    arguments scattered over the adapter.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    enable_asset_checks: bool = Field(
        default=True,
        description="Turn dbt tests into Dagster asset checks (False: tests run, no checks).",
    )
    blocking_error_checks: bool = Field(
        default=True,
        description=(
            "Make checks from error-severity dbt tests blocking, so a failure stops "
            "downstream assets; warn-severity tests never block."
        ),
    )
    group_by: GroupBy = Field(
        default="compute",
        description=(
            "Asset group in the Dagster UI: the transform's compute target ('compute'), "
            "its schema ('schema'), its dbt package ('package'), or no group ('none', "
            "Dagster's default group)."
        ),
    )
    key_prefix: tuple[str, ...] = Field(
        default=(),
        description=(
            "Path components put in front of every asset key, e.g. ('analytics',) gives "
            "analytics/orders; empty means the translator's default keys."
        ),
    )
    tag_prefix: str = Field(
        default="",
        description=(
            "Namespace for dbt tags as Dagster tag keys, e.g. 'floe' gives 'floe/nightly'; "
            "empty keeps the bare tag name."
        ),
    )

    sql_in_description: bool = Field(
        default=False,
        description=(
            "Append the model's raw SQL to its asset description (dagster-dbt's default). Off "
            "by default: the SQL is the largest part of what a code server sends the webserver "
            "for each asset (and is in the dbt project and the run logs anyway); the "
            "description is then the dbt description, else 'dbt <resource type> <name>'."
        ),
    )

    dbt_table_metadata: bool = Field(
        default=True,
        description=(
            "Keep dagster-dbt's per-asset table metadata (column schema, table name, "
            "materialization type: what the UI's columns tab shows). False keeps only floe's "
            "and dagster-dbt's bookkeeping metadata: at 10,000 models about 2 s less to build "
            "the definitions and a 20 % smaller snapshot for the webserver."
        ),
    )

    @field_validator("key_prefix")
    @classmethod
    def _key_prefix_components(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for component in value:
            if not component or component.strip() != component or "/" in component:
                raise ValueError(
                    f"key_prefix component {component!r} must be a non-empty name without "
                    "'/' or surrounding spaces, e.g. ('analytics',)"
                )
        return value

    @field_validator("tag_prefix")
    @classmethod
    def _tag_prefix_shape(cls, value: str) -> str:
        if value != value.strip() or value.endswith("/"):
            raise ValueError(
                f"tag_prefix {value!r} must have no surrounding spaces and no trailing '/', "
                "e.g. 'floe' (the '/' separator is added for you)"
            )
        return value


class DagsterAdapterConfig(BaseModel):
    """Configuration of ``DagsterOrchestratorPlugin``.

    - ``webserver_url``: the Dagster webserver that ``validate_connection()`` queries when
      called without a URL (an ``http://`` or ``https://`` URL).
    - ``translator``: :class:`TranslatorSettings` for the asset translator.
    - ``freeze_gc``: process-wide garbage-collector tuning while definitions are built (see
      the field).
    - ``user_code_image``: the code server image ``get_helm_values()`` puts in the user
      deployment (see the field).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    webserver_url: str = Field(
        default="http://127.0.0.1:3000",
        description="Dagster webserver queried by validate_connection() when no URL is given.",
    )
    translator: TranslatorSettings = Field(
        default_factory=TranslatorSettings,
        description="How dbt nodes become Dagster assets (see TranslatorSettings).",
    )
    freeze_gc: bool = Field(
        default=True,
        description=(
            "Pause Python's cyclic garbage collector while create_definitions runs (it "
            "allocates hundreds of thousands of long-lived objects, which full collections "
            "re-scan again and again) and gc.freeze() afterwards, so later collections skip "
            "the definitions a code server keeps for its lifetime. This affects the whole "
            "process: objects alive when definitions are built are never collected as cyclic "
            "garbage (reference counting still frees them). False leaves the collector alone."
        ),
    )
    executor: Literal["auto", "in_process", "multiprocess"] = Field(
        default="auto",
        description=(
            "How a run executes its steps. 'multiprocess': each step in its own process, "
            "parallel where the graph allows (Dagster's default). 'in_process': one process, "
            "one step at a time (dbt still uses its threads). 'auto': in_process when a "
            "compute target is DuckDB, whose database file takes one writer process at a "
            "time (parallel steps would fail on its lock), else multiprocess."
        ),
    )

    user_code_image: str | None = Field(
        default=None,
        description=(
            "Image of the product's gRPC code server, 'repository[:tag]' (e.g. "
            "'ghcr.io/acme/sales:1.2.0'), written into the user deployment of the Helm values "
            "(`floe helm values --artifacts`); `--image` overrides it. None and no `--image`: "
            "`floe helm values --artifacts` refuses, naming both ways to give one."
        ),
    )

    @field_validator("user_code_image")
    @classmethod
    def _image_reference(cls, value: str | None) -> str | None:
        if value is None:
            return None
        split_image_reference(value)  # HelmValuesError is a ValueError: pydantic reports it
        return value.strip()

    @field_validator("webserver_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        stripped = value.strip()
        scheme, sep, rest = stripped.partition("://")
        if not sep or scheme.lower() not in {"http", "https"} or not rest or " " in stripped:
            raise ValueError(
                f"webserver_url {value!r} must be an http(s) URL such as 'http://127.0.0.1:3000'"
            )
        return stripped.rstrip("/")


def split_image_reference(image: str) -> tuple[str, str | None]:
    """``repository[:tag]`` as ``(repository, tag)`` (tag None when there is none), or
    :class:`~floe_orchestrator_dagster.errors.HelmValuesError` (a ``ValueError``) naming the fix.

    >>> split_image_reference("ghcr.io/acme/sales:1.2.0")
    ('ghcr.io/acme/sales', '1.2.0')
    >>> split_image_reference("registry:5000/sales")
    ('registry:5000/sales', None)
    """
    text = image.strip()
    if not text or any(c.isspace() for c in text) or "@" in text:
        raise HelmValuesError(
            f"image {image!r} must be 'repository[:tag]' without spaces or digests, "
            "e.g. 'ghcr.io/acme/sales:1.2.0'"
        )
    repository, colon, tag = text.rpartition(":")
    if not colon or "/" in tag:  # no tag, or the colon belongs to a registry port
        return text, None
    if not repository or not tag:
        raise HelmValuesError(
            f"image {image!r} must be 'repository[:tag]' with both parts non-empty, "
            "e.g. 'ghcr.io/acme/sales:1.2.0'"
        )
    return repository, tag
