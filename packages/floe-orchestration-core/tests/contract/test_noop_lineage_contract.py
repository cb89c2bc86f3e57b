"""NoOpLineageBackend (the default when no backend is configured) passes the lineage contract."""

from __future__ import annotations

import pytest

from floe_orchestration_core.lineage import NoOpLineageBackend
from floe_orchestration_core.testing import LineageBackendContract


class TestNoOpLineageContract(LineageBackendContract):
    @pytest.fixture
    def backend(self) -> NoOpLineageBackend:
        return NoOpLineageBackend()
