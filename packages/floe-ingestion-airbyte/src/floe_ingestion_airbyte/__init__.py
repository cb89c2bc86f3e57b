"""PyAirbyte ingestion connector for floe orchestration.

The plugin is :class:`floe_ingestion_airbyte.plugin.AirbyteIngestion`, registered as the
``airbyte`` entry point of ``floe.ingestion``. PyAirbyte never runs in floe's environment: it
runs in a virtual environment of its own (see :mod:`floe_ingestion_airbyte.environment`), and
floe talks to it over a JSON protocol on a subprocess (:mod:`floe_ingestion_airbyte.sync`).
This module holds only the version, so listing plugins imports nothing else.
"""

__version__ = "0.1.0"
