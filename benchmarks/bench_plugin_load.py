"""Plugin discovery and load cost, A/B against a bare interpreter, in fresh subprocesses.

Cases (each a fresh ``python -c``; runs interleaved so drift hits every case alike):

- ``bare`` — ``python -c pass``: the baseline that is subtracted;
- ``list`` — ``from floe_registry.discovery import list_plugins; list_plugins()``;
- ``port`` — importing the core's ``OrchestratorPlugin`` port module alone: every plugin
  class subclasses it, so this is the floor under ``load`` that the registry cannot remove;
- ``load`` — loading the orchestrator plugin class through the registry
  (``load_orchestrator_class``). The real ``dagster`` plugin is used when one is installed;
  until then, a fake distribution in a temporary directory registers a minimal concrete
  ``OrchestratorPlugin`` as ``bench_orchestrator`` (its module imports only the core);
- ``cli`` — the installed ``floe plugins list`` end to end.

Every case also reports whether ``dagster`` (and pydantic) ended up in ``sys.modules``.

Bytecode: ``--bytecode warm`` (default) gives the subprocesses a private
``PYTHONPYCACHEPREFIX`` and warms it once, as an installed wheel with compiled ``.pyc`` files
behaves; ``--bytecode cold`` keeps the environment as it is (with ``PYTHONDONTWRITEBYTECODE``
and no ``__pycache__`` every import compiles from source, which is much slower).

Usage::

    .venv/bin/python benchmarks/bench_plugin_load.py [--runs 21] [--bytecode warm|cold]
        [--check]    # exit 1 when a case's overhead exceeds the 150 ms target

Prints a markdown table of medians (ms).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import textwrap
from dataclasses import dataclass, field
from importlib import metadata as importlib_metadata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from timed_process import run_timed

TARGET_MS = 150.0
SPEC_MS = 500.0

_PROBE = (
    "import sys, json; "
    "print(json.dumps({'dagster': 'dagster' in sys.modules, "
    "'pydantic': 'pydantic' in sys.modules}))"
)

_FAKE_PLUGIN = '''
"""A minimal concrete orchestrator plugin for the load benchmark."""
from floe_orchestration_core import FLOE_API_VERSION
from floe_orchestration_core.plugin import OrchestratorPlugin, PluginMetadata
from floe_orchestration_core.connectivity import ValidationResult


class BenchOrchestrator(OrchestratorPlugin):
    metadata = PluginMetadata(
        name="bench_orchestrator", version="0.0.1", floe_api_version=FLOE_API_VERSION
    )

    def _create_definitions(self, artifacts, graph):
        return {}

    def _create_assets_from_transforms(self, transforms, graph):
        return []

    def _get_helm_values(self, *, size, resources, artifacts):
        return {}

    def _schedule_job(self, job_name, cron, timezone):
        return None

    def _validate_connection(self, url, deadline):
        return ValidationResult.ok("bench")
'''


@dataclass
class Case:
    name: str
    argv: list[str]
    description: str
    times_ms: list[float] = field(default_factory=list)
    modules: dict[str, bool] = field(default_factory=dict)


def _fake_distribution(root: Path) -> str:
    info = root / "floe_bench_plugin-0.0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: floe-bench-plugin\nVersion: 0.0.1\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(
        "[floe.orchestrators]\n"
        "bench_orchestrator = floe_bench_plugin:BenchOrchestrator [floe-api-1.0]\n",
        encoding="utf-8",
    )
    (root / "floe_bench_plugin.py").write_text(textwrap.dedent(_FAKE_PLUGIN), encoding="utf-8")
    return "bench_orchestrator"


def _real_dagster_installed() -> bool:
    return any(
        ep.name == "dagster" for ep in importlib_metadata.entry_points(group="floe.orchestrators")
    )


def _cases(python: str, floe: str | None, plugin: str) -> list[Case]:
    cases = [
        Case("bare", [python, "-c", "pass"], "`python -c pass`"),
        Case(
            "list",
            [
                python,
                "-c",
                "from floe_registry.discovery import list_plugins; list_plugins(); " + _PROBE,
            ],
            "`list_plugins()` (metadata only)",
        ),
        Case(
            "port",
            [python, "-c", "import floe_orchestration_core.plugin; " + _PROBE],
            "`import floe_orchestration_core.plugin` (the port alone, for attribution)",
        ),
        Case(
            "load",
            [
                python,
                "-c",
                "from floe_registry.loading import load_orchestrator_class; "
                f"load_orchestrator_class({plugin!r}); " + _PROBE,
            ],
            f"`load_orchestrator_class({plugin!r})`",
        ),
    ]
    if floe is not None:
        cases.append(Case("cli", [floe, "plugins", "list"], "`floe plugins list` (CLI)"))
    return cases


def _run_once(case: Case, env: dict[str, str]) -> None:
    done = run_timed(case.argv, env=env, label=f"case {case.name}")
    case.times_ms.append(done.seconds * 1000)
    last = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    if last.startswith("{"):
        case.modules = json.loads(last)


def _table(cases: list[Case], runs: int, bytecode: str, plugin: str) -> str:
    bare = statistics.median(cases[0].times_ms)
    lines = [
        f"Python {sys.version.split()[0]} on {sys.platform}, {runs} runs per case, medians; "
        f"bytecode {bytecode}; plugin loaded: `{plugin}`",
        "",
        "| case | median (ms) | min (ms) | over bare (ms) | target | dagster imported "
        "| pydantic imported |",
        "|---|---:|---:|---:|---|---|---|",
    ]
    for case in cases:
        median = statistics.median(case.times_ms)
        over = median - bare
        verdict = "ok" if over <= TARGET_MS else "OVER"
        lines.append(
            f"| {case.description} | {median:.1f} | {min(case.times_ms):.1f} | "
            f"{'' if case.name == 'bare' else f'{over:.1f}'} | "
            f"{'' if case.name in ('bare', 'port') else f'< {TARGET_MS:.0f} ({verdict})'} | "
            f"{case.modules.get('dagster', '') if case.modules else ''} | "
            f"{case.modules.get('pydantic', '') if case.modules else ''} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=21, help="runs per case (default 21)")
    parser.add_argument("--bytecode", choices=["warm", "cold"], default="warm")
    parser.add_argument("--check", action="store_true", help="exit 1 when over the target")
    args = parser.parse_args(argv)

    python = sys.executable
    floe = shutil.which("floe", path=str(Path(python).parent))
    with tempfile.TemporaryDirectory(prefix="floe-bench-") as temp:
        root = Path(temp)
        env = dict(os.environ)
        if _real_dagster_installed():
            plugin = "dagster"
        else:
            site = root / "site"
            site.mkdir()
            plugin = _fake_distribution(site)
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), env.get("PYTHONPATH")]))
        if args.bytecode == "warm":
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = str(root / "pycache")
        cases = _cases(python, floe, plugin)
        for case in cases:  # warm-up: fills the bytecode cache and the OS file cache
            _run_once(case, env)
            case.times_ms.clear()
        for _ in range(args.runs):
            for case in cases:
                _run_once(case, env)
    print(_table(cases, args.runs, args.bytecode, plugin))
    bare = statistics.median(cases[0].times_ms)
    over = [
        c
        for c in cases
        if c.name not in ("bare", "port") and statistics.median(c.times_ms) - bare > TARGET_MS
    ]
    leaked = [c for c in cases if c.modules.get("dagster")]
    return 1 if args.check and (over or leaked) else 0


if __name__ == "__main__":
    raise SystemExit(main())
