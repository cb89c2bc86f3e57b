"""tools/import_cycles.py finds every cycle, however the import is written, and only cycles."""

from __future__ import annotations

import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import grimp
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from import_cycles import find_cycles, main, workspace_packages


@pytest.fixture
def package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Path]]:
    """An empty importable package with a unique name, and its folder."""
    name = f"cycles_{uuid.uuid4().hex[:8]}"
    folder = tmp_path / name
    folder.mkdir()
    (folder / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name, folder
    for module in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
        del sys.modules[module]


def _write(folder: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def _cycles(name: str) -> list[tuple[list[str], tuple[str, ...]]]:
    return find_cycles(grimp.build_graph(name, cache_dir=None), [name])


@pytest.mark.parametrize(
    "second",
    [
        "from {p}.a import A\n",
        "def f():\n    from {p}.a import A\n",
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from {p}.a import A\n",
        "import {p}.a\n",
    ],
    ids=["module-level", "inside-a-function", "type-checking", "plain-import"],
)
def test_two_modules_importing_each_other_are_a_cycle_however_written(
    package: tuple[str, Path], second: str
) -> None:
    name, folder = package
    _write(folder, {"a.py": f"from {name}.b import B\nA = 1\n", "b.py": second.format(p=name)})
    ((members, loop),) = _cycles(name)
    assert members == [f"{name}.a", f"{name}.b"]
    assert loop in (
        (f"{name}.a", f"{name}.b", f"{name}.a"),
        (f"{name}.b", f"{name}.a", f"{name}.b"),
    )


def test_a_long_loop_through_subpackages_is_reported_once_with_its_shortest_path(
    package: tuple[str, Path],
) -> None:
    name, folder = package
    _write(
        folder,
        {
            "x/__init__.py": "",
            "x/one.py": f"import {name}.y.two\n",
            "y/__init__.py": "",
            "y/two.py": f"import {name}.z\n",
            "z.py": f"from {name}.x import one\n",
            "leaf.py": f"import {name}.x.one\n",  # reaches the loop, is not part of it
        },
    )
    ((members, loop),) = _cycles(name)
    assert members == [f"{name}.x.one", f"{name}.y.two", f"{name}.z"]
    assert len(loop) == 4
    assert set(loop) == set(members)


def test_a_package_init_that_imports_a_module_importing_the_package_is_a_cycle(
    package: tuple[str, Path],
) -> None:
    name, folder = package
    _write(
        folder,
        {
            "sub/__init__.py": f"from {name}.sub.impl import thing\n",
            "sub/impl.py": f"from {name}.sub import other\nthing = 1\n",
        },
    )
    ((members, _),) = _cycles(name)
    assert members == [f"{name}.sub", f"{name}.sub.impl"]


def test_layers_without_back_edges_have_no_cycle_and_main_exits_0(
    package: tuple[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    name, folder = package
    _write(
        folder,
        {
            "low.py": "LOW = 1\n",
            "mid.py": f"from {name}.low import LOW\n",
            "high.py": f"from {name}.mid import *\nfrom {name}.low import LOW\n",
        },
    )
    assert _cycles(name) == []
    assert main([name]) == 0
    assert "no import cycles" in capsys.readouterr().out


def test_main_exits_1_and_prints_each_import_line_of_the_loop(
    package: tuple[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    name, folder = package
    _write(folder, {"a.py": f"import {name}.b\n", "b.py": f"\n\nimport {name}.a\n"})
    assert main([name]) == 1
    out = capsys.readouterr().out
    assert f"line 3: import {name}.a" in out
    assert f"line 1: import {name}.b" in out
    assert "1 import cycle(s)" in out


def test_the_workspace_packages_are_the_src_packages_of_every_member() -> None:
    assert workspace_packages() == [
        "floe_ingestion_airbyte",
        "floe_ingestion_dlt",
        "floe_lineage_openlineage",
        "floe_orchestration_core",
        "floe_orchestrator_dagster",
        "floe_registry",
    ]
