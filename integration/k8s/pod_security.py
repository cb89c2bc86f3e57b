"""Kubernetes' Pod Security Standards, *restricted* profile (which includes *baseline*), as
published in the Kubernetes documentation ("Pod Security Standards") and enforced by the
``PodSecurity`` admission controller, applied to one pod spec.

This is an implementation of the published rules, written from them and independent of the
chart's own values schema and templates: the tests run it over every pod spec the chart
renders and over pods it breaks on purpose, one rule at a time.

Every rule reads the pod spec and metadata as the API server receives them (camelCase
dicts). "Containers" means ``containers``, ``initContainers`` and ``ephemeralContainers``.
Rules that changed across releases take the Kubernetes minor the pod is checked for (the
safe sysctls and SELinux types grew; the probe/lifecycle host rule exists from 1.34).

Left out, on purpose: the relaxations for pods in a user namespace (``hostUsers: false``,
which lets ``runAsNonRoot``/``runAsUser`` and ``procMount: Unmasked`` through): the chart
never sets ``hostUsers``, and without the relaxation the check is stricter, never looser.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["RULES", "Violation", "check_restricted"]

Minor = tuple[int, int]
Pod = Mapping[str, Any]

#: Capabilities baseline allows a container to add (the container runtime's defaults).
BASELINE_CAPABILITIES = frozenset(
    {
        *("AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD"),
        *("NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"),
    }
)
#: The only capability restricted allows a container to add.
RESTRICTED_CAPABILITIES = frozenset({"NET_BIND_SERVICE"})
#: Safe sysctls, with the minor from which each is allowed.
SAFE_SYSCTLS: Mapping[str, Minor] = {
    "kernel.shm_rmid_forced": (1, 0),
    "net.ipv4.ip_local_port_range": (1, 0),
    "net.ipv4.tcp_syncookies": (1, 0),
    "net.ipv4.ping_group_range": (1, 0),
    "net.ipv4.ip_unprivileged_port_start": (1, 0),
    "net.ipv4.ip_local_reserved_ports": (1, 27),
    "net.ipv4.tcp_keepalive_time": (1, 29),
    "net.ipv4.tcp_fin_timeout": (1, 29),
    "net.ipv4.tcp_keepalive_intvl": (1, 29),
    "net.ipv4.tcp_keepalive_probes": (1, 29),
    "net.ipv4.tcp_rmem": (1, 32),
    "net.ipv4.tcp_wmem": (1, 32),
}
#: SELinux types a pod or container may set, with the minor from which each is allowed.
SELINUX_TYPES: Mapping[str, Minor] = {
    "": (1, 0),
    "container_t": (1, 0),
    "container_init_t": (1, 0),
    "container_kvm_t": (1, 0),
    "container_engine_t": (1, 31),
}
#: The volume sources restricted allows (everything else, hostPath first, is refused).
RESTRICTED_VOLUME_SOURCES = frozenset(
    {
        *("configMap", "csi", "downwardAPI", "emptyDir", "ephemeral"),
        *("persistentVolumeClaim", "projected", "secret"),
    }
)
_APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"
_CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")


@dataclass(frozen=True)
class Violation:
    """A field of the pod that a rule forbids."""

    rule: str
    profile: str  # "baseline" or "restricted"
    field: str
    detail: str

    def __str__(self) -> str:
        return f"[{self.profile}/{self.rule}] {self.field}: {self.detail}"


def _containers(spec: Pod) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for kind in _CONTAINER_LISTS:
        for index, container in enumerate(spec.get(kind) or []):
            yield f"spec.{kind}[{index}]", container


def _context(node: Mapping[str, Any]) -> Mapping[str, Any]:
    return node.get("securityContext") or {}


def _contexts(spec: Pod) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """The pod's security context, then each container's, with their field paths."""
    yield "spec.securityContext", _context(spec)
    for path, container in _containers(spec):
        yield f"{path}.securityContext", _context(container)


def _windows(spec: Pod) -> bool:
    return bool((spec.get("os") or {}).get("name") == "windows")


# Baseline --------------------------------------------------------------------------------------
def _host_process(metadata: Pod, spec: Pod, minor: Minor) -> Iterator[tuple[str, str]]:
    for path, context in _contexts(spec):
        if (context.get("windowsOptions") or {}).get("hostProcess") not in (None, False):
            yield f"{path}.windowsOptions.hostProcess", "must be unset or false"


def _host_namespaces(metadata: Pod, spec: Pod, minor: Minor) -> Iterator[tuple[str, str]]:
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(field) not in (None, False):
            yield f"spec.{field}", "must be unset or false"


def _privileged(metadata: Pod, spec: Pod, minor: Minor) -> Iterator[tuple[str, str]]:
    for path, container in _containers(spec):
        if _context(container).get("privileged") not in (None, False):
            yield f"{path}.securityContext.privileged", "must be unset or false"


def _baseline_capabilities(metadata: Pod, spec: Pod, minor: Minor) -> Iterator[tuple[str, str]]:
    for path, container in _containers(spec):
        added = set((_context(container).get("capabilities") or {}).get("add") or [])
        if extra := added - BASELINE_CAPABILITIES:
            yield f"{path}.securityContext.capabilities.add", f"adds {sorted(extra)}"


def _host_path_volumes(metadata: Pod, spec: Pod, minor: Minor) -> Iterator[tuple[str, str]]:
    for index, volume in enumerate(spec.get("volumes") or []):
        if volume.get("hostPath") is not None:
            yield f"spec.volumes[{index}].hostPath", "must be unset"


def _host_ports(metadata: Pod, spec: Pod, minor: Minor) -> Iterator[tuple[str, str]]:
    for path, container in _containers(spec):
        for index, port in enumerate(container.get("ports") or []):
            if port.get("hostPort") not in (None, 0):
                yield f"{path}.ports[{index}].hostPort", "must be unset or 0"


def _app_armor(metadata: Pod, spec: Pod, minor: Minor) -> Iterator[tuple[str, str]]:
    for key, value in (metadata.get("annotations") or {}).items():
        if key.startswith(_APPARMOR_ANNOTATION) and not (
            value in ("", "runtime/default") or str(value).startswith("localhost/")
        ):
            yield f"metadata.annotations[{key}]", f"{value!r} is not runtime/default or localhost/*"
    for path, context in _contexts(spec):
        kind = (context.get("appArmorProfile") or {}).get("type")
        if kind not in (None, "RuntimeDefault", "Localhost"):
            yield f"{path}.appArmorProfile.type", f"{kind!r} is not RuntimeDefault or Localhost"


def _se_linux(metadata: Pod, spec: Pod, minor: Minor) -> Iterator[tuple[str, str]]:
    allowed = {name for name, since in SELINUX_TYPES.items() if minor >= since}
    for path, context in _contexts(spec):
        options = context.get("seLinuxOptions") or {}
        if options.get("type", "") not in allowed:
            yield (
                f"{path}.seLinuxOptions.type",
                f"{options['type']!r} is not one of {sorted(allowed)}",
            )
        for field in ("user", "role"):
            if options.get(field):
                yield f"{path}.seLinuxOptions.{field}", "must be unset or empty"


def _proc_mount(metadata: Pod, spec: Pod, minor: Minor) -> Iterator[tuple[str, str]]:
    for path, container in _containers(spec):
        if _context(container).get("procMount") not in (None, "Default"):
            yield f"{path}.securityContext.procMount", "must be unset or Default"


def _baseline_seccomp(metadata: Pod, spec: Pod, minor: Minor) -> Iterator[tuple[str, str]]:
    for path, context in _contexts(spec):
        if (context.get("seccompProfile") or {}).get("type") == "Unconfined":
            yield f"{path}.seccompProfile.type", "must not be Unconfined"


def _sysctls(metadata: Pod, spec: Pod, minor: Minor) -> Iterator[tuple[str, str]]:
    for index, sysctl in enumerate(_context(spec).get("sysctls") or []):
        since = SAFE_SYSCTLS.get(sysctl.get("name", ""))
        if since is None or minor < since:
            yield (
                f"spec.securityContext.sysctls[{index}].name",
                f"{sysctl.get('name')!r} is not safe",
            )


def _probe_hosts(metadata: Pod, spec: Pod, minor: Minor) -> Iterator[tuple[str, str]]:
    if minor < (1, 34):
        return
    for path, container in _containers(spec):
        handlers = {
            probe: container.get(probe) or {}
            for probe in ("livenessProbe", "readinessProbe", "startupProbe")
        }
        lifecycle = container.get("lifecycle") or {}
        handlers |= {f"lifecycle.{h}": lifecycle.get(h) or {} for h in ("postStart", "preStop")}
        for name, handler in handlers.items():
            for action in ("httpGet", "tcpSocket"):
                if (handler.get(action) or {}).get("host"):
                    yield f"{path}.{name}.{action}.host", "must be unset or empty"


# Restricted ------------------------------------------------------------------------------------
def _volume_types(metadata: Pod, spec: Pod, minor: Minor) -> Iterator[tuple[str, str]]:
    for index, volume in enumerate(spec.get("volumes") or []):
        sources = set(volume) - {"name"}
        if not sources or sources - RESTRICTED_VOLUME_SOURCES:
            yield f"spec.volumes[{index}]", f"source {sorted(sources)} is not an allowed type"


def _privilege_escalation(metadata: Pod, spec: Pod, minor: Minor) -> Iterator[tuple[str, str]]:
    if _windows(spec):
        return
    for path, container in _containers(spec):
        if _context(container).get("allowPrivilegeEscalation") is not False:
            yield f"{path}.securityContext.allowPrivilegeEscalation", "must be false"


def _run_as_non_root(metadata: Pod, spec: Pod, minor: Minor) -> Iterator[tuple[str, str]]:
    pod = _context(spec).get("runAsNonRoot")
    if pod is False:
        yield "spec.securityContext.runAsNonRoot", "must not be false"
    for path, container in _containers(spec):
        own = _context(container).get("runAsNonRoot")
        if own is False:
            yield f"{path}.securityContext.runAsNonRoot", "must not be false"
        elif own is None and pod is not True:
            yield f"{path}.securityContext.runAsNonRoot", "must be true here or on the pod"


def _run_as_user(metadata: Pod, spec: Pod, minor: Minor) -> Iterator[tuple[str, str]]:
    for path, context in _contexts(spec):
        if context.get("runAsUser") == 0:
            yield f"{path}.runAsUser", "must not be 0 (root)"


def _restricted_seccomp(metadata: Pod, spec: Pod, minor: Minor) -> Iterator[tuple[str, str]]:
    if _windows(spec):
        return
    allowed = ("RuntimeDefault", "Localhost")
    pod = (_context(spec).get("seccompProfile") or {}).get("type")
    if pod is not None and pod not in allowed:
        yield "spec.securityContext.seccompProfile.type", f"{pod!r} is not {' or '.join(allowed)}"
    for path, container in _containers(spec):
        own = (_context(container).get("seccompProfile") or {}).get("type")
        if own is not None and own not in allowed:
            yield f"{path}.securityContext.seccompProfile.type", f"{own!r} is not allowed"
        elif own is None and pod not in allowed:
            yield f"{path}.securityContext.seccompProfile.type", "must be set here or on the pod"


def _restricted_capabilities(metadata: Pod, spec: Pod, minor: Minor) -> Iterator[tuple[str, str]]:
    if _windows(spec):
        return
    for path, container in _containers(spec):
        capabilities = _context(container).get("capabilities") or {}
        if "ALL" not in (capabilities.get("drop") or []):
            yield f"{path}.securityContext.capabilities.drop", "must include ALL"
        if extra := set(capabilities.get("add") or []) - RESTRICTED_CAPABILITIES:
            yield f"{path}.securityContext.capabilities.add", f"adds {sorted(extra)}"


Rule = Callable[[Pod, Pod, Minor], Iterator[tuple[str, str]]]

#: (rule id, profile, check) in the order the published standard lists them.
RULES: tuple[tuple[str, str, Rule], ...] = (
    ("hostProcess", "baseline", _host_process),
    ("hostNamespaces", "baseline", _host_namespaces),
    ("privileged", "baseline", _privileged),
    ("capabilities_baseline", "baseline", _baseline_capabilities),
    ("hostPathVolumes", "baseline", _host_path_volumes),
    ("hostPorts", "baseline", _host_ports),
    ("appArmor", "baseline", _app_armor),
    ("seLinux", "baseline", _se_linux),
    ("procMount", "baseline", _proc_mount),
    ("seccomp_baseline", "baseline", _baseline_seccomp),
    ("sysctls", "baseline", _sysctls),
    ("hostProbesAndLifecycle", "baseline", _probe_hosts),
    ("volumeTypes", "restricted", _volume_types),
    ("allowPrivilegeEscalation", "restricted", _privilege_escalation),
    ("runAsNonRoot", "restricted", _run_as_non_root),
    ("runAsUser", "restricted", _run_as_user),
    ("seccomp_restricted", "restricted", _restricted_seccomp),
    ("capabilities_restricted", "restricted", _restricted_capabilities),
)


def check_restricted(metadata: Pod, spec: Pod, *, minor: Minor) -> list[Violation]:
    """Every way the pod (its template ``metadata`` and ``spec``) breaks the restricted
    profile as of Kubernetes ``minor``; empty when it meets it."""
    return [
        Violation(rule=name, profile=profile, field=field, detail=detail)
        for name, profile, rule in RULES
        for field, detail in rule(metadata, spec, minor)
    ]
