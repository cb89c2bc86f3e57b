"""The package's import surface: public names, the compat seam, what importing costs."""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import floe_orchestrator_dagster
from floe_orchestrator_dagster import compat


def _fresh(code: str) -> list[str]:
    """The heavy modules (dagster, dagster_dbt, pydantic, dbt) loaded after ``code``."""
    probe = textwrap.dedent(code) + textwrap.dedent(
        """
        import json, sys
        heavy = ("dagster", "dagster_dbt", "pydantic", "dbt")
        print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in heavy)))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    loaded: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return loaded


@pytest.mark.parametrize("name", sorted(set(floe_orchestrator_dagster.__all__) - {"__version__"}))
def test_every_public_name_is_the_object_its_module_defines(name: str) -> None:
    value = getattr(floe_orchestrator_dagster, name)
    module = importlib.import_module(value.__module__)
    assert getattr(module, name) is value


def test_an_unknown_name_is_an_attribute_error_naming_it() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        floe_orchestrator_dagster.no_such_name  # noqa: B018


def test_importing_the_package_and_compat_imports_no_dagster_nor_pydantic() -> None:
    assert _fresh("import floe_orchestrator_dagster, floe_orchestrator_dagster.compat") == []


def test_dagster_internals_are_imported_only_when_used() -> None:
    loaded = _fresh(
        """
        from floe_orchestrator_dagster.compat import InstigatorType
        from floe_orchestrator_dagster.compat import SQLITE_RUN_STORAGE
        """
    )
    assert any(m.startswith("dagster.") for m in loaded)
    assert not [m for m in loaded if m.split(".")[0] in ("dagster_dbt", "dbt")]


@pytest.mark.parametrize("name", sorted(compat.__all__))
def test_every_compat_name_resolves_on_the_installed_dagster(name: str) -> None:
    assert getattr(compat, name) is not None


def _internal_imports(path: Path) -> list[str]:
    """Modules imported by ``path`` that are Dagster or dagster-dbt internals."""
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = (
            [alias.name for alias in node.names]
            if isinstance(node, ast.Import)
            else [node.module or ""]
            if isinstance(node, ast.ImportFrom) and node.level == 0
            else []
        )
        found += [n for n in names if n.startswith(("dagster._", "dagster_dbt."))]
    return found


def test_only_compat_imports_dagster_and_dagster_dbt_internals() -> None:
    package = Path(floe_orchestrator_dagster.__file__).parent
    offenders = {
        str(path.relative_to(package)): imports
        for path in sorted(package.rglob("*.py"))
        if path.name != "compat.py" and (imports := _internal_imports(path))
    }
    assert offenders == {}


def test_compat_class_paths_name_classes_that_exist() -> None:
    for module, class_name in (
        compat.SQLITE_RUN_STORAGE,
        compat.SQLITE_SCHEDULE_STORAGE,
        compat.QUEUED_RUN_COORDINATOR,
    ):
        # As Dagster reads dagster.yaml: "dagster.core" is its public alias of "dagster._core".
        data = compat.ConfigurableClassData(module, class_name, "{}")
        assert isinstance(getattr(importlib.import_module(data.module_name), class_name), type)


def test_an_unknown_compat_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_internal"):
        compat.no_such_internal  # noqa: B018
