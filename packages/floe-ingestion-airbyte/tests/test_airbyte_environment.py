"""Creating the cached virtual environments for real, offline: from a connector wheel built
here and offered through find-links (with uv, and with venv + pip when uv is absent)."""

from __future__ import annotations

import base64
import hashlib
import shutil
import threading
import zipfile
from pathlib import Path

import pytest

from floe_ingestion_airbyte import __main__ as provision
from floe_ingestion_airbyte.connector import ConnectorSource
from floe_ingestion_airbyte.environment import AirbyteEnvironment, cache_root
from floe_orchestration_core.errors import IngestionConfigError

NAME = "source-floefake"


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def build_connector_wheel(folder: Path, *, console_script: bool = True) -> Path:
    """``airbyte-source-floefake 0.0.1``: a module and (optionally) its console script."""
    folder.mkdir(parents=True, exist_ok=True)
    info = "airbyte_source_floefake-0.0.1.dist-info"
    files = {
        "floefake/__init__.py": b"def main():\n    print('floefake')\n",
        f"{info}/METADATA": b"Metadata-Version: 2.1\nName: airbyte-source-floefake\n"
        b"Version: 0.0.1\n",
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: floe-tests\nRoot-Is-Purelib: true\n"
        b"Tag: py3-none-any\n",
    }
    if console_script:
        files[f"{info}/entry_points.txt"] = b"[console_scripts]\nsource-floefake = floefake:main\n"
    record = [_record_line(name, data) for name, data in files.items()] + [f"{info}/RECORD,,"]
    wheel = folder / "airbyte_source_floefake-0.0.1-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
        archive.writestr(f"{info}/RECORD", "\n".join(record) + "\n")
    return wheel


@pytest.fixture
def offline_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    links = tmp_path / "links"
    build_connector_wheel(links)
    for variable, value in {
        "UV_NO_INDEX": "1",
        "UV_FIND_LINKS": str(links),
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(links),
    }.items():
        monkeypatch.setenv(variable, value)
    return links


def test_a_connector_venv_is_created_once_and_reused(tmp_path: Path, offline_index: Path) -> None:
    env = AirbyteEnvironment(root=tmp_path / "cache")
    source = ConnectorSource(name=NAME, version="0.0.1")
    executable = env.connector_executable(source)
    assert executable.is_file()
    assert executable.parent.parent.name.startswith("source-floefake-0.0.1-py3.")
    marker = executable.parent.parent / ".floe-ready"
    created = marker.stat().st_mtime_ns
    assert env.provision_seconds > 0
    again = AirbyteEnvironment(root=tmp_path / "cache")
    assert again.connector_executable(source) == executable
    assert marker.stat().st_mtime_ns == created
    assert again.provision_seconds == 0


def test_a_venv_left_half_made_is_rebuilt(tmp_path: Path, offline_index: Path) -> None:
    env = AirbyteEnvironment(root=tmp_path / "cache")
    source = ConnectorSource(name=NAME, version="0.0.1")
    _, tag = env._base()
    half = tmp_path / "cache" / "connectors" / f"{source.cache_key}-{tag}"
    (half / "bin").mkdir(parents=True)
    (half / "junk").write_text("killed mid-install", encoding="utf-8")
    assert env.connector_executable(source).is_file()
    assert not (half / "junk").exists()


def test_two_runs_at_once_build_one_venv(tmp_path: Path, offline_index: Path) -> None:
    source = ConnectorSource(name=NAME, version="0.0.1")
    envs = [AirbyteEnvironment(root=tmp_path / "cache") for _ in range(2)]
    results: list[Path] = []
    threads = [
        threading.Thread(target=lambda e=e: results.append(e.connector_executable(source)))
        for e in envs
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(results) == 2
    assert results[0] == results[1]
    assert sorted(e.provision_seconds > 0 for e in envs) == [False, True]


def test_without_uv_the_venv_is_made_with_venv_and_pip(
    tmp_path: Path, offline_index: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_which = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name: None if name == "uv" else real_which(name))
    executable = AirbyteEnvironment(root=tmp_path / "cache").connector_executable(
        ConnectorSource(name=NAME, version="0.0.1")
    )
    assert executable.is_file()
    assert (executable.parent / "pip").is_file()  # made by python -m venv, not uv


def test_a_package_without_the_connector_command_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    links = tmp_path / "links"
    build_connector_wheel(links, console_script=False)
    monkeypatch.setenv("UV_NO_INDEX", "1")
    monkeypatch.setenv("UV_FIND_LINKS", str(links))
    with pytest.raises(IngestionConfigError, match="installed no 'source-floefake' command"):
        AirbyteEnvironment(root=tmp_path / "cache").connector_executable(
            ConnectorSource(name=NAME, version="0.0.1")
        )


def test_provision_reports_each_cached_environment(capsys: pytest.CaptureFixture[str]) -> None:
    """Against the real cache (created by the first sync test, or by CI's provision step)."""
    if not any(cache_root().glob("pyairbyte-*/.floe-ready")):
        pytest.skip(f"PyAirbyte's venv is not cached in {cache_root()} yet")
    assert provision.main(["provision", "source-faker==7.2.1"]) == 0
    out = capsys.readouterr().out
    assert "PyAirbyte: " in out
    assert "airbyte-source-faker==7.2.1: " in out
