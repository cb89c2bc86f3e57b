"""Every pod the chart renders meets Pod Security "restricted", checked by
:mod:`k8s.pod_security` (the published rules, not the chart's schema), for every Kubernetes
minor from 1.29 to the newest; and each rule catches the violation it exists for."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from k8s.pod_security import RULES, check_restricted
from k8s.release import MINORS, RELEASES, pod_templates, render


def _minor(text: str) -> tuple[int, int]:
    major, minor = text.split(".")
    return int(major), int(minor)


NEWEST = _minor(MINORS[-1])
OLDEST = _minor(MINORS[0])


@pytest.mark.parametrize("case", RELEASES)
def test_every_rendered_pod_meets_pod_security_restricted(
    case: str, releases: dict[str, dict[str, Any]]
) -> None:
    pods = list(pod_templates(render(releases[case])))
    assert len(pods) >= 2, case  # the webserver and the daemon at least
    problems = [
        f"{where} @ {minor}: {violation}"
        for where, metadata, spec in pods
        for minor in MINORS
        for violation in check_restricted(metadata, spec, minor=_minor(minor))
    ]
    assert problems == [], "\n".join(problems)


def test_every_workload_with_a_pod_template_is_checked(releases: dict[str, dict[str, Any]]) -> None:
    documents = render(releases["every-option"])
    checked = {where for where, _, _ in pod_templates(documents)}
    assert checked == {
        "Deployment/floe-dagster-webserver",
        "Deployment/floe-dagster-webserver-read-only",
        "Deployment/floe-dagster-daemon",
        "Deployment/sales",
        "Deployment/marketing",
    }


# Each rule catches its violation ---------------------------------------------------------------
Pod = tuple[dict[str, Any], dict[str, Any]]  # (metadata, spec)


def _container(pod: Pod) -> dict[str, Any]:
    container: dict[str, Any] = pod[1]["containers"][0]
    return container


def _context(pod: Pod) -> dict[str, Any]:
    context: dict[str, Any] = _container(pod)["securityContext"]
    return context


def _set(path: str, value: Any) -> Callable[[Pod], None]:
    """A change of the pod: ``path`` is ``spec.a.b`` / ``container.a.b`` / ``metadata.a.b``;
    ``None`` deletes the key."""

    def change(pod: Pod) -> None:
        root, *keys = path.split(".")
        node = {"spec": pod[1], "container": _container(pod), "metadata": pod[0]}[root]
        for key in keys[:-1]:
            node = node.setdefault(key, {})
        if value is None:
            node.pop(keys[-1], None)
        else:
            node[keys[-1]] = copy.deepcopy(value)

    return change


def _add_volume(volume: dict[str, Any]) -> Callable[[Pod], None]:
    def change(pod: Pod) -> None:
        pod[1]["volumes"].append(volume)

    return change


def _both(*changes: Callable[[Pod], None]) -> Callable[[Pod], None]:
    def change(pod: Pod) -> None:
        for one in changes:
            one(pod)

    return change


#: (change, minor it is checked for, the rules it must break: exactly these).
VIOLATIONS: dict[str, tuple[Callable[[Pod], None], tuple[int, int], set[str]]] = {
    "pod hostProcess": (
        _set("spec.securityContext.windowsOptions", {"hostProcess": True}),
        NEWEST,
        {"hostProcess"},
    ),
    "container hostProcess": (
        _set("container.securityContext.windowsOptions", {"hostProcess": True}),
        NEWEST,
        {"hostProcess"},
    ),
    "hostNetwork": (_set("spec.hostNetwork", True), NEWEST, {"hostNamespaces"}),
    "hostPID": (_set("spec.hostPID", True), NEWEST, {"hostNamespaces"}),
    "hostIPC": (_set("spec.hostIPC", True), NEWEST, {"hostNamespaces"}),
    "privileged": (_set("container.securityContext.privileged", True), NEWEST, {"privileged"}),
    "a capability beyond the defaults": (
        _set("container.securityContext.capabilities.add", ["SYS_ADMIN"]),
        NEWEST,
        {"capabilities_baseline", "capabilities_restricted"},
    ),
    "a default capability added back": (
        _set("container.securityContext.capabilities.add", ["CHOWN"]),
        NEWEST,
        {"capabilities_restricted"},
    ),
    "capabilities not dropped": (
        _set("container.securityContext.capabilities.drop", ["NET_RAW"]),
        NEWEST,
        {"capabilities_restricted"},
    ),
    "hostPath volume": (
        _add_volume({"name": "host", "hostPath": {"path": "/var/run"}}),
        NEWEST,
        {"hostPathVolumes", "volumeTypes"},
    ),
    "nfs volume": (
        _add_volume({"name": "share", "nfs": {"server": "nas", "path": "/"}}),
        NEWEST,
        {"volumeTypes"},
    ),
    "host port": (
        _set("container.ports", [{"containerPort": 3030, "hostPort": 3030}]),
        NEWEST,
        {"hostPorts"},
    ),
    "AppArmor annotation unconfined": (
        _set(
            "metadata.annotations",
            {"container.apparmor.security.beta.kubernetes.io/x": "unconfined"},
        ),
        NEWEST,
        {"appArmor"},
    ),
    "AppArmor profile unconfined": (
        _set("container.securityContext.appArmorProfile", {"type": "Unconfined"}),
        NEWEST,
        {"appArmor"},
    ),
    "SELinux type spc_t": (
        _set("spec.securityContext.seLinuxOptions", {"type": "spc_t"}),
        NEWEST,
        {"seLinux"},
    ),
    "SELinux user": (
        _set("container.securityContext.seLinuxOptions", {"user": "system_u"}),
        NEWEST,
        {"seLinux"},
    ),
    "container_engine_t before 1.31": (
        _set("spec.securityContext.seLinuxOptions", {"type": "container_engine_t"}),
        (1, 30),
        {"seLinux"},
    ),
    "procMount Unmasked": (
        _set("container.securityContext.procMount", "Unmasked"),
        NEWEST,
        {"procMount"},
    ),
    "pod seccomp Unconfined": (
        _set("spec.securityContext.seccompProfile", {"type": "Unconfined"}),
        NEWEST,
        {"seccomp_baseline", "seccomp_restricted"},
    ),
    "no seccomp profile anywhere": (
        _both(
            _set("spec.securityContext.seccompProfile", None),
            _set("container.securityContext.seccompProfile", None),
        ),
        NEWEST,
        {"seccomp_restricted"},
    ),
    "unsafe sysctl": (
        _set("spec.securityContext.sysctls", [{"name": "kernel.msgmax", "value": "65536"}]),
        NEWEST,
        {"sysctls"},
    ),
    "tcp_rmem before 1.32": (
        _set("spec.securityContext.sysctls", [{"name": "net.ipv4.tcp_rmem", "value": "4096"}]),
        (1, 31),
        {"sysctls"},
    ),
    "probe host": (
        _set("container.livenessProbe", {"tcpSocket": {"port": 3030, "host": "10.0.0.1"}}),
        NEWEST,
        {"hostProbesAndLifecycle"},
    ),
    "lifecycle host": (
        _set("container.lifecycle", {"preStop": {"httpGet": {"port": 80, "host": "10.0.0.1"}}}),
        NEWEST,
        {"hostProbesAndLifecycle"},
    ),
    "privilege escalation allowed": (
        _set("container.securityContext.allowPrivilegeEscalation", True),
        NEWEST,
        {"allowPrivilegeEscalation"},
    ),
    "privilege escalation unset": (
        _set("container.securityContext.allowPrivilegeEscalation", None),
        NEWEST,
        {"allowPrivilegeEscalation"},
    ),
    "pod runAsNonRoot false": (
        _set("spec.securityContext.runAsNonRoot", False),
        NEWEST,
        {"runAsNonRoot"},
    ),
    "runAsNonRoot unset everywhere": (
        _both(
            _set("spec.securityContext.runAsNonRoot", None),
            _set("container.securityContext.runAsNonRoot", None),
        ),
        NEWEST,
        {"runAsNonRoot"},
    ),
    "pod runs as root": (_set("spec.securityContext.runAsUser", 0), NEWEST, {"runAsUser"}),
    "container runs as root": (
        _set("container.securityContext.runAsUser", 0),
        NEWEST,
        {"runAsUser"},
    ),
}

#: Allowed values at the edges of the rules: each must pass.
ALLOWED: dict[str, tuple[Callable[[Pod], None], tuple[int, int]]] = {
    "NET_BIND_SERVICE added": (
        _set("container.securityContext.capabilities.add", ["NET_BIND_SERVICE"]),
        NEWEST,
    ),
    "Localhost seccomp": (
        _set(
            "spec.securityContext.seccompProfile",
            {"type": "Localhost", "localhostProfile": "p.json"},
        ),
        NEWEST,
    ),
    "container_engine_t from 1.31": (
        _set("spec.securityContext.seLinuxOptions", {"type": "container_engine_t"}),
        (1, 31),
    ),
    "tcp_rmem from 1.32": (
        _set("spec.securityContext.sysctls", [{"name": "net.ipv4.tcp_rmem", "value": "4096"}]),
        (1, 32),
    ),
    "probe host before 1.34": (
        _set("container.livenessProbe", {"tcpSocket": {"port": 3030, "host": "10.0.0.1"}}),
        (1, 33),
    ),
    "runAsNonRoot on the containers only": (
        _set("spec.securityContext.runAsNonRoot", None),
        NEWEST,
    ),
    "AppArmor localhost profile": (
        _set(
            "metadata.annotations",
            {"container.apparmor.security.beta.kubernetes.io/x": "localhost/k8s"},
        ),
        NEWEST,
    ),
    "hostPort 0": (_set("container.ports", [{"containerPort": 3030, "hostPort": 0}]), NEWEST),
}


@pytest.fixture(scope="module")
def code_server_pod(releases: dict[str, dict[str, Any]]) -> Pod:
    """The rendered pod of a code server with every option set: compliant to start with."""
    pods = {where: (m, s) for where, m, s in pod_templates(render(releases["every-option"]))}
    metadata, spec = pods["Deployment/sales"]
    assert check_restricted(metadata, spec, minor=NEWEST) == []
    assert check_restricted(metadata, spec, minor=OLDEST) == []
    return metadata, spec


@pytest.mark.parametrize(("case"), list(VIOLATIONS))
def test_each_rule_catches_its_violation(case: str, code_server_pod: Pod) -> None:
    change, minor, rules = VIOLATIONS[case]
    pod = copy.deepcopy(code_server_pod)
    change(pod)
    violations = check_restricted(*pod, minor=minor)
    assert {v.rule for v in violations} == rules, [str(v) for v in violations]


@pytest.mark.parametrize(("case"), list(ALLOWED))
def test_what_the_rules_allow_passes(case: str, code_server_pod: Pod) -> None:
    change, minor = ALLOWED[case]
    pod = copy.deepcopy(code_server_pod)
    change(pod)
    assert check_restricted(*pod, minor=minor) == []


def test_every_rule_has_a_violation_that_it_catches() -> None:
    caught = set().union(*(rules for _, _, rules in VIOLATIONS.values()))
    assert caught == {name for name, _, _ in RULES}
