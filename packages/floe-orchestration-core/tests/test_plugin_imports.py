"""The plugin port stays cheap to import: every adapter's plugin module imports it.

Loading a plugin through the registry must not pull in pydantic, networkx, OpenTelemetry or
attrs (see "Import cost" in ``floe_orchestration_core.plugin``). Each check runs in a fresh
interpreter, because this test process has imported all of them long ago.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

HEAVY = ("pydantic", "pydantic_core", "networkx", "opentelemetry", "attrs", "attr")

# A concrete plugin as an adapter writes one, without a config_model: creating the class runs
# OrchestratorPlugin.__init_subclass__, which must not need pydantic either.
_CONCRETE_PLUGIN = """
from floe_orchestration_core.plugin import OrchestratorPlugin, PluginMetadata


class Minimal(OrchestratorPlugin):
    metadata = PluginMetadata(name="minimal", version="0.0.1", floe_api_version="1.0")

    def _create_definitions(self, artifacts, graph):
        return {}

    def _create_assets_from_transforms(self, transforms, graph):
        return []

    def _get_helm_values(self, *, size, resources, artifacts):
        return {}

    def _schedule_job(self, job_name, cron, timezone):
        return ()

    def _validate_connection(self, url, deadline):
        raise NotImplementedError
"""


def _heavy_modules_after(code: str) -> list[str]:
    probe = textwrap.dedent(code) + textwrap.dedent(
        """
        import json as _json, sys as _sys
        print(_json.dumps(sorted(_sys.modules)))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False, timeout=120
    )
    assert done.returncode == 0, done.stderr
    loaded: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return [name for name in loaded if name.split(".")[0] in HEAVY]


def test_importing_the_plugin_port_imports_no_heavy_dependency() -> None:
    assert _heavy_modules_after("import floe_orchestration_core.plugin") == []


def test_defining_a_plugin_without_config_model_imports_no_heavy_dependency() -> None:
    assert _heavy_modules_after(_CONCRETE_PLUGIN) == []
