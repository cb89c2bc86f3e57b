"""OpenLineage lineage backend for floe orchestration.

The backend (``OpenLineageBackend``) lands with its own issue; this package holds the
distribution skeleton so the workspace, the lock file and the import contracts cover it now.
"""

__version__ = "0.1.0"
