"""OpenLineage lineage backend for floe orchestration.

The backend is :class:`floe_lineage_openlineage.backend.OpenLineageBackend`, registered as
the ``openlineage`` entry point of ``floe.lineage_backends``. This module stays import-light:
it holds only the version, so listing plugins or reading the version imports nothing else.
"""

__version__ = "0.1.0"
