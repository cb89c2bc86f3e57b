"""dlt ingestion connector for floe orchestration.

The plugin is :class:`floe_ingestion_dlt.plugin.DltIngestion`, registered as the ``dlt`` entry
point of ``floe.ingestion``. This module holds only the version, so listing plugins imports
nothing else; dlt itself is imported when an entry runs.
"""

__version__ = "0.1.0"
