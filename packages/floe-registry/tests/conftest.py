"""Fixtures: fake installed distributions (dist-info + module on a path) and the corpus.

``fake_dists`` writes real ``*.dist-info`` directories so :mod:`importlib.metadata` discovers
their entry points exactly as it discovers installed ones, both in-process (the directory is
prepended to ``sys.path``) and in ``floe`` subprocesses (``fake_dists.env`` sets PYTHONPATH).
"""

from __future__ import annotations

import importlib
import os
import sys
import textwrap
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
SHARED = REPO_ROOT.parent / "shared"
CORPUS_MANIFEST = SHARED / "corpus" / "dbt-manifests" / "jaffle_sl_duckdb_v12.json"
FLOE = REPO_ROOT / ".venv" / "bin" / "floe"

# A complete orchestrator plugin: the core's reference adapter under another name.
ORCHESTRATOR_SOURCE = """
from floe_orchestration_core.plugin import PluginMetadata
from floe_orchestration_core.testing.fakes import InMemoryOrchestrator


class Plugin(InMemoryOrchestrator):
    metadata = PluginMetadata(name={name!r}, version="1.2.3", floe_api_version={api!r})
"""

LINEAGE_SOURCE = """
from floe_orchestration_core.plugin import PluginMetadata
from floe_orchestration_core.testing.fakes import InMemoryLineageBackend


class Backend(InMemoryLineageBackend):
    metadata = PluginMetadata(name={name!r}, version="0.4.0", floe_api_version={api!r})
"""

INGESTION_SOURCE = """
from floe_orchestration_core.plugin import PluginMetadata
from floe_orchestration_core.testing.fake_ingestion import InMemoryIngestion


class Connector(InMemoryIngestion):
    metadata = PluginMetadata(name={name!r}, version="0.2.0", floe_api_version={api!r})
"""


@dataclass
class FakeDistributions:
    """Writes fake distributions into ``root`` (on sys.path for this test)."""

    root: Path
    modules: list[str] = field(default_factory=list)

    def add(
        self,
        dist: str,
        version: str,
        entry_points: Mapping[str, Mapping[str, str]],
        modules: Mapping[str, str] = {},
    ) -> None:
        """One distribution ``dist`` with ``{group: {name: value}}`` entry points and modules."""
        info = self.root / f"{dist.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n", encoding="utf-8"
        )
        lines = []
        for group, entries in entry_points.items():
            lines.append(f"[{group}]")
            lines += [f"{name} = {value}" for name, value in entries.items()]
            lines.append("")
        (info / "entry_points.txt").write_text("\n".join(lines), encoding="utf-8")
        for module, source in modules.items():
            (self.root / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")
            self.modules.append(module)
        importlib.invalidate_caches()

    def orchestrator(
        self,
        name: str = "fake",
        *,
        dist: str | None = None,
        module: str | None = None,
        api: str = "1.0",
        marker: str | None = "1.0",
        entry_name: str | None = None,
    ) -> str:
        """A distribution with a working orchestrator plugin; returns its module name."""
        module = module or f"fake_orch_{name}"
        value = f"{module}:Plugin" + (f" [floe-api-{marker}]" if marker else "")
        self.add(
            dist or f"fake-{name}-plugin",
            "1.2.3",
            {"floe.orchestrators": {entry_name or name: value}},
            {module: ORCHESTRATOR_SOURCE.format(name=name, api=api)},
        )
        return module

    def lineage_backend(self, name: str = "fake_lineage", *, api: str = "1.0") -> str:
        module = f"fake_lineage_{name}"
        self.add(
            f"fake-{name}-backend",
            "0.4.0",
            {"floe.lineage_backends": {name: f"{module}:Backend [floe-api-{api}]"}},
            {module: LINEAGE_SOURCE.format(name=name, api=api)},
        )
        return module

    def ingestion(self, name: str = "fake_connector", *, api: str = "1.0") -> str:
        module = f"fake_ingestion_{name}"
        self.add(
            f"fake-{name}-ingestion",
            "0.2.0",
            {"floe.ingestion": {name: f"{module}:Connector [floe-api-{api}]"}},
            {module: INGESTION_SOURCE.format(name=name, api=api)},
        )
        return module

    @property
    def env(self) -> dict[str, str]:
        """Environment for a subprocess that sees these distributions."""
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            [str(self.root), *filter(None, [env.get("PYTHONPATH")])]
        )
        return env


@pytest.fixture
def fake_dists(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeDistributions]:
    root = tmp_path / "site"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    fakes = FakeDistributions(root)
    yield fakes
    for module in fakes.modules:
        sys.modules.pop(module, None)
    importlib.invalidate_caches()


@pytest.fixture
def corpus_manifest() -> Path:
    if not CORPUS_MANIFEST.is_file():
        pytest.skip(f"the shared dbt manifest corpus is absent ({CORPUS_MANIFEST})")
    return CORPUS_MANIFEST


@pytest.fixture
def floe_command() -> Path:
    if not FLOE.is_file():
        pytest.skip(f"the installed floe command is absent ({FLOE}); run uv sync")
    return FLOE
