"""OpenLineageBackend passes the core's lineage contract, writing to a file and over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from floe_lineage_openlineage.backend import OpenLineageBackend
from floe_orchestration_core.testing import LineageBackendContract


class TestOpenLineageFileContract(LineageBackendContract):
    @pytest.fixture
    def backend(self, tmp_path: Path) -> Iterator[OpenLineageBackend]:
        backend = OpenLineageBackend(
            transport={"type": "file", "log_file_path": str(tmp_path / "ol.jsonl"), "append": True},
            namespace="floe-contract",
            flush_timeout=5.0,
        )
        yield backend
        backend.close(1.0)


class TestOpenLineageHttpContract(LineageBackendContract):
    @pytest.fixture
    def backend(self, receiver: Any) -> Iterator[OpenLineageBackend]:
        backend = OpenLineageBackend(
            transport={"type": "http", "url": receiver.url, "timeout": 2.0},
            namespace="floe-contract",
            flush_timeout=5.0,
        )
        yield backend
        backend.close(1.0)
