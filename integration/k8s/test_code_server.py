"""The rendered code server and webserver, run as local processes, serve the product.

The user-code Deployment's command and arguments (``dagster api grpc ... --python-file
definitions.py``) run in a folder laid out as the guide's image (the example product compiled
by ``floe compile`` and the guide's ``definitions.py``), with the rendered environment and the
rendered ``dagster.yaml`` (its PostgreSQL storage on a local database of the test's own). What
is rewritten is only what ties them to a cluster: the listen address (127.0.0.1), the ports
(free ones), the paths of mounted volumes and the Secret's value.

The code server must answer Dagster's gRPC health check; ``dagster-webserver``, started with
the webserver Deployment's command and the rendered ``workspace.yaml`` (hosts 127.0.0.1,
ports the free one), must load the code location and list every asset of the product through
its GraphQL API. Every process is stopped and none is left behind.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from floe_orchestration_core.artifacts import load_artifacts
from harness import free_port, group_alive
from k8s.container import BIN, LocalContainer, rendered_env, replace_flag
from k8s.release import IMAGE, ProductImage, documents_named, floe_helm_values, render, site_values

pytestmark = pytest.mark.slow

SECRETS = {"DAGSTER_PG_PASSWORD": "from-the-secret"}  # trust authentication: not checked
STARTUP_SECONDS = 180.0

_LOCATIONS = """
query { workspaceOrError { __typename ... on Workspace { locationEntries {
  name loadStatus locationOrLoadError { __typename ... on PythonError { message } } } } } }
"""
_ASSETS = "query { assetNodes { assetKey { path } } }"


@dataclass(frozen=True)
class Release:
    """The rendered pieces the test runs, and where the pods' volumes are on this machine."""

    code_server: dict[str, Any]
    webserver: dict[str, Any]
    workspace: dict[str, Any]
    dagster_home: Path
    tmp: Path


def _container(deployment: dict[str, Any]) -> dict[str, Any]:
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return dict(container)


@pytest.fixture
def release(
    product_image: ProductImage,
    tmp_path: Path,
    postgres_database: Callable[[], AbstractContextManager[str]],
) -> Iterator[Release]:
    values = floe_helm_values(
        "--size", "small", "--artifacts", str(product_image.artifacts), "--image", IMAGE,
        cwd=product_image.workdir,
    )  # fmt: skip
    with postgres_database() as database:
        documents = render({**values, **site_values(database)})
        deployments = documents_named(documents, "Deployment")
        config_maps = documents_named(documents, "ConfigMap")
        home = tmp_path / "dagster_home"  # the pods' DAGSTER_HOME: an emptyDir + dagster.yaml
        home.mkdir()
        instance = config_maps["floe-dagster-instance"]["data"]["dagster.yaml"]
        (home / "dagster.yaml").write_text(instance, encoding="utf-8")
        (tmp_path / "tmp").mkdir()  # the pods' /tmp emptyDir (HOME)
        yield Release(
            code_server=_container(deployments["retail-analytics"]),
            webserver=_container(deployments["floe-dagster-webserver"]),
            workspace=yaml.safe_load(
                config_maps["floe-dagster-workspace"]["data"]["workspace.yaml"]
            ),
            dagster_home=home,
            tmp=tmp_path / "tmp",
        )


def _env(release: Release, container: dict[str, Any]) -> dict[str, str]:
    paths = {"/opt/dagster/dagster_home": str(release.dagster_home), "/tmp": str(release.tmp)}
    env = rendered_env(container, secrets=SECRETS, paths=paths)
    assert env["DAGSTER_HOME"] == str(release.dagster_home), env
    return env


def _health(port: int) -> subprocess.CompletedProcess[str]:
    command = [str(BIN / "dagster"), "api", "grpc-health-check", "--port", str(port)]
    return subprocess.run(
        [*command, "--host", "127.0.0.1"], capture_output=True, text=True, timeout=60, check=False
    )


def _grpc_probe(port: int, service: str) -> str:
    """The status a kubelet's gRPC probe reads: grpc.health.v1 Check of ``service``."""
    import grpc  # type: ignore[import-untyped]
    from grpc_health.v1 import health_pb2, health_pb2_grpc  # type: ignore[import-untyped]

    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        answer = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=10)
    status: str = health_pb2.HealthCheckResponse.ServingStatus.Name(answer.status)
    return status


def _wait(what: str, ready: Callable[[], bool], *processes: LocalContainer) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while not ready():
        for process in processes:
            if not process.alive():
                raise AssertionError(f"{process.command[0]} exited\n{process.log_tail()}")
        if time.monotonic() > deadline:
            logs = "\n".join(p.log_tail() for p in processes)
            raise AssertionError(f"{what} within {STARTUP_SECONDS:.0f} s\n{logs}")
        time.sleep(0.5)


def _graphql(port: int, query: str) -> dict[str, Any]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        payload: dict[str, Any] = json.loads(response.read())
    assert not payload.get("errors"), payload["errors"]
    data: dict[str, Any] = payload["data"]
    return data


def _answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2) as answer:
            return bool(answer.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def _location_loaded(port: int) -> bool:
    if not _answers(port):
        return False
    workspace = _graphql(port, _LOCATIONS)["workspaceOrError"]
    assert workspace["__typename"] == "Workspace", workspace
    (entry,) = workspace["locationEntries"]
    if entry["loadStatus"] != "LOADED":
        return False
    location = entry["locationOrLoadError"]
    assert location["__typename"] == "RepositoryLocation", location
    return True


def _product_assets(product: ProductImage) -> set[str]:
    """What the compiled product says its assets are: dbt models, seeds and snapshots, the
    sources its ingestion produces, and Python assets that produce no table of their own."""
    artifacts = load_artifacts(product.artifacts)
    names = {transform.name for transform in artifacts.transforms}
    names |= {source.name for source in artifacts.sources}
    names |= {asset.name for asset in artifacts.python_assets if not asset.produces}
    return names


def test_the_rendered_code_server_and_webserver_serve_every_asset_of_the_product(
    release: Release, product_image: ProductImage, tmp_path: Path
) -> None:
    grpc_port, web_port = free_port(), free_port()
    command = release.code_server["command"]
    assert command[:3] == ["dagster", "api", "grpc"], command
    command = replace_flag(replace_flag(command, "--host", "127.0.0.1"), "--port", str(grpc_port))
    assert _health(grpc_port).returncode != 0  # nothing answers before the server starts

    (location,) = release.workspace["load_from"]
    assert location["grpc_server"]["port"] == release.code_server["ports"][0]["containerPort"]
    location["grpc_server"] |= {"host": "127.0.0.1", "port": grpc_port}
    workspace = tmp_path / "dagster-workspace" / "workspace.yaml"
    workspace.parent.mkdir()
    workspace.write_text(yaml.safe_dump(release.workspace), encoding="utf-8")
    web = release.webserver["command"]
    assert web[0] == "dagster-webserver", web
    web = replace_flag(replace_flag(web, "--host", "127.0.0.1"), "--port", str(web_port))
    web = replace_flag(web, "--workspace", str(workspace))

    with ExitStack() as stack:
        code_server = stack.enter_context(
            LocalContainer(
                command,
                cwd=product_image.workdir,  # the image's WORKDIR
                env=_env(release, release.code_server),
                log=tmp_path / "code-server.log",
            )
        )
        _wait(
            "the code server did not pass the health check",
            lambda: _health(grpc_port).returncode == 0,
            code_server,
        )
        assert "gRPC connection successful" in _health(grpc_port).stdout
        # What the kubelet asks for the rendered readiness and liveness probes.
        for probe in ("readinessProbe", "livenessProbe"):
            grpc_probe = release.code_server[probe]["grpc"]
            assert grpc_probe["port"] == release.code_server["ports"][0]["containerPort"]
            assert _grpc_probe(grpc_port, grpc_probe.get("service", "")) == "SERVING", probe
        webserver = stack.enter_context(
            LocalContainer(
                web, cwd=tmp_path, env=_env(release, release.webserver), log=tmp_path / "web.log"
            )
        )
        _wait(
            "the webserver did not load the code location",
            lambda: _location_loaded(web_port),
            webserver,
            code_server,
        )
        listed = [node["assetKey"]["path"] for node in _graph_assets(web_port)]
    for process in (code_server, webserver):
        assert not group_alive(process.group), f"{process.command[0]} left processes behind"

    assert {path[-1] for path in listed} == _product_assets(product_image)
    assert len(listed) == len(_product_assets(product_image)), listed
    assert {"/".join(path) for path in listed} >= {
        "raw/orders",
        "staging/stg_orders",
        "marts/fct_orders",
        "publish_report",
    }


def _graph_assets(port: int) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = _graphql(port, _ASSETS)["assetNodes"]
    return nodes
