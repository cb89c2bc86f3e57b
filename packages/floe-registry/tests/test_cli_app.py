"""The command table in-process: capability-gated commands, error mapping, the parser."""

from __future__ import annotations

import argparse
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from floe_orchestration_core.plugin import Capability, PluginMetadata
from floe_orchestration_core.testing.fakes import InMemoryOrchestrator
from floe_registry.cli.app import (
    EXIT_INTERNAL,
    EXIT_OK,
    EXIT_USAGE,
    Command,
    Invocation,
    build_parser,
    default_commands,
    main,
)
from floe_registry.loading import register


class _LocalRuntimeOrchestrator(InMemoryOrchestrator):
    metadata = PluginMetadata(name="with_runtime", version="1", floe_api_version="1.0")
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.LOCAL_RUNTIME})


def _run_up(invocation: Invocation) -> int:
    name = type(invocation.platform().orchestrator).metadata.name
    invocation.emit(f"started {name}", {"started": name})
    return EXIT_OK


UP = Command(("up",), "start the orchestrator", run=_run_up, requires="local_runtime")
# The built-in commands with this file's stand-in for the real 'floe up'.
_BUILT_IN_WITHOUT_UP = [c for c in default_commands() if c.words != ("up",)]


@pytest.fixture
def manifests(tmp_path: Path) -> Iterator[dict[str, Path]]:
    paths = {}
    for name in ("in_memory", "with_runtime"):
        path = tmp_path / f"{name}.yaml"
        path.write_text(f"orchestrator: {name}\n", encoding="utf-8")
        paths[name] = path
    with register(InMemoryOrchestrator), register(_LocalRuntimeOrchestrator):
        yield paths


def _main(*argv: str, commands: list[Command] | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), commands=commands, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_capability_command_runs_when_the_orchestrator_declares_it(
    manifests: dict[str, Path],
) -> None:
    code, out, _ = _main(
        "up", "--manifest", str(manifests["with_runtime"]), "--json",
        commands=[*_BUILT_IN_WITHOUT_UP, UP],
    )  # fmt: skip

    assert code == EXIT_OK
    assert json.loads(out) == {"started": "with_runtime"}


def test_capability_command_says_which_orchestrator_lacks_it_and_exits_two(
    manifests: dict[str, Path],
) -> None:
    code, out, err = _main(
        "up", "--manifest", str(manifests["in_memory"]), commands=[*_BUILT_IN_WITHOUT_UP, UP]
    )

    assert code == EXIT_USAGE
    assert out == ""
    assert "the orchestrator 'in_memory' does not provide local_runtime" in err


def test_capability_commands_get_a_manifest_option() -> None:
    parser = build_parser([UP])

    args = parser.parse_args(["up", "--manifest", "m.yaml"])

    assert args.manifest == "m.yaml"


def test_json_and_debug_are_accepted_before_or_after_the_command() -> None:
    parser = build_parser(default_commands())

    before = parser.parse_args(["--json", "plugins", "list"])
    after = parser.parse_args(["plugins", "list", "--json", "--debug"])

    assert before.json is True
    assert before.debug is False
    assert after.json is True
    assert after.debug is True


def _crash(invocation: Invocation) -> int:
    raise RuntimeError("boom")


def test_unexpected_exception_exits_three_asking_for_a_report_without_traceback() -> None:
    code, _, err = _main("crash", commands=[Command(("crash",), "crash", run=_crash)])

    assert code == EXIT_INTERNAL
    assert "internal error" in err
    assert "boom" in err
    assert "--debug" in err
    assert "Traceback" not in err


def test_os_error_from_a_command_is_an_input_error(tmp_path: Path) -> None:
    def write(invocation: Invocation) -> int:
        (tmp_path / "missing-dir" / "x").open()
        return EXIT_OK

    code, _, err = _main("write", commands=[Command(("write",), "write", run=write)])

    assert code == EXIT_USAGE
    assert "missing-dir" in err


def test_plugins_list_in_process_shows_registered_plugins(manifests: dict[str, Path]) -> None:
    code, out, _ = _main("plugins", "list", "--kind", "orchestrator")

    assert code == EXIT_OK
    assert "with_runtime" in out
    assert "(registered in-process)" in out


def test_default_orchestrator_is_dagster_when_no_manifest_exists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    composed: list[object] = []

    def compose(source: object) -> str:
        composed.append(source)
        return "platform"

    monkeypatch.setattr("floe_registry.platform.load_platform", compose)
    invocation = Invocation(
        args=argparse.Namespace(manifest=None), stdout=io.StringIO(), stderr=io.StringIO()
    )

    platform: object = invocation.platform()
    assert platform == "platform"
    assert composed == [{"orchestrator": "dagster"}]


def test_manifest_yaml_in_the_working_directory_is_used_by_default(
    manifests: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "manifest.yaml").write_text("orchestrator: with_runtime\n", encoding="utf-8")
    invocation = Invocation(
        args=argparse.Namespace(manifest=None), stdout=io.StringIO(), stderr=io.StringIO()
    )

    assert type(invocation.platform().orchestrator).metadata.name == "with_runtime"
    invocation.close()
