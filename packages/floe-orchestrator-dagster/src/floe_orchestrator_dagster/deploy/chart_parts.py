"""The building blocks of the chart's values model: base models, images, resources, pods.

Every values model derives from :class:`ValuesModel`: camelCase keys (as the community Dagster
chart spells them), no unknown key, and every key required in the JSON Schema, so that setting
one to ``null`` (which deletes it in Helm) is refused. :class:`OptionalValuesModel` is the
exception for models whose left-out keys the chart fills in. The security contexts accept only
what Pod Security "restricted" allows; a ``resources`` block needs requests and limits for cpu
and memory. The chart's sections and :class:`~.chart_values.ChartValues` are in
:mod:`.chart_values`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from floe_orchestration_core.resources import ResourceSpec, get_preset

__all__ = [
    "DNS_LABEL_PATTERN",
    "QUANTITY_PATTERN",
    "Capabilities",
    "FallbackImage",
    "ImageSpec",
    "NameRef",
    "OptionalValuesModel",
    "PodSecurityContext",
    "Probe",
    "PullPolicy",
    "Quantities",
    "Quantity",
    "ResourcesSpec",
    "SeccompProfile",
    "SecurityContext",
    "ValuesModel",
    "WorkloadValues",
    "preset_resources",
]

#: A Kubernetes quantity such as ``500m``, ``2``, ``1.5``, ``512Mi`` or ``2Gi``.
QUANTITY_PATTERN = r"^([0-9]+(\.[0-9]+)?)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$"
#: A DNS-1123 label: what a Deployment, Service and code location may be named.
DNS_LABEL_PATTERN = r"^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$"

Quantity = Annotated[str, Field(pattern=QUANTITY_PATTERN)] | Annotated[float, Field(gt=0)]
PullPolicy = Literal["Always", "IfNotPresent", "Never"]


class ValuesModel(BaseModel):
    """Base of every values model: camelCase keys, no unknown keys, every key required."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        alias_generator=to_camel,
        populate_by_name=True,
        json_schema_serialization_defaults_required=True,
    )


class OptionalValuesModel(ValuesModel):
    """Base of the models whose keys may be left out (the chart supplies the default)."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=False)


class NameRef(ValuesModel):
    """A reference to a Secret or ConfigMap by name (``{name: ...}``)."""

    name: str = Field(min_length=1)


class ImageSpec(ValuesModel):
    """A container image; an empty ``tag`` means the chart's ``appVersion``."""

    repository: str = Field(min_length=1)
    tag: str = ""
    pull_policy: PullPolicy = "IfNotPresent"


class FallbackImage(ValuesModel):
    """The user-code image used by deployments that name none (empty: each must name one)."""

    repository: str = ""
    tag: str = ""
    pull_policy: PullPolicy = "IfNotPresent"


class Quantities(ValuesModel):
    cpu: Quantity
    memory: Quantity


class ResourcesSpec(ValuesModel):
    """A container's ``resources``: requests and limits, both required."""

    requests: Quantities
    limits: Quantities

    @classmethod
    def from_spec(cls, spec: ResourceSpec) -> ResourcesSpec:
        """The block for a core :class:`ResourceSpec` (e.g. a size preset)."""
        return cls.model_validate(spec.to_kubernetes())


def preset_resources(size: str) -> ResourcesSpec:
    return ResourcesSpec.from_spec(get_preset(size))


class SeccompProfile(ValuesModel):
    type: Literal["RuntimeDefault"] = "RuntimeDefault"


def _drop_all() -> list[Literal["ALL"]]:
    return ["ALL"]


class Capabilities(ValuesModel):
    drop: list[Literal["ALL"]] = Field(default_factory=_drop_all, min_length=1)


class PodSecurityContext(ValuesModel):
    """Pod-level security context; only non-root users and the runtime's seccomp profile."""

    run_as_non_root: Literal[True] = True
    run_as_user: int = Field(default=1001, ge=1)
    run_as_group: int = Field(default=1001, ge=0)
    fs_group: int = Field(default=1001, ge=0)
    seccomp_profile: SeccompProfile = Field(default_factory=SeccompProfile)


class SecurityContext(ValuesModel):
    """Container-level security context meeting Pod Security "restricted"."""

    run_as_non_root: Literal[True] = True
    allow_privilege_escalation: Literal[False] = False
    privileged: Literal[False] = False
    read_only_root_filesystem: Literal[True] = True
    capabilities: Capabilities = Field(default_factory=Capabilities)
    seccomp_profile: SeccompProfile = Field(default_factory=SeccompProfile)


class Probe(ValuesModel):
    """Probe timing; the handler (HTTP ``/server_info``, gRPC health, exec) is the chart's."""

    enabled: bool = True
    initial_delay_seconds: int = Field(default=0, ge=0)
    period_seconds: int = Field(default=20, ge=1)
    timeout_seconds: int = Field(default=10, ge=1)
    failure_threshold: int = Field(default=3, ge=1)


class WorkloadValues(ValuesModel):
    """What every Deployment of the chart has."""

    image: ImageSpec = Field(
        default_factory=lambda: ImageSpec(repository="docker.io/dagster/dagster-celery-k8s")
    )
    resources: ResourcesSpec = Field(default_factory=lambda: preset_resources("medium"))
    pod_security_context: PodSecurityContext = Field(default_factory=PodSecurityContext)
    security_context: SecurityContext = Field(default_factory=SecurityContext)
    env: dict[str, str] = Field(
        default_factory=dict,
        description="Plain environment variables; secrets go through envSecrets, never here.",
    )
    env_config_maps: list[NameRef] = Field(default_factory=list)
    env_secrets: list[NameRef] = Field(default_factory=list)
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    node_selector: dict[str, str] = Field(default_factory=dict)
    affinity: dict[str, Any] = Field(default_factory=dict)
    tolerations: list[dict[str, Any]] = Field(default_factory=list)
