"""The run pods the chart's Kubernetes run launcher would create are ones the cluster admits.

A run's pod is not rendered by Helm: dagster-k8s's ``K8sRunLauncher`` builds a Job per run
from the rendered ``run_launcher`` config. Here the real launcher, configured from the rendered
``dagster.yaml``, launches a run whose Job is kept by a stand-in for the cluster's batch API
(the only part replaced, with the kube config it would load in the cluster). That Job must
validate against the Kubernetes schemas (strict) and its pod must meet Pod Security
"restricted", like everything Helm renders.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import dagster as dg
import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml
from dagster._config import process_config, resolve_to_config_type
from dagster._core.code_pointer import FileCodePointer
from dagster._core.launcher import LaunchRunContext
from dagster._core.origin import JobPythonOrigin, RepositoryPythonOrigin
from dagster._core.storage.dagster_run import DagsterRun
from dagster_k8s import K8sRunLauncher
from kubernetes.client import ApiClient  # type: ignore[import-untyped]

from k8s.pod_security import check_restricted
from k8s.release import IMAGE, MINORS, NAMESPACE, documents_named, pod_templates, render

_KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters: [{name: none, cluster: {server: "https://127.0.0.1:9"}}]
users: [{name: none, user: {token: unused}}]
contexts: [{name: none, context: {cluster: none, user: none}}]
current-context: none
"""


class BatchApiStandIn:
    """Where the launcher's ``create_namespaced_job`` lands instead of a cluster."""

    def __init__(self) -> None:
        self.jobs: list[tuple[str, Any]] = []

    def create_namespaced_job(self, body: Any, namespace: str, **_: Any) -> Any:
        self.jobs.append((namespace, body))
        return body


def _minor(text: str) -> tuple[int, int]:
    major, minor = text.split(".")
    return int(major), int(minor)


def run_job(values: dict[str, Any], tmp_path: Path) -> tuple[str, dict[str, Any]]:
    """(namespace, Job manifest) the launcher of the release with ``values`` creates for a run."""
    config_map = documents_named(render(values), "ConfigMap")["floe-dagster-instance"]
    launcher_config = yaml.safe_load(config_map["data"]["dagster.yaml"])["run_launcher"]["config"]
    schema = K8sRunLauncher.config_type()  # type: ignore[no-untyped-call]
    processed = process_config(resolve_to_config_type(schema), launcher_config)
    assert processed.success, processed.errors
    assert processed.value is not None
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(_KUBECONFIG, encoding="utf-8")
    cluster = BatchApiStandIn()
    settings = {
        **processed.value,
        "load_incluster_config": False,
        "kubeconfig_file": str(kubeconfig),
    }
    launcher = K8sRunLauncher(**settings, k8s_client_batch_api=cluster)
    origin = JobPythonOrigin(
        "__ASSET_JOB",
        RepositoryPythonOrigin(
            executable_path=sys.executable,
            code_pointer=FileCodePointer("definitions.py", "defs", "/opt/floe"),
            container_image=IMAGE,  # what the code server reports (DAGSTER_CURRENT_IMAGE)
        ),
    )
    (tmp_path / "instance").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "instance")) as instance:
        launcher.register_instance(instance)
        run = DagsterRun(job_name="__ASSET_JOB", job_code_origin=origin)
        instance.add_run(run)
        launcher.launch_run(LaunchRunContext(dagster_run=run, workspace=None))
    ((namespace, job),) = cluster.jobs
    manifest: dict[str, Any] = ApiClient().sanitize_for_serialization(job)
    return namespace, manifest


@pytest.mark.parametrize("case", ["medium", "every-option"])
def test_the_run_job_validates_and_its_pod_meets_restricted(
    case: str, releases: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    namespace, job = run_job(releases[case], tmp_path)
    assert namespace == ("runs" if case == "every-option" else NAMESPACE)
    for minor in MINORS:
        assert kubernetes_validate.validate(job, f"{minor}.0", strict=True) == minor
    ((where, metadata, spec),) = pod_templates([job])
    assert where.startswith("Job/dagster-run-")
    problems = [
        f"{minor}: {violation}"
        for minor in MINORS
        for violation in check_restricted(metadata, spec, minor=_minor(minor))
    ]
    assert problems == [], "\n".join(problems)
    (container,) = spec["containers"]
    assert container["image"] == IMAGE
    assert set(container["resources"]["limits"]) == {"cpu", "memory"}
    assert spec["automountServiceAccountToken"] is False
    assert spec["securityContext"]["runAsUser"] == 1001  # the chart's user, not the image's
