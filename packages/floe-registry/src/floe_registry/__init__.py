"""Plugin registry and ``floe`` command line for floe orchestration.

Discovery, ``manifest.yaml`` and the command line land with their own issue; this package
holds the distribution skeleton so the workspace, the lock file and the import contracts
cover it now.
"""

__version__ = "0.1.0"
