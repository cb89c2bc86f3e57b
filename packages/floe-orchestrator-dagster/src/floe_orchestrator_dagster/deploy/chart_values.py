"""The values of the ``charts/floe-dagster`` chart as a pydantic model, and its JSON Schema.

:class:`ChartValues` is the single source of ``charts/floe-dagster/values.schema.json``:
:func:`chart_schema_text` renders the schema, :func:`write_chart_schema` writes it, and the
test suite fails when the committed file drifts from the model (and when the chart's
``values.yaml`` differs from the model's defaults)::

    python -m floe_orchestrator_dagster.deploy.chart_values charts/floe-dagster

Keys follow the community Dagster chart (``dagsterWebserver``, ``dagsterDaemon``,
``dagster-user-deployments``, ``postgresql``, ``runLauncher``, ``ingress``, ``retention``,
``global``, …); settings only floe's chart has live under the one top-level key ``floe``.

The schema is where "secure by default" is enforced before any template runs:

- every model refuses unknown keys, so a literal ``postgresql.postgresqlPassword`` (or a
  typo) is an error; the database password is read only from the existing Secret named by
  ``global.postgresqlSecretName``, and ``generatePostgresqlPasswordSecret`` must stay false;
- security contexts accept only values that meet Pod Security "restricted"
  (``runAsNonRoot: true``, ``allowPrivilegeEscalation: false``, ``readOnlyRootFilesystem:
  true``, ``capabilities.drop: [ALL]``, ``seccompProfile.type: RuntimeDefault``);
- every ``resources`` block needs both requests and limits for cpu and memory;
- every key of a chart-wide setting is required, so setting one to ``null`` (which deletes
  it in Helm) is refused rather than silently dropping a security setting. The one
  exception is a user deployment, where the chart fills in what is left out from
  ``floe.userCode`` (so values emitted by ``floe helm values`` stay short).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import ConfigDict, Field

from floe_orchestrator_dagster.deploy.chart_parts import (
    DNS_LABEL_PATTERN,
    QUANTITY_PATTERN,
    FallbackImage,
    ImageSpec,
    NameRef,
    OptionalValuesModel,
    PodSecurityContext,
    Probe,
    PullPolicy,
    ResourcesSpec,
    SecurityContext,
    ValuesModel,
    WorkloadValues,
    preset_resources,
)

__all__ = [
    "ChartValues",
    "ImageSpec",
    "ResourcesSpec",
    "UserDeployment",
    "chart_schema",
    "chart_schema_text",
    "chart_values_text",
    "default_values",
    "write_chart_schema",
]


class WebserverService(ValuesModel):
    type: Literal["ClusterIP", "NodePort", "LoadBalancer"] = "ClusterIP"
    port: int = Field(default=80, ge=1, le=65535)
    annotations: dict[str, str] = Field(default_factory=dict)


class Webserver(WorkloadValues):
    """``dagsterWebserver``: the UI and GraphQL API (and its optional read-only twin)."""

    replica_count: int = Field(default=1, ge=1)
    path_prefix: str = Field(default="", pattern=r"^(/[A-Za-z0-9._~/-]*[A-Za-z0-9._~-])?$")
    log_level: Literal["critical", "error", "warning", "info", "debug"] = "info"
    enable_read_only: bool = Field(
        default=False, description="Also deploy a read-only webserver for viewers."
    )
    service: WebserverService = Field(default_factory=WebserverService)
    readiness_probe: Probe = Field(default_factory=lambda: Probe(period_seconds=10))
    liveness_probe: Probe = Field(default_factory=lambda: Probe(initial_delay_seconds=30))
    startup_probe: Probe = Field(
        default_factory=lambda: Probe(period_seconds=5, failure_threshold=60)
    )


class TagConcurrencyLimit(OptionalValuesModel):
    key: str = Field(min_length=1)
    value: str | None = None
    limit: int = Field(ge=0)


class QueuedRunCoordinatorConfig(ValuesModel):
    max_concurrent_runs: int = Field(default=10, ge=-1)
    tag_concurrency_limits: list[TagConcurrencyLimit] = Field(default_factory=list)
    dequeue_interval_seconds: int = Field(default=5, ge=1)


class RunCoordinatorConfig(ValuesModel):
    queued_run_coordinator: QueuedRunCoordinatorConfig = Field(
        default_factory=QueuedRunCoordinatorConfig
    )


class RunCoordinator(ValuesModel):
    enabled: bool = True
    type: Literal["QueuedRunCoordinator"] = "QueuedRunCoordinator"
    config: RunCoordinatorConfig = Field(default_factory=RunCoordinatorConfig)


class RunMonitoring(ValuesModel):
    enabled: bool = True
    start_timeout_seconds: int = Field(default=300, ge=1)
    poll_interval_seconds: int = Field(default=120, ge=1)
    max_resume_run_attempts: int = Field(default=0, ge=0)


class RunRetries(ValuesModel):
    enabled: bool = True
    max_retries: int = Field(default=0, ge=0)


class Daemon(WorkloadValues):
    """``dagsterDaemon``: schedules, sensors, the run queue, run monitoring and retries."""

    enabled: Literal[True] = True
    heartbeat_tolerance: int = Field(default=1800, ge=1)
    run_coordinator: RunCoordinator = Field(default_factory=RunCoordinator)
    run_monitoring: RunMonitoring = Field(default_factory=RunMonitoring)
    run_retries: RunRetries = Field(default_factory=RunRetries)
    liveness_probe: Probe = Field(
        default_factory=lambda: Probe(initial_delay_seconds=240, period_seconds=60)
    )


class UserDeployment(OptionalValuesModel):
    """One gRPC code server; what is left out comes from ``floe.userCode``."""

    name: str = Field(pattern=DNS_LABEL_PATTERN)
    port: int = Field(default=3030, ge=1, le=65535)
    image: ImageSpec | None = None
    dagster_api_grpc_args: list[str] | None = None
    resources: ResourcesSpec | None = None
    pod_security_context: PodSecurityContext | None = None
    security_context: SecurityContext | None = None
    readiness_probe: Probe | None = None
    env: dict[str, str] | None = None
    env_config_maps: list[NameRef] | None = None
    env_secrets: list[NameRef] | None = None
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None
    node_selector: dict[str, str] | None = None
    affinity: dict[str, Any] | None = None
    tolerations: list[dict[str, Any]] | None = None


class UserDeployments(ValuesModel):
    enabled: bool = True
    enable_subchart: bool = True
    image_pull_secrets: list[NameRef] = Field(default_factory=list)
    deployments: list[UserDeployment] = Field(default_factory=list)


class PostgresService(ValuesModel):
    port: int = Field(default=5432, ge=1, le=65535)


class PostgreSQL(ValuesModel):
    """An external PostgreSQL for run, event-log and schedule storage (not bundled)."""

    enabled: Literal[False] = Field(
        default=False,
        description="floe-dagster bundles no database server; point postgresqlHost at yours.",
    )
    postgresql_host: str = Field(default="postgresql", min_length=1)
    postgresql_username: str = Field(default="dagster", min_length=1)
    postgresql_database: str = Field(default="dagster", min_length=1)
    postgresql_params: dict[str, str | int] = Field(default_factory=dict)
    postgresql_scheme: str = Field(
        default="postgresql+psycopg2",
        min_length=1,
        description=(
            "SQLAlchemy URL scheme of the storage. psycopg2 is the driver dagster-postgres "
            "installs; SQLAlchemy 2.1 reads a bare 'postgresql' as psycopg 3."
        ),
    )
    service: PostgresService = Field(default_factory=PostgresService)


class Global(ValuesModel):
    postgresql_secret_name: str = Field(
        default="dagster-postgresql-secret",
        min_length=1,
        description="Existing Secret holding the database password (see floe.postgresql).",
    )
    dagster_home: str = Field(default="/opt/dagster/dagster_home", pattern=r"^/.+")
    service_account_name: str = ""


class ServiceAccount(ValuesModel):
    create: bool = True
    name: str = ""
    annotations: dict[str, str] = Field(default_factory=dict)


class K8sRunLauncherConfig(ValuesModel):
    image_pull_policy: PullPolicy = "IfNotPresent"
    job_namespace: str = ""
    load_incluster_config: bool = True
    env_config_maps: list[NameRef] = Field(default_factory=list)
    env_secrets: list[NameRef] = Field(default_factory=list)
    labels: dict[str, str] = Field(default_factory=dict)
    fail_pod_on_run_failure: bool = False
    resources: ResourcesSpec = Field(default_factory=lambda: preset_resources("medium"))


class RunLauncherConfig(ValuesModel):
    k8s_run_launcher: K8sRunLauncherConfig = Field(
        default_factory=K8sRunLauncherConfig, alias="k8sRunLauncher"
    )


class RunLauncher(ValuesModel):
    """``K8sRunLauncher`` (a Job per run) or ``DefaultRunLauncher`` (runs in the code server)."""

    type: Literal["K8sRunLauncher", "DefaultRunLauncher"] = "K8sRunLauncher"
    config: RunLauncherConfig = Field(default_factory=RunLauncherConfig)


class TickRetentionByType(ValuesModel):
    skipped: int = Field(default=7, ge=-1)
    success: int = Field(default=30, ge=-1)
    failure: int = Field(default=30, ge=-1)
    started: int = Field(default=30, ge=-1)


class TickRetention(ValuesModel):
    purge_after_days: int | TickRetentionByType = Field(default=-1)


class Retention(ValuesModel):
    enabled: bool = True
    schedule: TickRetention = Field(default_factory=lambda: TickRetention(purge_after_days=90))
    sensor: TickRetention = Field(
        default_factory=lambda: TickRetention(purge_after_days=TickRetentionByType())
    )


class IngressTLS(ValuesModel):
    enabled: bool = False
    secret_name: str = ""


class WebserverIngress(ValuesModel):
    host: str = ""
    path: str = "/"
    path_type: Literal["Exact", "Prefix", "ImplementationSpecific"] = "Prefix"
    tls: IngressTLS = Field(default_factory=IngressTLS)


class Ingress(ValuesModel):
    enabled: bool = False
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    dagster_webserver: WebserverIngress = Field(default_factory=WebserverIngress)
    read_only_dagster_webserver: WebserverIngress = Field(default_factory=WebserverIngress)


class Telemetry(ValuesModel):
    enabled: bool = False


class UserCodeDefaults(ValuesModel):
    """What a user deployment gets for each key it leaves out; also the run pods' settings."""

    image: FallbackImage = Field(default_factory=FallbackImage)
    dagster_api_grpc_args: list[str] = Field(
        default_factory=lambda: ["--python-file", "definitions.py"]
    )
    resources: ResourcesSpec = Field(default_factory=lambda: preset_resources("medium"))
    pod_security_context: PodSecurityContext = Field(default_factory=PodSecurityContext)
    security_context: SecurityContext = Field(default_factory=SecurityContext)
    readiness_probe: Probe = Field(default_factory=Probe)


class OAuth2Proxy(ValuesModel):
    auth_url: str = Field(default="", description="oauth2-proxy's /oauth2/auth URL (viewers).")
    signin_url: str = Field(default="", description="oauth2-proxy's /oauth2/start URL.")
    editors_auth_url: str = Field(
        default="",
        description="Auth URL for the full webserver, e.g. with ?allowed_groups=…; empty: authUrl.",
    )
    response_headers: list[str] = Field(
        default_factory=lambda: ["X-Auth-Request-User", "X-Auth-Request-Email"]
    )


class BasicAuth(ValuesModel):
    existing_secret: str = Field(default="", description="Secret with an htpasswd 'auth' key.")
    editors_existing_secret: str = Field(
        default="", description="htpasswd Secret for the full webserver; empty: existingSecret."
    )
    realm: str = "Dagster"


class IngressAuth(ValuesModel):
    type: Literal["none", "oauth2-proxy", "basic"] = "none"
    allow_unauthenticated: bool = Field(
        default=False,
        description="Must be true to enable the ingress with type none (no authentication).",
    )
    oauth2_proxy: OAuth2Proxy = Field(default_factory=OAuth2Proxy)
    basic: BasicAuth = Field(default_factory=BasicAuth)


class FloeIngress(ValuesModel):
    class_name: str = ""
    auth: IngressAuth = Field(default_factory=IngressAuth)


class NetworkPolicy(ValuesModel):
    enabled: bool = True
    webserver_ingress_from: list[dict[str, Any]] = Field(
        default_factory=list,
        description="NetworkPolicyPeers allowed to reach the webservers; empty: any pod.",
    )


class PodDisruptionBudget(ValuesModel):
    enabled: bool = True
    max_unavailable: int = Field(default=1, ge=1)


class FloePostgres(ValuesModel):
    password_secret_key: str = Field(default="postgresql-password", min_length=1)


class Rbac(ValuesModel):
    create: bool = True


class Floe(ValuesModel):
    """Everything only floe's chart has."""

    user_code: UserCodeDefaults = Field(default_factory=UserCodeDefaults)
    ingress: FloeIngress = Field(default_factory=FloeIngress)
    network_policy: NetworkPolicy = Field(default_factory=NetworkPolicy)
    pod_disruption_budget: PodDisruptionBudget = Field(default_factory=PodDisruptionBudget)
    postgresql: FloePostgres = Field(default_factory=FloePostgres)
    rbac: Rbac = Field(default_factory=Rbac)
    tmp_volume_size_limit: str = Field(default="1Gi", pattern=QUANTITY_PATTERN)


class ChartValues(ValuesModel):
    """Every value of ``charts/floe-dagster`` (what ``values.yaml`` holds, merged with yours)."""

    model_config = ConfigDict(title="floe-dagster chart values")

    global_: Global = Field(default_factory=Global, alias="global")
    service_account: ServiceAccount = Field(default_factory=ServiceAccount)
    image_pull_secrets: list[NameRef] = Field(default_factory=list)
    dagster_webserver: Webserver = Field(default_factory=Webserver)
    dagster_daemon: Daemon = Field(default_factory=Daemon)
    user_deployments: UserDeployments = Field(
        default_factory=UserDeployments, alias="dagster-user-deployments"
    )
    postgresql: PostgreSQL = Field(default_factory=PostgreSQL)
    generate_postgresql_password_secret: Literal[False] = Field(
        default=False,
        description="Never generate a Secret from a literal password; name yours instead.",
    )
    run_launcher: RunLauncher = Field(default_factory=RunLauncher)
    retention: Retention = Field(default_factory=Retention)
    ingress: Ingress = Field(default_factory=Ingress)
    telemetry: Telemetry = Field(default_factory=Telemetry)
    floe: Floe = Field(default_factory=Floe)


def chart_schema() -> dict[str, Any]:
    """The chart's ``values.schema.json`` as a mapping (every key of values.yaml required)."""
    return ChartValues.model_json_schema(by_alias=True, mode="serialization")


def chart_schema_text() -> str:
    """The exact text of ``values.schema.json`` (2-space JSON, trailing newline)."""
    return json.dumps(chart_schema(), indent=2, ensure_ascii=False) + "\n"


def default_values() -> dict[str, Any]:
    """The chart's defaults: what ``values.yaml`` holds."""
    return ChartValues().model_dump(by_alias=True, mode="json")


_VALUES_HEADER = """\
# Default values of the floe-dagster chart. GENERATED from the pydantic model
# floe_orchestrator_dagster.deploy.chart_values.ChartValues; do not edit by hand: change the
# model, then run
#   python -m floe_orchestrator_dagster.deploy.chart_values charts/floe-dagster
# (the test suite fails when this file or values.schema.json drifts from the model).
# Keys follow the community Dagster chart; floe-only settings live under `floe`.
# What each key does: charts/floe-dagster/README.md and docs/guides/deploy-kubernetes.md.
"""


def chart_values_text() -> str:
    """The exact text of ``values.yaml``: a header comment and :func:`default_values`."""
    body = yaml.safe_dump(default_values(), sort_keys=False, default_flow_style=False)
    return _VALUES_HEADER + body


def write_chart_schema(chart_dir: str | Path) -> tuple[Path, Path]:
    """Write ``values.schema.json`` and ``values.yaml`` into ``chart_dir``; return both paths."""
    directory = Path(chart_dir)
    schema = directory / "values.schema.json"
    values = directory / "values.yaml"
    schema.write_text(chart_schema_text(), encoding="utf-8")
    values.write_text(chart_values_text(), encoding="utf-8")
    return schema, values


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m floe_orchestrator_dagster.deploy.chart_values CHART_DIR")
    for written in write_chart_schema(sys.argv[1]):
        print(written)
