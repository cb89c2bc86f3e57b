"""Every check a developer or CI runs, one session per concern (run on uv).

    uv run nox -s ci            # what CI runs: lint, types, tests (3.11, 3.12), wheels, integration
    uv run nox -s lint          # ruff, import-linter contracts and layers, no import cycles
    uv run nox -s tests-3.11    # one interpreter (with each package's coverage against its floor)
    uv run nox -s contracts     # the adapter contract suites only
    uv run nox -s k8s           # the Kubernetes path without a cluster (integration/k8s)
    uv run nox -s bench         # benchmarks; writes numbers to stdout for docs/benchmarks.md

Session virtualenvs are synced from uv.lock (``uv sync --locked``), so what CI tests is what
the lock file pins.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import nox

# Python 3.12/3.13 answer through pyenv shims only when PYENV_VERSION names them. A shim
# (`uv run` goes through one) sets PYENV_VERSION to the one version it runs, so the versions
# are added to whatever is there rather than set as a default. uv must use installed
# interpreters: it cannot download builds on the CI machines.
_PYENV_PYTHONS = ("3.11.7", "3.12.1", "3.13.0")
_pyenv = [v for v in os.environ.get("PYENV_VERSION", "").split(":") if v]
os.environ["PYENV_VERSION"] = ":".join(dict.fromkeys([*_pyenv, *_PYENV_PYTHONS]))
os.environ.setdefault("UV_PYTHON_DOWNLOADS", "never")

nox.options.default_venv_backend = "uv"
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = True
nox.options.sessions = ["lint", "typecheck", "tests"]

ROOT = Path(__file__).parent
PYTHONS = ["3.11", "3.12"]
PACKAGES = {
    "floe-orchestration-core": "floe_orchestration_core",
    "floe-orchestrator-dagster": "floe_orchestrator_dagster",
    "floe-lineage-openlineage": "floe_lineage_openlineage",
    "floe-registry": "floe_registry",
    "floe-ingestion-dlt": "floe_ingestion_dlt",
    "floe-ingestion-airbyte": "floe_ingestion_airbyte",
}
NO_TESTS_COLLECTED = 5


def _sync(session: nox.Session) -> None:
    """Install the locked workspace (every package, editable) and the dev group, with bytecode
    compiled (dagster, dbt and floe processes of the tests then skip compiling their imports,
    also where PYTHONDONTWRITEBYTECODE is set)."""
    session.run_install(
        "uv",
        "sync",
        "--locked",
        "--all-packages",
        "--group",
        "dev",
        "--compile-bytecode",
        f"--python={session.virtualenv.location}",
        env={"UV_PROJECT_ENVIRONMENT": session.virtualenv.location},
        silent=True,
    )


#: The Airbyte connector the tests run (floe-ingestion-airbyte, integration/test_ingestion_*).
AIRBYTE_TEST_CONNECTOR = "source-faker==7.2.1"


def _provision_airbyte(session: nox.Session) -> None:
    """Create (or find cached) PyAirbyte's venv and the test connector's, for this session's
    interpreter, under ~/.cache/floe/airbyte (CI caches that folder): the tests then never
    wait on the package index. Prints how long each took (0.0 s when cached)."""
    session.run("python", "-m", "floe_ingestion_airbyte", "provision", AIRBYTE_TEST_CONNECTOR)


def _pytest(session: nox.Session, *args: str, allow_empty: bool = False) -> None:
    """Run pytest; an empty collection fails unless the caller says it may be empty."""
    codes = [0, NO_TESTS_COLLECTED] if allow_empty else [0]
    session.run("pytest", *args, *session.posargs, success_codes=codes)


@nox.session(python="3.11")
def lint(session: nox.Session) -> None:
    """ruff (lint + format check), the import-linter contracts (between packages and the
    layers inside each), and no import cycle between modules of any package's src/."""
    _sync(session)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("lint-imports")
    _pytest(session, str(ROOT / "tools"), "-p", "no:cacheprovider", "-q")
    session.run("python", str(ROOT / "tools" / "import_cycles.py"))


@nox.session(python="3.11")
def typecheck(session: nox.Session) -> None:
    """mypy --strict over every package's sources and tests, one package at a time."""
    _sync(session)
    for dist in PACKAGES:
        package = ROOT / "packages" / dist
        session.run("mypy", str(package / "src"), str(package / "tests"))
    session.run("mypy", "noxfile.py", "benchmarks", "integration", "tools")


#: Line coverage each package's own tests must keep (percent of its src/ statements, measured
#: in the test process: code that runs only in child processes, such as the `floe` command's
#: subprocess tests or Dagster's services, is not counted). Set at what each measured when
#: coverage was introduced, rounded down; raise a floor when coverage rises, never lower it.
COVERAGE_FLOORS = {
    "floe-orchestration-core": 96,
    "floe-orchestrator-dagster": 80,
    "floe-lineage-openlineage": 93,
    "floe-registry": 77,
    "floe-ingestion-dlt": 90,
    "floe-ingestion-airbyte": 88,
}


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """Each package's own tests, one pytest run per package, with its line coverage: a report
    per package, then a summary of all of them against COVERAGE_FLOORS (the session fails
    when a package is below its floor, after every package has run)."""
    _sync(session)
    _provision_airbyte(session)
    reports = Path(session.create_tmp()).resolve() / "coverage"
    shutil.rmtree(reports, ignore_errors=True)
    reports.mkdir()
    for dist, module in PACKAGES.items():
        tests_dir = ROOT / "packages" / dist / "tests"
        session.log(f"--- {dist}")
        session.env["COVERAGE_FILE"] = str(reports / f".coverage.{dist}")
        _pytest(
            session,
            str(tests_dir),
            "-p",
            "no:cacheprovider",
            f"--cov={module}",
            "--cov-report=term:skip-covered",
            f"--cov-report=json:{reports / f'{dist}.json'}",
        )
    summary, below = _coverage_summary(reports)
    session.log(summary)
    if below:
        session.error(f"line coverage below its floor in {', '.join(below)} (COVERAGE_FLOORS)")


def _coverage_summary(reports: Path) -> tuple[str, list[str]]:
    """One line per package (its line coverage against its floor), and the packages below."""
    lines = ["line coverage by package (measured in the test process):"]
    below: list[str] = []
    for dist in PACKAGES:
        report = reports / f"{dist}.json"
        if not report.is_file():
            lines.append(f"  {dist:<28} not measured")
            below.append(dist)
            continue
        totals = json.loads(report.read_text(encoding="utf-8"))["totals"]
        measured = float(totals["percent_covered"])
        floor = COVERAGE_FLOORS[dist]
        if measured < floor:
            below.append(dist)
        lines.append(
            f"  {dist:<28} {measured:5.1f} %  floor {floor} %  "
            f"{'ok' if measured >= floor else 'BELOW THE FLOOR'}  "
            f"({totals['covered_lines']} of {totals['num_statements']} statements)"
        )
    return "\n".join(lines), below


#: Ends of the supported Dagster range (dagster>=1.10,<1.14). "latest" is what uv.lock pins;
#: "1.10" installs the oldest supported releases over the synced workspace (dbt-duckdb and
#: dbt-postgres are pinned with dbt-core so the adapters resolve together with it).
DAGSTER_RANGE: dict[str, tuple[str, ...]] = {
    "1.10": (
        "dagster==1.10.*",
        "dagster-dbt==0.26.*",
        "dagster-webserver==1.10.*",
        "dagster-postgres==0.26.*",
        "dagster-k8s==0.26.*",
        "dbt-core>=1.8,<1.10",
        "dbt-duckdb>=1.8,<1.10",
        "dbt-postgres>=1.8,<1.10",
    ),
    "latest": (),
}


@nox.session(python="3.11")
@nox.parametrize("dagster", list(DAGSTER_RANGE))
def tests_dagster(session: nox.Session, dagster: str) -> None:
    """The Dagster adapter's tests at both ends of the supported Dagster range."""
    _sync(session)
    pins = DAGSTER_RANGE[dagster]
    if pins:
        # Over the locked environment; the next reuse's `uv sync` restores the lock first.
        location = f"--python={session.virtualenv.location}"
        session.run_install("uv", "pip", "install", location, *pins, silent=True)
        session.run_install("uv", "pip", "check", location)
    session.run(
        "python",
        "-c",
        "from importlib.metadata import version as v; print(*(f'{d} {v(d)}' for d in "
        "('dagster', 'dagster-dbt', 'dbt-core', 'dbt-duckdb', 'dbt-postgres')))",
    )
    _pytest(
        session,
        str(ROOT / "packages" / "floe-orchestrator-dagster" / "tests"),
        "-p",
        "no:cacheprovider",
    )


@nox.session(python="3.11")
def contracts(session: nox.Session) -> None:
    """The contract suites (orchestrator, lineage backend, ingestion) per adapter."""
    _sync(session)
    _provision_airbyte(session)
    dirs = sorted(str(d) for d in (ROOT / "packages").glob("*/tests/contract") if d.is_dir())
    if not dirs:
        session.error("no tests/contract directory in any package")
    _pytest(session, *dirs)


def _ensure_chromium(session: nox.Session) -> None:
    """Install Debian's chromium for the browser test when it is missing and apt-get can (as
    root, or through password-less sudo); otherwise say why the browser test will skip (or
    fail, under ``FLOE_REQUIRE_CHROMIUM=1`` as .ci/run sets it)."""
    if shutil.which("chromium") or shutil.which("chromium-browser"):
        return
    _apt_install(session, "chromium")


def _ensure_tmux(session: nox.Session) -> None:
    """Install tmux for the test of ``floe run`` on a real terminal
    (integration/test_run_view.py) when it is missing and apt-get can; it skips without."""
    if shutil.which("tmux"):
        return
    _apt_install(session, "tmux")


def _apt_install(session: nox.Session, package: str) -> None:
    """``apt-get install package`` as root or through password-less sudo, else a warning."""
    if shutil.which("apt-get") is None:
        session.warn(f"{package} is missing and there is no apt-get to install it")
        return
    prefix = [] if os.geteuid() == 0 else ["sudo", "-n"]
    if prefix and shutil.which("sudo") is None:
        session.warn(f"{package} is missing; install it as root: apt-get install {package}")
        return
    environment = {"DEBIAN_FRONTEND": "noninteractive"}
    session.run(*prefix, "apt-get", "update", "-qq", external=True, env=environment)
    session.run(*prefix, "apt-get", "install", "-y", "-qq", package, external=True, env=environment)


@nox.session(python="3.11")
def integration(session: nox.Session) -> None:
    """Cross-package tests against real services (webserver, dbt + DuckDB, Postgres, HTTP,
    Chromium and tmux: installed with apt-get when missing). The up/status/down orphan test runs 5
    cycles here (about 25 s each); ``FLOE_RUNTIME_CYCLES=20 nox -s integration`` runs the
    issue's 20."""
    _sync(session)
    _ensure_chromium(session)
    _ensure_tmux(session)
    _provision_airbyte(session)
    session.env.setdefault("FLOE_RUNTIME_CYCLES", os.environ.get("FLOE_RUNTIME_CYCLES", "5"))
    # integration/k8s is the k8s session's.
    _pytest(session, str(ROOT / "integration"), f"--ignore={ROOT / 'integration' / 'k8s'}")


@nox.session(python="3.11")
def k8s(session: nox.Session) -> None:
    """The Kubernetes path without a cluster (integration/k8s): every rendered manifest
    against the Kubernetes OpenAPI schemas (strict, 1.29 to the newest kubernetes-validate
    ships), Pod Security "restricted" (run pods of the K8sRunLauncher included), the instance
    config against Dagster's schemas and on a real PostgreSQL, the rendered code server and
    webserver run locally, `floe helm values`."""
    _sync(session)
    _pytest(session, str(ROOT / "integration" / "k8s"), "-p", "no:cacheprovider")


@nox.session(python="3.11")
def packages(session: nox.Session) -> None:
    """Each distribution builds a wheel and installs alone with pip into a clean venv."""
    _sync(session)
    with tempfile.TemporaryDirectory(prefix="floe-wheels-") as tmp:
        out = Path(tmp)
        for dist, module in PACKAGES.items():
            session.run("uv", "build", "--package", dist, "--wheel", "--out-dir", str(out))
            venv = out / f"venv-{dist}"
            session.run("uv", "venv", "--seed", "--python", "3.11", str(venv), silent=True)
            python = str(venv / "bin" / "python")
            wheels = [str(w) for w in sorted(out.glob("*.whl"))]
            # Install this distribution with pip; sibling wheels are offered via --find-links
            # so an adapter can resolve floe-orchestration-core without an index entry.
            session.run(
                python,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--find-links",
                str(out),
                dist,
                external=True,
            )
            session.run(
                python, "-c", f"import {module}; print({module}.__name__, 'ok')", external=True
            )
            session.log(f"{dist}: built and installed alone ({len(wheels)} wheels on hand)")
            shutil.rmtree(venv)


@nox.session(python="3.11")
def bench(session: nox.Session) -> None:
    """Benchmarks (numbers recorded by hand in docs/benchmarks.md with machine and date).

    ``nox -s bench`` runs every script with its defaults (the Dagster one takes 10+ minutes);
    ``nox -s bench -- bench_core.py -n 3`` runs one script with arguments.
    """
    _sync(session)
    scripts = sorted((ROOT / "benchmarks").glob("bench_*.py"))
    if session.posargs and session.posargs[0].endswith(".py"):
        session.run("python", str(ROOT / "benchmarks" / session.posargs[0]), *session.posargs[1:])
        return
    for script in scripts:
        session.run("python", str(script))


@nox.session(python=False)
def ci(session: nox.Session) -> None:
    """What .ci/run runs: every check a change must pass."""
    for name in (
        "lint",
        "typecheck",
        "tests-3.11",
        "tests-3.12",
        "tests_dagster(dagster='1.10')",
        "packages",
        "helm",
        "k8s",
        "integration",
    ):
        session.notify(name)


#: Dagster's resource presets; `nox -s helm` lints the chart with each one's generated values.
HELM_SIZES = ("small", "medium", "large")


@nox.session(python="3.12")
def helm(session: nox.Session) -> None:
    """helm lint of charts/floe-dagster with its defaults and each preset's `floe helm values`,
    then the chart's render tests. Uses a `helm` binary on PATH, else the helm-sdkpy package;
    any lint error fails the session."""
    _sync(session)
    session.install("helm-sdkpy==0.1.32", "helm-python-sdk==0.2.2")  # offline lint; offline render
    chart = ROOT / "charts" / "floe-dagster"
    with tempfile.TemporaryDirectory(prefix="floe-helm-") as tmp:
        out = Path(tmp)
        artifacts = out / "compiled_artifacts.json"
        example = ROOT / "examples" / "jaffle-shop"
        session.run(
            "floe", "compile", "--dbt-manifest", str(example / "target" / "manifest.json"),
            "--product", str(example / "floe.yaml"), "-o", str(artifacts), silent=True,
        )  # fmt: skip
        manifest = out / "manifest.yaml"
        manifest.write_text(
            "orchestrator:\n  type: dagster\n  config:\n"
            "    user_code_image: ghcr.io/floe-examples/jaffle-shop:1.0.0\n",
            encoding="utf-8",
        )
        cases: dict[str, Path | None] = {"defaults": None}
        for size in HELM_SIZES:
            text = session.run(
                "floe", "helm", "values", "--size", size, "--artifacts", str(artifacts),
                "--manifest", str(manifest), "--json", silent=True,
            )  # fmt: skip
            path = out / f"values-{size}.json"
            path.write_text(str(text), encoding="utf-8")
            cases[size] = path
        binary = shutil.which("helm")
        for name, values in cases.items():
            session.log(f"helm lint {chart.name} ({name})")
            if binary is not None:
                extra = ["--values", str(values)] if values is not None else []
                session.run(binary, "lint", "--strict", str(chart), *extra, external=True)
            else:
                session.run("python", "-c", _HELM_SDKPY_LINT, str(chart), str(values or ""))
    _pytest(
        session,
        str(ROOT / "packages/floe-orchestrator-dagster/tests/deploy/test_helm_chart.py"),
        "-p",
        "no:cacheprovider",
    )


#: helm-sdkpy lints a chart directory with its own values.yaml only, so the generated values
#: are merged into a copy of the chart first (maps merge, lists replace: Helm's `-f`). Its
#: report drops the error texts, so failing values are also checked against the chart's
#: values.schema.json with jsonschema, whose messages say what is wrong.
_HELM_SDKPY_LINT = """
import asyncio, json, pathlib, shutil, sys, tempfile
import helm_sdkpy, jsonschema, yaml

def merge(base, overlay):
    out = dict(base)
    for key, value in overlay.items():
        both = isinstance(value, dict) and isinstance(out.get(key), dict)
        out[key] = merge(out[key], value) if both else value
    return out

chart, values_path = pathlib.Path(sys.argv[1]), sys.argv[2]
with tempfile.TemporaryDirectory() as tmp:
    copy = pathlib.Path(tmp) / chart.name
    shutil.copytree(chart, copy)
    values = yaml.safe_load((chart / "values.yaml").read_text())
    if values_path:
        values = merge(values, json.loads(pathlib.Path(values_path).read_text()))
        (copy / "values.yaml").write_text(yaml.safe_dump(values, sort_keys=False))
    report = asyncio.run(helm_sdkpy.Lint(helm_sdkpy.Configuration()).run(str(copy)))
severity = {1: "INFO", 2: "WARNING", 3: "ERROR"}
for message in report.get("Messages") or []:
    print(f"[{severity.get(message['Severity'], '?')}] {message['Path']}")
errors = [m for m in report.get("Messages") or [] if m["Severity"] >= 2]
if errors:
    schema = json.loads((chart / "values.schema.json").read_text())
    for problem in jsonschema.Draft202012Validator(schema).iter_errors(values):
        print("schema:", "/".join(map(str, problem.absolute_path)), problem.message)
    sys.exit(f"helm lint: {len(errors)} error(s) or warning(s) in {chart.name}")
print(f"helm lint: {chart.name} ok ({report['TotalChartsLinted']} chart linted)")
"""
